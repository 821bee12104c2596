#!/usr/bin/env python3
"""test_rest_security.py - the REST API's security rules on the real binary: --rest-bind beyond
loopback needs --secret-file, a secret file others may read is refused, with a secret every
request needs its bearer token (and the CLI verbs send it), path-traversal probes answer 4xx and
touch nothing, and savepoint directories must be absolute without '..'."""
import hashlib
import hmac
import http.client
import json
import os

import rill_e2e
from rill_e2e import (RILL_BIN, RILL_EXAMPLES, Failure, expect, expect_in, expect_rc, fraud_so,
                      main, run)

SECRET = b"e2e-secret-0123456789abcdef"


def secret_file(tmp, mode=0o600):
    path = os.path.join(tmp, "secret")
    with open(path, "wb") as f:
        f.write(SECRET + b"\n")
    os.chmod(path, mode)
    return path


def token():
    return hmac.new(SECRET, b"rill-rest-token-v1", hashlib.sha256).hexdigest()


start = rill_e2e.start_rest_job


def get(port, target, auth=None, method="GET", body=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": auth} if auth else {}
    c.putrequest(method, target, skip_accept_encoding=True)  # sent as is: no re-encoding
    for k, v in headers.items():
        c.putheader(k, v)
    data = body.encode() if body is not None else None
    c.putheader("Content-Length", str(len(data) if data else 0))
    c.endheaders(data)
    r = c.getresponse()
    out = (r.status, dict(r.getheaders()), r.read().decode())
    c.close()
    return out


def long_job(tmp, extra):
    return ["run", "--checkpoint-dir", os.path.join(tmp, "ck"), "--rest-port", "0", "-p", "2"] + \
        extra + [os.path.join(RILL_EXAMPLES, "selfcheck.so"), "--", "--keys", "60",
                 "--source-parallelism", "2", "--events", "100000000", "--rate", "20000"]


def test_bind_beyond_loopback_needs_secret(tmp):
    r = run(["run", "--rest-port", "0", "--rest-bind", "0.0.0.0", fraud_so(), "--",
             "--events", "1000"])
    expect_rc(r, 2)
    expect_in("beyond loopback", r.err, "the refusal", r)
    expect_in("--secret-file", r.err, "the refusal names the option", r)
    expect("fraud: events" not in r.out, "the job did not run", "no summary", r.out, r)


def test_secret_file_readable_by_others_is_refused(tmp):
    for mode in (0o644, 0o640):
        path = secret_file(tmp, mode)
        r = run(["run", "--rest-port", "0", "--secret-file", path, fraud_so(), "--",
                 "--events", "1000"])
        expect_rc(r, 2)
        expect_in("mode 0%o" % mode, r.err, "the refusal names the mode", r)
        r = run(["list", "-m", "127.0.0.1:1", "--secret-file", path])
        expect_rc(r, 2)
        expect_in("mode 0%o" % mode, r.err, "the CLI refuses it too", r)


def test_secret_required_and_cli_verbs(tmp):
    key = secret_file(tmp)
    canary = os.path.join(tmp, "canary")
    os.mkdir(canary)
    with open(os.path.join(canary, "passwd"), "w") as f:
        f.write("CANARY-CONTENT\n")
    before = sorted(os.listdir(tmp)), os.stat(os.path.join(canary, "passwd")).st_mtime_ns
    p, port = start(long_job(tmp, ["--rest-bind", "0.0.0.0", "--secret-file", key]))
    try:
        m = ["-m", "127.0.0.1:%d" % port]
        # no token, a wrong one, the secret itself: 401 with WWW-Authenticate
        for auth in (None, "Bearer " + "0" * 64, "Bearer " + SECRET.decode()):
            status, headers, body = get(port, "/jobs", auth)
            expect(status == 401, "401 for %r" % auth, 401, status)
            expect_in("Bearer realm=\"rill\"", headers.get("WWW-Authenticate", ""),
                      "WWW-Authenticate")
            expect("errors" in json.loads(body), "a JSON error", "errors", body)
        good = "Bearer " + token()
        status, _, body = get(port, "/jobs", good)
        expect(status == 200, "200 with the token", 200, (status, body))
        expect(json.loads(body)["jobs"][0]["name"] == "selfcheck", "the job", "selfcheck", body)
        status, _, body = get(port, "/taskmanagers", good)
        tms = json.loads(body)["taskmanagers"]
        expect(status == 200 and len(tms) == 1, "one TaskManager", 1, body)
        expect(tms[0]["slotsNumber"] == 2 and tms[0]["freeSlots"] == 0,
               "its slots (p=2, all in use)", "2 / 0", body)
        # path-traversal probes: 4xx, generic JSON, nothing of the canary
        rel = os.path.relpath(os.path.join(canary, "passwd"), "/")
        probes = ["/jobs/..%252f..%252fetc%252fpasswd", "/../../etc/passwd", "/jobs/%2e%2e/",
                  "/jobs/%2e%2e/%2e%2e/" + rel, "/jobs/..%00/checkpoints",
                  "/" + "../" * 20 + rel, "/jobs/" + "%2e%2e%2f" * 20 + rel.replace("/", "%2f"),
                  "/jobs/" + "a" * 5000]
        for probe in probes:
            status, _, body = get(port, probe, good)
            expect(400 <= status < 500, "4xx for %s" % probe, "4xx", (status, body))
            expect("CANARY" not in body and "root:" not in body, "nothing read for %s" % probe,
                   "no file content", body)
            expect("errors" in json.loads(body), "JSON error for %s" % probe, "errors", body)
        # savepoint directories: absolute, no '..'; refused ones create nothing
        for d in ("relative/dir", os.path.join(tmp, "sp", "..", "escaped")):
            status, _, body = get(port, "/jobs/selfcheck/savepoints", good, "POST",
                                  json.dumps({"target-directory": d}))
            expect(status == 400, "400 for target-directory %s" % d, 400, (status, body))
        expect(not os.path.exists(os.path.join(tmp, "escaped")) and
               not os.path.exists(os.path.join(tmp, "sp")), "nothing created", "no dir",
               os.listdir(tmp))
        # the CLI verbs: refused without the secret, working with it
        r = run(["list"] + m)
        expect_rc(r, 1)
        expect_in("bearer token", r.err, "the 401's message", r)
        r = run(["list", "--secret-file", key] + m)
        expect_rc(r, 0)
        expect_in("selfcheck", r.out, "list", r)
        r = run(["checkpoints", "selfcheck", "--secret-file", key] + m)
        expect_rc(r, 0)
        r = run(["savepoint", "selfcheck", os.path.join(tmp, "sp", "..", "sp2"),
                 "--secret-file", key] + m, timeout=120)
        expect_rc(r, 0)
        expect_in(os.path.join(tmp, "sp2") + "/savepoint-", r.out, "'..' folded by the CLI", r)
        r = run(["cancel", "selfcheck", "--secret-file", key] + m)
        expect_rc(r, 0)
        out, err = p.communicate(timeout=60)
        expect(p.returncode == 1, "the job was canceled", 1, p.returncode)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    after = sorted(x for x in os.listdir(tmp) if x not in ("ck", "sp2")), \
        os.stat(os.path.join(canary, "passwd")).st_mtime_ns
    expect(after == before, "the canary is untouched", before, after)


if __name__ == "__main__":
    main([test_bind_beyond_loopback_needs_secret, test_secret_file_readable_by_others_is_refused,
          test_secret_required_and_cli_verbs])
