"""End-to-end tests of the cluster's processes: `rill jobmanager` and `rill taskmanager` on
loopback (ports 0): registration, GET /taskmanagers, failure detection by heartbeat timeout
and by a closed connection, replacement, reconnection after a JobManager restart, refusal of a
wrong secret or cluster id, garbage and unexpected frames on the control port, clean stops.
Every process a test starts is stopped (SIGCONT, then SIGKILL) when the test ends, even when
it fails."""
import http.client
import json
import os
import re
import signal
import socket
import struct
import subprocess
import time

from rill_e2e import RILL_BIN, SANITIZER_MARKS, Failure, expect, expect_in, main, short

HB = ["--heartbeat-interval", "100", "--heartbeat-timeout", "1500"]
TIMEOUT_S = 1.5
MARGIN_S = 8.0  # generous: sanitizer builds on two shared cores
SECRET = b"e2e-cluster-secret-0123456789"

JM_LINE = re.compile(r"rill-jobmanager control=127\.0\.0\.1:(\d+) rest=127\.0\.0\.1:(\d+)")
TM_LINE = re.compile(r"rill-taskmanager id=(\S+) data=127\.0\.0\.1:(\d+)")


class Proc:
    """A rill process with stdout and stderr in files (no pipe to fill up)."""

    def __init__(self, tmp, name, args):
        self.name = name
        self.out_path = os.path.join(tmp, name + ".out")
        self.err_path = os.path.join(tmp, name + ".err")
        self.args = [RILL_BIN] + args
        with open(self.out_path, "w") as out, open(self.err_path, "w") as err:
            self.p = subprocess.Popen(self.args, stdout=out, stderr=err)

    def out(self):
        with open(self.out_path, errors="replace") as f:
            return f.read()

    def err(self):
        with open(self.err_path, errors="replace") as f:
            return f.read()

    def describe(self):
        return "%s: %s\nexit: %s\n--- stdout ---\n%s\n--- stderr ---\n%s" % (
            self.name, " ".join(self.args), self.p.poll(), short(self.out()),
            short(self.err(), 6000))

    def wait_line(self, regex, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = regex.search(self.out())
            if m:
                return m
            if self.p.poll() is not None:
                break
            time.sleep(0.05)
        raise Failure("expected %s to print a line matching %r\n%s"
                      % (self.name, regex.pattern, self.describe()))

    def wait_log(self, needle, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.err():
                return
            time.sleep(0.05)
        raise Failure("expected %s to log %r\n%s" % (self.name, needle, self.describe()))

    def wait_exit(self, timeout=30):
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            raise Failure("expected %s to exit within %d s\n%s"
                          % (self.name, timeout, self.describe()))

    def check_clean(self):
        for mark in SANITIZER_MARKS:
            if mark in self.err():
                raise Failure("expected no sanitizer report from %s\n%s"
                              % (self.name, self.describe()))


class Cluster:
    """The processes of one test; stop() ends every one of them."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.procs = []
        self.n = 0

    def start(self, name, args):
        self.n += 1
        p = Proc(self.tmp, "%s-%d" % (name, self.n), args)
        self.procs.append(p)
        return p

    def jobmanager(self, extra=(), port="0"):
        jm = self.start("jobmanager", ["jobmanager", "--port", port, "--rest-port", "0"] + HB
                        + list(extra))
        m = jm.wait_line(JM_LINE)
        jm.control, jm.rest = int(m.group(1)), int(m.group(2))
        return jm

    def taskmanager(self, jm_port, slots, extra=(), wait=True):
        tm = self.start("taskmanager", ["taskmanager", "--jobmanager", "127.0.0.1:%d" % jm_port,
                                        "--slots", str(slots)] + HB + list(extra))
        if wait:
            m = tm.wait_line(TM_LINE)
            tm.id, tm.data_port = m.group(1), int(m.group(2))
        return tm

    def stop(self):
        for p in self.procs:
            if p.p.poll() is None:
                try:
                    p.p.send_signal(signal.SIGCONT)
                    p.p.kill()
                except ProcessLookupError:
                    pass
            try:
                p.p.wait(30)
            except subprocess.TimeoutExpired:
                pass

    def check_clean(self):
        for p in self.procs:
            p.check_clean()


def run_cluster(tmp, body):
    c = Cluster(tmp)
    try:
        body(c)
        c.check_clean()
    except Failure as e:
        raise Failure("%s\n=== processes ===\n%s" % (
            e, "\n".join(p.describe() for p in c.procs)))
    finally:
        c.stop()


def taskmanagers(rest_port, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", rest_port, timeout=30)
    c.request("GET", "/taskmanagers", headers=headers or {})
    r = c.getresponse()
    body = r.read().decode()
    c.close()
    expect(r.status == 200, "GET /taskmanagers answers 200", 200, "%d %s" % (r.status, body))
    return {t["id"]: t for t in json.loads(body)["taskmanagers"]}


def wait_tms(jm, want_ids, timeout, headers=None):
    """Waits until /taskmanagers lists exactly want_ids; returns them."""
    deadline = time.monotonic() + timeout
    tms = {}
    while time.monotonic() < deadline:
        tms = taskmanagers(jm.rest, headers)
        if set(tms) == set(want_ids):
            return tms
        time.sleep(0.05)
    raise Failure("expected /taskmanagers to list exactly %s within %.1f s, it lists %s"
                  % (sorted(want_ids), timeout, sorted(tms)))


def secret_file(tmp, name="secret", data=SECRET):
    path = os.path.join(tmp, name)
    with open(path, "wb") as f:
        f.write(data + b"\n")
    os.chmod(path, 0o600)
    return path


# ---- a minimal protocol client (no secret), for frames the real TaskManager never sends ----

def frame(ftype, payload=b""):
    return struct.pack("<IHH", len(payload), ftype, 0) + payload


def pstr(s):
    return struct.pack("<I", len(s)) + s


def recv_frame(s):
    hdr = b""
    while len(hdr) < 8:
        b = s.recv(8 - len(hdr))
        if not b:
            return None
        hdr += b
    n, ftype, _ = struct.unpack("<IHH", hdr)
    body = b""
    while len(body) < n:
        b = s.recv(n - len(body))
        if not b:
            return None
        body += b
    return ftype, body


def handshake(port, cluster=b"rill"):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    hello = struct.pack("<IHB", 0x4C4C4952, 1, 2) + pstr(cluster) + pstr(b"e2e probe") + \
        b"\x00" + pstr(os.urandom(32))
    s.sendall(frame(0x0001, hello))
    f = recv_frame(s)
    expect(f is not None and f[0] == 0x0001, "the JobManager answers HELLO", "HELLO", f)
    s.sendall(frame(0x0002, pstr(b"")))
    f = recv_frame(s)
    expect(f is not None and f[0] == 0x0003, "the JobManager welcomes the probe", "WELCOME", f)
    return s


def register_payload(tm_id, slots=1, host=b"127.0.0.1", port=7000):
    return pstr(tm_id) + struct.pack("<I", slots) + pstr(host) + struct.pack("<H", port)


def expect_disconnect(s, reason, what):
    f = recv_frame(s)
    expect(f is not None and f[0] == 0x0103, what + ": a DISCONNECT arrives", "DISCONNECT", f)
    got = struct.unpack("<H", f[1][:2])[0]
    expect(got == reason, what + ": its reason", reason, got)
    expect(recv_frame(s) is None, what + ": then the connection closes", "closed", "open")


# ---- the tests -------------------------------------------------------------------------------

def test_register_kill_replace(tmp):
    def body(c):
        jm = c.jobmanager()
        a = c.taskmanager(jm.control, 2)
        b = c.taskmanager(jm.control, 3)
        tms = wait_tms(jm, [a.id, b.id], 30)
        for tm, slots in ((a, 2), (b, 3)):
            t = tms[tm.id]
            expect(t["slotsNumber"] == slots and t["freeSlots"] == slots,
                   "%s's slots" % tm.id, slots, t)
            expect(t["dataPort"] == tm.data_port, "%s's data port" % tm.id, tm.data_port, t)
            expect(t["address"] == "127.0.0.1", "%s's address" % tm.id, "127.0.0.1", t)
            expect(0 <= t["timeSinceLastHeartbeat"] < TIMEOUT_S * 1000,
                   "%s heartbeats" % tm.id, "< timeout", t)
        # the data port listens
        socket.create_connection(("127.0.0.1", a.data_port), timeout=5).close()
        a.p.kill()  # SIGKILL: its connection closes with the process
        wait_tms(jm, [b.id], TIMEOUT_S + MARGIN_S)
        jm.wait_log("taskmanager %s removed" % a.id)
        r = c.taskmanager(jm.control, 4)
        tms = wait_tms(jm, [b.id, r.id], 30)
        expect(tms[r.id]["slotsNumber"] == 4, "the replacement's slots", 4, tms[r.id])
    run_cluster(tmp, body)


def test_frozen_taskmanager_times_out_and_returns(tmp):
    def body(c):
        jm = c.jobmanager()
        a = c.taskmanager(jm.control, 1)
        b = c.taskmanager(jm.control, 1)
        wait_tms(jm, [a.id, b.id], 30)
        a.p.send_signal(signal.SIGSTOP)  # its socket stays open: only heartbeats tell
        t0 = time.monotonic()
        wait_tms(jm, [b.id], TIMEOUT_S + MARGIN_S)
        took = time.monotonic() - t0
        expect(took >= TIMEOUT_S * 0.5, "removed only after about the heartbeat timeout",
               ">= %.1f s" % (TIMEOUT_S * 0.5), "%.2f s" % took)
        jm.wait_log("no heartbeat for 1500 ms: declared dead")
        a.p.send_signal(signal.SIGCONT)  # it comes back: registers again under its id
        wait_tms(jm, [a.id, b.id], 30)
    run_cluster(tmp, body)


def test_jobmanager_restart_taskmanager_reregisters(tmp):
    def body(c):
        jm = c.jobmanager()
        a = c.taskmanager(jm.control, 2)
        wait_tms(jm, [a.id], 30)
        port = jm.control
        jm.p.send_signal(signal.SIGTERM)
        expect(jm.wait_exit() == 0, "the JobManager exits 0 on SIGTERM", 0, jm.p.returncode)
        a.wait_log("the JobManager closed the connection (shutdown)")
        jm2 = c.jobmanager(port=str(port))
        tms = wait_tms(jm2, [a.id], 30)
        expect(tms[a.id]["slotsNumber"] == 2, "re-registered with its slots", 2, tms[a.id])
        expect(a.p.poll() is None, "the TaskManager kept running", "running", a.p.poll())
    run_cluster(tmp, body)


def test_wrong_secret_or_cluster_id_refused(tmp):
    key = secret_file(tmp)
    other = secret_file(tmp, "other", b"another-secret-9876543210")

    def body(c):
        jm = c.jobmanager(["--secret-file", key])
        auth = {"Authorization": "Bearer " + __import__("hmac").new(
            SECRET, b"rill-rest-token-v1", "sha256").hexdigest()}
        cases = [([], "no secret"), (["--secret-file", other], "wrong secret"),
                 (["--secret-file", key, "--cluster-id", "other"], "cluster id")]
        for extra, reason in cases:
            tm = c.taskmanager(jm.control, 1, extra, wait=False)
            rc = tm.wait_exit()
            expect(rc == 1, "a TaskManager refused for '%s' exits 1" % reason, 1, rc)
            expect_in("refused", tm.err(), "the TaskManager says it was refused")
            expect_in(reason, tm.err(), "the TaskManager names the reason")
        jm.wait_log("refused")
        expect_in("cluster id", jm.err(), "the JobManager logs the cluster id refusal")
        expect_in("secret", jm.err(), "the JobManager logs the secret refusal")
        good = c.taskmanager(jm.control, 2, ["--secret-file", key])
        wait_tms(jm, [good.id], 30, auth)
    run_cluster(tmp, body)


def test_garbage_and_unexpected_frames(tmp):
    def body(c):
        jm = c.jobmanager()
        silent = socket.create_connection(("127.0.0.1", jm.control))  # holds only its thread
        g = socket.create_connection(("127.0.0.1", jm.control), timeout=10)
        g.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 3)
        try:
            g.recv(4096)
        except OSError:
            pass
        g.close()
        big = socket.create_connection(("127.0.0.1", jm.control), timeout=10)
        big.sendall(struct.pack("<IHH", 1 << 30, 0x0001, 0))  # an oversized HELLO
        big.close()
        # after the handshake: a data-plane frame, a REGISTER_TM with a trailing byte, a
        # heartbeat before registering, a registration then a second one
        for frames, what in (
                ([frame(0x0201, b"\x00" * 8)], "a data frame on the control port"),
                ([frame(0x0101, register_payload(b"tm-x") + b"\x00")], "a trailing byte"),
                ([frame(0x0005, struct.pack("<QqB", 1, 0, 0))], "a heartbeat before registering"),
                ([frame(0x0101, register_payload(b"tm-bad id"))], "an id with a space"),
                ([frame(0x0101, struct.pack("<I", 0xFFFFFF00))], "a string length past the end")):
            s = handshake(jm.control)
            for f in frames:
                s.sendall(f)
            expect_disconnect(s, 1, what)
            s.close()
        s = handshake(jm.control)
        probe_port = s.getsockname()[1]
        s.sendall(frame(0x0101, register_payload(b"tm-probe", 3)))
        f = recv_frame(s)
        expect(f is not None and f[0] == 0x0102, "a valid registration is acknowledged",
               "REGISTERED", f)
        expect("tm-probe" in taskmanagers(jm.rest), "the probe is listed", "tm-probe",
               taskmanagers(jm.rest))
        s.sendall(frame(0x0101, register_payload(b"tm-probe", 3)))  # not again
        expect_disconnect(s, 1, "a second REGISTER_TM")
        s.close()
        wait_tms(jm, [], 30)
        # the same id on a newer connection replaces the older one, which is told why
        s1 = handshake(jm.control)
        s1.sendall(frame(0x0101, register_payload(b"tm-twice", 1)))
        expect(recv_frame(s1)[0] == 0x0102, "the first registration is acknowledged",
               "REGISTERED", "?")
        s2 = handshake(jm.control)
        s2.sendall(frame(0x0101, register_payload(b"tm-twice", 2)))
        expect(recv_frame(s2)[0] == 0x0102, "the second registration is acknowledged",
               "REGISTERED", "?")
        expect_disconnect(s1, 4, "the replaced connection")
        tms = wait_tms(jm, ["tm-twice"], 30)
        expect(tms["tm-twice"]["slotsNumber"] == 2, "the newer registration is listed", 2,
               tms["tm-twice"])
        s1.close()
        s2.close()
        wait_tms(jm, [], 30)
        for needle in ("flags 0x5448 set", "over the limit of 1048576",
                       "type 0x0201 is unknown or not expected here", "type 0x0005 is unknown",
                       "REGISTER_TM: 1 trailing bytes", "'tm_id' truncated or invalid",
                       "'tm_id' length over its limit",
                       "tm-probe (127.0.0.1:%d): frame 4: type 0x0101" % probe_port):
            expect_in(needle, jm.err(), "the JobManager logs why it closed a connection")
        tm = c.taskmanager(jm.control, 1)  # still serving, the silent peer notwithstanding
        wait_tms(jm, [tm.id], 30)
        silent.close()
        expect(jm.p.poll() is None, "the JobManager is still running", "running", jm.p.poll())
    run_cluster(tmp, body)


def test_sigterm_stops_cleanly(tmp):
    def body(c):
        jm = c.jobmanager()
        a = c.taskmanager(jm.control, 1)
        b = c.taskmanager(jm.control, 1)
        wait_tms(jm, [a.id, b.id], 30)
        a.p.send_signal(signal.SIGTERM)
        expect(a.wait_exit() == 0, "a TaskManager exits 0 on SIGTERM", 0, a.p.returncode)
        wait_tms(jm, [b.id], 5)  # at once: it said goodbye, no timeout needed
        jm.wait_log("taskmanager %s (127.0.0.1" % a.id)
        expect_in("disconnected (shutdown)", jm.err(), "the JobManager logs the goodbye")
        jm.p.send_signal(signal.SIGTERM)
        expect(jm.wait_exit() == 0, "the JobManager exits 0 on SIGTERM", 0, jm.p.returncode)
        b.wait_log("reconnecting")
        b.p.send_signal(signal.SIGINT)  # stops while it retries too
        expect(b.wait_exit() == 0, "a retrying TaskManager exits 0 on SIGINT", 0,
               b.p.returncode)
    run_cluster(tmp, body)


def test_usage_errors(tmp):
    def body(c):
        for args, needle in ((["taskmanager"], "--jobmanager"),
                             (["taskmanager", "--jobmanager", "nohostport"], "HOST:PORT"),
                             (["jobmanager", "--bind", "0.0.0.0", "--port", "0"], "secret"),
                             (["taskmanager", "--jobmanager", "127.0.0.1:1", "--bind", "0.0.0.0"],
                              "secret"),
                             (["jobmanager"] + HB[:2] + ["--heartbeat-timeout", "50"],
                              "must be longer")):
            p = c.start("usage", args)
            rc = p.wait_exit()
            expect(rc == 2, "%s exits 2" % args, 2, rc)
            expect_in(needle, p.err(), "the message for %s" % args)
    run_cluster(tmp, body)


if __name__ == "__main__":
    main([test_register_kill_replace, test_frozen_taskmanager_times_out_and_returns,
          test_jobmanager_restart_taskmanager_reregisters, test_wrong_secret_or_cluster_id_refused,
          test_garbage_and_unexpected_frames, test_sigterm_stops_cleanly, test_usage_errors])
