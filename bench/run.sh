#!/usr/bin/env bash
# Baseline measurements of a release build of Gatehouse on this machine, recorded in
# bench/RESULTS.md by hand after a run. Needs wrk (Debian: apt-get install wrk), curl and
# python3. Load and server share the machine, so the figures are for comparing commits on
# the same machine, not absolute capacity.
#
#   bench/run.sh            # builds --release, then measures
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "bench: wrk is required (apt-get install wrk)" >&2; exit 1; }

cargo build --release -q -p gatehouse-server
bin=$PWD/target/release/gatehouse
tmp=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export GATEHOUSE_ISSUER="http://127.0.0.1:$port" GATEHOUSE_DATABASE_URL="sqlite://$tmp/gh.db" \
    GATEHOUSE_KEYS_DIR="$tmp/keys" GATEHOUSE_LOG=warn
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

password=$(head -c 18 /dev/urandom | base64)
printf '%s\n' "$password" | "$bin" user create bench --password-stdin --email bench@example.com >/dev/null
client=$("$bin" client create --name Bench --redirect-uri https://client.example/cb --json)
client_id=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["client_id"])' <<<"$client")
client_secret=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])' <<<"$client")
robot=$("$bin" client create --name Robot --grant-type client_credentials --scope gatehouse:admin --json)
robot_id=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["client_id"])' <<<"$robot")
robot_secret=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])' <<<"$robot")
for n in $(seq 1 200); do
    printf 'bench user password %s\n' "$n" | "$bin" user create "user$n" --password-stdin >/dev/null
done

"$bin" serve & server=$!
for _ in $(seq 1 100); do curl -fs "$GATEHOUSE_ISSUER/health/ready" >/dev/null && break; sleep 0.1; done

echo "commit:        $(git rev-parse --short HEAD)"
echo "machine:       $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB"
echo "binary size:   $(du -k "$bin" | cut -f1) KiB (release, stripped of debuginfo)"
rss() { awk '/VmRSS/ {print $2}' "/proc/$server/status"; }
echo "RSS at idle:   $(rss) KiB"

# One full sign-in (authorize, login, consent, code, token) to get an access token, timed.
tokens=$(python3 - "$GATEHOUSE_ISSUER" "$client_id" "$client_secret" "$password" <<'PY'
import base64, hashlib, http.client, json, re, secrets, sys, time, urllib.parse as up
issuer, cid, csec, pw = sys.argv[1:5]
host = up.urlsplit(issuer).netloc
cookies = {}
def req(method, path, body=None):
    c = http.client.HTTPConnection(host)
    h = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
    if body is not None:
        h["Content-Type"] = "application/x-www-form-urlencoded"
        body = up.urlencode(body)
    c.request(method, path, body, h)
    r = c.getresponse()
    for k, v in r.getheaders():
        if k.lower() == "set-cookie":
            n, _, val = v.split(";")[0].partition("=")
            cookies[n] = val
    return r.status, r.getheader("Location"), r.read().decode()
def path(url):
    u = up.urlsplit(url); return u.path + ("?" + u.query if u.query else "")
def field(html, name):
    return re.search(f'name="{name}" value="([^"]*)"', html).group(1)
timings = []
for i in range(10):
    cookies.clear()
    verifier = secrets.token_urlsafe(32)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    q = up.urlencode({"response_type": "code", "client_id": cid, "redirect_uri": "https://client.example/cb",
                      "scope": "openid profile email", "state": "s", "nonce": "n",
                      "code_challenge": challenge, "code_challenge_method": "S256"})
    t0 = time.perf_counter()
    _, loc, _ = req("GET", "/authorize?" + q)
    _, _, html = req("GET", path(loc))
    _, loc, _ = req("POST", "/login", {"csrf_token": field(html, "csrf_token"), "request": field(html, "request"),
                                      "username": "bench", "password": pw})
    _, loc, _ = req("GET", path(loc))
    if "/consent" in loc:
        _, _, html = req("GET", path(loc))
        _, loc, _ = req("POST", "/consent", {"csrf_token": field(html, "csrf_token"), "request": field(html, "request"),
                                            "decision": "allow"})
    code = up.parse_qs(up.urlsplit(loc).query)["code"][0]
    c = http.client.HTTPConnection(host)
    auth = base64.b64encode(f"{cid}:{csec}".encode()).decode()
    c.request("POST", "/token", up.urlencode({"grant_type": "authorization_code", "code": code,
              "redirect_uri": "https://client.example/cb", "code_verifier": verifier}),
              {"Authorization": "Basic " + auth, "Content-Type": "application/x-www-form-urlencoded"})
    tok = json.loads(c.getresponse().read())
    timings.append(time.perf_counter() - t0)
timings.sort()
print(json.dumps({"access_token": tok["access_token"], "median_ms": round(timings[len(timings)//2]*1000, 1),
                  "max_ms": round(timings[-1]*1000, 1)}))
PY
)
echo "sign-in flow:  median $(python3 -c 'import json,sys; print(json.load(sys.stdin)["median_ms"])' <<<"$tokens") ms, max $(python3 -c 'import json,sys; print(json.load(sys.stdin)["max_ms"])' <<<"$tokens") ms over 10 (authorize → login (argon2id) → consent → token)"
access_token=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])' <<<"$tokens")

load() {
    local name=$1; shift
    local out
    out=$(wrk -t2 -c16 -d10s --latency "$@")
    local rps p50 p99
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '$1=="50%" {print $2}' <<<"$out")
    p99=$(awk '$1=="99%" {print $2}' <<<"$out")
    local non2xx
    non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
    printf '%-14s %9s req/s  p50 %-8s p99 %-8s non-2xx %s\n' "$name" "$rps" "$p50" "$p99" "${non2xx:-0}"
}
load discovery "$GATEHOUSE_ISSUER/.well-known/openid-configuration"
load jwks "$GATEHOUSE_ISSUER/jwks.json"
load userinfo -H "Authorization: Bearer $access_token" "$GATEHOUSE_ISSUER/userinfo"
robot_token=$(curl -fs -u "$robot_id:$robot_secret" -d grant_type=client_credentials "$GATEHOUSE_ISSUER/token" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
# The admin API: a search over 201 users, one page of 50 (token check, client lookup, count, page).
load admin-users -H "Authorization: Bearer $robot_token" "$GATEHOUSE_ISSUER/admin/api/users?search=user1&limit=50"
echo "RSS after load: $(rss) KiB"
