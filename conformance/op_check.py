#!/usr/bin/env python3
"""Black-box conformance check of a running Gatehouse (or any OpenID Provider).

A local stand-in for the OpenID Foundation's OP "Config" and "Basic" test plans, plus the
negative checks of RFC 9700 (OAuth 2.0 Security Best Current Practice). Standard library
only (Python 3.11+).

    python3 conformance/op_check.py ISSUER
    python3 conformance/op_check.py ISSUER --client-id ID --client-secret SECRET \\
        --redirect-uri URI [--username U --password-stdin]

Without client options only the checks that need no client run (discovery, JWKS, token
and userinfo endpoints without credentials). With --client-id and --redirect-uri (a URI
registered for that client) the authorization endpoint checks run too, and with
--client-secret the authenticated token endpoint checks (without it the client is taken
to be public and sends client_id in the body). With --username and the password
on the first line of standard input (--password-stdin) the script also signs in, consents,
exchanges the code (HTTP Basic and PKCE S256), verifies the ID token (RS256 signature
against the JWKS, iss, aud, azp, exp, iat, nonce, at_hash), calls userinfo, replays the
code and checks that the grant was revoked. The redirect to the client is captured, never
followed; no redirect is followed automatically and cookies are kept by hand.

Every check prints one line: `PASS name`, `FAIL name: detail`, or `XFAIL name: detail` for
a known server defect listed in KNOWN_SERVER_ISSUES (not counted as a failure unless
--strict). Checks that cannot run because an earlier step failed, or that find nothing
to check (no consent page for a user who consented before), print `SKIP name: why`.
The last line is `N passed, M failed`; the exit status is 1 if any check failed.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.client
import json
import secrets
import sys
import time
from html.parser import HTMLParser
from urllib.parse import parse_qsl, quote_plus, urlencode, urljoin, urlsplit, urlunsplit

# Checks that fail because of a known server defect, by check name, with the reason. They
# print XFAIL instead of FAIL and do not fail the run (unless --strict). Remove an entry
# as soon as the server is fixed: the script says so when a listed check passes.
KNOWN_SERVER_ISSUES: dict[str, str] = {}

UA = "gatehouse-op-check/1"
EVIL = "evil.example"
PRIVATE_JWK_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
REQUIRED_DISCOVERY = (
    "issuer",
    "authorization_endpoint",
    "token_endpoint",
    "jwks_uri",
    "response_types_supported",
    "subject_types_supported",
    "id_token_signing_alg_values_supported",
)
# DER prefix of the DigestInfo for SHA-256 (RFC 8017 §9.2, note 1).
SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")
CLOCK_SKEW = 120


# ---------------------------------------------------------------------------------------
# Reporting


class Fail(Exception):
    """A check's expectation was not met; the message is the detail."""


class Skip(Exception):
    """A check cannot run because something it needs failed earlier."""


def expect(cond: object, detail: str) -> None:
    if not cond:
        raise Fail(detail)


SKIPPED = object()  # what Report.run returns for a skipped check


class Report:
    def __init__(self, strict: bool) -> None:
        self.strict = strict
        self.passed = 0
        self.failed = 0
        self.xfailed = 0
        self.skipped = 0
        self.notes: list[str] = []

    def line(self, text: str) -> None:
        print(text, flush=True)

    def run(self, name: str, fn, *args):
        """Runs one check; returns its result (True if none), SKIPPED, or None if it failed."""
        try:
            result = fn(*args)
        except Skip as e:
            self.skip(name, str(e))
            return SKIPPED
        except Fail as e:
            self.fail(name, str(e))
            return None
        except Exception as e:  # a crash in a check is a failed check, not a traceback
            self.fail(name, f"{type(e).__name__}: {e}")
            return None
        self.ok(name)
        return True if result is None else result

    def skip(self, name: str, why: str) -> None:
        self.skipped += 1
        self.line(f"SKIP {name}: {why}")

    def ok(self, name: str) -> None:
        self.passed += 1
        self.line(f"PASS {name}")
        if name in KNOWN_SERVER_ISSUES:
            self.notes.append(f"NOTE {name} passed but is listed in KNOWN_SERVER_ISSUES: remove it")

    def fail(self, name: str, detail: str) -> None:
        detail = " ".join(detail.split())
        if name in KNOWN_SERVER_ISSUES and not self.strict:
            self.xfailed += 1
            self.line(f"XFAIL {name}: {detail} [known: {KNOWN_SERVER_ISSUES[name]}]")
        else:
            self.failed += 1
            self.line(f"FAIL {name}: {detail}")


# ---------------------------------------------------------------------------------------
# HTTP without automatic redirects, with a hand-kept cookie jar


class Response:
    def __init__(self, url: str, status: int, headers: list[tuple[str, str]], body: bytes):
        self.url = url
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name: str) -> str | None:
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    def header_all(self, name: str) -> list[str]:
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    @property
    def content_type(self) -> str:
        return (self.header("content-type") or "").split(";")[0].strip().lower()

    @property
    def location(self) -> str | None:
        loc = self.header("location")
        return urljoin(self.url, loc) if loc is not None else None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            raise Fail(f"{self.status} response is not JSON: {self.text[:120]!r}") from None

    def brief(self) -> str:
        s = f"HTTP {self.status}"
        if self.location:
            s += f" Location {self.location[:200]}"
        elif self.content_type == "application/json":
            s += f" {self.text[:200]}"
        return s


class Cookies:
    """Cookies per host, enough for one server: name=value, deleted by Max-Age=0."""

    def __init__(self) -> None:
        self.jar: dict[str, dict[str, str]] = {}

    def store(self, res: Response) -> None:
        host = urlsplit(res.url).netloc.lower()
        for line in res.header_all("set-cookie"):
            first, _, attrs = line.partition(";")
            name, eq, value = first.strip().partition("=")
            if not eq or not name:
                continue
            attrs_l = attrs.lower().replace(" ", "")
            jar = self.jar.setdefault(host, {})
            if "max-age=0" in attrs_l.split(";") or "max-age=-" in attrs_l:
                jar.pop(name, None)
            else:
                jar[name] = value

    def header(self, url: str) -> str | None:
        jar = self.jar.get(urlsplit(url).netloc.lower())
        if not jar:
            return None
        return "; ".join(f"{k}={v}" for k, v in jar.items())


class Http:
    def __init__(self, timeout: float) -> None:
        self.timeout = timeout

    def request(
        self,
        method: str,
        url: str,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        cookies: Cookies | None = None,
    ) -> Response:
        parts = urlsplit(url)
        if parts.scheme == "https":
            conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=self.timeout)
        elif parts.scheme == "http":
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=self.timeout)
        else:
            raise Fail(f"cannot request {url!r}: not http(s)")
        h = {"User-Agent": UA, "Accept": "*/*"}
        if cookies is not None:
            c = cookies.header(url)
            if c:
                h["Cookie"] = c
        h.update(headers or {})
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        try:
            conn.request(method, target, body=body, headers=h)
            r = conn.getresponse()
            data = r.read()
            res = Response(url, r.status, r.getheaders(), data)
        except (OSError, http.client.HTTPException) as e:
            raise Fail(f"{method} {url}: {type(e).__name__}: {e}") from None
        finally:
            conn.close()
        if cookies is not None:
            cookies.store(res)
        return res

    def get(self, url: str, headers=None, cookies=None) -> Response:
        return self.request("GET", url, headers, None, cookies)

    def post_form(self, url: str, form, headers=None, cookies=None) -> Response:
        h = {"Content-Type": "application/x-www-form-urlencoded"}
        h.update(headers or {})
        body = form if isinstance(form, bytes) else urlencode(form).encode()
        return self.request("POST", url, h, body, cookies)


# ---------------------------------------------------------------------------------------
# Small helpers: base64url, JWTs, RSA, HTML forms, URLs


def b64url_decode(s: str) -> bytes:
    s = s.strip()
    if any(c in s for c in "+/="):
        raise ValueError("not unpadded base64url")
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64url(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwt_parts(token: str):
    parts = token.split(".")
    expect(len(parts) == 3, f"not a JWS compact serialization ({len(parts)} parts)")
    try:
        header = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
        sig = b64url_decode(parts[2])
    except ValueError as e:
        raise Fail(f"malformed JWT: {e}") from None
    expect(isinstance(header, dict) and isinstance(claims, dict), "JWT header or claims not objects")
    signing_input = (parts[0] + "." + parts[1]).encode()
    return header, claims, signing_input, sig


def rsa_pkcs1v15_sha256_verify(n: int, e: int, message: bytes, signature: bytes) -> bool:
    """RSASSA-PKCS1-v1_5 verification with SHA-256 (RFC 8017 §8.2.2), i.e. JWS RS256."""
    k = (n.bit_length() + 7) // 8
    if len(signature) != k:
        return False
    s = int.from_bytes(signature, "big")
    if s >= n:
        return False
    em = pow(s, e, n).to_bytes(k, "big")
    t = SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
    if k < len(t) + 11:
        return False
    expected = b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t
    return secrets.compare_digest(em, expected)


def jwk_int(jwk: dict, member: str) -> int:
    return int.from_bytes(b64url_decode(jwk[member]), "big")


class Forms(HTMLParser):
    """Collects the forms of a page: action, method, inputs and buttons."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._current: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self._current = {
                "action": a.get("action", ""),
                "method": a.get("method", "get").lower(),
                "inputs": [],
                "buttons": [],
            }
            self.forms.append(self._current)
        elif self._current is not None and tag == "input":
            self._current["inputs"].append(
                (a.get("name", ""), a.get("type", "text").lower(), a.get("value", ""))
            )
        elif self._current is not None and tag == "button":
            self._current["buttons"].append((a.get("name", ""), a.get("value", "")))

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None


def parse_forms(html: str) -> list[dict]:
    p = Forms()
    p.feed(html)
    p.close()
    return p.forms


def hidden_inputs(form: dict) -> dict[str, str]:
    return {n: v for n, t, v in form["inputs"] if t == "hidden" and n}


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)[:64]
    challenge = b64url(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge


def tricky_state() -> str:
    # Every VSCHAR class that needs percent-encoding, to see it echoed byte for byte.
    return "op-check " + secrets.token_urlsafe(12) + " &=+/?%#~'\""


def with_query(url: str, params) -> str:
    parts = urlsplit(url)
    q = urlencode(params)
    query = parts.query + "&" + q if parts.query else q
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def same_endpoint(a: str, b: str) -> bool:
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.scheme, pa.netloc, pa.path) == (pb.scheme, pb.netloc, pb.path)


def response_params(location: str) -> dict[str, str]:
    """Parameters of an authorization response, from the query and the fragment."""
    parts = urlsplit(location)
    params: dict[str, str] = {}
    for source in (parts.query, parts.fragment):
        for k, v in parse_qsl(source, keep_blank_values=True):
            params.setdefault(k, v)
    return params


def basic_auth(client_id: str, secret: str) -> str:
    # RFC 6749 §2.3.1: form-urlencode the id and secret, then Basic-encode.
    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return "Basic " + base64.b64encode(raw).decode()


# ---------------------------------------------------------------------------------------
# The checks


class Checker:
    def __init__(self, args, password: str | None) -> None:
        self.args = args
        self.issuer: str = args.issuer
        self.base = self.issuer.rstrip("/")
        self.password = password
        self.http = Http(args.timeout)
        self.report = Report(args.strict)
        self.discovery: dict | None = None
        self.jwks: dict | None = None
        # Every error_description seen, for the charset check (RFC 6749 §4.1.2.1, §5.2).
        self.descriptions: list[tuple[str, str]] = []

    # -- shared -------------------------------------------------------------------------

    def endpoint(self, key: str, default_path: str) -> str:
        d = self.discovery or {}
        v = d.get(key)
        return v if isinstance(v, str) and v.startswith(("http://", "https://")) else self.base + default_path

    def under_issuer(self, url: str) -> bool:
        return url == self.base or url.startswith(self.base + "/")

    def check_no_store(self, res: Response, what: str) -> None:
        cc = (res.header("cache-control") or "").lower()
        expect("no-store" in cc, f"{what}: Cache-Control is {res.header('cache-control')!r}, not no-store")
        pragma = (res.header("pragma") or "").lower()
        expect("no-cache" in pragma, f"{what}: Pragma is {res.header('pragma')!r}, not no-cache")

    def check_oauth_error(self, res: Response, status: int, error: str, what: str) -> None:
        expect(res.status == status, f"{what}: expected {status} {error}, got {res.brief()}")
        expect(res.content_type == "application/json", f"{what}: Content-Type {res.content_type!r}")
        body = res.json()
        if isinstance(body, dict) and isinstance(body.get("error_description"), str):
            self.descriptions.append((what, body["error_description"]))
        expect(isinstance(body, dict) and body.get("error") == error,
               f"{what}: expected error {error!r}, got {res.text[:200]!r}")

    def check_page_protection(self, res: Response, what: str) -> None:
        xfo = (res.header("x-frame-options") or "").strip().upper()
        expect(xfo == "DENY", f"{what}: X-Frame-Options is {res.header('x-frame-options')!r}")
        csp = (res.header("content-security-policy") or "").lower()
        directives = [d.strip() for d in csp.split(";")]
        expect("frame-ancestors 'none'" in directives,
               f"{what}: CSP {res.header('content-security-policy')!r} lacks frame-ancestors 'none'")

    def check_error_redirect(self, res: Response, error: str, state: str | None, what: str) -> dict:
        """An error sent back to the client (RFC 6749 §4.1.2.1) with state and iss."""
        expect(res.status in (302, 303), f"{what}: expected a redirect to the client, got {res.brief()}")
        loc = res.location or ""
        expect(same_endpoint(loc, self.args.redirect_uri),
               f"{what}: redirect goes to {loc[:200]!r}, not the redirect_uri")
        p = response_params(loc)
        if "error_description" in p:
            self.descriptions.append((what, p["error_description"]))
        expect(p.get("error") == error, f"{what}: expected error={error}, got {loc[:300]!r}")
        for leak in ("code", "access_token", "id_token"):
            expect(leak not in p, f"{what}: error response carries {leak}")
        if state is not None:
            expect(p.get("state") == state, f"{what}: state {p.get('state')!r} != sent {state!r}")
        expect(p.get("iss") == self.issuer, f"{what}: iss {p.get('iss')!r} != issuer (RFC 9207)")
        return p

    def check_error_page(self, res: Response, what: str) -> None:
        expect(res.status == 400, f"{what}: expected a 400 page, got {res.brief()}")
        expect(res.header("location") is None, f"{what}: response has Location {res.header('location')!r}")
        expect(res.content_type == "text/html", f"{what}: Content-Type {res.content_type!r}, not text/html")

    # -- discovery ----------------------------------------------------------------------

    def fetch_json(self, url: str, headers=None) -> tuple[Response, object]:
        res = self.http.get(url, headers)
        expect(res.status == 200, f"GET {url}: {res.brief()}")
        expect(res.content_type in ("application/json", "application/jwk-set+json"),
               f"GET {url}: Content-Type {res.content_type!r}")
        return res, res.json()

    def discovery_checks(self) -> None:
        r = self.report
        path = urlsplit(self.base).path
        oidc_url = self.base + "/.well-known/openid-configuration"
        as_url = self.base + "/.well-known/oauth-authorization-server"
        if path:
            # RFC 8414 §3.1: for an issuer with a path, the well-known segment goes between
            # the host and the path. Look there first; then also below the issuer, where
            # OIDC Discovery puts its document, so the remaining checks still run.
            p = urlsplit(self.base)
            rfc_url = urlunsplit((p.scheme, p.netloc, "/.well-known/oauth-authorization-server" + path, "", ""))

            def rfc_location():
                res = self.http.get(rfc_url)
                expect(res.status == 200, f"GET {rfc_url}: HTTP {res.status}")
            if r.run("discovery.oauth-authorization-server.rfc8414-location", rfc_location) is not None:
                as_url = rfc_url

        for label, url in (("openid-configuration", oidc_url), ("oauth-authorization-server", as_url)):
            def fetch(url=url):
                res, doc = self.fetch_json(url)
                expect(isinstance(doc, dict), "document is not a JSON object")
                return (res, doc)

            got = r.run(f"discovery.{label}.fetch", fetch)
            if got is None:
                continue
            res, doc = got
            if label == "openid-configuration":
                self.discovery = doc
            self.discovery_document_checks(label, url, res, doc)

    def discovery_document_checks(self, label: str, url: str, res: Response, doc: dict) -> None:
        r = self.report
        n = f"discovery.{label}"

        def issuer():
            expect(doc.get("issuer") == self.issuer,
                   f"issuer {doc.get('issuer')!r} != {self.issuer!r} (must match exactly)")
        r.run(f"{n}.issuer", issuer)

        def required():
            missing = [k for k in REQUIRED_DISCOVERY if doc.get(k) in (None, "", [])]
            expect(not missing, f"missing: {', '.join(missing)}")
        r.run(f"{n}.required-fields", required)

        def endpoints():
            bad = []
            for k, v in doc.items():
                if k.endswith("_endpoint") or k == "jwks_uri":
                    if not isinstance(v, str) or not self.under_issuer(v):
                        bad.append(f"{k}={v!r}")
            expect(not bad, "not under the issuer: " + ", ".join(bad))
        r.run(f"{n}.endpoints-under-issuer", endpoints)

        def response_types():
            expect(doc.get("response_types_supported") == ["code"],
                   f"response_types_supported is {doc.get('response_types_supported')!r}")
        r.run(f"{n}.response-types-code-only", response_types)

        def pkce():
            expect(doc.get("code_challenge_methods_supported") == ["S256"],
                   f"code_challenge_methods_supported is {doc.get('code_challenge_methods_supported')!r}")
        r.run(f"{n}.pkce-s256-only", pkce)

        def iss_param():
            expect(doc.get("authorization_response_iss_parameter_supported") is True,
                   "authorization_response_iss_parameter_supported is "
                   f"{doc.get('authorization_response_iss_parameter_supported')!r}")
        r.run(f"{n}.iss-parameter-supported", iss_param)

        def rs256():
            algs = doc.get("id_token_signing_alg_values_supported") or []
            expect("RS256" in algs, f"id_token_signing_alg_values_supported {algs!r} lacks RS256")
            expect("none" not in algs, "alg none is offered")
        r.run(f"{n}.rs256", rs256)

        def grants():
            g = doc.get("grant_types_supported")
            # RFC 8414 §2: when absent, the default is ["authorization_code", "implicit"].
            expect(g is not None, "grant_types_supported absent (defaults to implicit too)")
            bad = [x for x in g if x in ("password", "implicit")]
            expect(not bad, f"grant_types_supported offers {bad}")
        r.run(f"{n}.no-password-or-implicit", grants)

        def value_syntax():
            st = doc.get("subject_types_supported") or []
            expect(st and all(x in ("public", "pairwise") for x in st), f"subject_types_supported {st!r}")
            sc = doc.get("scopes_supported")
            expect(sc is None or "openid" in sc, f"scopes_supported {sc!r} lacks openid")
            cl = doc.get("claims_supported")
            expect(cl is None or "sub" in cl, f"claims_supported {cl!r} lacks sub")
            rm = doc.get("response_modes_supported")
            expect(rm is None or "fragment" not in rm, f"response_modes_supported {rm!r} offers fragment")
        r.run(f"{n}.value-syntax", value_syntax)

        def host_headers():
            variants = {
                "Host": {"Host": EVIL},
                "X-Forwarded-*": {"X-Forwarded-Host": EVIL, "X-Forwarded-Proto": "https",
                                  "Forwarded": f"host={EVIL};proto=https"},
                "both": {"Host": EVIL, "X-Forwarded-Host": EVIL},
            }
            problems = []
            for name, headers in variants.items():
                res2 = self.http.get(url, headers)
                if 400 <= res2.status < 500:
                    continue  # refusing a foreign host is fine too
                if res2.status != 200:
                    problems.append(f"{name}: HTTP {res2.status}")
                elif EVIL in res2.text:
                    problems.append(f"{name}: document names {EVIL}")
                else:
                    try:
                        same = json.loads(res2.body) == doc
                    except ValueError:
                        same = False
                    if not same:
                        problems.append(f"{name}: document differs")
            expect(not problems, "; ".join(problems))
        r.run(f"{n}.host-headers-ignored", host_headers)

    # -- JWKS ---------------------------------------------------------------------------

    def jwks_checks(self) -> None:
        r = self.report
        url = self.endpoint("jwks_uri", "/jwks.json")

        def fetch():
            _, doc = self.fetch_json(url)
            expect(isinstance(doc, dict) and isinstance(doc.get("keys"), list) and doc["keys"],
                   "no non-empty keys array")
            expect(all(isinstance(k, dict) for k in doc["keys"]), "a key is not an object")
            self.jwks = doc
        if r.run("jwks.fetch", fetch) is None:
            for name in ("jwks.key-members", "jwks.no-private-members", "jwks.unique-kids", "jwks.rs256-key"):
                r.skip(name, "jwks.fetch failed")
            return
        keys = self.jwks["keys"]

        def members():
            bad = []
            for i, k in enumerate(keys):
                miss = [m for m in ("kty", "kid", "alg") if not k.get(m)]
                if miss:
                    bad.append(f"key {i} lacks {','.join(miss)}")
                if k.get("use") != "sig":
                    bad.append(f"key {i} ({k.get('kid')}) has use={k.get('use')!r}")
            expect(not bad, "; ".join(bad))
        r.run("jwks.key-members", members)

        def private():
            bad = [f"{k.get('kid')}: {m}" for k in keys for m in PRIVATE_JWK_MEMBERS if m in k]
            expect(not bad, "private members published: " + ", ".join(bad))
        r.run("jwks.no-private-members", private)

        def unique():
            kids = [k.get("kid") for k in keys]
            expect(len(kids) == len(set(kids)), f"duplicate kid in {kids}")
        r.run("jwks.unique-kids", unique)

        def rs256_key():
            rsa = [k for k in keys if k.get("kty") == "RSA" and k.get("alg") == "RS256"]
            expect(rsa, "no RSA key with alg RS256")
            for k in rsa:
                bits = jwk_int(k, "n").bit_length()
                expect(bits >= 2048, f"RSA key {k.get('kid')} has {bits} bits (< 2048)")
                e = jwk_int(k, "e")
                expect(e >= 3 and e % 2 == 1, f"RSA key {k.get('kid')} has exponent {e}")
        r.run("jwks.rs256-key", rs256_key)

    # -- token endpoint without a client --------------------------------------------------

    def token_checks_anonymous(self) -> None:
        r = self.report
        url = self.endpoint("token_endpoint", "/token")
        seen: list[tuple[str, Response]] = []

        def get_405():
            res = self.http.get(url)
            seen.append(("GET", res))
            expect(res.status == 405, f"GET: {res.brief()}")
            expect("POST" in (res.header("allow") or ""), f"Allow is {res.header('allow')!r}")
        r.run("token.get-405", get_405)

        def json_body():
            res = self.http.request("POST", url, {"Content-Type": "application/json"},
                                    json.dumps({"grant_type": "authorization_code", "code": "x"}).encode())
            seen.append(("JSON body", res))
            self.check_oauth_error(res, 400, "invalid_request", "JSON body")
        r.run("token.json-body-invalid-request", json_body)

        def password():
            res = self.http.post_form(url, {"grant_type": "password", "username": "op-check",
                                            "password": "op-check-password"})
            seen.append(("grant_type=password", res))
            self.check_oauth_error(res, 400, "unsupported_grant_type", "grant_type=password")
        r.run("token.password-grant-unsupported", password)

        def query():
            res = self.http.request("POST", url + "?grant_type=authorization_code&code=x",
                                    {"Content-Type": "application/x-www-form-urlencoded"}, b"")
            seen.append(("parameters in the query", res))
            self.check_oauth_error(res, 400, "invalid_request", "parameters in the query")
        r.run("token.query-parameters-refused", query)

        def no_store():
            expect(seen, "no token endpoint response to look at")
            for what, res in seen:
                self.check_no_store(res, what)
        r.run("token.errors-no-store", no_store)

    # -- token endpoint with a client -----------------------------------------------------

    def client_auth(self, form: dict) -> tuple[dict, dict]:
        """Headers and form for this client's authentication."""
        a = self.args
        form = dict(form)
        headers = {}
        if a.client_secret is None:
            form["client_id"] = a.client_id
        elif a.client_auth == "post":
            form["client_id"] = a.client_id
            form["client_secret"] = a.client_secret
        else:
            headers["Authorization"] = basic_auth(a.client_id, a.client_secret)
        return headers, form

    def token_checks_client(self) -> None:
        r = self.report
        a = self.args
        url = self.endpoint("token_endpoint", "/token")
        code_form = {"grant_type": "authorization_code", "code": secrets.token_urlsafe(32),
                     "redirect_uri": a.redirect_uri, "code_verifier": pkce_pair()[0]}

        def wrong_secret():
            headers = {"Authorization": basic_auth(a.client_id, "wrong-" + secrets.token_urlsafe(16))}
            res = self.http.post_form(url, code_form, headers)
            self.check_oauth_error(res, 401, "invalid_client", "wrong Basic secret")
            www = res.header("www-authenticate") or ""
            expect(www.lower().startswith("basic"), f"WWW-Authenticate is {www!r}, not a Basic challenge")
            self.check_no_store(res, "invalid_client")
        if a.client_secret is not None and a.client_auth == "basic":
            r.run("token.wrong-secret-invalid-client", wrong_secret)

        def unknown_code():
            headers, form = self.client_auth(code_form)
            res = self.http.post_form(url, form, headers)
            self.check_oauth_error(res, 400, "invalid_grant", "unknown code")
            self.check_no_store(res, "invalid_grant")
        r.run("token.unknown-code-invalid-grant", unknown_code)

        def password():
            headers, form = self.client_auth({"grant_type": "password", "username": "op-check",
                                              "password": "op-check-password"})
            res = self.http.post_form(url, form, headers)
            self.check_oauth_error(res, 400, "unsupported_grant_type", "grant_type=password")
        r.run("token.password-grant-unsupported-authenticated", password)

    # -- userinfo without a token ---------------------------------------------------------

    def userinfo_checks_anonymous(self) -> None:
        r = self.report
        url = self.endpoint("userinfo_endpoint", "/userinfo")

        def bearer_401(res: Response, what: str, error_required: bool) -> None:
            expect(res.status == 401, f"{what}: {res.brief()}")
            www = res.header("www-authenticate") or ""
            expect(www.lower().startswith("bearer"), f"{what}: WWW-Authenticate is {www!r}")
            if error_required:
                expect('error="invalid_token"' in www, f"{what}: WWW-Authenticate {www!r} lacks error=\"invalid_token\"")

        def no_token():
            bearer_401(self.http.get(url), "no token", True)
        r.run("userinfo.no-token-401", no_token)

        def garbage():
            res = self.http.get(url, {"Authorization": "Bearer " + secrets.token_urlsafe(24)})
            bearer_401(res, "garbage token", True)
        r.run("userinfo.garbage-token-401", garbage)

        def unsigned():
            now = int(time.time())
            tok = ".".join([b64url(b'{"alg":"none","typ":"at+jwt"}'),
                            b64url(json.dumps({"iss": self.issuer, "sub": "op-check", "aud": self.issuer,
                                               "scope": "openid", "iat": now, "exp": now + 600}).encode()), ""])
            bearer_401(self.http.get(url, {"Authorization": "Bearer " + tok}), "alg none token", True)
        r.run("userinfo.unsigned-jwt-401", unsigned)

    # -- authorization endpoint ---------------------------------------------------------

    def authz_params(self, **extra) -> dict:
        verifier, challenge = pkce_pair()
        p = {"response_type": "code", "client_id": self.args.client_id,
             "redirect_uri": self.args.redirect_uri, "scope": "openid", "state": tricky_state(),
             "nonce": secrets.token_urlsafe(16), "code_challenge": challenge,
             "code_challenge_method": "S256"}
        for k, v in extra.items():
            if v is None:
                p.pop(k, None)
            else:
                p[k] = v
        return p

    def redirect_variants(self) -> dict[str, str]:
        uri = self.args.redirect_uri
        p = urlsplit(uri)
        v: dict[str, str] = {}
        path = p.path[:-1] if p.path.endswith("/") else p.path + "/"
        v["trailing-slash"] = urlunsplit((p.scheme, p.netloc, path, p.query, ""))
        v["added-query"] = uri + ("&" if p.query else "?") + "x=1"
        v["fragment"] = uri + "#f"
        if p.scheme in ("http", "https") and p.hostname:
            host = p.hostname
            port = f":{p.port}" if p.port else ""
            loopback = host in ("127.0.0.1", "::1", "localhost") or host.startswith("127.")
            hostport = p.netloc.rsplit("@", 1)[-1]
            v["other-host"] = urlunsplit((p.scheme, EVIL + port, p.path, p.query, ""))
            is_name = ":" not in host and not host.replace(".", "").isdigit()
            if is_name:
                v["host-suffix"] = urlunsplit((p.scheme, host + "." + EVIL + port, p.path, p.query, ""))
            v["userinfo-at"] = urlunsplit((p.scheme, hostport + "@" + EVIL, p.path, p.query, ""))
            v["path-traversal"] = uri.split("?")[0].rstrip("/") + "/..%2f..%2fevil"
            if is_name and host != host.upper():
                v["uppercase-host"] = urlunsplit((p.scheme, hostport.upper(), p.path, p.query, ""))
            if not p.port and not loopback:  # loopback ports may vary for native clients
                default = 443 if p.scheme == "https" else 80
                v["default-port"] = urlunsplit((p.scheme, f"{hostport}:{default}", p.path, p.query, ""))
            if p.scheme == "https":
                v["http-downgrade"] = "http" + uri[len("https"):]
        return v

    def authz_checks(self) -> None:
        r = self.report
        a = self.args
        url = self.endpoint("authorization_endpoint", "/authorize")
        seen: list[tuple[str, Response]] = []
        origin = {"Origin": f"https://{EVIL}"}

        def get(params, what: str) -> Response:
            res = self.http.get(with_query(url, params), origin)
            seen.append((what, res))
            return res

        def unknown_client():
            p = self.authz_params(client_id="op-check-unknown-" + secrets.token_urlsafe(8))
            self.check_error_page(get(p, "unknown client_id"), "unknown client_id")
        r.run("authz.unknown-client", unknown_client)

        for name, uri in self.redirect_variants().items():
            def variant(uri=uri, name=name):
                self.check_error_page(get(self.authz_params(redirect_uri=uri), name), f"redirect_uri {uri!r}")
            r.run(f"authz.redirect-uri.{name}", variant)

        for rt in ("token", "id_token token", "code id_token"):
            def unsupported(rt=rt):
                p = self.authz_params(response_type=rt)
                self.check_error_redirect(get(p, f"response_type={rt}"), "unsupported_response_type",
                                          p["state"], f"response_type={rt}")
            r.run(f"authz.response-type.{rt.replace(' ', '+')}", unsupported)

        def dup(name: str, second: str):
            p = list(self.authz_params().items()) + [(name, second)]
            return p, get(p, f"duplicated {name}")

        def dup_scope():
            p, res = dup("scope", "openid")
            self.check_error_redirect(res, "invalid_request", dict(p)["state"], "duplicated scope")
        r.run("authz.duplicate.scope", dup_scope)

        def dup_state():
            _, res = dup("state", "other-" + secrets.token_urlsafe(8))
            self.check_error_redirect(res, "invalid_request", None, "duplicated state")
        r.run("authz.duplicate.state", dup_state)

        def dup_redirect():
            _, res = dup("redirect_uri", f"https://{EVIL}/cb")
            self.check_error_page(res, "duplicated redirect_uri")
        r.run("authz.duplicate.redirect-uri", dup_redirect)

        def dup_client():
            _, res = dup("client_id", "op-check-other")
            self.check_error_page(res, "duplicated client_id")
        r.run("authz.duplicate.client-id", dup_client)

        def dup_split():
            p = self.authz_params()
            res = self.http.request("POST", with_query(url, p),
                                    {"Content-Type": "application/x-www-form-urlencoded", **origin},
                                    urlencode({"scope": "openid"}).encode())
            seen.append(("scope in query and body", res))
            if res.status == 400:
                self.check_error_page(res, "scope in query and body")
            else:
                self.check_error_redirect(res, "invalid_request", p["state"], "scope in query and body")
        r.run("authz.duplicate.query-and-body", dup_split)

        def pkce_plain():
            verifier = pkce_pair()[0]
            p = self.authz_params(code_challenge=verifier, code_challenge_method="plain")
            self.check_error_redirect(get(p, "PKCE plain"), "invalid_request", p["state"], "PKCE plain")
        r.run("authz.pkce-plain", pkce_plain)

        def pkce_no_method():
            verifier = pkce_pair()[0]
            p = self.authz_params(code_challenge=verifier, code_challenge_method=None)
            self.check_error_redirect(get(p, "PKCE without method"), "invalid_request", p["state"],
                                      "code_challenge without method (means plain)")
        r.run("authz.pkce-method-absent", pkce_no_method)

        def prompt_none():
            p = self.authz_params(prompt="none")
            self.check_error_redirect(get(p, "prompt=none"), "login_required", p["state"], "prompt=none")
        r.run("authz.prompt-none-login-required", prompt_none)

        def frame():
            expect(seen, "no authorization endpoint response to look at")
            for what, res in seen:
                self.check_page_protection(res, what)
        r.run("authz.frame-protection", frame)

        def referrer():
            expect(seen, "no authorization endpoint response to look at")
            for what, res in seen:
                rp = (res.header("referrer-policy") or "").lower()
                expect(rp == "no-referrer", f"{what}: Referrer-Policy is {res.header('referrer-policy')!r}")
        r.run("authz.referrer-policy", referrer)

        def cors():
            expect(seen, "no authorization endpoint response to look at")
            for what, res in seen:
                acao = res.header("access-control-allow-origin")
                expect(acao is None, f"{what}: Access-Control-Allow-Origin {acao!r}")
        r.run("authz.no-cors", cors)

    # -- full sign-in -------------------------------------------------------------------

    def flow(self) -> None:
        a = self.args
        r = self.report
        jar = Cookies()
        authz_url = self.endpoint("authorization_endpoint", "/authorize")
        token_url = self.endpoint("token_endpoint", "/token")
        userinfo_url = self.endpoint("userinfo_endpoint", "/userinfo")
        verifier, challenge = pkce_pair()
        state = tricky_state()
        nonce = "n-" + secrets.token_urlsafe(16)
        params = {"response_type": "code", "client_id": a.client_id, "redirect_uri": a.redirect_uri,
                  "scope": a.scope, "state": state, "nonce": nonce, "code_challenge": challenge,
                  "code_challenge_method": "S256"}
        ctx: dict = {}
        failed: list[str] = []

        def step(name, fn):
            if failed:
                r.skip(name, f"{failed[0]} failed")
                return None
            out = r.run(name, fn)
            if out is None:
                failed.append(name)
            return out

        def redirect_under_issuer(res: Response, what: str) -> str:
            expect(res.status in (302, 303), f"{what}: expected a redirect, got {res.brief()}")
            loc = res.location or ""
            expect(self.under_issuer(loc), f"{what}: redirect to {loc[:200]!r}, not under the issuer")
            return loc

        def authorize():
            res = self.http.get(with_query(authz_url, params), cookies=jar)
            loc = redirect_under_issuer(res, "GET /authorize")
            p = response_params(loc)
            expect("code" not in p and "error" not in p, f"unexpected answer {loc[:200]!r}")
            self.check_page_protection(res, "/authorize")
            ctx["pre_login_cookies"] = dict(jar.jar.get(urlsplit(res.url).netloc.lower(), {}))
            ctx["login_url"] = loc
        step("flow.authorize-redirects-to-login", authorize)

        def login_page():
            res = self.http.get(ctx["login_url"], cookies=jar)
            expect(res.status == 200, f"login page: {res.brief()}")
            expect(res.content_type == "text/html", f"login page Content-Type {res.content_type!r}")
            self.check_page_protection(res, "login page")
            forms = [f for f in parse_forms(res.text)
                     if f["method"] == "post" and any(t == "password" for _, t, _ in f["inputs"])]
            expect(len(forms) == 1, f"expected one sign-in form, found {len(forms)}")
            form = forms[0]
            hidden = hidden_inputs(form)
            expect(any("csrf" in k.lower() for k in hidden), f"no CSRF token among hidden inputs {list(hidden)}")
            expect("request" in hidden, f"no request hidden input among {list(hidden)}")
            action = urljoin(res.url, form["action"] or res.url)
            expect(self.under_issuer(action), f"form action {action!r} is not under the issuer")
            names = [n for n, t, _ in form["inputs"]]
            user_field = "username" if "username" in names else next(
                (n for n, t, _ in form["inputs"] if t in ("text", "email") and n), None)
            pass_field = next(n for n, t, _ in form["inputs"] if t == "password")
            expect(user_field, "no username field")
            ctx["login_form"] = (action, hidden, user_field, pass_field)
        step("flow.login-page", login_page)

        def login_submit():
            action, hidden, user_field, pass_field = ctx["login_form"]
            form = dict(hidden)
            form[user_field] = a.username
            form[pass_field] = self.password
            res = self.http.post_form(action, form, cookies=jar)
            if res.status == 401:
                raise Fail("the server refused the username or password (401)")
            if res.status == 429:
                raise Fail(f"sign-in throttled (429, Retry-After {res.header('retry-after')})")
            # RFC 9700 §4.12: after POSTed credentials, 303 (302 tolerated), never 307/308.
            expect(res.status in (302, 303), f"POST login: expected 303, got {res.brief()}")
            ctx["login_res"] = res
            ctx["next"] = redirect_under_issuer(res, "POST login")
        step("flow.login-submit", login_submit)

        def session_rotated():
            before = ctx["pre_login_cookies"]
            res = ctx["login_res"]
            after = jar.jar.get(urlsplit(res.url).netloc.lower(), {})
            set_names = [c.split("=", 1)[0].strip() for c in res.header_all("set-cookie")]
            expect(set_names, "no Set-Cookie at sign-in")
            same = [n for n in set_names if n in before and before.get(n) == after.get(n)]
            expect(not same, f"cookie {same} kept its pre-login value (session fixation)")
        step("flow.session-rotated-at-login", session_rotated)

        def cookie_attributes():
            res = ctx["login_res"]
            https = self.issuer.startswith("https://")
            problems = []
            for line in res.header_all("set-cookie"):
                name = line.split("=", 1)[0].strip()
                attrs = [x.strip().lower() for x in line.split(";")[1:]]
                if "httponly" not in attrs:
                    problems.append(f"{name}: no HttpOnly")
                if not any(x in ("samesite=lax", "samesite=strict") for x in attrs):
                    problems.append(f"{name}: SameSite not Lax/Strict")
                if "path=/" not in attrs:
                    problems.append(f"{name}: Path is not /")
                if any(x.startswith("domain=") for x in attrs):
                    problems.append(f"{name}: has Domain")
                if https and "secure" not in attrs:
                    problems.append(f"{name}: no Secure on an https issuer")
                if https and not name.startswith("__Host-"):
                    problems.append(f"{name}: no __Host- prefix on an https issuer")
            expect(not problems, "; ".join(problems))
        step("flow.session-cookie-attributes", cookie_attributes)

        def walk_to_consent():
            url = ctx["next"]
            for _ in range(10):
                res = self.http.get(url, cookies=jar)
                if res.status in (302, 303):
                    loc = res.location or ""
                    if same_endpoint(loc, a.redirect_uri):
                        ctx["client_redirect"] = res  # consent was given before
                        return
                    url = redirect_under_issuer(res, f"GET {url}")
                    continue
                expect(res.status == 200, f"GET {url}: {res.brief()}")
                self.check_page_protection(res, "consent page")
                forms = [f for f in parse_forms(res.text) if f["method"] == "post"]
                allow = [f for f in forms if ("decision", "allow") in f["buttons"]]
                expect(allow, f"no form with an Allow button at {url}")
                form = allow[0]
                hidden = hidden_inputs(form)
                expect(any("csrf" in k.lower() for k in hidden), f"no CSRF token among hidden inputs {list(hidden)}")
                action = urljoin(res.url, form["action"] or res.url)
                expect(self.under_issuer(action), f"form action {action!r} is not under the issuer")
                ctx["consent_form"] = (action, hidden)
                return
            raise Fail("more than 10 redirects inside the issuer")
        step("flow.continue-to-consent", walk_to_consent)

        def consent_allow():
            if "client_redirect" in ctx:
                raise Skip("no consent page: the user had consented to this client before")
            action, hidden = ctx["consent_form"]
            res = self.http.post_form(action, {**hidden, "decision": "allow"}, cookies=jar)
            for _ in range(10):
                expect(res.status in (302, 303), f"after consent: expected a redirect, got {res.brief()}")
                loc = res.location or ""
                if same_endpoint(loc, a.redirect_uri):
                    ctx["client_redirect"] = res
                    return
                redirect_under_issuer(res, "after consent")
                res = self.http.get(loc, cookies=jar)
            raise Fail("more than 10 redirects after consent")
        step("flow.consent-allow", consent_allow)

        def authorization_response():
            res = ctx["client_redirect"]
            loc = res.location or ""
            parts = urlsplit(loc)
            expect(not parts.fragment, f"response in the fragment: {loc[:200]!r}")
            p = response_params(loc)
            expect("error" not in p, f"error response {loc[:300]!r}")
            expect(p.get("code"), f"no code in {loc[:300]!r}")
            expect(p.get("state") == state, f"state {p.get('state')!r} != sent {state!r}")
            expect(p.get("iss") == self.issuer, f"iss {p.get('iss')!r} != issuer (RFC 9207)")
            for leak in ("access_token", "id_token"):
                expect(leak not in p, f"{leak} in the authorization response")
            # Parameters of the registered redirect URI's own query survive.
            for k, v in parse_qsl(urlsplit(a.redirect_uri).query, keep_blank_values=True):
                expect(p.get(k) == v, f"redirect_uri query parameter {k} lost")
            ctx["code"] = p["code"]
        step("flow.authorization-response", authorization_response)

        token_form = lambda: {"grant_type": "authorization_code", "code": ctx["code"],
                              "redirect_uri": a.redirect_uri, "code_verifier": verifier}

        def exchange():
            headers, form = self.client_auth(token_form())
            res = self.http.post_form(token_url, form, headers)
            expect(res.status == 200, f"token request: {res.brief()}")
            expect(res.content_type == "application/json", f"Content-Type {res.content_type!r}")
            self.check_no_store(res, "token response")
            t = res.json()
            expect(isinstance(t.get("access_token"), str) and t["access_token"], "no access_token")
            expect(str(t.get("token_type", "")).lower() == "bearer", f"token_type {t.get('token_type')!r}")
            expect(isinstance(t.get("expires_in"), int) and t["expires_in"] > 0, f"expires_in {t.get('expires_in')!r}")
            expect(isinstance(t.get("id_token"), str), "no id_token")
            if "scope" in t:
                expect("openid" in str(t["scope"]).split(), f"scope {t['scope']!r} lacks openid")
            ctx["tokens"] = t
        step("flow.token-exchange", exchange)

        def id_token_header():
            header, claims, signing_input, sig = jwt_parts(ctx["tokens"]["id_token"])
            ctx["idt"] = (header, claims, signing_input, sig)
            expect(header.get("alg") == "RS256", f"alg {header.get('alg')!r}, not RS256")
            algs = (self.discovery or {}).get("id_token_signing_alg_values_supported") or ["RS256"]
            expect(header["alg"] in algs, f"alg {header['alg']} not advertised in discovery")
            expect(header.get("typ") in (None, "JWT"), f"typ {header.get('typ')!r}")
            for h in ("jku", "x5u", "jwk", "crit"):
                expect(h not in header, f"header carries {h}")
            expect(self.jwks is not None, "no JWKS to look the kid up in")
            keys = [k for k in self.jwks["keys"] if k.get("kid") == header.get("kid")]
            expect(keys, f"kid {header.get('kid')!r} is not in the JWKS")
            expect(keys[0].get("kty") == "RSA", f"key {header.get('kid')} is not RSA")
            ctx["idt_key"] = keys[0]
        step("flow.id-token.header", id_token_header)

        def id_token_signature():
            _, _, signing_input, sig = ctx["idt"]
            k = ctx["idt_key"]
            n, e = jwk_int(k, "n"), jwk_int(k, "e")
            expect(rsa_pkcs1v15_sha256_verify(n, e, signing_input, sig), "RS256 signature does not verify")
            # The verifier must be able to say no, or the PASS above means nothing.
            bad_sig = bytes([sig[0] ^ 1]) + sig[1:]
            expect(not rsa_pkcs1v15_sha256_verify(n, e, signing_input, bad_sig), "verifier accepted a tampered signature")
            expect(not rsa_pkcs1v15_sha256_verify(n, e, signing_input + b"x", sig), "verifier accepted a tampered payload")
        step("flow.id-token.signature", id_token_signature)

        def claims():
            return ctx["idt"][1]

        def c_iss():
            expect(claims().get("iss") == self.issuer, f"iss {claims().get('iss')!r} != {self.issuer!r}")
        step("flow.id-token.iss", c_iss)

        def c_aud():
            aud = claims().get("aud")
            auds = aud if isinstance(aud, list) else [aud]
            expect(a.client_id in auds, f"aud {aud!r} lacks the client_id")
            expect(all(isinstance(x, str) for x in auds), f"aud {aud!r}")
        step("flow.id-token.aud", c_aud)

        def c_azp():
            c = claims()
            aud = c.get("aud")
            multi = isinstance(aud, list) and len(aud) > 1
            if "azp" in c or multi:
                expect(c.get("azp") == a.client_id, f"azp {c.get('azp')!r} != client_id (aud {aud!r})")
        step("flow.id-token.azp", c_azp)

        def c_exp():
            exp = claims().get("exp")
            now = time.time()
            expect(isinstance(exp, int), f"exp {exp!r} is not an integer")
            expect(exp > now, f"exp {exp} is in the past (now {int(now)})")
        step("flow.id-token.exp", c_exp)

        def c_iat():
            c = claims()
            iat, now = c.get("iat"), time.time()
            expect(isinstance(iat, int), f"iat {iat!r} is not an integer")
            expect(now - 600 <= iat <= now + CLOCK_SKEW, f"iat {iat} is far from now ({int(now)})")
            expect(iat < c.get("exp", 0), "iat is not before exp")
            at = c.get("auth_time")
            if at is not None:
                expect(isinstance(at, int) and at <= iat + CLOCK_SKEW, f"auth_time {at!r} after iat {iat}")
        step("flow.id-token.iat", c_iat)

        def c_nonce():
            expect(claims().get("nonce") == nonce, f"nonce {claims().get('nonce')!r} != sent {nonce!r}")
        step("flow.id-token.nonce", c_nonce)

        def c_at_hash():
            at = ctx["tokens"]["access_token"]
            want = b64url(hashlib.sha256(at.encode()).digest()[:16])
            got = claims().get("at_hash")
            expect(got is not None, "no at_hash")
            expect(got == want, f"at_hash {got!r} != {want!r}")
        step("flow.id-token.at-hash", c_at_hash)

        def c_sub():
            sub = claims().get("sub")
            expect(isinstance(sub, str) and 0 < len(sub) <= 255 and sub.isascii(), f"sub {sub!r}")
        step("flow.id-token.sub", c_sub)

        def bearer() -> dict:
            return {"Authorization": "Bearer " + ctx["tokens"]["access_token"]}

        def userinfo():
            res = self.http.get(userinfo_url, bearer())
            expect(res.status == 200, f"userinfo: {res.brief()}")
            expect(res.content_type == "application/json", f"Content-Type {res.content_type!r}")
            u = res.json()
            expect(u.get("sub") == claims().get("sub"), f"sub {u.get('sub')!r} != ID token sub")
            granted = str(ctx["tokens"].get("scope", a.scope)).split()
            if "profile" in granted and "preferred_username" in u:
                expect(u["preferred_username"] == a.username,
                       f"preferred_username {u['preferred_username']!r} != {a.username!r}")
        step("flow.userinfo", userinfo)

        def userinfo_post():
            res = self.http.request("POST", userinfo_url, bearer())
            expect(res.status == 200, f"POST userinfo: {res.brief()}")
            expect(res.json().get("sub") == claims().get("sub"), "sub differs")
        step("flow.userinfo-post", userinfo_post)

        def userinfo_body():
            res = self.http.post_form(userinfo_url, {"access_token": ctx["tokens"]["access_token"]})
            expect(res.status == 200, f"access_token in the form body (RFC 6750 §2.2): {res.brief()}")
            expect(res.json().get("sub") == claims().get("sub"), "sub differs")
        step("flow.userinfo-form-body-token", userinfo_body)

        def userinfo_query():
            # RFC 9700 §2.5 / RFC 6750 §2.3: tokens in URLs leak through logs and referrers.
            res = self.http.get(with_query(userinfo_url, {"access_token": ctx["tokens"]["access_token"]}))
            expect(res.status in (400, 401), f"access_token in the query was accepted: {res.brief()}")
        step("flow.userinfo-query-token-refused", userinfo_query)

        def silent(what: str, post: bool = False, **extra) -> tuple[str, str]:
            """A prompt=none request in the signed-in session: a code, at once (OIDC Core
            §3.1.2.1). Returns the code and its PKCE verifier."""
            v, c = pkce_pair()
            p = dict(params, prompt="none", state=tricky_state(), code_challenge=c,
                     nonce="n-" + secrets.token_urlsafe(8))
            for k, val in extra.items():
                if val is None:
                    p.pop(k, None)
                else:
                    p[k] = val
            if post:
                res = self.http.post_form(authz_url, p, cookies=jar)
            else:
                res = self.http.get(with_query(authz_url, p), cookies=jar)
            expect(res.status in (302, 303), f"{what}: {res.brief()}")
            loc = res.location or ""
            expect(same_endpoint(loc, a.redirect_uri), f"{what}: redirect to {loc[:200]!r}")
            q = response_params(loc)
            expect(q.get("code") and "error" not in q, f"{what}: expected a code, got {loc[:300]!r}")
            expect(q.get("state") == p["state"], f"{what}: state {q.get('state')!r} != {p['state']!r}")
            expect(q.get("iss") == self.issuer, f"{what}: iss {q.get('iss')!r} != issuer")
            return q["code"], v

        step("flow.silent.prompt-none-with-session", lambda: silent("prompt=none") and None)
        step("flow.silent.post-request", lambda: silent("POST /authorize", post=True) and None)
        step("flow.silent.unknown-parameter-and-scope-order",
             lambda: silent("unknown parameter, scope reordered", op_check_unknown="1",
                            scope=" ".join(reversed(a.scope.split()))) and None)
        step("flow.silent.without-nonce", lambda: silent("no nonce", nonce=None) and None)
        step("flow.silent.id-token-hint",
             lambda: silent("id_token_hint", id_token_hint=ctx["tokens"]["id_token"]) and None)

        def wrong_redirect_uri():
            code, v = silent("prompt=none")
            other = a.redirect_uri + ("&" if "?" in a.redirect_uri else "?") + "op_check=1"
            headers, form = self.client_auth({"grant_type": "authorization_code", "code": code,
                                              "redirect_uri": other, "code_verifier": v})
            res = self.http.post_form(token_url, form, headers)
            self.check_oauth_error(res, 400, "invalid_grant", "redirect_uri differs at the token endpoint")
        step("flow.token.redirect-uri-mismatch", wrong_redirect_uri)

        def wrong_verifier():
            code, _ = silent("prompt=none")
            headers, form = self.client_auth({"grant_type": "authorization_code", "code": code,
                                              "redirect_uri": a.redirect_uri, "code_verifier": pkce_pair()[0]})
            res = self.http.post_form(token_url, form, headers)
            self.check_oauth_error(res, 400, "invalid_grant", "wrong code_verifier")
        step("flow.token.pkce-verifier-mismatch", wrong_verifier)

        def missing_verifier():
            code, _ = silent("prompt=none")
            headers, form = self.client_auth({"grant_type": "authorization_code", "code": code,
                                              "redirect_uri": a.redirect_uri})
            res = self.http.post_form(token_url, form, headers)
            # RFC 7636 §4.6 says invalid_grant; a public client may also get invalid_request.
            expect(res.status == 400, f"no code_verifier: {res.brief()}")
            err = res.json().get("error")
            expect(err in ("invalid_grant", "invalid_request"), f"no code_verifier: error {err!r}")
        step("flow.token.pkce-verifier-missing", missing_verifier)

        def replay():
            headers, form = self.client_auth(token_form())
            res = self.http.post_form(token_url, form, headers)
            self.check_oauth_error(res, 400, "invalid_grant", "code replayed")
            self.check_no_store(res, "code replayed")
        step("flow.code-replay-invalid-grant", replay)

        def revoked():
            res = self.http.get(userinfo_url, bearer())
            expect(res.status == 401, f"userinfo after the code was replayed: {res.brief()} (grant not revoked)")
        step("flow.userinfo-after-replay-401", revoked)

    # -- across endpoints ---------------------------------------------------------------

    def method_checks(self) -> None:
        def methods():
            bad = []
            for key, path in (("authorization_endpoint", "/authorize"), ("token_endpoint", "/token"),
                              ("userinfo_endpoint", "/userinfo")):
                url = self.endpoint(key, path)
                for m in ("PUT", "DELETE"):
                    res = self.http.request(m, url)
                    if res.status != 405:
                        bad.append(f"{m} {urlsplit(url).path}: {res.status}")
            expect(not bad, "; ".join(bad))
        self.report.run("http.put-delete-405", methods)

    def description_checks(self) -> None:
        # error_description: %x20-21 / %x23-5B / %x5D-7E only, i.e. printable ASCII without
        # '"' and '\\' (RFC 6749 §4.1.2.1, §5.2). The known defects (RFC citations with '§',
        # the rejected grant_type echoed in quotes) are one check, listed in
        # KNOWN_SERVER_ISSUES; anything else is another, so a new offender still fails.
        def offenders(known: bool):
            expect(self.descriptions, "no error_description seen")
            bad: dict[str, list[str]] = {}
            for what, d in self.descriptions:
                wrong = {c for c in d if not (c in " !" or "#" <= c <= "[" or "]" <= c <= "~")}
                if not wrong:
                    continue
                is_known = (wrong == {"§"} and "(RFC " in d) or d.startswith('grant_type "')
                if is_known == known:
                    bad.setdefault(d, []).append(what)
            expect(not bad, f"{sum(map(len, bad.values()))} of {len(self.descriptions)} responses: "
                   + "; ".join(f"{d!r} ({', '.join(w)})" for d, w in bad.items()))

        self.report.run("errors.error-description-charset", offenders, True)
        self.report.run("errors.error-description-charset-other", offenders, False)

    # -- driver -------------------------------------------------------------------------

    def run(self) -> int:
        a = self.args
        started = time.monotonic()
        self.discovery_checks()
        self.jwks_checks()
        self.token_checks_anonymous()
        self.userinfo_checks_anonymous()
        self.method_checks()
        if a.client_id:
            self.authz_checks()
            self.token_checks_client()
            if a.username:
                self.flow()
        self.description_checks()
        r = self.report
        for note in r.notes:
            print(note)
        extra = []
        if r.xfailed:
            extra.append(f"{r.xfailed} known server issues (XFAIL)")
        if r.skipped:
            extra.append(f"{r.skipped} skipped")
        extra.append(f"{time.monotonic() - started:.1f} s")
        print("# " + ", ".join(extra))
        print(f"{r.passed} passed, {r.failed} failed")
        return 1 if r.failed else 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description="Black-box OpenID Provider conformance check of a running Gatehouse.")
    ap.add_argument("issuer", metavar="ISSUER", help="the issuer identifier, e.g. http://127.0.0.1:8080")
    ap.add_argument("--client-id", help="a registered client (enables the authorization endpoint checks)")
    ap.add_argument("--client-secret", help="its secret (enables authenticated token endpoint checks)")
    ap.add_argument("--client-auth", choices=("basic", "post"), default="basic",
                    help="how the client authenticates at the token endpoint (default: basic)")
    ap.add_argument("--redirect-uri", help="a redirect URI registered for the client")
    ap.add_argument("--username", help="a user to sign in as (needs --password-stdin)")
    ap.add_argument("--password-stdin", action="store_true",
                    help="read the user's password from the first line of standard input")
    ap.add_argument("--scope", default="openid profile email", help="scope of the sign-in (default: %(default)s)")
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds per HTTP request (default: 30)")
    ap.add_argument("--strict", action="store_true", help="count known server issues (XFAIL) as failures")
    args = ap.parse_args(argv)

    parts = urlsplit(args.issuer)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        ap.error("ISSUER must be an http(s) URL without query or fragment")
    if args.client_id and not args.redirect_uri:
        ap.error("--client-id needs --redirect-uri")
    if (args.client_secret or args.redirect_uri) and not args.client_id:
        ap.error("--client-secret and --redirect-uri need --client-id")
    if args.username and not args.client_id:
        ap.error("--username needs --client-id and --redirect-uri")
    if args.username and not args.password_stdin:
        ap.error("--username needs --password-stdin (passwords never go on the command line)")
    if args.password_stdin and not args.username:
        ap.error("--password-stdin needs --username")
    password = None
    if args.password_stdin:
        line = sys.stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
        password = password[:-1] if password.endswith("\r") else password
        if not password:
            ap.error("no password on standard input")
    return Checker(args, password).run()


if __name__ == "__main__":
    sys.exit(main())
