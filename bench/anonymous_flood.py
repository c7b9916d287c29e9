#!/usr/bin/env python3
"""Anonymous traffic against a release build of Gatehouse (the hardening issue, item 3).

Floods a fresh server with 10,000 rounds of cookie-less GET /authorize, GET /login,
GET /signup and POST /device_authorization (a public client's id), first from one address
and then from 1,000 addresses (X-Forwarded-For through the trusted loopback proxy), and
reports the rows each flood added to the database and the median latency of password
sign-ins (the POST of the login form) without and during the flood.

    python3 bench/anonymous_flood.py           # builds --release first
    ROUNDS=2000 python3 bench/anonymous_flood.py
    RATE=250 python3 bench/anonymous_flood.py  # paced: 250 rounds (1,000 requests) a second
    GENERATOR=wrk python3 bench/anonymous_flood.py   # wrk: as fast as it goes, 15 s

Results are recorded by hand in bench/RESULTS.md. Load and server share the machine.
"""

import http.client
import json
import os
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse as up

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROUNDS = int(os.environ.get("ROUNDS", "10000"))
THREADS = int(os.environ.get("THREADS", "8"))
# Rounds per second across all threads (0: as fast as the threads go).
RATE = float(os.environ.get("RATE", "0"))
# "python" (threads, counted rounds) or "wrk" (Debian's wrk with a Lua script, one thread
# and 8 connections for WRK_SECONDS: far less of the shared CPU goes to the generator).
GENERATOR = os.environ.get("GENERATOR", "python")
WRK_SECONDS = int(os.environ.get("WRK_SECONDS", "15"))

WRK_LUA = """
local i = 0
local addresses = ADDRESSES
request = function()
  i = i + 1
  local a = math.floor(i / 4) % addresses
  local h = {["X-Forwarded-For"] = "10." .. math.floor(a / 65536) .. "." .. (math.floor(a / 256) % 256) .. "." .. (a % 256)}
  local k = i % 4
  if k == 0 then return wrk.format("GET", "AUTHORIZE", h)
  elseif k == 1 then return wrk.format("GET", "/login", h)
  elseif k == 2 then return wrk.format("GET", "/signup", h)
  end
  h["Content-Type"] = "application/x-www-form-urlencoded"
  return wrk.format("POST", "/device_authorization", h, "BODY")
end
"""


def wrk_flood(server, addresses):
    """Starts wrk against `server`; returns the process (its output is the summary)."""
    script = os.path.join(server.dir, "flood.lua")
    with open(script, "w") as f:
        f.write(WRK_LUA.replace("ADDRESSES", str(addresses))
                .replace("AUTHORIZE", authorize_path(server))
                .replace("BODY", up.urlencode({"client_id": server.tv, "scope": "openid"})))
    return subprocess.Popen(
        ["wrk", "-t1", "-c8", f"-d{WRK_SECONDS}s", "-s", script, server.issuer],
        stdout=subprocess.PIPE, text=True)
SIGNINS = int(os.environ.get("SIGNINS", "30"))
PASSWORD = "flood bench password 1"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    def __init__(self, binary):
        self.dir = tempfile.mkdtemp()
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.env = dict(
            os.environ,
            GATEHOUSE_ISSUER=self.issuer,
            GATEHOUSE_DATABASE_URL=f"sqlite://{self.dir}/gh.db",
            GATEHOUSE_KEYS_DIR=f"{self.dir}/keys",
            GATEHOUSE_TRUSTED_PROXIES="127.0.0.1",
            GATEHOUSE_SIGNUP="true",
            GATEHOUSE_LOG="warn",
        )
        self.binary = binary
        run = lambda *a, stdin=None: subprocess.run(
            [binary, *a], env=self.env, input=stdin, capture_output=True, text=True, check=True
        ).stdout
        run("user", "create", "alice", "--password-stdin", stdin=PASSWORD + "\n")
        web = json.loads(run("client", "create", "--name", "Web", "--redirect-uri",
                             "https://app.example/cb", "--json"))
        tv = json.loads(run("client", "create", "--name", "TV", "--public", "--application-type",
                            "native", "--grant-type",
                            "urn:ietf:params:oauth:grant-type:device_code", "--json"))
        self.web, self.tv = web["client_id"], tv["client_id"]
        self.proc = subprocess.Popen([binary, "serve"], env=self.env)
        for _ in range(100):
            try:
                if self.get("/health/ready")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)

    def conn(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def get(self, path, headers=None):
        c = self.conn()
        c.request("GET", path, headers=headers or {})
        r = c.getresponse()
        r.read()
        return r.status, r

    def rows(self):
        db = sqlite3.connect(f"{self.dir}/gh.db")
        out = {}
        for t in ["sessions", "authorization_requests", "device_codes", "throttle_counters"]:
            out[t] = db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
        db.close()
        return out

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def authorize_path(server):
    q = up.urlencode({
        "response_type": "code", "client_id": server.web, "redirect_uri": "https://app.example/cb",
        "scope": "openid", "state": "s", "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    })
    return f"/authorize?{q}"


def flood(server, addresses):
    path = authorize_path(server)
    body = up.urlencode({"client_id": server.tv, "scope": "openid"})
    counter = iter(range(ROUNDS))
    lock = threading.Lock()
    statuses = {}
    started = time.perf_counter()

    def worker():
        c = server.conn()
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            if RATE > 0:
                delay = started + i / RATE - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            a = i % addresses
            h = {"X-Forwarded-For": f"10.{a // 65536}.{(a // 256) % 256}.{a % 256}"}
            for method, p, b in [("GET", path, None), ("GET", "/login", None),
                                 ("GET", "/signup", None), ("POST", "/device_authorization", body)]:
                hh = dict(h)
                if b:
                    hh["Content-Type"] = "application/x-www-form-urlencoded"
                c.request(method, p, b, hh)
                r = c.getresponse()
                r.read()
                with lock:
                    statuses[(p.split("?")[0], r.status)] = statuses.get((p.split("?")[0], r.status), 0) + 1

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in threads:
        t.start()
    return threads, statuses


def sign_in(server, n):
    """n password sign-ins (GET /login for the form, then the timed POST), one at a time."""
    times = []
    for i in range(n):
        c = server.conn()
        c.request("GET", "/login", headers={"X-Forwarded-For": f"203.0.113.{i % 200}"})
        r = c.getresponse()
        page = r.read().decode()
        cookie = r.getheader("Set-Cookie").split(";")[0]
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        body = up.urlencode({"csrf_token": csrf, "username": "alice", "password": PASSWORD})
        start = time.perf_counter()
        c.request("POST", "/login", body, {"Cookie": cookie, "X-Forwarded-For": f"203.0.113.{i % 200}",
                                           "Content-Type": "application/x-www-form-urlencoded"})
        r = c.getresponse()
        r.read()
        times.append((time.perf_counter() - start) * 1000)
        assert r.status == 303, r.status
    return statistics.median(times)


def main():
    binary = os.path.join(ROOT, "target/release/gatehouse")
    if os.environ.get("NO_BUILD") != "1":
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "gatehouse-server"], cwd=ROOT, check=True)
    if GENERATOR == "wrk":
        print(f"flood: wrk, 1 thread, 8 connections, {WRK_SECONDS} s, unpaced")
    else:
        print(f"rounds per flood: {ROUNDS} (x4 requests), {THREADS} client threads, "
              f"{'unpaced' if RATE <= 0 else f'{RATE:.0f} rounds/s'}")
    for addresses in [1, 1000]:
        server = Server(binary)
        try:
            unloaded = sign_in(server, SIGNINS)
            before = server.rows()
            start = time.perf_counter()
            if GENERATOR == "wrk":
                proc = wrk_flood(server, addresses)
                loaded = sign_in(server, SIGNINS)
                out = proc.communicate()[0]
                total = re.search(r"(\d+) requests in", out)
                summary = f"{total.group(1) if total else '?'} requests (wrk)"
            else:
                threads, statuses = flood(server, addresses)
                loaded = sign_in(server, SIGNINS)
                for t in threads:
                    t.join()
                summary = f"{4 * ROUNDS} requests"
            elapsed = time.perf_counter() - start
            after = server.rows()
            added = {t: after[t] - before[t] for t in after}
            print(f"\n{addresses} address(es): {summary} in {elapsed:.1f} s")
            if GENERATOR != "wrk":
                print(f"  answers: {dict(sorted(statuses.items()))}")
            print(f"  rows added: {sum(added.values())} {added}  (sign-ins themselves add sessions)")
            print(f"  sign-in POST median: {unloaded:.1f} ms unloaded, {loaded:.1f} ms during the flood "
                  f"({loaded / unloaded:.2f}x)")
        finally:
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
