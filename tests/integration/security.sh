#!/bin/bash
# tests/integration/security.sh -- the security regression suite (issue 12)
# through one real deployment: SG_SERVER=lighttpd|apache|nginx|cgi.
#
#   SG_SERVER=nginx SG_BIN=$PWD/src/sessiongate bash tests/integration/security.sh
#   ... security.sh -- test_routing_exact test_utf8   (only these tests)
#
# One test per defect of issue 12 (its number in each test's comment), the
# RFC 8725 token attacks, session fixation, and two checks over the whole
# run: every answer under /api/v1 was a strict UTF-8 JSON envelope, and no
# log of any stack holds a token, refresh token or password the suite used.
#
# Stacks (tests/stack.sh, the shipped configs), each started when a test
# first needs it:
#   main     cookie_auth = on, cookie_secure = off (plain HTTP),
#            trusted_proxies = 127.0.0.1/32 (X-Forwarded-For picks the
#            client address), high per-IP sign-in/register limits,
#            ratelimit_refresh_failure's 30 over an hour
#   outage   on_store_error = verify_signature_only (its Redis is stopped)
#   limits   trusted_proxies, ratelimit_signin = 3/1h ip, ratelimit_register
#            = 3/1h ip (the IPv6 buckets)
#   rs256, es256  jwt_algorithm RS256 / ES256 with tests/unit/keys
# PBKDF2 runs at 1000 iterations (tests/stack/sessiongate.conf.in). A side
# stack is stopped once its test is done; its directory stays until the end
# so that the log scan sees its logs.
#
# Every test is bounded (curl timeouts, sg_poll) and uses users of its own.
# Rate-limit windows are an hour: a test's requests fall in one window
# however slow the machine is.
# The security-<server>.sh wrappers set SG_SERVER.
#
# Environment: as lib.sh (SG_BIN, SG_KEEP, SG_SKIP_INTEGRATION); python3
# (standard library only) and openssl build the tokens.

SG_SERVER=${SG_SERVER:-}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/api.sh"

sg_suite_server security.sh lighttpd apache nginx cgi
for t in python3 openssl; do
    command -v "$t" >/dev/null 2>&1 || sg_skip_suite "$t is not installed"
done

KEYS=$SG_TOP/tests/unit/keys
MAIN_CONF='cookie_auth = on
cookie_secure = off
trusted_proxies = 127.0.0.1/32
ratelimit_refresh_failure = 30/1h ip'
OUTAGE_CONF='on_store_error = verify_signature_only'
# no API_BASE_CONF here: these are the limits under test
LIMITS_CONF='trusted_proxies = 127.0.0.1/32
ratelimit_signin = 3/1h ip
ratelimit_register = 3/1h ip'
CSRF=(-H 'X-Sessiongate-CSRF: 1')

# The suite's own files: helper script, recorded answers, secrets used,
# copies of the keys (readable by the stack's user).
SEC_TMP=$(mktemp -d "${TMPDIR:-/tmp}/sg-security.XXXXXX") || exit 1
chmod 0755 "$SEC_TMP"
SEC_BODIES=$SEC_TMP/bodies
SEC_IDX=$SEC_TMP/bodies.idx
SEC_SECRETS=$SEC_TMP/secrets
SEC_KEPT=()          # directories of stopped side stacks (for the log scan)
SEC_REDIS_DOWN=      # a stack directory whose Redis a test stopped
SEC_SEQ=0
mkdir -p "$SEC_BODIES" "$SEC_TMP/keys"
: >"$SEC_IDX"
: >"$SEC_SECRETS"
printf '%s\n' "$API_PASSWORD" >>"$SEC_SECRETS"

# ---- the python3 helper (standard library only) ---------------------------
cat >"$SEC_TMP/sec.py" <<'PY'
import base64, hashlib, hmac, http.client, json, os, subprocess, sys, time


def b64u(b):
    if isinstance(b, str):
        b = b.encode()
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def unb64u(s):
    s = s.replace("-", "+").replace("_", "/")
    return base64.b64decode(s + "=" * (-len(s) % 4))


def hs(key, data, md="sha256"):
    return hmac.new(key, data.encode(), getattr(hashlib, md)).digest()


def openssl_sign(keyfile, data):
    return subprocess.run(["openssl", "dgst", "-sha256", "-sign", keyfile],
                          input=data.encode(), capture_output=True, check=True).stdout


def der_to_rs(der):
    # ECDSA-Sig-Value (DER) -> R || S, 32 bytes each (RFC 7518 3.4)
    assert der[0] == 0x30
    i = 2 if der[1] < 0x80 else 3
    out = b""
    for _ in range(2):
        assert der[i] == 0x02
        n = der[i + 1]
        v = der[i + 2:i + 2 + n].lstrip(b"\0")
        out += v.rjust(32, b"\0")
        i += 2 + n
    return out


def sign(alg, key, data):
    """alg: HS256/HS384/HS512 (key: bytes), RS256/ES256 (key: PEM file),
    none (no signature)."""
    if alg.startswith("HS"):
        return hs(key, data, "sha" + alg[2:])
    if alg == "RS256":
        return openssl_sign(key, data)
    if alg == "ES256":
        return der_to_rs(openssl_sign(key, data))
    return b""


def jwt(header, payload, alg, key):
    h = b64u(json.dumps(header, separators=(",", ":")))
    p = b64u(payload if isinstance(payload, (bytes, str)) else
             json.dumps(payload, separators=(",", ":")))
    return h + "." + p + "." + b64u(sign(alg, key, h + "." + p))


# ---- JWK -> DER/PEM, by hand (no packages beyond the standard library) ----

def der_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def der(tag, body):
    return bytes([tag]) + der_len(len(body)) + body


def der_int(b):
    b = b.lstrip(b"\0") or b"\0"
    if b[0] & 0x80:
        b = b"\0" + b
    return der(0x02, b)


def jwk_to_der(k):
    if k["kty"] == "RSA":
        rsa_oid = bytes.fromhex("06092a864886f70d0101010500")
        inner = der(0x30, der_int(unb64u(k["n"])) + der_int(unb64u(k["e"])))
        return der(0x30, der(0x30, rsa_oid) + der(0x03, b"\0" + inner))
    if k["kty"] == "EC" and k.get("crv") == "P-256":
        prefix = bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d030107034200")
        return prefix + b"\x04" + unb64u(k["x"]).rjust(32, b"\0") + unb64u(k["y"]).rjust(32, b"\0")
    raise SystemExit("unsupported JWK %r" % k)


def der_to_pem(d):
    b = base64.b64encode(d).decode()
    return "-----BEGIN PUBLIC KEY-----\n" + "\n".join(
        b[i:i + 64] for i in range(0, len(b), 64)) + "\n-----END PUBLIC KEY-----\n"


def pem_pub_der(pemfile):
    return subprocess.run(["openssl", "pkey", "-in", pemfile, "-pubout", "-outform", "DER"],
                          capture_output=True, check=True).stdout


def pub_jwk(pemfile, kty):
    d = subprocess.run(["openssl", "pkey", "-in", pemfile, "-text_pub", "-noout"],
                       capture_output=True, check=True, text=True).stdout
    if kty == "EC":
        dd = pem_pub_der(pemfile)
        pt = dd[-64:]
        return {"kty": "EC", "crv": "P-256", "x": b64u(pt[:32]), "y": b64u(pt[32:]), "kid": "attacker"}
    hexs, mod = [], False
    for line in d.splitlines():
        if line.startswith("Modulus"):
            mod = True
            continue
        if mod and line.startswith(" "):
            hexs.append(line.strip().replace(":", ""))
        elif mod:
            break
    return {"kty": "RSA", "n": b64u(bytes.fromhex("".join(hexs))), "e": "AQAB", "kid": "attacker"}


# ---- the attack tokens of RFC 8725 -----------------------------------------

def cmd_tokens(a):
    """tokens ALG REAL_TOKEN SECRET_FILE PRIVKEY JWKS_FILE ATK_RSA ATK_EC OUTFILE [CUT_STEP]
    Writes "label<TAB>expect<TAB>token" lines (expect: 200 for the controls,
    401 for the attacks)."""
    alg, real, secret_f, priv, jwks_f, atk_rsa, atk_ec, out = a[:8]
    cut_step = int(a[8]) if len(a) > 8 else 1
    h_real, p_real, s_real = real.split(".")
    header = json.loads(unb64u(h_real))
    claims = json.loads(unb64u(p_real))
    secret = open(secret_f, "rb").read() if secret_f != "-" else None
    realkey = secret if alg == "HS256" else priv
    kid = header.get("kid")
    now = int(time.time())
    toks = []

    def add(label, tok, expect=401):
        toks.append((label, expect, tok))

    def hdr(**kw):
        h = {"alg": alg, "typ": "JWT"}
        if kid is not None:
            h["kid"] = kid
        h.update(kw)
        return {k: v for k, v in h.items() if v is not None}

    def real_signed(h, p=None):
        return jwt(h, claims if p is None else p, alg, realkey)

    add("control: the token as issued", real, 200)
    add("control: re-signed by the test with the stack's key", real_signed(hdr()), 200)

    # alg none, every spelling, with and without a signature part
    for spelling in ("none", "None", "NONE", "nOnE"):
        h = b64u(json.dumps(hdr(alg=spelling), separators=(",", ":")))
        add("alg %s, empty signature" % spelling, h + "." + p_real + ".")
        add("alg %s, no signature part" % spelling, h + "." + p_real)
        add("alg %s, the real signature kept" % spelling, h + "." + p_real + "." + s_real)
        add("alg %s, signed with the real key" % spelling,
            h + "." + p_real + "." + b64u(sign(alg, realkey, h + "." + p_real)))
    # the alg header missing, or not a string
    add("no alg header", real_signed({"typ": "JWT", **({"kid": kid} if kid else {})}))
    add("alg as a list", real_signed(hdr(alg=[alg])))
    add("alg hs256 (case)", real_signed(hdr(alg=alg.lower())))

    # algorithm substitution
    if alg == "HS256":
        for other in ("HS384", "HS512"):
            add("alg %s with the real secret" % other, jwt(hdr(alg=other), claims, other, secret))
        add("alg RS256 signed by an attacker key", jwt(hdr(alg="RS256"), claims, "RS256", atk_rsa))
        add("alg ES256 signed by an attacker key", jwt(hdr(alg="ES256"), claims, "ES256", atk_ec))
    else:
        # HS256 keyed with the published public key (RFC 8725 2.1)
        jwks = json.load(open(jwks_f))
        keys = jwks.get("keys") or jwks.get("data", {}).get("keys", [])
        if not keys:
            raise SystemExit("no key in the JWKS")
        for k in keys:
            d = jwk_to_der(k)
            if d != pem_pub_der(priv):
                raise SystemExit("JWKS key %s is not the stack's public key" % k.get("kid"))
            pem = der_to_pem(d)
            variants = {
                "PEM text": pem.encode(),
                "PEM text without the final newline": pem.rstrip("\n").encode(),
                "PEM text with CRLF": pem.replace("\n", "\r\n").encode(),
                "DER": d,
                "the JWK JSON": json.dumps(k, separators=(",", ":")).encode(),
                "the raw modulus/point": unb64u(k["n"]) if k["kty"] == "RSA" else
                    b"\x04" + unb64u(k["x"]) + unb64u(k["y"]),
            }
            for what, key in variants.items():
                for hmacalg in ("HS256", "HS384", "HS512"):
                    add("%s keyed with %s (kid %s)" % (hmacalg, what, k.get("kid")),
                        jwt(hdr(alg=hmacalg, kid=k.get("kid")), claims, hmacalg, key))
            add("HS256 keyed with the PEM text, no kid",
                jwt({"alg": "HS256", "typ": "JWT"}, claims, "HS256", pem.encode()))
        other = "ES256" if alg == "RS256" else "RS256"
        add("alg %s signed by an attacker key" % other,
            jwt(hdr(alg=other), claims, other, atk_ec if other == "ES256" else atk_rsa))
        add("alg %s signed by an attacker key" % alg,
            jwt(hdr(), claims, alg, atk_rsa if alg == "RS256" else atk_ec))

    # kid tricks: signed with the stack's real key (so only the kid can
    # make it fail) and with what the kid would point at
    for name, k in (("unknown", "unknown-kid-0000"), ("path traversal", "../../dev/null"),
                    ("absolute path", "/dev/null"),
                    ("SQL", "x' UNION SELECT 'AAAA' -- "), ("command", "k1|id;`id`$(id)"),
                    ("empty", ""), ("NUL", "k\u0000"), ("number", 1), ("object", {"a": 1}),
                    ("very long", "k" * 4096)):
        add("kid %s, signed with the real key" % name, real_signed(hdr(kid=k)))
        add("kid %s, HMAC with an empty key" % name, jwt(hdr(alg="HS256", kid=k), claims, "HS256", b""))
        if isinstance(k, str) and k:
            add("kid %s, HMAC keyed with the kid" % name,
                jwt(hdr(alg="HS256", kid=k), claims, "HS256", k.encode()))

    # crit with an unknown extension (RFC 7515 4.1.11)
    add("crit with an unknown extension", real_signed(hdr(crit=["x-sg-unknown"], **{"x-sg-unknown": True})))
    add("crit naming exp", real_signed(hdr(crit=["exp"])))

    # jku / x5u / jwk pointing elsewhere: ignored, so an attacker's signature fails
    atk_jwk = pub_jwk(atk_rsa, "RSA")
    atk_ec_jwk = pub_jwk(atk_ec, "EC")
    for label, extra in (("jku", {"jku": "http://127.0.0.1:9/jwks.json"}),
                         ("x5u", {"x5u": "http://127.0.0.1:9/cert.pem"}),
                         ("jwk", {"jwk": atk_jwk}),
                         ("jku+kid attacker", {"jku": "http://127.0.0.1:9/jwks.json", "kid": "attacker"})):
        add("%s header, RS256 signed by the attacker" % label, jwt(hdr(alg="RS256", **extra), claims, "RS256", atk_rsa))
        add("%s header, HS256 signed by the attacker" % label, jwt(hdr(alg="HS256", **extra), claims, "HS256", b"attacker-secret-attacker-secret!"))
    add("jwk header (EC), ES256 signed by the attacker", jwt(hdr(alg="ES256", jwk=atk_ec_jwk), claims, "ES256", atk_ec))
    add("x5c header, RS256 signed by the attacker", jwt(hdr(alg="RS256", x5c=["MIIB"]), claims, "RS256", atk_rsa))

    # nested JWT: the payload is a token
    add("nested JWT (cty JWT), outer signed with the real key", real_signed(hdr(cty="JWT"), real))
    add("typ not JWT", real_signed(hdr(typ="JOSE+JSON")))

    # the claims, signed with the real key
    def with_claims(**kw):
        c = dict(claims)
        for k, v in kw.items():
            if v is None:
                c.pop(k, None)
            else:
                c[k] = v
        return c
    add("exp 2 min ago", real_signed(hdr(), with_claims(exp=now - 120)))
    add("exp 1 h ago", real_signed(hdr(), with_claims(exp=now - 3600, iat=now - 7200, nbf=now - 7200)))
    add("exp as a string", real_signed(hdr(), with_claims(exp=str(claims.get("exp")))))
    add("nbf in 5 min", real_signed(hdr(), with_claims(nbf=now + 300)))
    add("iss wrong", real_signed(hdr(), with_claims(iss="evil")))
    add("iss as a list", real_signed(hdr(), with_claims(iss=[claims.get("iss")])))
    add("aud wrong", real_signed(hdr(), with_claims(aud="evil")))
    add("aud a list without ours", real_signed(hdr(), with_claims(aud=["evil"])))
    for c in ("exp", "iss", "aud", "sub", "sid", "jti"):
        add("claim %s missing" % c, real_signed(hdr(), with_claims(**{c: None})))
    add("claims not an object", real_signed(hdr(), b"[1,2]"))
    add("payload not JSON", real_signed(hdr(), b"not json"))

    # the real signature over a changed payload (a cache keyed on part of
    # the token must not accept it)
    for label, c in (("roles admin", with_claims(roles=["admin", "user"])),
                     ("exp later", with_claims(exp=claims.get("exp", now) + 3600))):
        add("real signature, payload changed: %s" % label,
            h_real + "." + b64u(json.dumps(c, separators=(",", ":"))) + "." + s_real)
    add("real signature, header changed",
        b64u(json.dumps(hdr(extra="x"), separators=(",", ":"))) + "." + p_real + "." + s_real)

    # structure: extra dots, empty parts, bad base64, non-canonical encodings
    add("extra dot at the end", real + ".")
    add("a fourth part", real + ".eyJ9")
    add("double dot", h_real + ".." + p_real + "." + s_real)
    add("leading dot", "." + real)
    add("five parts (JWE-like)", h_real + ".." + p_real + ".." + s_real)
    add("empty header", "." + p_real + "." + s_real)
    add("empty payload", h_real + ".." + s_real)
    add("only dots", "..")
    add("signature with *", h_real + "." + p_real + "." + s_real[:-3] + "*" + s_real[-2:])
    add("signature with +", h_real + "." + p_real + "." + s_real[:5] + "+" + s_real[6:])
    add("signature padded", h_real + "." + p_real + "." + s_real + "=" * (-len(s_real) % 4 or 4))
    add("header padded", h_real + "=" * (-len(h_real) % 4 or 4) + "." + p_real + "." + s_real)
    std = lambda s: base64.b64encode(unb64u(s)).decode()
    add("standard base64 everywhere", std(h_real) + "." + std(p_real) + "." + std(s_real))
    # the same signature bytes with different unused bits in its last character
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for c in alphabet:
        s2 = s_real[:-1] + c
        if s2 != s_real and unb64u(s2) == unb64u(s_real):
            add("signature non-canonical last character", h_real + "." + p_real + "." + s2)
            break
    add("whitespace inside", h_real + ". " + p_real + "." + s_real)
    add("header not JSON", b64u(b"{not json") + "." + p_real + "." + s_real)
    add("header a JSON array", b64u(b"[]") + "." + p_real + "." + s_real)
    add("utf-8 bytes in the token", h_real + "." + p_real + "." + s_real[:-1] + "\u00e9")
    # a large token (about 4 KB, under the servers' header limits)
    add("a 4 KB token signed by an attacker", jwt(hdr(alg="HS256"), with_claims(pad="x" * 2800), "HS256", b"k" * 32))

    # every cut of the real token
    for n in list(range(0, len(real), cut_step)) + [len(real) - 1]:
        add("cut to %d of %d characters" % (n, len(real)), real[:n])

    with open(out, "w", encoding="utf-8") as f:
        seen = set()
        for label, expect, tok in toks:
            if (label, tok) in seen:
                continue
            seen.add((label, tok))
            f.write("%s\t%d\t%s\n" % (label.replace("\t", " "), expect, tok))


# ---- requests in one process -------------------------------------------------

def cmd_batch(a):
    """batch PORT PATH TOKENS_FILE BODYDIR IDX LABEL_PREFIX [EVERY]
    One GET of PATH per token (Authorization: Bearer); prints a line per
    answer that is not what the token expects (200, or 401 UNAUTHORIZED
    with WWW-Authenticate: Bearer error="invalid_token"); the last line is
    "checked N". Bodies of answers under /api/v1 go to BODYDIR/IDX for the
    envelope check."""
    port, path, tokf, bodydir, idx, prefix = a[:6]
    every = int(a[6]) if len(a) > 6 else 1
    api = path.startswith("/api/v1")
    lines = open(tokf, encoding="utf-8").read().splitlines()
    conn = None
    n = 0
    bad = []
    with open(idx, "a", encoding="utf-8") as ix:
        for i, line in enumerate(lines):
            label, expect, tok = line.split("\t", 2)
            if every > 1 and i % every and not label.startswith("control"):
                continue
            status = None
            for attempt in range(3):
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=60)
                    conn.putrequest("GET", path, skip_accept_encoding=True)
                    conn.putheader("Authorization", ("Bearer " + tok).encode("utf-8"))
                    conn.putheader("Accept", "application/json")
                    conn.endheaders()
                    r = conn.getresponse()
                    body = r.read()
                    status = r.status
                    www = r.getheader("WWW-Authenticate") or ""
                    if (r.getheader("Connection") or "").lower() == "close":
                        conn.close()
                        conn = None
                    break
                except (http.client.HTTPException, OSError) as e:
                    if conn is not None:
                        conn.close()
                    conn = None
                    status, www, body = "error %s" % e.__class__.__name__, "", b""
            n += 1
            if api:
                fn = os.path.join(bodydir, "b%s-%d" % (prefix, i))
                with open(fn, "wb") as f:
                    f.write(body)
                ix.write("%s\t%s\tGET %s [%s]\n" % (fn, status, path, label))
            if expect == "200":
                if status != 200:
                    bad.append("%s: %s (expected 200: the forging helper or the stack is broken)" % (label, status))
                continue
            why = []
            if status != 401:
                why.append("status %s" % status)
            if www != 'Bearer error="invalid_token"':
                why.append("WWW-Authenticate %r" % www)
            try:
                code = json.loads(body.decode("utf-8"))["error"]["code"]
            except Exception:
                code = "<not the JSON envelope: %r>" % body[:60]
            if code != "UNAUTHORIZED":
                why.append("error.code %s" % code)
            if why:
                bad.append("%s: %s" % (label, ", ".join(why)))
    for b in bad:
        print(b)
    print("checked %d" % n)


# ---- checks on bodies ----------------------------------------------------------

def strict_json(raw):
    """The parsed JSON of raw, which must be strict UTF-8 JSON whose strings
    hold no lone surrogate; raises ValueError."""
    text = raw.decode("utf-8")
    v = json.loads(text, parse_constant=lambda c: (_ for _ in ()).throw(ValueError("constant " + c)))

    def walk(x):
        if isinstance(x, str):
            x.encode("utf-8")
        elif isinstance(x, dict):
            for k, y in x.items():
                walk(k)
                walk(y)
        elif isinstance(x, list):
            for y in x:
                walk(y)
    walk(v)
    return v


def envelope_problem(raw):
    try:
        v = strict_json(raw)
    except UnicodeDecodeError as e:
        return "not UTF-8 (%s)" % e.reason
    except (ValueError, UnicodeEncodeError) as e:
        return "not JSON (%s)" % str(e)[:60]
    if not isinstance(v, dict) or not isinstance(v.get("success"), bool):
        return "no boolean success"
    if v["success"]:
        if not isinstance(v.get("data"), dict):
            return "success without a data object"
    else:
        e = v.get("error")
        if not isinstance(e, dict) or not isinstance(e.get("code"), str) or \
                not isinstance(e.get("message"), str):
            return "failure without error.code/error.message"
        if not e["code"] or not all(c.isupper() or c.isdigit() or c == "_" for c in e["code"]):
            return "error.code %r is not UPPER_SNAKE" % e["code"]
    return None


def cmd_envelopes(a):
    """envelopes IDX: a line for each recorded API answer that is not a strict
    UTF-8 JSON envelope; the last line is "checked N"."""
    n = 0
    for line in open(a[0], encoding="utf-8", errors="replace"):
        fn, status, what = line.rstrip("\n").split("\t", 2)
        try:
            raw = open(fn, "rb").read()
        except OSError:
            continue
        n += 1
        p = envelope_problem(raw)
        if p:
            print("%s -> %s: %s; body %r" % (what, status, p, raw[:80]))
    print("checked %d" % n)


def cmd_utf8json(a):
    """utf8json: stdin must be strict UTF-8 JSON."""
    try:
        strict_json(sys.stdin.buffer.read())
    except Exception as e:
        print("%s: %s" % (e.__class__.__name__, str(e)[:100]))
        sys.exit(1)


def cmd_forge_refresh(a):
    """forge-refresh TOKEN N: N tokens naming TOKEN's user and session with
    a wrong secret part (the last 32 bytes)."""
    raw = unb64u(a[0])
    for _ in range(int(a[1])):
        print(b64u(raw[:-32] + os.urandom(32)))


if __name__ == "__main__":
    {"tokens": cmd_tokens, "batch": cmd_batch, "envelopes": cmd_envelopes,
     "utf8json": cmd_utf8json, "forge-refresh": cmd_forge_refresh}[sys.argv[1]](sys.argv[2:])
PY

sec_py() { python3 "$SEC_TMP/sec.py" "$@"; }

# sec_secret S: remember a secret the suite used (the log scan looks for
# each); short strings would match by chance and are left out.
sec_secret() { [ "${#1}" -ge 8 ] && printf '%s\n' "$1" >>"$SEC_SECRETS"; return 0; }

# Every request of the suite goes through sg_req (api.sh's helpers call
# it): wrap lib.sh's to remember the passwords sent and the tokens received,
# and to keep each answer under /api/v1 for the envelope check at the end.
eval "lib_sg_req() $(declare -f sg_req | tail -n +2)"
sg_req() {
    local method=$1 path=$2 rc a prev='' f
    lib_sg_req "$@"
    rc=$?
    for a in "$@"; do
        if [ "$prev" = --data-binary ] || [ "$prev" = -d ]; then
            [[ $a =~ \"password\":\"([^\"]*)\" ]] && sec_secret "${BASH_REMATCH[1]}"
        fi
        prev=$a
    done
    if [[ $SG_BODY =~ \"access_token\":\"([^\"]+)\" ]]; then
        sec_secret "${BASH_REMATCH[1]}"
        sec_secret "${BASH_REMATCH[1]##*.}" # the signature alone
    fi
    [[ $SG_BODY =~ \"refresh_token\":\"([^\"]+)\" ]] && sec_secret "${BASH_REMATCH[1]}"
    if [ "$method" != HEAD ] && [[ $SG_URL == */api/v1 ]] && [ -n "$SG_DIR" ]; then
        SEC_SEQ=$((SEC_SEQ + 1))
        f=$SEC_BODIES/r$SEC_SEQ
        cp "$SG_DIR/last.body" "$f" 2>/dev/null
        printf '%s\t%s\t%s %s (%s stack)\n' "$f" "$SG_STATUS" "$method" "${path:0:120}" "$API_STACK" >>"$SEC_IDX"
    fi
    return $rc
}

# ---- stacks ------------------------------------------------------------------

oneTimeSetUp() {
    cp "$KEYS/rsa1.pem" "$KEYS/ec1.pem" "$SEC_TMP/keys/" && chmod 0644 "$SEC_TMP"/keys/*.pem
    chmod 0755 "$SEC_TMP/keys"
    api_suite_start "$SG_SERVER" "$MAIN_CONF" || {
        echo "security.sh: cannot start the $SG_SERVER stack" >&2
        return 1
    }
    echo "# $SG_SERVER stack at $SG_URL (dir $SG_DIR)"
}

oneTimeTearDown() {
    sec_redis_back
    api_stop_all
    if [ "${SG_KEEP:-0}" = 1 ]; then
        echo "security.sh: kept $SEC_TMP ${SEC_KEPT[*]}" >&2
    else
        [ ${#SEC_KEPT[@]} -gt 0 ] && rm -rf "${SEC_KEPT[@]}"
        rm -rf "$SEC_TMP"
    fi
    SEC_KEPT=()
}

setUp() { api_test_start; }
tearDown() {
    api_monitor_stop
    sec_redis_back
    api_test_end
}

use_main() { api_use_stack main || fail "main stack"; }

# use_side NAME CONF: start (or switch to) a side stack; API_BASE_CONF is
# added unless SEC_NO_BASE=1.
use_side() {
    if [ "${SEC_NO_BASE:-0}" = 1 ]; then
        API_BASE_CONF='' api_use_stack "$1" "$SG_SERVER" "$2"
    else
        api_use_stack "$1" "$SG_SERVER" "$2"
    fi || { fail "cannot start the $1 stack"; return 1; }
}

# side_done NAME: stop a side stack, keeping its directory for the log scan.
side_done() {
    local d=${API_STACK_DIR[$1]:-}
    [ -n "$d" ] || return 0
    SEC_KEPT+=("$d")
    SG_KEEP=1 api_stop_stack "$1" 2>/dev/null
}

# Redis of the stack in SEC_REDIS_DOWN back up (after a test that stopped
# it, even a failed one).
sec_redis_back() {
    [ -n "$SEC_REDIS_DOWN" ] || return 0
    SG_DIR=$SEC_REDIS_DOWN sg_stack redis-start >/dev/null || echo "security.sh: redis-start failed in $SEC_REDIS_DOWN" >&2
    SEC_REDIS_DOWN=
}

# ---- helpers -------------------------------------------------------------------

ADMIN_MARK=sessiongate-private-admin

assert_health() {
    assert_ok "$1"
    assertEquals "$1: data.status" ok "$(sg_json .data.status)"
}

verify_status() { api_auth_status "$1" GET /auth/verify; }

# set_cookie NAME: the Set-Cookie header of the last response for NAME.
set_cookie() {
    grep -i '^set-cookie:' "$SG_HDRS" | tr -d '\r' | sed 's/^[Ss]et-[Cc]ookie: *//' |
        grep "^$1=" | tail -n 1
}

# cookie_attr COOKIE NAME: the value of attribute NAME (case-insensitive).
cookie_attr() {
    tr ';' '\n' <<<"$1" | sed 's/^ *//' | awk -v n="$2" -F= 'tolower($1) == tolower(n) { sub(/^[^=]*=/, ""); print }' | tail -n 1
}

jar_value() { awk -v n="$2" '$6 == n { v = $7 } END { print v }' "$1"; }

# sec_listeners PORT: PIDs of the processes holding a listening socket on
# PORT (a leftover of a CGI run of `--listen`), for the cleanup.
sec_listeners() {
    local hex inodes p fd l
    hex=$(printf '%04X' "$1")
    inodes=$(awk -v hex="$hex" '$4 == "0A" { n = split($2, a, ":"); if (a[n] == hex) print $10 }' \
        /proc/net/tcp /proc/net/tcp6 2>/dev/null)
    [ -n "$inodes" ] || return 0
    for p in /proc/[0-9]*; do
        for fd in "$p"/fd/*; do
            l=$(readlink "$fd" 2>/dev/null) || continue
            case $l in socket:\[*\]) ;; *) continue ;; esac
            l=${l#socket:[}
            l=${l%]}
            grep -qx "$l" <<<"$inodes" && { echo "${p#/proc/}"; break; }
        done
    done
}

# degraded_verify TOKEN: verify answers 200 on the signature alone.
degraded_verify() {
    api_auth "$1" GET /auth/verify
    [ "$SG_STATUS" = 200 ] && [ "$(hdr X-Sessiongate-Degraded)" = signature-only ]
}

# redis_calls: "command calls" per command of INFO commandstats, without
# the commands of connection set-up (a worker spawned on demand sends them),
# those of verify_mode = local's revocation reader (on its own time) and
# INFO itself.
redis_calls() {
    local a
    # every node of the stack (a cluster's masters), summed
    sg_redis_nodes | while read -r a; do
        # shellcheck disable=SC2086
        redis-cli $a INFO commandstats
    done | tr -d '\r' |
        awk -F'[:=,]' '/^cmdstat_/ { c = substr($1, 9); if (c ~ /^(info|script|select|auth|client|hello|ping|command|xread|xrevrange|cluster)(\||$)/) next; n[c] += $3 }
            END { for (c in n) print c, n[c] }' |
        sort
}

# calls_delta BEFORE AFTER: "cmd+N" for each command whose count grew.
calls_delta() {
    join -a 2 -e 0 -o 0,1.2,2.2 <(printf '%s\n' "$1") <(printf '%s\n' "$2") |
        awk '$3 - $2 > 0 { printf "%s+%d ", $1, $3 - $2 }'
}

# probe_signin EMAIL ADDRESS: one sign-in with a wrong password from
# ADDRESS (X-Forwarded-For); sets PROBE_STATUS, PROBE_BODY (request ids
# removed) and PROBE_CALLS (the Redis commands it cost).
probe_signin() {
    local before after
    before=$(redis_calls)
    api_post /auth/signin "$(creds_json "$1" 'wrong guess 4321')" -H "X-Forwarded-For: $2"
    after=$(redis_calls)
    PROBE_STATUS=$SG_STATUS
    PROBE_BODY=$(sed -E 's/"request_id":"[^"]*"//g' <<<"$SG_BODY")
    PROBE_CALLS=$(calls_delta "$before" "$after")
}

# strict_utf8_json WHAT: the last body is strict UTF-8 JSON.
assert_strict_json() {
    local why
    why=$(printf '%s' "$SG_BODY" | sec_py utf8json) ||
        fail "$1: the body is not strict UTF-8 JSON: $why"
}

# ---- 1. CGI argv ---------------------------------------------------------------

# Defect 1 (critical, CGI): mod_cgid passes a query string without '=' as
# argv (RFC 3875 4.4), and main() looked for an operator CLI command before
# it looked at GATEWAY_INTERFACE: ?user+roles+EMAIL+admin made an admin,
# ?user+passwd+EMAIL set a password from the body, ?--listen+ADDR started a
# server. Run on every deployment: under FastCGI the query never becomes
# argv, and every answer must be the route's ordinary one.
test_cgi_query_is_not_argv() {
    local email victim pw_v='victim password 1' attacker_pw='attacker chosen password' port opt pids
    use_main
    email=$(api_email argv)
    api_register "$email" || { fail "register"; return; }
    sg_req GET "/health?user+roles+$email+admin"
    assert_health "GET /health?user+roles+EMAIL+admin"
    api_signin "$email" || { fail "sign-in after ?user+roles"; return; }
    assertEquals "roles in a fresh token" '["user"]' "$(jwt_part "$API_TOKEN" 2 | jq -c .roles)"
    api_auth "$API_TOKEN" GET /auth/verify
    assertEquals "roles from /auth/verify" '["user"]' "$(sg_json '.data.roles | tojson')"

    victim=$(api_email argvvictim)
    api_register "$victim" "$pw_v" || { fail "register the victim"; return; }
    api_post "/auth/register?user+passwd+$victim" "$(creds_json "$victim" "$attacker_pw")"
    assert_error "POST /auth/register?user+passwd+VICTIM with a body" 409 EMAIL_TAKEN
    api_signin "$victim" "$pw_v" >/dev/null
    assertEquals "the victim's own password still works (body: $SG_BODY)" 200 "$SG_STATUS"
    api_post /auth/signin "$(creds_json "$victim" "$attacker_pw")"
    assert_error "the attacker's password" 401 INVALID_CREDENTIALS
    api_post /auth/signin "$(creds_json "$victim" "$(creds_json "$victim" "$attacker_pw")")"
    assert_error "the attacker's body as the password" 401 INVALID_CREDENTIALS

    port=$(sg_pick_port) || { fail "no free port"; return; }
    # (a bound: a server started from argv would never answer)
    SG_CURL_TIMEOUT=30 sg_req GET "/health?--listen+127.0.0.1:$port"
    assert_health "GET /health?--listen+127.0.0.1:PORT"
    if sg_port_listening "$port"; then
        fail "something listens on 127.0.0.1:$port after GET /health?--listen+127.0.0.1:$port"
        # the server that request started: end it (it runs as the stack's user)
        pids=$(sec_listeners "$port")
        for p in $pids; do
            [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$(basename "$SG_BIN" | cut -c1-15)" ] && kill "$p"
        done
    fi
    for opt in --version --help --check-config -h "--workers+3" "--config+/dev/null"; do
        SG_CURL_TIMEOUT=30 sg_req GET "/health?$opt"
        assert_health "GET /health?$opt"
    done
}

# ---- 2. roles while Redis is down --------------------------------------------------

# Defect 2 (high): with on_store_error = verify_signature_only the role a
# protected location requires (SG_REQUIRE_ROLE) was checked only inside the
# Redis script: during an outage a plain user's token got /private/admin/.
# Not on cgi: that deployment has no protected location
# (apache/sessiongate-cgi.conf; tests/stack.sh serves /private/ only on the
# other three).
test_role_check_without_redis() {
    local plain admin tp ta i
    if [ "$SG_SERVER" = cgi ]; then
        echo "#   not applicable: the cgi deployment has no protected location"
        return 0
    fi
    use_side outage "$OUTAGE_CONF" || return
    plain=$(api_email plain)
    admin=$(api_email admin)
    api_register "$plain" && api_register "$admin" || { fail "register"; return; }
    api_set_roles "$admin" admin user || { fail "set the admin role"; return; }
    api_signin "$plain" || { fail "sign-in"; return; }
    tp=$API_TOKEN
    api_signin "$admin" || { fail "sign-in"; return; }
    ta=$API_TOKEN
    sg_site_req GET /private/admin/ -H "Authorization: Bearer $tp"
    assertEquals "Redis up: plain user on /private/admin/" 403 "$SG_STATUS"
    sg_site_req GET /private/admin/ -H "Authorization: Bearer $ta"
    assertEquals "Redis up: admin on /private/admin/" 200 "$SG_STATUS"

    SEC_REDIS_DOWN=$SG_DIR
    sg_stack redis-stop || { fail "redis-stop"; return; }
    # verify_mode = local: the host's table answers until it cannot prove
    # itself current (revocation_max_lag), then the degraded path does
    api_local && assertTrue "local: verify falls back to the signature alone" \
        "sg_poll 60 n_times 6 degraded_verify $tp"
    api_auth "$tp" GET /auth/verify
    assertEquals "Redis down: the plain user's token verifies (degraded)" 200 "$SG_STATUS"
    assertEquals "Redis down: X-Sessiongate-Degraded on /auth/verify" signature-only "$(hdr X-Sessiongate-Degraded)"
    # every worker (lighttpd and nginx run 2, mod_fcgid spawns more)
    for i in 1 2 3 4; do
        sg_site_req GET /private/admin/ -H "Authorization: Bearer $tp"
        assertEquals "Redis down: plain user on /private/admin/ (#$i)" 403 "$SG_STATUS"
        assertNotContains "Redis down: plain user does not get the admin page (#$i)" "$SG_BODY" "$ADMIN_MARK"
    done
    sg_site_req GET /private/ -H "Authorization: Bearer $tp"
    assertEquals "Redis down: plain user on /private/ (no role needed)" 200 "$SG_STATUS"
    sg_site_req GET /private/admin/ -H "Authorization: Bearer $ta"
    assertEquals "Redis down: admin on /private/admin/" 200 "$SG_STATUS"
    assertContains "Redis down: admin gets the admin page" "$SG_BODY" "$ADMIN_MARK"
    api_auth "$ta" GET /auth/verify
    assertEquals "Redis down: admin verify" 200 "$SG_STATUS"
    assertEquals "Redis down: admin verify is degraded" signature-only "$(hdr X-Sessiongate-Degraded)"
    assertEquals "Redis down: admin roles" '["admin","user"]' "$(sg_json '.data.roles | sort | tojson')"
    sec_redis_back
    assertTrue "ready again" "sg_poll 60 n_times 4 ready_ok"
    side_done outage
}

# ---- 3. routing ----------------------------------------------------------------------

# Defect 3 (medium): lighttpd and nginx decode and normalise the path
# before PATH_INFO (DELETE /sessions/..%2Fsessions ran DELETE /sessions),
# and without PATH_INFO a longest-suffix match routed
# /admin/users/ab%20cd/sessions to DELETE /sessions and /foo/health to
# /health. A path with percent-encoding, dot segments or an unknown prefix
# is 404 (the JSON envelope, also when the web server refuses it itself).
test_routing_exact() {
    local t1 t2 t3 a1 a2 admin p
    use_main
    api_new_user route || { fail "setup"; return; }
    t1=$API_TOKEN
    api_signin "$API_EMAIL" || { fail "sign-in 2"; return; }
    t2=$API_TOKEN
    api_signin "$API_EMAIL" || { fail "sign-in 3"; return; }
    t3=$API_TOKEN
    api_auth "$t1" DELETE '/sessions/..%2Fsessions' --path-as-is
    assert_error "DELETE /sessions/..%2Fsessions" 404 NOT_FOUND
    assertEquals "session 2 still alive" 200 "$(verify_status "$t2")"
    assertEquals "session 3 still alive" 200 "$(verify_status "$t3")"
    api_auth "$t1" DELETE '/sessions/%2E%2E/' --path-as-is
    assert_error "DELETE /sessions/%2E%2E/" 404 NOT_FOUND
    api_auth "$t1" GET /sessions
    assertEquals "the user still has 3 sessions" 3 "$(sg_json .data.count)"

    admin=$(api_email routeadmin)
    api_register "$admin" || { fail "register the admin"; return; }
    api_set_roles "$admin" admin user || { fail "set the admin role"; return; }
    api_signin "$admin" || { fail "admin sign-in"; return; }
    a1=$API_TOKEN
    api_signin "$admin" || { fail "admin sign-in 2"; return; }
    a2=$API_TOKEN
    api_auth "$a1" DELETE '/admin/users/ab%20cd/sessions' --path-as-is
    assert_error "DELETE /admin/users/ab%20cd/sessions" 404 NOT_FOUND
    assertEquals "the admin's other session still alive" 200 "$(verify_status "$a2")"
    assertEquals "the admin's own session still alive" 200 "$(verify_status "$a1")"

    for p in /foo/health /%68ealth /./health /x/../health //health /api/v1/health; do
        sg_req GET "$p" --path-as-is
        assert_error "GET /api/v1$p" 404 NOT_FOUND
    done
    sg_req GET /health
    assert_health "GET /health"
    sg_req GET '/health?x=1'
    assert_health "GET /health?x=1"
}

# ---- 4. UTF-8 --------------------------------------------------------------------------

# Defect 4 (medium): invalid UTF-8 in a name was stored and echoed; a
# User-Agent with invalid UTF-8, or a long one cut inside a character, made
# GET /sessions invalid JSON; raw control bytes in JSON strings and \u0000
# in keys were accepted. Bodies with invalid UTF-8 are 400, stored headers
# are repaired, every answer is strict UTF-8 JSON (checked with python3's
# decoder: jq repairs silently).
test_utf8() {
    local e bad name tok n i ua_long ua_cjk k refused=()
    use_main
    for bad in $'\xff\xfe' $'\xc0\xaf' $'\xed\xa0\x80' $'ab\xe6\x9d' $'\xf8\x88\x80\x80\x80'; do
        e=$(api_email utf8bad)
        refused+=("$e")
        api_post /auth/register "{\"email\":\"$e\",\"password\":\"$API_PASSWORD\",\"name\":\"x${bad}y\"}"
        assert_error "name with invalid UTF-8 $(printf '%s' "$bad" | od -An -tx1 | tr -d ' \n')" 400 BAD_REQUEST
    done
    for bad in $'\x01' $'\n' $'\t' $'\x1f'; do
        e=$(api_email utf8ctl)
        refused+=("$e")
        api_post /auth/register "{\"email\":\"$e\",\"password\":\"$API_PASSWORD\",\"name\":\"a${bad}b\"}"
        assert_error "raw control byte $(printf '%s' "$bad" | od -An -tx1 | tr -d ' \n') inside a JSON string" 400 BAD_REQUEST
    done
    for k in 'pass\u0000word' 'password\u0000x' 'name\u0000'; do
        e=$(api_email utf8nul)
        refused+=("$e")
        if [ "$k" = 'name\u0000' ]; then
            api_post /auth/register "{\"email\":\"$e\",\"password\":\"$API_PASSWORD\",\"$k\":\"n\"}"
        else
            api_post /auth/register "{\"email\":\"$e\",\"$k\":\"$API_PASSWORD\"}"
        fi
        assert_error "a NUL escape in the key ${k/'\u0000'/<backslash-u0000>}" 400 BAD_REQUEST
    done
    for e in "${refused[@]}"; do
        api_post /auth/signin "$(creds_json "$e" "$API_PASSWORD")"
        assertEquals "the refused body did not create $e" 401 "$SG_STATUS"
    done

    e=$(api_email utf8)
    name=$'Zo\xc3\xab \xe6\x9d\x8e'
    api_register "$e" "$API_PASSWORD" "$name" || { fail "register with a multi-byte name"; return; }
    assertEquals "register echoes the name" "$name" "$(sg_json .data.user.name)"
    assert_strict_json "register"
    api_signin "$e" "$API_PASSWORD" -A $'bad\xff\xfe agent \xc3' || { fail "sign-in with an invalid UTF-8 User-Agent"; return; }
    tok=$API_TOKEN
    api_auth "$tok" GET /auth/me
    assertEquals "/auth/me: the name" "$name" "$(sg_json '.data.user.name // .data.name')"
    assert_strict_json "/auth/me"
    ua_long=x
    for ((i = 0; i < 2000; i++)); do ua_long+=$'\xc3\xa9'; done
    ua_cjk=
    for ((i = 0; i < 2000; i++)); do ua_cjk+=$'\xe6\x9d\x8e'; done
    api_signin "$e" "$API_PASSWORD" -A "$ua_long" || { fail "sign-in with 2000 x é"; return; }
    api_signin "$e" "$API_PASSWORD" -A "$ua_cjk" || { fail "sign-in with 2000 x 李"; return; }
    api_signin "$e" "$API_PASSWORD" -A $'agent\x01\x7f' >/dev/null 2>&1
    api_auth "$tok" GET /sessions
    assertEquals "GET /sessions (body: ${SG_BODY:0:200})" 200 "$SG_STATUS"
    assert_strict_json "GET /sessions with odd User-Agents"
    n=$(sg_json .data.count)
    # (the last sign-in may be refused by the server for its control byte)
    assertTrue "GET /sessions lists the sessions ($n)" "[ '$n' -ge 3 ] 2>/dev/null"
    api_auth "$tok" GET "/admin/users/$(jwt_part "$tok" 2 | jq -r .sub)/sessions"
    [ "$SG_STATUS" = 200 ] && assert_strict_json "admin list"
    return 0
}

# ---- 5. refresh cookie scope ---------------------------------------------------------

# Defect 5 (medium): both cookies were Path=/, so every protected
# application behind the server received the refresh token. The refresh
# cookie is scoped to the refresh route; refresh by cookie still works;
# sign-out clears each cookie with the Path it was set with.
test_refresh_cookie_scope() {
    local e j c origin
    use_main
    origin=$(sg_site)
    e=$(api_email cookie)
    api_register "$e" || { fail "register"; return; }
    j=$SG_DIR/jar.scope
    : >"$j"
    api_signin "$e" "$API_PASSWORD" -c "$j" || { fail "sign-in"; return; }
    c=$(set_cookie sg_refresh)
    assertNotNull "sign-in sets sg_refresh" "$c"
    assertEquals "sg_refresh Path: $c" /api/v1/auth/refresh "$(cookie_attr "$c" Path)"
    c=$(set_cookie sg_access)
    assertNotNull "sign-in sets sg_access" "$c"
    assertEquals "sg_access Path: $c" / "$(cookie_attr "$c" Path)"

    sg_req POST /auth/refresh -b "$j" -c "$j" "${CSRF[@]}" -H "Origin: $origin" --data-binary ''
    assertEquals "refresh by cookie at /api/v1/auth/refresh (body: $SG_BODY)" 200 "$SG_STATUS"
    c=$(set_cookie sg_refresh)
    assertEquals "the rotated sg_refresh Path: $c" /api/v1/auth/refresh "$(cookie_attr "$c" Path)"
    assertEquals "the new sg_access Path" / "$(cookie_attr "$(set_cookie sg_access)" Path)"

    sg_req POST /auth/signout -b "$j" -c "$j" "${CSRF[@]}" -H "Origin: $origin" -H 'Content-Length: 0'
    assertEquals "sign-out by cookie (body: $SG_BODY)" 200 "$SG_STATUS"
    c=$(set_cookie sg_access)
    assertContains "sg_access cleared: $c" "$c" 'sg_access=;'
    assertEquals "sg_access cleared: Max-Age" 0 "$(cookie_attr "$c" Max-Age)"
    assertEquals "sg_access cleared with Path=/" / "$(cookie_attr "$c" Path)"
    c=$(set_cookie sg_refresh)
    assertContains "sg_refresh cleared: $c" "$c" 'sg_refresh=;'
    assertEquals "sg_refresh cleared: Max-Age" 0 "$(cookie_attr "$c" Max-Age)"
    assertEquals "sg_refresh cleared with its Path" /api/v1/auth/refresh "$(cookie_attr "$c" Path)"
}

# ---- 6. refresh limit lock-out ---------------------------------------------------------

# Defect 6 (medium): the per-session refresh limit (30/min) counted
# attempts under the session a refresh token names before the token was
# checked: 31 forged tokens (the victim's user and session ids, a wrong
# secret part; see src/handle_account.c) from another address locked the
# victim out. Unverified failures count per address (30 an hour on the
# main stack, so that slow requests cannot slide out of the window); the
# victim, from another address, still refreshes.
test_refresh_limit_forged_tokens() {
    local rt f forged n=0 seen429=0 other=0
    use_main
    api_new_user refreshvictim || { fail "setup"; return; }
    rt=$API_REFRESH
    mapfile -t forged < <(sec_py forge-refresh "$rt" 61)
    assertEquals "61 forged refresh tokens" 61 "${#forged[@]}"
    for f in "${forged[@]}"; do
        api_post /auth/refresh "{\"refresh_token\":\"$f\"}" -H 'X-Forwarded-For: 203.0.113.66'
        n=$((n + 1))
        case $SG_STATUS in
        401) [[ $SG_BODY == *'"code":"UNAUTHORIZED"'* ]] || { other=$((other + 1)); echo "# forged #$n: $SG_BODY"; } ;;
        429) seen429=1; break ;;
        *) other=$((other + 1)); echo "# forged #$n: $SG_STATUS $SG_BODY" ;;
        esac
    done
    assertEquals "forged tokens get 401 UNAUTHORIZED (or 429) only" 0 "$other"
    assertEquals "the forging address is limited after at most 61 tries ($n sent)" 1 "$seen429"
    api_post /auth/refresh "{\"refresh_token\":\"$rt\"}" -H 'X-Forwarded-For: 198.51.100.66'
    assert_ok "the victim's own refresh token from another address"
    assertNotNull "a new access token" "$(sg_json '.data.access_token // empty')"
}

# ---- 7. account enumeration ------------------------------------------------------------

# Defect 7 (medium): for an existing, locked account sign-in did Redis
# work that an unknown email did not (a user lookup and the known-address
# check), and from the user's own known address the status differed (401
# against 429). After the same 5 failures each, a wrong password for the
# locked account and for an unknown email must be indistinguishable: same
# status, same body, same Redis commands (INFO commandstats deltas: the
# deterministic stand-in for equal time), from a stranger's address and
# from the account's known one.
test_enumeration_locked_account() {
    local x u i addr sx bx cx
    use_main
    x=$(api_email enumx)
    u=$(api_email enumunknown)
    api_register "$x" || { fail "register"; return; }
    api_signin "$x" "$API_PASSWORD" -H 'X-Forwarded-For: 198.51.100.77' || { fail "sign-in from the known address"; return; }
    for i in 1 2 3 4 5; do
        probe_signin "$x" "203.0.113.$((100 + i))"
        sx=$PROBE_STATUS bx=$PROBE_BODY cx=$PROBE_CALLS
        probe_signin "$u" "203.0.113.$((100 + i))"
        assertEquals "failure #$i: status, existing vs unknown" "$sx" "$PROBE_STATUS"
        assertEquals "failure #$i: body, existing vs unknown" "$bx" "$PROBE_BODY"
        assertEquals "failure #$i: Redis commands, existing vs unknown (API.md: the same cost)" "$cx" "$PROBE_CALLS"
    done
    for addr in 203.0.113.150 198.51.100.77; do
        probe_signin "$x" "$addr"
        sx=$PROBE_STATUS bx=$PROBE_BODY cx=$PROBE_CALLS
        probe_signin "$u" "$addr"
        echo "#   from $addr: locked account $sx [$cx], unknown email $PROBE_STATUS [$PROBE_CALLS]"
        assertEquals "from $addr: status, locked account vs unknown email" "$sx" "$PROBE_STATUS"
        assertEquals "from $addr: body, locked account vs unknown email" "$bx" "$PROBE_BODY"
        assertEquals "from $addr: Redis commands, locked account vs unknown email" "$cx" "$PROBE_CALLS"
        assertNotEquals "from $addr: a wrong password is not let in" 200 "$sx"
    done
    # the lock-out still protects the account, and its user still gets in
    api_signin "$x" "$API_PASSWORD" -H 'X-Forwarded-For: 198.51.100.77' >/dev/null 2>&1
    assertEquals "the right password from the known address" 200 "$SG_STATUS"
}

# ---- 8. IPv6 buckets -----------------------------------------------------------------------

# Defect 9 (low): limits were keyed per IPv6 address, so one /64 had
# unlimited sign-in and registration budget. Addresses of one /64 share a
# bucket (the default prefix); another /64 has its own. Stack "limits":
# 3 sign-ins and 3 registrations an hour per address.
test_ipv6_buckets() {
    local i
    SEC_NO_BASE=1 use_side limits "$LIMITS_CONF" || return
    for i in 1 2 3; do
        api_post /auth/signin "$(creds_json "$(api_email v6)" 'wrong guess 4321')" -H "X-Forwarded-For: 2001:db8:1:2::$i"
        assert_error "sign-in #$i from 2001:db8:1:2::$i" 401 INVALID_CREDENTIALS
    done
    api_post /auth/signin "$(creds_json "$(api_email v6)" 'wrong guess 4321')" -H 'X-Forwarded-For: 2001:db8:1:2::4'
    assert_error "sign-in from 2001:db8:1:2::4 (same /64, over the limit)" 429 RATE_LIMITED
    api_post /auth/signin "$(creds_json "$(api_email v6)" 'wrong guess 4321')" -H 'X-Forwarded-For: 2001:0DB8:0001:0002:ffff:0:0:5'
    assert_error "sign-in from 2001:0DB8:0001:0002:ffff:0:0:5 (same /64, other spelling)" 429 RATE_LIMITED
    api_post /auth/signin "$(creds_json "$(api_email v6)" 'wrong guess 4321')" -H 'X-Forwarded-For: 2001:db8:1:3::1'
    assert_error "sign-in from 2001:db8:1:3::1 (another /64)" 401 INVALID_CREDENTIALS

    for i in 1 2 3; do
        api_post /auth/register "$(creds_json "$(api_email v6reg)" "$API_PASSWORD")" -H "X-Forwarded-For: 2001:db8:2:2::$i"
        assertEquals "register from 2001:db8:2:2::$i (body: $SG_BODY)" 201 "$SG_STATUS"
    done
    api_post /auth/register "$(creds_json "$(api_email v6reg)" "$API_PASSWORD")" -H 'X-Forwarded-For: 2001:db8:2:2::abcd'
    assert_error "register from 2001:db8:2:2::abcd (same /64, over the limit)" 429 RATE_LIMITED
    api_post /auth/register "$(creds_json "$(api_email v6reg)" "$API_PASSWORD")" -H 'X-Forwarded-For: 2001:db8:2:3::1'
    assertEquals "register from 2001:db8:2:3::1 (another /64) (body: $SG_BODY)" 201 "$SG_STATUS"
    side_done limits
}

# ---- 9. RFC 8725 token attacks ---------------------------------------------------------------

# check_tokens ALG TOKEN SECRET PRIVKEY JWKS CUT_STEP: every attack token
# built from TOKEN (sec.py tokens: alg none in every spelling, algorithm
# substitution and HS256 keyed with the published key, kid tricks, crit,
# jku/x5u/jwk, nested JWT, exp/nbf/iss/aud, missing claims, the real
# signature over a changed payload, extra dots, bad base64, a 4 KB token,
# truncations) is refused on /auth/verify and, where the deployment has
# one, on the protected location; two controls must be accepted.
check_tokens() {
    local alg=$1 tok=$2 secret=$3 priv=$4 jwks=$5 step=$6 f=$SEC_TMP/tokens.$1 out n
    sec_py tokens "$alg" "$tok" "$secret" "$priv" "$jwks" "$KEYS/rsa2.pem" "$KEYS/ec2.pem" "$f" "$step" ||
        { fail "$alg: cannot build the attack tokens"; return 1; }
    n=$(wc -l <"$f")
    out=$(sec_py batch "$SG_PORT" /api/v1/auth/verify "$f" "$SEC_BODIES" "$SEC_IDX" "$alg-verify")
    assertEquals "$alg: /auth/verify, tokens not refused as they should be (of $n)" "" "$(grep -v '^checked ' <<<"$out")"
    assertEquals "$alg: /auth/verify, tokens sent" "checked $n" "$(tail -n 1 <<<"$out")"
    # The cgi deployment has no protected location (apache/sessiongate-cgi.conf).
    [ "$SG_SERVER" = cgi ] && return 0
    out=$(sec_py batch "$SG_PORT" /private/ "$f" "$SEC_BODIES" "$SEC_IDX" "$alg-private" 3)
    assertEquals "$alg: /private/, tokens not refused as they should be" "" "$(grep -v '^checked ' <<<"$out")"
}

# RFC 8725 (and RFC 7515/7519): every forged, altered or malformed token
# answers 401 UNAUTHORIZED with WWW-Authenticate: Bearer
# error="invalid_token", on /auth/verify and on the protected location, with
# HS256 (the main stack) and with RS256 and ES256 (stacks with the keys of
# tests/unit/keys; the attacker's keys are rsa2/ec2). Then an oversized
# (64 KB) token.
test_rfc8725_tokens() {
    local alg key kid big
    use_main
    api_new_user jwths || { fail "setup"; return; }
    check_tokens HS256 "$API_TOKEN" "$SG_DIR/jwt.secret" - - 1

    for alg in RS256 ES256; do
        if [ $alg = RS256 ]; then key=$SEC_TMP/keys/rsa1.pem kid=sec-rsa-1; else key=$SEC_TMP/keys/ec1.pem kid=sec-ec-1; fi
        use_side "${alg,,}" "jwt_algorithm = $alg
jwt_private_key_file = $key
jwt_kid = $kid" || continue
        api_new_user "jwt${alg,,}" || { fail "$alg: setup"; side_done "${alg,,}"; continue; }
        assertEquals "$alg: the token's alg" "$alg" "$(jwt_part "$API_TOKEN" 1 | jq -r .alg)"
        sg_req GET /.well-known/jwks.json
        assert_ok "$alg: jwks"
        printf '%s' "$SG_BODY" >"$SEC_TMP/jwks.$alg"
        check_tokens "$alg" "$API_TOKEN" - "$key" "$SEC_TMP/jwks.$alg" 3
        side_done "${alg,,}"
    done

    use_main
    # 64 KB: past every server's header limit. The answer is a refusal:
    # sessiongate's 401, or the server's own 4xx for a header too large.
    big=$SEC_TMP/big.header
    printf 'Authorization: Bearer %s.' "${API_TOKEN%%.*}" >"$big"
    head -c 65536 /dev/zero | tr '\0' A >>"$big"
    printf '.%s\n' "${API_TOKEN##*.}" >>"$big"
    sg_req GET /auth/verify -H "@$big"
    case $SG_STATUS in
    401) assert_unauthorized "a 64 KB token" ;;
    400 | 413 | 431) echo "#   a 64 KB token: the web server refused it itself ($SG_STATUS)" ;;
    *) fail "a 64 KB token: status $SG_STATUS (expected 401, or the server's 400/413/431)" ;;
    esac
    if [ "$SG_SERVER" != cgi ]; then
        sg_site_req GET /private/ -H "@$big"
        case $SG_STATUS in
        401 | 400 | 413 | 431) ;;
        *) fail "a 64 KB token on /private/: status $SG_STATUS" ;;
        esac
    fi
}

# ---- 10. session fixation ---------------------------------------------------------------

# Session fixation: nothing a client supplies at sign-in (an X-Session-ID
# header, pre-set cookies, its own or another user's session) is adopted:
# each sign-in gets a fresh session id, and its token names that one.
test_session_fixation() {
    local e s1 t1 r1 other so fake sid seen=() id
    fake=$(printf "ab%.0s" {1..32})
    use_main
    api_new_user fixattacker || { fail "setup"; return; }
    so=$API_SID
    api_new_user fixation || { fail "setup"; return; }
    e=$API_EMAIL s1=$API_SID t1=$API_TOKEN r1=$API_REFRESH
    seen=("$s1")
    for other in "X-Session-ID: $s1" "X-Session-ID: $so" "X-Session-ID: $fake" "Cookie: sg_access=$t1; sg_refresh=$r1" \
        "Cookie: sg_session=$fake; session_id=$fake; sg_sid=$fake"; do
        api_signin "$e" "$API_PASSWORD" -H "$other" >/dev/null 2>&1
        assertEquals "sign-in with '${other:0:40}...' (body: $SG_BODY)" 200 "$SG_STATUS"
        sid=$API_SID
        [[ $sid =~ $SID_RE ]] || fail "session id '$sid' is not 64 hex characters"
        for id in "${seen[@]}" "$so" "$fake"; do
            assertNotEquals "sign-in with '${other:0:40}...': a fresh session id" "$id" "$sid"
        done
        assertEquals "X-Session-ID is the new session" "$sid" "$(hdr X-Session-ID)"
        assertEquals "the token's sid is the new session" "$sid" "$(jwt_part "$API_TOKEN" 2 | jq -r .sid)"
        assertNotEquals "a new access token" "$t1" "$API_TOKEN"
        assertNotEquals "a new refresh token" "$r1" "$API_REFRESH"
        seen+=("$sid")
        # (max_sessions_per_user = 5 ends the oldest after 5 sign-ins)
        [ ${#seen[@]} -lt 5 ] && assertEquals "sign-in with '${other:0:40}...': the first session is untouched" 200 "$(verify_status "$t1")"
    done
    api_auth "$API_TOKEN" GET /sessions
    assertNotContains "the supplied id is no session" "$SG_BODY" "$fake"
    assertNotContains "the other user's session is not listed" "$SG_BODY" "$so"
}

# ---- over the whole run ----------------------------------------------------------------

# The API contract ("Envelope") and defect 4: every answer under /api/v1
# the suite received (bodies kept by the sg_req wrapper and by the token
# batches) is strict UTF-8 JSON in the envelope, the web servers' own
# refusals included.
test_every_answer_is_a_json_envelope() {
    local out
    out=$(sec_py envelopes "$SEC_IDX")
    assertEquals "answers under /api/v1 that are not strict UTF-8 JSON envelopes" "" "$(grep -v '^checked ' <<<"$out" | head -n 40)"
    echo "#   $(tail -n 1 <<<"$out") answers"
}

# Last: no log any stack of the suite wrote (sessiongate's, the web
# server's, Redis's: every *.log under each stack directory) holds an
# access token, a refresh token or a password the suite used.
test_no_secret_in_logs() {
    local d logs=() hits
    for d in "${API_STACK_DIR[@]}" "${SEC_KEPT[@]}"; do
        [ -d "$d" ] || continue
        mapfile -t -O "${#logs[@]}" logs < <(find "$d" -type f \( -name '*.log' -o -path '*/log/*' -o -path '*/logs/*' \))
    done
    sort -u -o "$SEC_SECRETS" "$SEC_SECRETS"
    assertTrue "some logs to scan" "[ ${#logs[@]} -gt 0 ]"
    assertTrue "some secrets to look for" "[ $(wc -l <"$SEC_SECRETS") -gt 10 ]"
    hits=$(grep -F -o -a -f "$SEC_SECRETS" "${logs[@]}" 2>/dev/null | cut -c1-160 | sort -u | head -n 20)
    assertEquals "secrets found in the logs (file:secret)" "" "$hits"
    for d in "${API_STACK_DIR[@]}" "${SEC_KEPT[@]}"; do
        [ -d "$d" ] && sg_assert_no_sanitizer_reports "$d"
    done
}

suite() {
    local t
    for t in test_cgi_query_is_not_argv test_role_check_without_redis \
        test_routing_exact test_utf8 test_refresh_cookie_scope \
        test_refresh_limit_forged_tokens test_enumeration_locked_account \
        test_ipv6_buckets test_rfc8725_tokens test_session_fixation \
        test_every_answer_is_a_json_envelope test_no_secret_in_logs; do
        suite_addTest "$t"
    done
}

SHUNIT_COLOR=${SHUNIT_COLOR:-none}
# shellcheck source=/dev/null
. "${SHUNIT2:-/usr/share/shunit2/shunit2}"
