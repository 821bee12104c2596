#!/usr/bin/env python3
"""test_rocksdb.py - the rocksdb state backend on the real binary: the examples give the same
output on `--state-backend rocksdb` as on the heap; a savepoint taken on one backend restores on
the other (savepoints are canonical), with the self-checking job finding no gap and no
duplicate; a job whose keyed state is about ten times its memory budget completes with the heap's
output; the working directories are gone after the run; a bad backend name is refused."""
import glob
import os
import re
import subprocess
import time

import rill_e2e
from rill_e2e import (Failure, expect, expect_in, expect_rc, main, read_text, run,
                      gen_transactions, write_csv, expected_alerts, parse_alerts,
                      compare_alerts)

SUMMARY = re.compile(r"selfcheck: events=(\d+) alerts=(\d+) gaps=(\d+) duplicates=(\d+)")


def job_so(name):
    return os.path.join(rill_e2e.RILL_EXAMPLES, name + ".so")


def state_dirs(d):
    return glob.glob(os.path.join(d, "rill-rocksdb-*"))


def test_examples_equal_on_both_backends(tmp):
    sd = os.path.join(tmp, "state")
    os.mkdir(sd)
    for name, args in (("clicks", ["--events", "60000"]),
                       ("sessions", ["--events", "40000"])):
        outs = {}
        for backend in ("heap", "rocksdb"):
            out = os.path.join(tmp, "%s-%s.csv" % (name, backend))
            r = run(["run", "-p", "2", "--state-backend", backend, "--state-dir", sd,
                     job_so(name), "--", "--output", out] + args)
            expect_rc(r, 0)
            outs[backend] = sorted(read_text(out).splitlines())
        expect(len(outs["heap"]) > 10, name + ": some output", "> 10 lines", len(outs["heap"]))
        expect(outs["heap"] == outs["rocksdb"], name + ": rocksdb's output equals the heap's",
               "%d lines" % len(outs["heap"]), "%d lines, first difference %s" % (
                   len(outs["rocksdb"]),
                   next((a, b) for a, b in zip(outs["heap"] + [""], outs["rocksdb"] + [""])
                        if a != b) if outs["heap"] != outs["rocksdb"] else "-"))
    # fraud: alerts computed independently
    rows = gen_transactions(7, 20000, n_users=300)
    inp = os.path.join(tmp, "tx.csv")
    write_csv(inp, rows)
    out = os.path.join(tmp, "alerts.csv")
    r = run(["run", "-p", "3", "--state-backend", "rocksdb", "--state-dir", sd, job_so("fraud"),
             "--", "--input", inp, "--output", out, "--threshold", "1000"])
    expect_rc(r, 0)
    compare_alerts(expected_alerts(rows, 1000), parse_alerts(read_text(out), "fraud"),
                   "fraud on rocksdb")
    expect(state_dirs(sd) == [], "the working directories are removed at the end", "[]",
           state_dirs(sd))


def selfcheck(tmp, backend, extra, events, what):
    r = run(["run", "--state-backend", backend, "--state-dir", os.path.join(tmp, "state")] +
            extra + [job_so("selfcheck"), "--", "--keys", "40", "--source-parallelism", "2",
                     "--events", str(events), "--rate", "200000"], timeout=180)
    expect_rc(r, 0)
    m = SUMMARY.search(r.out)
    expect(m is not None, what + ": summary", "selfcheck: ...", r.out, r)
    alerts, gaps, dups = int(m.group(2)), int(m.group(3)), int(m.group(4))
    expect(alerts == gaps == dups == 0, what + ": no gap, no duplicate", 0, r.out, r)
    return r


def test_savepoints_across_backends(tmp):
    os.mkdir(os.path.join(tmp, "state"))
    for src, dst in (("heap", "rocksdb"), ("rocksdb", "heap")):
        ck = os.path.join(tmp, "ck-" + src)
        p, port = rill_e2e.start_rest_job(
            ["run", "-p", "2", "--state-backend", src, "--state-dir", os.path.join(tmp, "state"),
             "--checkpoint-dir", ck, "--rest-port", "0", job_so("selfcheck"), "--", "--keys",
             "40", "--source-parallelism", "2", "--events", "400000", "--rate", "100000"])
        try:
            time.sleep(1.0)
            r = run(["stop", "selfcheck", "--savepoint", os.path.join(tmp, "sp-" + src), "-m",
                     "127.0.0.1:%d" % port])
            expect_rc(r, 0)
            m = re.search(r"savepoint written: (\S+)", r.out)
            expect(m is not None, "the savepoint's path", "savepoint written: PATH", r.out, r)
            sp = m.group(1)
        finally:
            try:
                p.communicate(timeout=60)
            except Exception:
                p.kill()
                raise
        for par in ("1", "3"):
            selfcheck(tmp, dst, ["-p", par, "--from-savepoint", sp, "--checkpoint-dir",
                                 os.path.join(tmp, "ck2-%s-%s" % (dst, par))], 400000,
                      "a %s savepoint restored on %s at -p %s" % (src, dst, par))


def dir_bytes(d):
    total = 0
    for root, _, files in os.walk(d):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(root, f))
            except OSError:
                pass  # a file compaction removed meanwhile
    return total


def test_state_larger_than_memory(tmp):
    # fraud's generated stream over 1,300,000 users at parallelism 1 with a 4 MiB state budget:
    # a running total per user (about 1,300,000 keys, ~40 MB of compressed SST files: ten times
    # the budget). The heap's output is the reference; the working directory's size is sampled
    # while it runs.
    sd = os.path.join(tmp, "state")
    os.mkdir(sd)
    args = ["--events", "1300000", "--users", "1300000", "--threshold", "1500"]
    ref = os.path.join(tmp, "heap.csv")
    r = run(["run", "-p", "1", job_so("fraud"), "--", "--output", ref] + args)
    expect_rc(r, 0)
    out = os.path.join(tmp, "rocksdb.csv")
    budget = 4 << 20
    p = subprocess.Popen([rill_e2e.RILL_BIN, "run", "-p", "1", "--state-backend", "rocksdb",
                          "--state-dir", sd, "--state-memory", str(budget), job_so("fraud"),
                          "--", "--output", out] + args,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak, deadline = 0, time.monotonic() + 600
    while p.poll() is None and time.monotonic() < deadline:
        peak = max(peak, dir_bytes(sd))
        time.sleep(0.3)
    if p.poll() is None:
        p.kill()
        raise Failure("the rocksdb run did not end within 600 s")
    out_text, err_text = p.communicate()
    expect(p.returncode == 0, "the rocksdb run ends well", 0, "%d\n%s" % (p.returncode,
                                                                            err_text))
    print("    state on disk at most %.1f MiB, budget %.1f MiB" % (peak / 2**20, budget / 2**20))
    expect(peak >= 8 * budget, "the state outgrew its memory budget many times over",
           ">= %d bytes" % (8 * budget), peak)
    a, b = sorted(read_text(ref).splitlines()), sorted(read_text(out).splitlines())
    expect(len(a) > 100, "some alerts", "> 100 lines", len(a))
    expect(a == b, "rocksdb's alerts equal the heap's", "%d lines" % len(a), "%d lines" % len(b))


def test_bad_backend_refused(tmp):
    r = run(["run", "--state-backend", "lmdb", job_so("clicks")])
    expect(r.rc == 2, "an unknown backend is bad usage", 2, r.rc, r)
    expect_in("rocksdb", r.err, "the message names the backends", r)
    r = run(["run", "--state-memory", "12q", job_so("clicks")])
    expect(r.rc == 2, "a bad size is bad usage", 2, r.rc, r)
    expect_in("state.memory", r.err, "the message names the option", r)


if __name__ == "__main__":
    main([test_examples_equal_on_both_backends, test_savepoints_across_backends,
          test_state_larger_than_memory, test_bad_backend_refused])
