"""End-to-end tests of jobs on a real cluster (`rill jobmanager` and `rill taskmanager`
processes on loopback, jobs submitted with `rill run -m`): the examples give the mini-cluster's
output with their subtasks spread over two TaskManagers (the keyed shuffle crossing TCP);
back-pressure across TaskManagers keeps memory bounded under a slow consumer; kill -9 of
TaskManagers with replacements started loses and duplicates nothing (self-checking job and
exactly-once sink); a savepoint taken on the cluster at parallelism 4 restores on the
mini-cluster at 1; a cluster with a secret runs jobs and refuses data connections without it;
a job waits for slots until a TaskManager brings them.

Every process a test starts is killed when it ends. Sizes shrink under sanitizers (a build
directory whose name contains "asan", or RILL_E2E_SLOW=1). Each test prints its figures (rows,
RSS, kills, restarts, durations); on two cores the file takes about 30 s (release or ASan).

Figures seen: slow_sink, 200,000 rows of 2,000 bytes (400 MB of payload) through a consumer
held to ~80,000 rows/s, batches of 64 rows: peak TaskManager RSS ~20 MB (ASan ~65 MB) against
bounds of 64 MB (ASan 128 MB); at the default 1,024-row batches the buffers alone reach
130-165 MB, so the bound is set for the batch size, not for the input.
"""
import http.client
import json
import os
import re
import socket
import struct
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# the TaskManagers log where tasks run ("attempt N: K tasks running here") at info
os.environ["RILL_LOG"] = "info"

from rill_e2e import (RILL_BIN, RILL_BUILD, RILL_EXAMPLES, Failure, compare_alerts,  # noqa: E402
                      expect, expect_in, expect_rc, expected_alerts, gen_transactions, job_so,
                      main, parse_alerts, read_text, run, write_csv)
from rill_e2e import committed_rows  # noqa: E402
from test_cluster import (frame, pstr, recv_frame, run_cluster, secret_file,  # noqa: E402
                          wait_tms)
from test_recovery import committed_alert_rows  # noqa: E402
from test_savepoints import committed_ids, expect_each_once  # noqa: E402
import test_windows  # noqa: E402

SLOW = (os.environ.get("RILL_E2E_SLOW", "") not in ("", "0") or
        any("asan" in os.path.basename(os.path.normpath(p)).lower()
            for p in (RILL_BUILD, os.path.dirname(RILL_BIN), os.path.dirname(RILL_EXAMPLES))
            if p))

JOB_LINE = re.compile(r"^rill-job id=(\d+)$", re.M)
TASKS_HERE = re.compile(r"job '[^']*' \((\d+)\) attempt (\d+): (\d+) tasks running here")
SAVEPOINT_LINE = re.compile(r"savepoint written: (\S+)")


def scaled(fast, slow):
    return slow if SLOW else fast


def example(name):
    return os.path.join(RILL_EXAMPLES, name + ".so")


# ---- the cluster's REST API and jobs ----------------------------------------------------------

def rest_get(port, path, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", path, headers=headers or {})
    r = c.getresponse()
    text = r.read().decode(errors="replace")
    c.close()
    expect(r.status == 200, "GET %s answers 200" % path, 200, "%d %s" % (r.status, text))
    return json.loads(text)


def token_header(path):
    import hashlib
    import hmac
    with open(path, "rb") as f:
        secret = f.read().rstrip(b"\n")
    return {"Authorization": "Bearer " + hmac.new(secret, b"rill-rest-token-v1",
                                                   hashlib.sha256).hexdigest()}


def submit(jm, job, run_opts, job_args, secret=None, timeout=60):
    """`rill run -m JM -d RUN_OPTS JOB -- JOB_ARGS`; returns the job id."""
    args = ["run", "-m", "127.0.0.1:%d" % jm.rest, "-d"]
    if secret:
        args += ["--secret-file", secret]
    r = run(args + list(run_opts) + [job, "--"] + list(job_args), timeout=timeout)
    expect_rc(r, 0)
    m = JOB_LINE.search(r.out)
    expect(m is not None, "rill run -m -d prints the job id", "rill-job id=N", r.out, r)
    return m.group(1)


def job_doc(jm, jid, headers=None):
    return rest_get(jm.rest, "/jobs/" + jid, headers)


def wait_job(jm, jid, states, timeout, headers=None, every=None):
    """Polls /jobs/<id> until its state is one of states (FAILED and CANCELED end the wait with
    a failure unless asked for); calls every(doc) on each poll. Returns the document."""
    deadline = time.monotonic() + timeout
    doc = {}
    while time.monotonic() < deadline:
        doc = job_doc(jm, jid, headers)
        if every:
            every(doc)
        if doc.get("state") in states:
            return doc
        if doc.get("state") in ("FAILED", "CANCELED"):
            break
        time.sleep(0.1)
    raise Failure("expected job %s to reach %s within %d s, it is %s" % (
        jid, "/".join(states), timeout, doc))


def tasks_by_attempt(tm, jid):
    """{attempt: tasks} that TaskManager tm ran of job jid, from its log."""
    return {int(a): int(n) for j, a, n in TASKS_HERE.findall(tm.err()) if j == jid}


def expect_both_ran(tms, jid, total):
    """Every TaskManager in tms ran tasks of attempt 0 of job jid, and together all `total`."""
    counts = [tasks_by_attempt(tm, jid).get(0, 0) for tm in tms]
    expect(all(n > 0 for n in counts) and sum(counts) == total,
           "job %s's %d tasks ran on both TaskManagers (log: 'attempt 0: N tasks running here')"
           % (jid, total), "each > 0, %d in all" % total, counts)
    return counts


def sorted_lines(path):
    return sorted(read_text(path).splitlines())


def two_taskmanagers(c, slots=2, jm_extra=(), tm_extra=()):
    jm = c.jobmanager(list(jm_extra))
    a = c.taskmanager(jm.control, slots, list(tm_extra))
    b = c.taskmanager(jm.control, slots, list(tm_extra))
    auth = None
    if "--secret-file" in jm_extra:
        auth = token_header(jm_extra[list(jm_extra).index("--secret-file") + 1])
    wait_tms(jm, [a.id, b.id], 30, auth)
    return jm, a, b


def vm_rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise Failure("no VmRSS in /proc/%d/status" % pid)


# ---- 1: the examples give the mini-cluster's output ------------------------------------------

def write_log(path, n, seed=11):
    """A log CSV in time order, up to 2 s early (within the 5 s max delay), with one line in
    200 a straggler 200 s behind (late: dropped to the late output when its window has fired).
    Read from one file, lateness follows the file's order; the generated log's stragglers are
    late or not depending on how 4 sources' watermarks interleave (the mini-cluster's own output
    differs from run to run)."""
    import random
    rng = random.Random(seed)
    rows, ts = [], 1700000000000
    for i in range(n):
        ts += rng.randint(1, 200)
        t = ts - rng.randint(0, 2000)
        if i % 200 == 199:
            t -= 200000
        level = rng.choice(("INFO", "INFO", "WARN", "ERROR"))
        rows.append((t, "web-%d" % rng.randint(1, 6), level, "line %d" % i))
    write_csv(path, rows, "ts,server,level,message")


def example_cases(tmp):
    """(name, job args with {out}/{late} for output paths, outputs, oracle) of each example.
    Generated input where the output does not depend on how parallel sources interleave
    (clicks, sessions: counts, no row late); fraud and log_errors read a CSV file (per-user
    running totals and lateness depend on the order of the rows)."""
    n = scaled(40000, 15000)
    tx = os.path.join(tmp, "tx.csv")
    rows = gen_transactions(7, n, n_users=300)
    write_csv(tx, rows)
    logs = os.path.join(tmp, "logs.csv")
    write_log(logs, n)
    return [
        ("fraud", ["--input", tx, "--output", "{out}", "--threshold", "1000"], ["out"],
         expected_alerts(rows, 1000.0)),
        ("clicks", ["--events", str(n), "--size-ms", "60000", "--slide-ms", "20000",
                    "--output", "{out}"], ["out"], None),
        ("sessions", ["--events", str(n), "--gap-ms", "600000", "--output", "{out}"], ["out"],
         None),
        ("log_errors", ["--input", logs, "--output", "{out}", "--late", "{late}"],
         ["out", "late"], None),
    ]


def test_examples_equal_minicluster(tmp):
    def body(c):
        jm, a, b = two_taskmanagers(c)
        addr = "127.0.0.1:%d" % jm.rest
        for name, args, outs, oracle in example_cases(tmp):
            paths = {}
            for where in ("cluster", "mini"):
                paths[where] = {o: os.path.join(tmp, "%s-%s-%s.csv" % (name, where, o))
                                for o in outs}
            cl_args = [x.format(**paths["cluster"]) for x in args]
            mini_args = [x.format(**paths["mini"]) for x in args]
            r = run(["run", "-m", addr, "-p", "4", example(name), "--"] + cl_args)
            expect_rc(r, 0)
            jid = JOB_LINE.search(r.out).group(1)
            doc = job_doc(jm, jid)
            expect(doc["state"] == "FINISHED" and doc.get("restarts", 0) == 0,
                   "%s on the cluster: FINISHED without restarts" % name, "FINISHED", doc)
            counts = expect_both_ran([a, b], jid, doc["tasks"])
            m = run(["run", "-p", "4", example(name), "--"] + mini_args)
            expect_rc(m, 0)
            for o in outs:
                cl, mini = sorted_lines(paths["cluster"][o]), sorted_lines(paths["mini"][o])
                expect(len(mini) > 1, "%s (%s): the mini-cluster wrote rows"
                       % (name, o), "rows", len(mini), m)
                expect(cl == mini, "%s (%s): the cluster's sorted output equals the "
                       "mini-cluster's" % (name, o), "%d lines" % len(mini),
                       "%d lines; first differences: %s" % (len(cl), sorted(
                           set(cl) ^ set(mini))[:6]))
            if oracle is not None:
                compare_alerts(oracle, parse_alerts(read_text(paths["cluster"]["out"]),
                                                    "fraud on the cluster"),
                               "fraud on the cluster")
            lines = "+".join(str(len(sorted_lines(p))) for p in paths["cluster"].values())
            print("  %s: %s output lines, tasks per TaskManager %s, %.1f s on the cluster, "
                  "%.1f s on the mini-cluster" % (name, lines, counts, r.secs, m.secs),
                  flush=True)
    run_cluster(tmp, body)


# ---- 2: back-pressure across TaskManagers keeps memory bounded -------------------------------

# slow_sink: N rows of PAYLOAD bytes at full speed into a keyed consumer that sleeps 1 ms every
# 20 rows per subtask (at most ~4 x 20,000 rows/s): buffering what the generator could make
# would take N x PAYLOAD bytes; back-pressure (credits across the TCP shuffle) must keep the
# TaskManagers' RSS far below that.
BP_EVENTS = 200000  # 400 MB of payload; the consumer takes at least 2.5 s
BP_PAYLOAD = 2000
BP_BATCH = 64  # rows per batch: the buffers (counted in batches) hold a few MB, not hundreds
BP_BOUND_MB = scaled(64, 128)  # RSS of each TaskManager at any sample (seen: ~20 MB, ASan ~65)


def test_backpressure_bounded_memory(tmp):
    def body(c):
        jm, a, b = two_taskmanagers(c)
        base = {tm.name: vm_rss_kb(tm.p.pid) for tm in (a, b)}
        out = os.path.join(tmp, "ids.csv")
        t0 = time.monotonic()
        jid = submit(jm, job_so("slow_sink"), ["-p", "4", "--batch-size", str(BP_BATCH)],
                     ["--output", out, "--events", str(BP_EVENTS), "--payload", str(BP_PAYLOAD)])
        peak = dict(base)
        samples = [0]

        def sample(doc):
            samples[0] += 1
            for tm in (a, b):
                peak[tm.name] = max(peak[tm.name], vm_rss_kb(tm.p.pid))
        doc = wait_job(jm, jid, ("FINISHED",), scaled(120, 300), every=sample)
        secs = time.monotonic() - t0
        expect_both_ran([a, b], jid, doc["tasks"])
        lines = read_text(out).splitlines()
        expect(lines[:1] == ["id"], "the sink's header", "id", lines[:1])
        expect_each_once([int(x) for x in lines[1:]], BP_EVENTS, "slow_sink at -p 4")
        total_mb = BP_EVENTS * BP_PAYLOAD / 1e6
        print("  %d rows of %d bytes (%.0f MB) in %.1f s; RSS before/peak (MB): %s; bound %d MB; "
              "%d samples" % (BP_EVENTS, BP_PAYLOAD, total_mb, secs, ", ".join(
                  "%.0f/%.0f" % (base[n] / 1024, peak[n] / 1024) for n in sorted(base)),
                  BP_BOUND_MB, samples[0]), flush=True)
        expect(samples[0] >= 10, "the job ran long enough to sample memory", ">= 10 samples",
               samples[0])
        expect(BP_BOUND_MB < total_mb / 2, "the bound is well below the input's size",
               "< %.0f MB" % (total_mb / 2), BP_BOUND_MB)
        for n in sorted(base):
            expect(peak[n] / 1024 < BP_BOUND_MB, "%s's peak RSS under a slow consumer" % n,
                   "< %d MB" % BP_BOUND_MB, "%.0f MB" % (peak[n] / 1024))
    run_cluster(tmp, body)


# ---- 3: kill -9 of TaskManagers during a job, with replacements ------------------------------

KILLS = 3
CKPT = ["--checkpoint-interval", "200", "--restart-delay", "50"]


def kill_and_replace(c, jm, jid, live, kills, slots, timeout):
    """kill -9 the oldest live TaskManager `kills` times while job jid runs, each time once the
    current attempt has completed two checkpoints, and starts a replacement with `slots` slots.
    Returns the replacements."""
    started = []
    for k in range(kills):
        deadline = time.monotonic() + timeout
        first = None
        while True:
            doc = job_doc(jm, jid)
            expect(doc["state"] not in ("FINISHED", "FAILED", "CANCELED"),
                   "job %s still runs for kill %d of %d (too little input for the kills?)"
                   % (jid, k + 1, kills), "RUNNING", doc)
            if doc["state"] == "RUNNING" and doc.get("restarts", 0) == k:
                if first is None:
                    first = doc.get("last-checkpoint", 0)
                elif doc.get("last-checkpoint", 0) >= first + 2:
                    break
            expect(time.monotonic() < deadline, "job %s: attempt %d running with 2 new "
                   "checkpoints within %d s" % (jid, k, timeout), "RUNNING", doc)
            time.sleep(0.05)
        victim = live.pop(0)
        victim.p.kill()
        victim.p.wait(30)
        live.append(c.taskmanager(jm.control, slots))
        started.append(live[-1])
    return started


def test_kill9_taskmanagers_replaced(tmp):
    def body(c):
        ck = os.path.join(tmp, "ck")
        jm = c.jobmanager(["--checkpoint-dir", ck])
        live = [c.taskmanager(jm.control, 2), c.taskmanager(jm.control, 2)]
        wait_tms(jm, [t.id for t in live], 30)
        timeout = scaled(30, 90)

        # selfcheck: keyed state across the TCP shuffle; any lost or repeated event after a
        # restore would commit an alert row
        alerts = os.path.join(tmp, "alerts")
        events, rate = scaled(900000, 300000), scaled(100000, 30000)
        t0 = time.monotonic()
        jid = submit(jm, example("selfcheck"), ["-p", "4"] + CKPT,
                     ["--keys", "40", "--source-parallelism", "4", "--events", str(events),
                      "--rate", str(rate), "--alerts", alerts])
        new = kill_and_replace(c, jm, jid, live, KILLS, 2, timeout)
        doc = wait_job(jm, jid, ("FINISHED",), scaled(60, 240))
        expect(doc.get("restarts", 0) >= KILLS, "selfcheck: restarts >= kills", ">= %d" % KILLS,
               doc)
        rows = committed_alert_rows(alerts)
        expect(not rows, "selfcheck after %d kills: committed alert files hold no rows" % KILLS,
               "no rows", rows[:5])
        for tm in new:
            expect(any(a > 0 and n > 0 for a, n in tasks_by_attempt(tm, jid).items()),
                   "the replacement %s ran tasks of a later attempt" % tm.name, "tasks",
                   tasks_by_attempt(tm, jid))
        print("  selfcheck: %d events at %d/s, %d kills, %d restarts, %d checkpoints, %.1f s"
              % (events, rate, KILLS, doc["restarts"], doc.get("last-checkpoint", 0),
                 time.monotonic() - t0), flush=True)

        # eo_rows: every generated id committed exactly once by the exactly-once file sink
        out = os.path.join(tmp, "eo")
        n = scaled(600000, 200000)
        t0 = time.monotonic()
        jid = submit(jm, job_so("eo_rows"), ["-p", "4"] + CKPT,
                     ["--output", out, "--events", str(n), "--rate", str(rate)])
        kill_and_replace(c, jm, jid, live, 2, 2, timeout)
        doc = wait_job(jm, jid, ("FINISHED",), scaled(60, 240))
        expect(doc.get("restarts", 0) >= 2, "eo_rows: restarts >= kills", ">= 2", doc)
        ids, _ = committed_ids(out)
        expect_each_once(ids, n, "eo_rows after 2 kills")
        print("  eo_rows: %d ids at %d/s, 2 kills, %d restarts, %.1f s"
              % (n, rate, doc["restarts"], time.monotonic() - t0), flush=True)

        # event-time windows over a file with late rows: the committed windows are the ones
        # computed from SEMANTICS.md, each once (late rows stay late across the failovers)
        delay, size = 1000, 10000
        rows = test_windows.gen_clicks(7, 40000, delay, [size], 1700000000000, n_users=50,
                                       n_pages=7, step=40, p_late=0.2, late_max=2 * size)
        path = os.path.join(tmp, "clicks.csv")
        test_windows.write_rows(path, test_windows.CLICK_HEADER, rows)
        expected, late = test_windows.oracle_fixed(test_windows.click_events(rows, "page"),
                                                   test_windows.tumbling(size), delay)
        out = os.path.join(tmp, "windows")
        t0 = time.monotonic()
        jid = submit(jm, job_so("chaos_windows"), ["-p", "4"] + CKPT,
                     ["--input", path, "--output", out, "--rows-per-ms", "5",
                      "--max-delay-ms", str(delay), "--size-ms", str(size)])
        kill_and_replace(c, jm, jid, live, 2, 2, timeout)
        doc = wait_job(jm, jid, ("FINISHED",), scaled(60, 240))
        expect(doc.get("restarts", 0) >= 2, "windows: restarts >= kills", ">= 2", doc)
        got = test_windows.parse_csv("page,window_start,window_end,clicks\n" + "\n".join(
            committed_rows(out)), test_windows.CLICKS_HEADER, "windows committed",
            (str, int, int, int))
        test_windows.compare(expected, got, "windows after 2 TaskManager kills")
        print("  windows: %d clicks (%d late), 2 kills, %d restarts, %.1f s"
              % (len(rows), len(late), doc["restarts"], time.monotonic() - t0), flush=True)
    run_cluster(tmp, body)


# ---- 4: a savepoint taken on the cluster at -p 4 restores on the mini-cluster at -p 1 --------

SELFCHECK_SUMMARY = re.compile(r"^selfcheck: events=(\d+) alerts=(\d+) gaps=(\d+) "
                               r"duplicates=(\d+) failures=(\d+)$", re.M)


def test_savepoint_cluster_p4_restores_minicluster_p1(tmp):
    events, rate = scaled(3000000, 1000000), scaled(100000, 30000)

    def body(c):
        jm, a, b = two_taskmanagers(c, jm_extra=["--checkpoint-dir", os.path.join(tmp, "ck")])
        alerts = os.path.join(tmp, "alerts")
        jid = submit(jm, example("selfcheck"), ["-p", "4"] + CKPT,
                     ["--keys", "40", "--source-parallelism", "4", "--events", str(events),
                      "--rate", str(rate), "--alerts", alerts])
        deadline = time.monotonic() + scaled(30, 90)
        while True:  # running, with a few checkpoints: state in every subtask
            doc = job_doc(jm, jid)
            if doc["state"] == "RUNNING" and doc.get("last-checkpoint", 0) >= 3:
                break
            expect(time.monotonic() < deadline and doc["state"] in ("CREATED", "RUNNING"),
                   "selfcheck runs and completes 3 checkpoints", "RUNNING", doc)
            time.sleep(0.05)
        expect_both_ran([a, b], jid, doc["tasks"])
        m = ["-m", "127.0.0.1:%d" % jm.rest]
        r = run(["savepoint", jid, os.path.join(tmp, "sp1")] + m)
        expect_rc(r, 0)
        expect(SAVEPOINT_LINE.search(r.out) is not None, "rill savepoint prints the path",
               "savepoint written: PATH", r.out, r)
        time.sleep(0.5)
        r = run(["stop", jid, "--savepoint", os.path.join(tmp, "sp2")] + m)
        expect_rc(r, 0)
        found = SAVEPOINT_LINE.search(r.out)
        expect(found is not None, "rill stop prints the savepoint's path",
               "savepoint written: PATH", r.out, r)
        sp = found.group(1)
        expect(os.path.isfile(os.path.join(sp, "_metadata")), "the savepoint's _metadata",
               sp + "/_metadata", os.listdir(sp) if os.path.isdir(sp) else "missing", r)
        doc = wait_job(jm, jid, ("FINISHED",), 60)
        rows = committed_alert_rows(alerts)
        expect(not rows, "the cluster run committed no alert", "no rows", rows[:5])

        # the rest of the input on the mini-cluster at -p 1, from the savepoint: the generators'
        # positions (4 subtasks into 1) and the 40 keys' last sequence numbers (key groups of 4
        # subtasks into 1) must both carry over, or the checker sees gaps or repeats
        alerts2 = os.path.join(tmp, "alerts-local")
        r = run(["run", "-p", "1", "--from-savepoint", sp, "--checkpoint-dir",
                 os.path.join(tmp, "ck-local"), "--checkpoint-interval", "200",
                 example("selfcheck"), "--", "--keys", "40", "--source-parallelism", "1",
                 "--events", str(events), "--alerts", alerts2], timeout=scaled(120, 300))
        expect_rc(r, 0)
        found = SELFCHECK_SUMMARY.search(r.out)
        expect(found is not None, "the local run's summary", "selfcheck: events=...", r.out, r)
        _, al, gaps, dups, _ = (int(x) for x in found.groups())
        expect(al == gaps == dups == 0, "restored at -p 1: no gap, no duplicate",
               "alerts=0 gaps=0 duplicates=0", found.group(0), r)
        for needle in ("restoring savepoint " + sp, "task sequences (1/1): state restored",
                       "task checker (1/1): state restored"):
            expect_in(needle, r.err, "the local run restores the savepoint", r)
        rows = committed_alert_rows(alerts2)
        expect(not rows, "the local run committed no alert", "no rows", rows[:5], r)

        # control (summary counts are of --events, not of rows read): the same savepoint with
        # 20 keys instead of 40 makes each key jump ahead in its sequence once, so exactly one
        # gap alert per key 0..19, whose expected seq (last restored + 1) is past 1: the rows
        # after the savepoint's position are read, against the restored state
        alerts3 = os.path.join(tmp, "alerts-control")
        r = run(["run", "-p", "1", "--from-savepoint", sp, example("selfcheck"), "--",
                 "--keys", "20", "--events", str(events), "--alerts", alerts3],
                timeout=scaled(120, 300))
        expect_rc(r, 0)
        rows = sorted((int(k), int(e), int(g), kind) for k, e, g, kind in (
            line.split(",") for _, line in committed_alert_rows(alerts3)))
        expect([x[0] for x in rows] == list(range(20)) and all(
            kind == "gap" and 1 < e < g for _, e, g, kind in rows),
            "control with 20 keys: one gap alert per key, after restored state",
            "keys 0..19, gap, 1 < expected < got", rows[:6], r)
        print("  savepoint %s (-p 4 on the cluster) restored at -p 1: no alert; control: "
              "20 gap alerts, expected seq %d..%d" % (os.path.basename(sp), min(
                  x[1] for x in rows), max(x[1] for x in rows)), flush=True)
    run_cluster(tmp, body)


# ---- 5: a cluster with a secret: jobs run, data connections without it are refused ----------

def data_hello_without_secret(port):
    """A HELLO for the data role (RILL_ROLE_DATA = 4) with no proof of the secret; returns the
    first frame answered (None: the connection was closed)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        hello = struct.pack("<IHB", 0x4C4C4952, 1, 4) + pstr(b"rill") + \
            pstr(b"e2e data probe") + b"\x00" + pstr(os.urandom(32))
        s.sendall(frame(0x0001, hello))
        f = recv_frame(s)
        if f is not None and f[0] == 0x0001:  # answered HELLO: the refusal comes next
            s.sendall(frame(0x0002, pstr(b"")))
            f = recv_frame(s)
        rest = recv_frame(s) if f is not None else None
        return f, rest
    except socket.timeout:
        raise Failure("the TaskManager's data port neither answered nor closed a HELLO "
                      "without the secret within 10 s")
    except ConnectionResetError:  # closed without a word: also a refusal
        return None, None
    finally:
        s.close()


def test_secret_cluster(tmp):
    def body(c):
        key = secret_file(tmp)
        sec = ["--secret-file", key]
        jm, a, b = two_taskmanagers(c, jm_extra=sec, tm_extra=sec)
        auth = token_header(key)
        out = os.path.join(tmp, "counts.csv")
        n = scaled(40000, 15000)
        jid = submit(jm, example("clicks"), ["-p", "4"],
                     ["--events", str(n), "--size-ms", "60000", "--slide-ms", "20000",
                      "--output", out], secret=key)
        doc = wait_job(jm, jid, ("FINISHED",), scaled(60, 180), headers=auth)
        expect_both_ran([a, b], jid, doc["tasks"])
        r = run(["run", "-p", "4", example("clicks"), "--", "--events", str(n), "--size-ms",
                 "60000", "--slide-ms", "20000", "--output", os.path.join(tmp, "mini.csv")])
        expect_rc(r, 0)
        expect(sorted_lines(out) == sorted_lines(os.path.join(tmp, "mini.csv")),
               "clicks across two TaskManagers with a secret: the mini-cluster's output",
               "equal", "different")

        # a data connection without the secret: refused (REFUSE, code 5 = no secret), logged;
        # the TaskManager keeps serving
        f, after = data_hello_without_secret(a.data_port)
        expect(f is None or f[0] == 0x0004, "a HELLO without the secret on the data port is "
               "refused", "REFUSE (0x0004) or a close", f)
        if f is not None:
            code = struct.unpack("<H", f[1][:2])[0]
            expect(code == 5, "the refusal's reason: no secret", 5, f)
            expect(after is None, "then the connection closes", "closed", after)
        a.wait_log("data connection from 127.0.0.1")
        logged = [line for line in a.err().splitlines() if "data connection from" in line]
        expect(len(logged) == 1 and "refused" in logged[0] and "secret" in logged[0],
               "the TaskManager logs the refusal and why", "one line: refused ... secret",
               logged)
        expect(a.p.poll() is None, "the TaskManager keeps running", "running", a.p.poll())
        wait_tms(jm, [a.id, b.id], 10, auth)
        # and it still runs jobs
        jid = submit(jm, example("clicks"), ["-p", "4"],
                     ["--events", str(n), "--size-ms", "60000", "--slide-ms", "20000",
                      "--output", os.path.join(tmp, "again.csv")], secret=key)
        wait_job(jm, jid, ("FINISHED",), scaled(60, 180), headers=auth)
        expect(sorted_lines(os.path.join(tmp, "again.csv")) == sorted_lines(out),
               "the job after the refusal: the same output", "equal", "different")
    run_cluster(tmp, body)


# ---- 6: a job waits for slots until a TaskManager brings them --------------------------------

def test_waiting_for_slots(tmp):
    def body(c):
        jm = c.jobmanager()
        a = c.taskmanager(jm.control, 2)
        wait_tms(jm, [a.id], 30)
        out = os.path.join(tmp, "sessions.csv")
        n = scaled(40000, 15000)
        args = ["--events", str(n), "--gap-ms", "600000"]
        jid = submit(jm, example("sessions"), ["-p", "4"], args + ["--output", out])
        time.sleep(0.5)
        doc = job_doc(jm, jid)
        expect(doc["state"] == "CREATED" and "waiting for slots" in doc.get("status", ""),
               "a job needing 4 slots with 2 in the cluster waits, and says so",
               "CREATED, status 'waiting for slots...'", doc)
        expect("needs 4" in doc["status"] and "2 free" in doc["status"],
               "the status counts the slots", "needs 4, 2 free", doc["status"])
        expect(not tasks_by_attempt(a, jid), "nothing of it runs meanwhile", "{}",
               tasks_by_attempt(a, jid))
        b = c.taskmanager(jm.control, 2)
        doc = wait_job(jm, jid, ("FINISHED",), scaled(60, 180))
        expect(doc.get("restarts", 0) == 0, "it ran once", 0, doc)
        expect_both_ran([a, b], jid, doc["tasks"])
        r = run(["run", "-p", "4", example("sessions"), "--"] + args +
                ["--output", os.path.join(tmp, "mini.csv")])
        expect_rc(r, 0)
        expect(sorted_lines(out) == sorted_lines(os.path.join(tmp, "mini.csv")),
               "the job that waited: the mini-cluster's output", "equal", "different")
    run_cluster(tmp, body)


def test_user_crash_on_taskmanager(tmp):
    """A user function that crashes a TaskManager: the TaskManager prints which job, operator
    and signal, and exits with status 3; the JobManager sees it lost and the job fails over
    (here it waits for slots: no TaskManager is left)."""
    def body(c):
        jm = c.jobmanager()
        a = c.taskmanager(jm.control, 2)
        wait_tms(jm, [a.id], 30)
        path = os.path.join(tmp, "tx.csv")
        with open(path, "w") as f:
            f.write("user_id,amount,ts\n")
            for i in range(5000):
                f.write("%d,1.50,%d\n" % (i % 100, 1700000000000 + i))
        jid = submit(jm, job_so("failing_map"),
                     ["-p", "1", "--restart-strategy", "fixed-delay", "--restart-delay", "0"],
                     ["--input", path, "--output", os.path.join(tmp, "out.csv"),
                      "--crash", "null", "--crash-after", "1000"])
        rc = a.wait_exit(60)
        expect(rc == 3, "the TaskManager exits with the user-crash status", 3, rc)
        lines = [x for x in a.err().splitlines() if "crashed in a user function" in x]
        expect(len(lines) == 1 and "operator 'boom'" in lines[0] and "SIGSEGV" in lines[0]
               and "job 'failing_map'" in lines[0], "the TaskManager's report",
               "job 'failing_map': operator 'boom' ... SIGSEGV", a.err())
        deadline = time.monotonic() + 30
        doc = job_doc(jm, jid)
        while time.monotonic() < deadline and doc.get("restarts", 0) < 1:
            time.sleep(0.1)
            doc = job_doc(jm, jid)
        expect(doc.get("restarts", 0) >= 1 and doc.get("state") in ("RESTARTING", "CREATED"),
               "the job fails over and waits for a TaskManager", "restarts >= 1", doc)
    run_cluster(tmp, body)


if __name__ == "__main__":
    main([test_examples_equal_minicluster, test_backpressure_bounded_memory,
          test_kill9_taskmanagers_replaced,
          test_savepoint_cluster_p4_restores_minicluster_p1,
          test_secret_cluster, test_waiting_for_slots, test_user_crash_on_taskmanager],
         need_jobs=True)
