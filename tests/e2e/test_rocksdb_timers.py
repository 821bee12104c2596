#!/usr/bin/env python3
"""test_rocksdb_timers.py - event-time windows on the rocksdb backend with their timers in
RocksDB and far more of them than memory holds (a 4 MiB state budget: about 2,000 timers in
memory, 16,000 live): through kill -9 and --resume, at another parallelism, with incremental
checkpoints, the exactly-once sink commits every window of every key exactly once with its full
count, as an uninterrupted run on the heap does. Also with the timers on the heap
(--state-timers heap), and a bad --state-timers value is refused."""
import os
import subprocess
import time

import rill_e2e
from rill_e2e import Failure, expect, expect_in, expect_rc, main, run, window_rows, RILL_BIN

KEYS, WINDOW_MS, EVENTS = 8000, 40000, 400000  # 5 rows per key and window, 10 windows
RATE = 100000 if not os.environ.get("RILL_E2E_SLOW") else 50000


def job(out, extra=(), rate=0):
    args = list(extra) + [rill_e2e.job_so("eo_windows"), "--", "--output", out, "--events",
                          str(EVENTS), "--keys", str(KEYS), "--window-ms", str(WINDOW_MS)]
    return args + (["--rate", str(rate)] if rate else [])


def completed(ck):
    d = os.path.join(ck, "eo_windows")
    if not os.path.isdir(d):
        return []
    return sorted(n for n in os.listdir(d)
                  if os.path.exists(os.path.join(d, n, "_metadata")))


def kill_after(args, secs, ck, log):
    """Starts rill with args, kill -9 after secs once a checkpoint has completed; True if it
    was killed (False: it ended by itself, successfully)."""
    with open(log, "w") as err:
        p = subprocess.Popen([RILL_BIN] + args, stdout=subprocess.DEVNULL, stderr=err)
    t0 = time.monotonic()
    while p.poll() is None:
        if time.monotonic() - t0 >= secs and completed(ck):
            break
        if time.monotonic() - t0 > 60:
            break
        time.sleep(0.02)
    ended = p.poll() is not None
    if not ended:
        p.kill()
    p.wait(timeout=30)
    if ended:
        with open(log, errors="replace") as f:
            err = f.read()
        expect(p.returncode == 0, "a run that ended by itself succeeded", 0,
               "%d\n%s\n--- stderr (last 6000 bytes) ---\n%s" % (p.returncode, " ".join(args),
                                                                 err[-6000:]))
    return not ended


def want_all():
    want = {(k, w * WINDOW_MS): WINDOW_MS // KEYS for k in range(KEYS)
            for w in range(EVENTS // WINDOW_MS)}
    return want


def check(got, want, what):
    if got == want:
        return
    missing = [k for k in want if k not in got]
    wrong = [(k, got[k], want[k]) for k in want if k in got and got[k] != want[k]]
    extra = [k for k in got if k not in want]
    raise Failure("%s: %d windows of %d committed; %d missing (e.g. %s), %d with a wrong count "
                  "(e.g. %s), %d unexpected" % (what, len(got), len(want), len(missing),
                                                missing[:3], len(wrong), wrong[:3], len(extra)))


def test_uninterrupted_runs_equal(tmp):
    want = want_all()
    for name, extra in (("heap", ["--state-backend", "heap"]),
                        ("rocksdb", ["--state-backend", "rocksdb", "--state-memory", "4m"]),
                        ("rocksdb-heap-timers", ["--state-backend", "rocksdb", "--state-memory",
                                                 "4m", "--state-timers", "heap"])):
        out = os.path.join(tmp, "out-" + name)
        r = run(["run", "-p", "2", "--state-dir", tmp] + job(out, extra), timeout=240)
        expect_rc(r, 0)
        check(window_rows(out), want, name)


def test_kill_and_resume_with_spilled_timers(tmp):
    ck = os.path.join(tmp, "ck")
    out = os.path.join(tmp, "out")
    state = os.path.join(tmp, "state")
    common = ["--state-backend", "rocksdb", "--state-dir", state, "--state-memory", "4m",
              "--incremental-checkpoints", "--checkpoint-dir", ck, "--checkpoint-interval",
              "150"]
    killed = kill_after(["run", "-p", "2"] + common + job(out, rate=RATE), 1.2, ck,
                        os.path.join(tmp, "run0.err"))
    expect(killed, "the first run was killed part way", True, killed)
    for i, (p, secs) in enumerate(((3, 1.0), (2, 0))):
        args = ["run", "-p", str(p), "--resume"] + common + job(out, rate=RATE)
        if secs:
            kill_after(args, secs, ck, os.path.join(tmp, "run%d.err" % (i + 1)))
        else:
            r = run(args, timeout=240)
            expect_rc(r, 0)
    check(window_rows(out), want_all(), "after two kill -9 and resumes at p=3 and p=2")


def test_bad_timer_service_refused(tmp):
    r = run(["run", "--state-backend", "rocksdb", "--state-timers", "disk",
             rill_e2e.job_so("eo_windows"), "--", "--output", os.path.join(tmp, "o")])
    expect_rc(r, 2)  # bad usage
    expect_in("state.backend.rocksdb.timer-service.factory", r.err, "the option is named", r)
    expect_in("\"disk\"", r.err, "the bad value is quoted", r)


if __name__ == "__main__":
    main([test_uninterrupted_runs_equal, test_kill_and_resume_with_spilled_timers,
          test_bad_timer_service_refused], need_jobs=True)
