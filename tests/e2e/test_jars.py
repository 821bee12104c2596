"""End-to-end tests of job submission to a `rill jobmanager` (REST /jars and `rill run -m`):
upload a built example to a real JobManager, list it, run it, delete it; refusals (not a
shared object, a declared oversized body, no token); the upload directory's rules. Running an
uploaded job needs the cluster runner, which is being built: until it lands the run answers
501 and `rill run -m` exits 1 with that message (the assertions marked below flip then)."""
import hashlib
import hmac
import http.client
import json
import os
import re
import socket
import stat

from rill_e2e import Failure, expect, expect_in, fraud_so, main, run
from test_cluster import HB, run_cluster, secret_file

RUNNER_MISSING = "runs no uploaded jobs"
JOB_LINE = re.compile(r"^rill-job id=(\d+)$", re.M)


def rest(port, method, path, body=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    text = r.read().decode(errors="replace")
    c.close()
    try:
        doc = json.loads(text)
    except ValueError:
        raise Failure("expected JSON from %s %s, got %d %r" % (method, path, r.status, text))
    return r.status, doc


def upload(port, data, headers=None):
    h = {"Content-Type": "application/octet-stream"}
    h.update(headers or {})
    return rest(port, "POST", "/jars/upload", data, h)


def read_so():
    with open(fraud_so(), "rb") as f:
        return f.read()


def test_upload_list_run_delete(tmp):
    def body(c):
        up = os.path.join(tmp, "uploads")
        jm = c.jobmanager(["--upload-dir", up])
        data = read_so()
        status, doc = upload(jm.rest, data)
        expect(status == 200 and doc.get("status") == "success", "the upload is accepted",
               "200 success", "%d %s" % (status, doc))
        jar = doc["filename"]
        expect(re.fullmatch(r"[0-9a-f]{32}\.so", jar) is not None, "a generated name",
               "[0-9a-f]{32}.so", jar)
        path = os.path.join(up, jar)
        expect(os.path.isfile(path), "the object is stored in --upload-dir", path,
               os.listdir(up))
        expect(stat.S_IMODE(os.stat(up).st_mode) == 0o700, "the upload dir is 0700", "0o700",
               oct(os.stat(up).st_mode))
        expect(stat.S_IMODE(os.stat(path).st_mode) == 0o600, "the object is 0600", "0o600",
               oct(os.stat(path).st_mode))
        with open(path, "rb") as f:
            expect(f.read() == data, "the stored bytes are the uploaded ones", len(data),
                   os.path.getsize(path))

        status, doc = rest(jm.rest, "GET", "/jars")
        files = doc.get("files", [])
        expect(status == 200 and [f["id"] for f in files] == [jar], "GET /jars lists it",
               [jar], doc)
        expect(files[0]["size"] == len(data) and files[0]["uploaded"] > 0,
               "its size and upload time", len(data), files[0])

        req = json.dumps({"programArgsList": ["--events", "1000"],
                          "options": {"parallelism": 2}, "name": "fraud"})
        status, doc = rest(jm.rest, "POST", "/jars/%s/run" % jar, req)
        expect(status == 200 and "jobid" in doc, "running it answers 200 with the job id", 200,
               "%d %s" % (status, doc))
        # no TaskManager: the job waits for slots, and says so
        status, job = rest(jm.rest, "GET", "/jobs/" + doc["jobid"])
        expect(job["state"] == "CREATED" and "waiting for slots" in job.get("status", ""),
               "a job without slots waits, with a status saying so", "CREATED, waiting", job)
        req = json.dumps({"programArgsList": ["--no-such-option"], "name": "bad"})
        status, doc = rest(jm.rest, "POST", "/jars/%s/run" % jar, req)
        expect(status in (400, 500) and doc.get("errors"),
               "a job that fails before it is submitted answers with its error", "4xx/5xx",
               "%d %s" % (status, doc))
        status, doc = rest(jm.rest, "POST", "/jars/%s/run" % jar, "{\"options\": 5}")
        expect(status == 400, "a malformed run body is 400", 400, "%d %s" % (status, doc))

        status, doc = rest(jm.rest, "DELETE", "/jars/" + jar)
        expect(status == 200, "DELETE answers 200", 200, "%d %s" % (status, doc))
        expect(not os.path.exists(path), "the file is gone", "absent", os.listdir(up))
        status, doc = rest(jm.rest, "DELETE", "/jars/" + jar)
        expect(status == 404, "a second DELETE answers 404", 404, status)
        status, doc = rest(jm.rest, "GET", "/jars")
        expect(doc == {"files": []}, "the list is empty again", {"files": []}, doc)
    run_cluster(tmp, body)


def test_refusals(tmp):
    def body(c):
        jm = c.jobmanager(["--upload-dir", os.path.join(tmp, "up")])
        status, doc = upload(jm.rest, b"garbage\x00, not a shared object nor a script")
        expect(status == 400, "garbage is 400", 400, "%d %s" % (status, doc))
        expect_in("not an ELF shared object", doc["errors"][0], "the message")
        status, doc = rest(jm.rest, "POST", "/jars/upload", read_so(),
                           {"Content-Type": "multipart/form-data; boundary=x"})
        expect(status == 415, "multipart is 415", 415, "%d %s" % (status, doc))

        # a declared oversized body is answered before a byte of it is sent
        s = socket.create_connection(("127.0.0.1", jm.rest), timeout=30)
        s.sendall(b"POST /jars/upload HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                  b"Content-Type: application/octet-stream\r\nContent-Length: 999999999999\r\n"
                  b"\r\n")
        answer = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            answer += b
        s.close()
        expect(answer.startswith(b"HTTP/1.1 413"), "an oversized Content-Length is 413 at once",
               "HTTP/1.1 413", answer[:100])

        for probe in ("/jars/..%2f..%2fetc%2fpasswd", "/jars/abc", "/jars/%2e%2e"):
            status, doc = rest(jm.rest, "DELETE", probe)
            expect(status == 404, "DELETE %s is 404" % probe, 404, "%d %s" % (status, doc))
        status, doc = rest(jm.rest, "GET", "/jars")
        expect(doc == {"files": []}, "nothing was stored", {"files": []}, doc)

        # with a secret: no token, no upload
        jm2 = c.jobmanager(["--upload-dir", os.path.join(tmp, "up2"), "--secret-file",
                            secret_file(tmp)])
        status, doc = upload(jm2.rest, read_so())
        expect(status == 401, "an upload without the token is 401", 401, "%d %s" % (status, doc))
        expect(os.listdir(os.path.join(tmp, "up2")) == [], "nothing was stored", [],
               os.listdir(os.path.join(tmp, "up2")))
    run_cluster(tmp, body)


def test_rill_run_m(tmp):
    def body(c):
        sf = secret_file(tmp)
        jm = c.jobmanager(["--upload-dir", os.path.join(tmp, "up"), "--secret-file", sf])
        addr = "127.0.0.1:%d" % jm.rest
        r = run(["run", "-m", addr, "--secret-file", sf, fraud_so(), "-p", "2",
                 "--checkpoint-interval", "1000", "--", "--no-such-option"])
        expect(r.rc == 1, "rill run -m exits 1 when the job fails before it is submitted", 1,
               r.rc, r)
        expect(JOB_LINE.search(r.out) is None, "no job id is printed", "", r.out, r)
        status, doc = rest(jm.rest, "GET", "/jars", headers={
            "Authorization": "Bearer " + token_of(sf)})
        expect(doc == {"files": []}, "the object it uploaded is deleted again", {"files": []},
               doc)
        r = run(["run", "-m", addr, "--secret-file", sf, "-d", fraud_so(), "-p", "2",
                 "--", "--events", "1000"])
        expect(r.rc == 0 and JOB_LINE.search(r.out), "rill run -m -d prints the job's id and "
               "exits 0 (the job waits for slots)", "0 and rill-job id=N", r.rc, r)

        r = run(["run", "-m", addr, fraud_so()])
        expect(r.rc == 1, "without --secret-file it is refused", 1, r.rc, r)
        expect_in("bearer token", r.err, "the message", r)
        r = run(["run", "-m", addr, "--rest-port", "0", fraud_so()])
        expect(r.rc == 2, "--rest-port with -m is bad usage", 2, r.rc, r)
        expect_in("--rest-port means nothing with -m", r.err, "the message", r)
        r = run(["run", "-m", addr, "--secret-file", sf, os.path.join(tmp, "missing.so")])
        expect(r.rc == 1, "a missing job object", 1, r.rc, r)
        r = run(["run", "-d", fraud_so()])
        expect(r.rc == 2, "-d without -m is bad usage", 2, r.rc, r)
    run_cluster(tmp, body)


def token_of(path):
    with open(path, "rb") as f:
        secret = f.read().rstrip(b"\n")
    return hmac.new(secret, b"rill-rest-token-v1", hashlib.sha256).hexdigest()


def test_upload_dir_rules(tmp):
    def body(c):
        # the default: $TMPDIR/rill-jobmanager-<control port>-jars, 0700
        old = os.environ.get("TMPDIR")
        os.environ["TMPDIR"] = tmp
        try:
            jm = c.jobmanager()
        finally:
            if old is None:
                del os.environ["TMPDIR"]
            else:
                os.environ["TMPDIR"] = old
        d = os.path.join(tmp, "rill-jobmanager-%d-jars" % jm.control)
        expect(os.path.isdir(d), "the default upload dir", d, os.listdir(tmp))
        expect(stat.S_IMODE(os.stat(d).st_mode) == 0o700, "it is 0700", "0o700",
               oct(os.stat(d).st_mode))
        # a directory others may write is refused
        shared = os.path.join(tmp, "shared")
        os.mkdir(shared)
        os.chmod(shared, 0o777)
        p = c.start("jobmanager-shared", ["jobmanager", "--port", "0", "--rest-port", "0",
                                          "--upload-dir", shared] + HB)
        expect(p.wait_exit() == 1, "a shared upload dir: exit 1", 1, p.p.returncode)
        expect_in("writable by group or others", p.err(), "the message")
        p = c.start("jobmanager-noparent", ["jobmanager", "--port", "0", "--rest-port", "0",
                                            "--upload-dir", os.path.join(tmp, "a", "b")] + HB)
        expect(p.wait_exit() == 1, "a missing parent: exit 1", 1, p.p.returncode)
        expect_in("--upload-dir", p.err(), "the message")
    run_cluster(tmp, body)


if __name__ == "__main__":
    main([test_upload_list_run_delete, test_refusals, test_rill_run_m, test_upload_dir_rules])
