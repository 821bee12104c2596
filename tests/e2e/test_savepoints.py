#!/usr/bin/env python3
"""test_savepoints.py - savepoints through the REST API and the CLI verbs, on the real binary:
a savepoint of a running job, stop-with-savepoint, a new run from that savepoint (also at another
parallelism of the keyed operator) with the self-checking job finding no gap and no duplicate,
the exactly-once file sink restored at other parallelisms committing every row once, and state
of operators the job does not have refused unless allowed."""
import os
import re
import shutil
import struct
import subprocess
import sys
import time

import rill_e2e
from rill_e2e import (RILL_BIN, RILL_EXAMPLES, Failure, committed_ids, committed_rows, expect,
                      expect_each_once, expect_in, expect_rc, fraud_so, main, run,
                      savepoint_path, selfcheck_summary, window_rows)


def job_so(name):
    return os.path.join(RILL_EXAMPLES, name + ".so")

start = rill_e2e.start_rest_job


def finish(p, timeout=60):
    """Waits for the job p to end; at once (SIGKILL) when a check failed before (called from a
    finally clause while that failure propagates, so the failure is what gets reported)."""
    if sys.exc_info()[0] is not None:
        p.kill()
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        raise Failure("the job did not finish within %d s" % timeout)
    return p.returncode, out, err


def selfcheck_args(tmp, extra=()):
    return ["run", "--checkpoint-dir", os.path.join(tmp, "ck"), "--rest-port", "0"] + \
        list(extra) + [job_so("selfcheck"), "--", "--keys", "60", "--source-parallelism", "2",
                       "--events", "600000", "--rate", "150000"]


def test_savepoint_stop_and_restore(tmp):
    p, port = start(selfcheck_args(tmp, ["-p", "2"]))
    try:
        time.sleep(1.0)
        m = ["-m", "127.0.0.1:%d" % port]
        r = run(["list"] + m)
        expect_rc(r, 0)
        expect_in("selfcheck", r.out, "list shows the job", r)
        expect_in("RUNNING", r.out, "list shows it running", r)
        r = run(["savepoint", "selfcheck", os.path.join(tmp, "sp")] + m)
        expect_rc(r, 0)
        savepoint_path(r, "savepoint")
        r = run(["checkpoints", "selfcheck"] + m)
        expect_rc(r, 0)
        expect_in("COMPLETED", r.out, "checkpoints lists the savepoint's checkpoint", r)
        time.sleep(0.5)
        r = run(["stop", "selfcheck", "--savepoint", os.path.join(tmp, "sp2")] + m)
        expect_rc(r, 0)
        sp = savepoint_path(r, "stop")
    finally:
        rc, out, err = finish(p)
    expect(rc == 0, "the stopped job finishes cleanly", 0, "%d\n%s" % (rc, err))
    events, alerts, gaps, dups = selfcheck_summary(out, "stopped run")
    expect(alerts == gaps == dups == 0, "stopped run: no alerts", 0, out)

    # from the savepoint (taken with 2 source subtasks and the checker at 2) at other
    # parallelisms of the checker and of the sources: key groups and generator rows redistributed
    for par, src_par in (("2", "2"), ("3", "3"), ("1", "1"), ("4", "4")):
        r = run(["run", "-p", par, "--from-savepoint", sp, "--checkpoint-dir",
                 os.path.join(tmp, "ck-" + par), "--checkpoint-interval", "200",
                 job_so("selfcheck"), "--", "--keys", "60", "--source-parallelism", src_par,
                 "--events", "600000", "--rate", "300000"], timeout=120)
        expect_rc(r, 0)
        what = "from the savepoint at -p %s, %s sources" % (par, src_par)
        events, alerts, gaps, dups = selfcheck_summary(r.out, what)
        expect(alerts == gaps == dups == 0, what + ": no gap, no duplicate",
               "alerts=0 gaps=0 duplicates=0", r.out, r)


def test_savepoint_errors_and_unknown_state(tmp):
    # a savepoint of the fraud job has state for operators selfcheck does not have
    p, port = start(["run", "--rest-port", "0", job_so("fraud"), "--", "--events", "0",
                     "--rate", "50000"])
    m = ["-m", "127.0.0.1:%d" % port]
    try:
        time.sleep(0.5)
        r = run(["savepoint", "nosuchjob", os.path.join(tmp, "x")] + m)
        expect(r.rc != 0, "savepoint of an unknown job fails", "non-zero exit", r.rc, r)
        expect_in("nosuchjob", r.out + r.err, "the message names the job", r)
        r = run(["stop", "fraud", "--savepoint", os.path.join(tmp, "fsp")] + m)
        expect_rc(r, 0)
        sp = savepoint_path(r, "stop fraud")
    finally:
        finish(p)
    sc = [job_so("selfcheck"), "--", "--keys", "10", "--events", "1000"]
    r = run(["run", "--from-savepoint", sp] + sc)
    expect(r.rc != 0, "restore with foreign state is refused", "non-zero exit", r.rc, r)
    expect_in("--allow-non-restored-state", r.err, "the message names the option", r)
    expect("'transactions'" in r.err or "'detect'" in r.err, "the message names a foreign "
           "operator", "'transactions' or 'detect'", r.err, r)
    r = run(["run", "--from-savepoint", sp, "--allow-non-restored-state"] + sc)
    expect_rc(r, 0)
    r = run(["run", "--from-savepoint", os.path.join(tmp, "nope")] + sc)
    expect(r.rc != 0, "a missing savepoint fails", "non-zero exit", r.rc, r)
    expect_in("nope", r.err, "the message names the path", r)
    r = run(["list", "-m", "127.0.0.1:1"])
    expect_rc(r, 1)
    expect_in("127.0.0.1:1", r.err, "an unreachable JobManager is named", r)


def test_stop_and_resume_equals_uninterrupted(tmp):
    gen = ["--events", "400000", "--users", "300", "--threshold", "5000"]
    # the uninterrupted run
    full = os.path.join(tmp, "full")
    r = run(["run", "-p", "1", "--checkpoint-dir", os.path.join(tmp, "ck0"),
             "--checkpoint-interval", "100", fraud_so(), "--", "--output", full,
             "--exactly-once"] + gen, timeout=120)
    expect_rc(r, 0)
    want = committed_rows(full)
    expect(len(want) > 100, "the uninterrupted run wrote alerts", "> 100 rows", len(want), r)
    # the same job stopped with a savepoint part way, then resumed from it
    out = os.path.join(tmp, "out")
    p, port = start(["run", "-p", "1", "--rest-port", "0", "--checkpoint-dir",
                     os.path.join(tmp, "ck1"), "--checkpoint-interval", "100", fraud_so(), "--",
                     "--output", out, "--exactly-once", "--rate", "200000"] + gen)
    try:
        time.sleep(1.0)
        r = run(["stop", "fraud", "--savepoint", os.path.join(tmp, "sp"), "-m",
                 "127.0.0.1:%d" % port])
        expect_rc(r, 0)
        sp = savepoint_path(r, "stop")
    finally:
        rc, o, e = finish(p)
    expect(rc == 0, "the stopped run ends cleanly", 0, "%d\n%s" % (rc, e))
    part = committed_rows(out)
    expect(0 < len(part) < len(want), "the stopped run committed part of the alerts",
           "between 1 and %d rows" % len(want), len(part))
    r = run(["run", "-p", "1", "--from-savepoint", sp, "--checkpoint-dir",
             os.path.join(tmp, "ck2"), "--checkpoint-interval", "100", fraud_so(), "--",
             "--output", out, "--exactly-once"] + gen, timeout=120)
    expect_rc(r, 0)
    got = committed_rows(out)
    expect(got == want, "stop-with-savepoint then resume: the same alerts as one run",
           "%d rows" % len(want), "%d rows (first difference: %s)" % (
               len(got), next((a for a, b in zip(got, want) if a != b), "-")), r)


def test_kill_resume_equals_uninterrupted(tmp):
    """kill -9 at random moments, --resume each time: the committed alerts are exactly those of
    a run without failures."""
    import random
    rng = random.Random(int(os.environ.get("RILL_E2E_SEED", "17")))
    gen = ["--events", "500000", "--users", "300", "--threshold", "5000"]
    full = os.path.join(tmp, "full")
    r = run(["run", "-p", "1", "--checkpoint-dir", os.path.join(tmp, "ck0"),
             "--checkpoint-interval", "100", fraud_so(), "--", "--output", full,
             "--exactly-once"] + gen, timeout=120)
    expect_rc(r, 0)
    want = committed_rows(full)
    out, ck = os.path.join(tmp, "out"), os.path.join(tmp, "ck1")
    args = ["run", "-p", "1", "--checkpoint-dir", ck, "--checkpoint-interval", "100",
            fraud_so(), "--", "--output", out, "--exactly-once", "--rate", "250000"] + gen
    for attempt in range(4):
        cmd = rill_e2e.rill_cmd(args[:1] + (["--resume"] if attempt else []) + args[1:])
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 0.6))
        p.kill()  # SIGKILL
        p.wait()
    r = run(args[:1] + ["--resume"] + args[1:], timeout=120)
    expect_rc(r, 0)
    got = committed_rows(out)
    expect(got == want, "kill -9 and --resume four times: the same alerts as one run",
           "%d rows" % len(want), "%d rows" % len(got), r)


def test_savepoint_rescales_exactly_once_sink(tmp):
    """A savepoint of the exactly-once file sink at parallelism 2, the job then killed (files
    written after it are left in progress; at -p 3 also the savepoint's own files, as if the
    kill came before their commit), restored at 1, 4 and 3 into copies of that directory: each
    run commits every row exactly once and leaves nothing in progress."""
    rows = rill_e2e.job_so("eo_rows")
    events = 400000  # 4 s at the rate: the savepoint comes well before the end
    out, ck = os.path.join(tmp, "out"), os.path.join(tmp, "ck")
    # savepoints only: no periodic checkpoint commits rows that the savepoint does not cover
    p, port = start(["run", "-p", "2", "--checkpoint-dir", ck, "--rest-port", "0", rows, "--",
                     "--output", out, "--events", str(events), "--rate", "100000"])
    try:
        time.sleep(1.0)
        r = run(["savepoint", "eo_rows", os.path.join(tmp, "sp"), "-m",
                 "127.0.0.1:%d" % port])
        expect_rc(r, 0)
        sp = savepoint_path(r, "savepoint at -p 2")
    finally:
        p.kill()  # SIGKILL, right after the savepoint
        p.communicate()
    ids, in_progress = committed_ids(out)
    expect(len(ids) < events, "the killed run had not committed everything",
           "fewer than %d ids" % events, len(ids))
    print("note: the killed run left %d ids committed, in progress: %s" % (len(ids),
                                                                           in_progress))
    for par in ("1", "4", "3"):
        o = os.path.join(tmp, "out-%s" % par)
        shutil.copytree(out, o)  # the directory as the killed run left it
        if par == "3":
            # as if the kill had come before the savepoint's commit: every committed file (all
            # of them pending in the savepoint: no other checkpoint ran) back in progress
            for name in os.listdir(o):
                if re.match(r"^part-\d+-\d+$", name):
                    os.rename(os.path.join(o, name), os.path.join(o, "." + name + ".inprogress"))
        r = run(["run", "-p", par, "--from-savepoint", sp, "--checkpoint-dir",
                 os.path.join(tmp, "ck-%s" % par), "--checkpoint-interval", "100", rows, "--",
                 "--output", o, "--events", str(events), "--rate", "300000"], timeout=120)
        expect_rc(r, 0)
        what = "savepoint at -p 2 restored at -p %s" % par
        ids, in_progress = committed_ids(o)
        expect_each_once(ids, events, what, r)
        expect(not in_progress, "%s: nothing left in progress" % what, "none", in_progress, r)


def test_rescale_chains_read_each_row_once(tmp):
    """Files passed through to the exactly-once sink, stopped with a savepoint twice and resumed
    at other parallelisms (chains of three): every row committed exactly once. 2 -> 1 -> 1 read
    the part of the second file that the first run's subtask 1 had read again (issue 12)."""
    src = os.path.join(tmp, "in")
    os.makedirs(src)
    n = 0
    for f in range(4):
        with open(os.path.join(src, "f%d.csv" % f), "w") as fh:
            fh.write("id\n" + "".join("%d\n" % i for i in range(n, n + 9000 + 1000 * f)))
        n += 9000 + 1000 * f
    for chain in ((2, 1, 1), (4, 1, 1), (3, 1, 1), (4, 2, 2), (1, 3, 2), (2, 4, 3)):
        tag = "".join(str(p) for p in chain)
        out, sp = os.path.join(tmp, "out-" + tag), None
        for i, par in enumerate(chain):
            args = ["run", "-p", str(par), "--checkpoint-dir", os.path.join(tmp, "ck-" + tag),
                    "--checkpoint-interval", "200"]
            args += ["--from-savepoint", sp] if sp else []
            job = [rill_e2e.job_so("eo_files"), "--", "--input", src, "--output", out,
                   "--rows-per-ms", "8"]
            what = "chain %s, run %d at -p %d" % ("->".join(map(str, chain)), i + 1, par)
            if i == len(chain) - 1:
                r = run(args + job, timeout=120)
                expect_rc(r, 0)
                break
            p, port = start(args + ["--rest-port", "0"] + job)
            try:
                time.sleep(0.5)
                r = run(["stop", "eo_files", "--savepoint", os.path.join(tmp, "sp-%s-%d" % (
                    tag, i)), "-m", "127.0.0.1:%d" % port])
                expect_rc(r, 0)
                sp = savepoint_path(r, what)
            finally:
                rc, pout, err = finish(p)
            expect(rc == 0, "%s: stopped cleanly" % what, 0, "%d\n%s" % (rc, err))
        ids, in_progress = committed_ids(out)
        expect_each_once(ids, n, "chain %s" % "->".join(map(str, chain)), r)
        expect(not in_progress, "chain %s: nothing left in progress" % tag, "none", in_progress)


def test_resume_after_drain_loses_no_row(tmp):
    """stop --drain fires every window with the end of event time; a run restored from that
    savepoint goes on from the watermark the rows had made, not from the end of event time:
    no row after the stop is late, so every row is counted once (a window the stop cut in two
    is committed in two parts)."""
    path = os.path.join(tmp, "clicks.csv")
    n = 30000
    with open(path, "w") as f:
        f.write("ts,user_id,page\n" + "".join("%d,1,/p%d\n" % (i * 10, i % 3) for i in range(n)))
    out, so = os.path.join(tmp, "out"), rill_e2e.job_so("chaos_windows")
    job = [so, "--", "--input", path, "--output", out, "--rows-per-ms", "8", "--max-delay-ms",
           "100", "--size-ms", "1000"]
    p, port = start(["run", "-p", "2", "--checkpoint-dir", os.path.join(tmp, "ck"),
                     "--rest-port", "0"] + job)
    try:
        time.sleep(1.0)
        r = run(["stop", "chaos_windows", "--savepoint", os.path.join(tmp, "sp"), "--drain",
                 "-m", "127.0.0.1:%d" % port])
        expect_rc(r, 0)
        sp = savepoint_path(r, "stop --drain")
    finally:
        rc, o, e = finish(p)
    expect(rc == 0, "the drained run ends cleanly", 0, "%d\n%s" % (rc, e))
    before = sum(int(line.rsplit(",", 1)[1]) for line in rill_e2e.committed_rows(out))
    expect(0 < before < n, "the stop came part way", "between 1 and %d rows" % n, before)
    for par in ("2", "3"):
        o2 = os.path.join(tmp, "out-" + par)
        shutil.copytree(out, o2)
        r = run(["run", "-p", par, "--from-savepoint", sp, "--checkpoint-dir",
                 os.path.join(tmp, "ck-" + par), so] + job[1:3] + [path, "--output", o2] +
                job[6:])
        expect_rc(r, 0)
        total = sum(int(line.rsplit(",", 1)[1]) for line in rill_e2e.committed_rows(o2))
        expect(total == n, "resumed at -p %s after the drain: every row counted once" % par,
               n, total, r)


EOW_EVENTS = 300000  # rows, ts = row number in ms: 300 windows of 1000 ms, 10 keys
EOW_FULL = 100       # rows in every window of every key


def in_progress(d):
    return sorted(n for n in os.listdir(d) if n.endswith(".inprogress"))


def eo_windows(tmp, ck, out, extra=()):
    return ["run", "-p", "2", "--checkpoint-dir", os.path.join(tmp, ck),
            "--checkpoint-interval", "200"] + list(extra) + [
        rill_e2e.job_so("eo_windows"), "--", "--output", out, "--events", str(EOW_EVENTS)]


def rows_read(text, what):
    m = re.search(r"eo_windows: rows=(\d+) windows=(\d+)", text)
    expect(m is not None, "%s: summary line" % what, "eo_windows: rows=N windows=M", text)
    return int(m.group(1))


def test_stop_without_drain_then_restore_equals_uninterrupted(tmp):
    """Event-time windows and the exactly-once sink, stopped with a savepoint (no drain) and
    restored into the same output directory: the committed windows are those of one run without
    a stop, each once. A stop whose savepoint cannot be written fails and the job goes on."""
    full = os.path.join(tmp, "full")
    r = run(eo_windows(tmp, "ck0", full), timeout=120)
    expect_rc(r, 0)
    want = window_rows(full)
    expect(len(want) == EOW_EVENTS // 1000 * 10 and set(want.values()) == {EOW_FULL},
           "the uninterrupted run committed every window, full", "%d windows of %d" % (
               EOW_EVENTS // 1000 * 10, EOW_FULL), "%d windows, counts %s" % (
               len(want), sorted(set(want.values()))[:5]), r)
    out = os.path.join(tmp, "out")
    p, port = start(eo_windows(tmp, "ck1", out, ["--rest-port", "0"]) + ["--rate", "60000"])
    m = ["-m", "127.0.0.1:%d" % port]
    try:
        time.sleep(1.0)
        # a savepoint that cannot be written (its directory would be under a file): the stop
        # fails, and the job reads on
        blocker = os.path.join(tmp, "blocker")
        with open(blocker, "w") as f:
            f.write("x")
        r = run(["stop", "eo_windows", "--savepoint", os.path.join(blocker, "sp")] + m)
        expect_rc(r, 1)
        expect_in("stop-with-savepoint of job 'eo_windows' failed", r.err, "the stop's error", r)
        expect_in("goes on running", r.err, "the stop's error says the job goes on", r)
        expect_in(blocker, r.err, "the stop's error names the directory", r)
        r = run(["list"] + m)
        expect_rc(r, 0)
        expect_in("RUNNING", r.out, "the job runs on after the failed stop", r)
        # and its sources read on: more windows get committed by the periodic checkpoints (after
        # those that the failed savepoint's rows still make)
        time.sleep(0.6)
        before = len(window_rows(out))
        deadline = time.monotonic() + 60  # a loaded machine: checkpoints may take seconds
        while len(window_rows(out)) <= before and time.monotonic() < deadline:
            time.sleep(0.05)
        after = len(window_rows(out))
        expect(after > before, "the sources read on after the failed stop",
               "more than %d committed windows" % before, after)
        r = run(["stop", "eo_windows", "--savepoint", os.path.join(tmp, "sp")] + m)
        expect_rc(r, 0)
        sp = savepoint_path(r, "stop")
        expect_in("stopped", r.out, "stop says the job stopped", r)
    finally:
        rc, o, e = finish(p)
    expect(rc == 0, "the stopped run ends cleanly", 0, "%d\n%s" % (rc, e))
    read = rows_read(o, "stopped run")
    expect(0 < read < EOW_EVENTS, "the stop came part way", "between 1 and %d rows" % EOW_EVENTS,
           read)
    part = window_rows(out)
    partial = {w: n for w, n in part.items() if n != EOW_FULL}
    expect(not partial, "without drain no window fired early: every committed window is full",
           "counts of %d" % EOW_FULL, "partial windows (first 5): %s" % sorted(
               partial.items())[:5])
    expect(0 < len(part) < len(want), "the stopped run committed part of the windows",
           "between 1 and %d" % len(want), len(part))
    r = run(eo_windows(tmp, "ck2", out, ["--from-savepoint", sp]), timeout=120)
    expect_rc(r, 0)
    got = window_rows(out)
    expect(got == want, "stop (no drain), then restore into the same directory: the windows of "
           "one run, each once", "%d windows" % len(want), "%d windows; missing (first 5): %s; "
           "wrong or extra (first 5): %s" % (
               len(got), sorted(set(want) - set(got))[:5],
               sorted((w, n) for w, n in got.items() if want.get(w) != n)[:5]), r)
    expect(not in_progress(out), "nothing left in progress", "none", in_progress(out), r)


def savepoint_pending_seqs(sp, uid):
    """The part numbers that the exactly-once sink `uid` (at parallelism 1) lists as pending
    (pre-committed) in savepoint directory sp."""
    from test_final_checkpoint import Reader, operator_states, read_frame
    r = Reader(read_frame(os.path.join(sp, "_metadata"), 3))  # savepoint metadata
    r.take("I"), r.take("Q"), r.take("qq"), r.take("I"), r.string()
    file = None
    for _ in range(r.take("I")):
        r.take("III")
        task_uid, f = r.string(), r.string()
        r.take("Q"), r.take("B")
        if task_uid == uid:
            file = f
    expect(file, "%s: a data file of the task of '%s'" % (sp, uid), "a file", file)
    state = operator_states(sp, file)[uid]
    expect(state[:4] == b"EOFS", "%s: the sink's state" % sp, b"EOFS", state[:4])
    version, n = struct.unpack_from("<I", state, 4)[0], struct.unpack_from("<I", state, 12)[0]
    if version < 3:  # fixed entries {checkpoint, seq}
        return [struct.unpack_from("<QQ", state, 24 + 16 * i)[1] for i in range(n)]
    seqs, at = [], 24  # version 3: {checkpoint, seq, u32 length, the file's partition}
    for _ in range(n):
        _ckpt, seq, length = struct.unpack_from("<QQI", state, at)
        seqs.append(seq)
        at += 20 + length
    return seqs


def test_stop_with_drain_commits_every_window(tmp):
    """stop --drain: every window fires before the savepoint's barrier, so the stopped run's
    committed output holds every row it read, in windows each committed once."""
    out = os.path.join(tmp, "out")
    p, port = start(eo_windows(tmp, "ck", out, ["--rest-port", "0"]) + ["--rate", "60000"])
    try:
        time.sleep(1.0)
        r = run(["stop", "eo_windows", "--savepoint", os.path.join(tmp, "sp"), "--drain", "-m",
                 "127.0.0.1:%d" % port])
        expect_rc(r, 0)
        sp = savepoint_path(r, "stop --drain")
    finally:
        rc, o, e = finish(p)
    expect(rc == 0, "the drained run ends cleanly", 0, "%d\n%s" % (rc, e))
    read = rows_read(o, "drained run")
    expect(0 < read < EOW_EVENTS, "the stop came part way", "between 1 and %d rows" % EOW_EVENTS,
           read)
    got = window_rows(out)
    total = sum(got.values())
    expect(total == read, "with drain every row read is in a committed window", read, total)
    # Each key comes from one source subtask (row i: key i mod 10, subtask i mod 2), in event
    # time order, so every window of a key but its newest is complete. The two subtasks stop at
    # their own positions, which may be far apart in event time when one of them was held back
    # (a loaded machine): a test that compared all keys against the newest window overall
    # failed then, with every row still committed once.
    newest = {}
    for k, w_start in got:
        newest[k] = max(newest.get(k, w_start), w_start)
    short = sorted(w for w, n in got.items() if n != EOW_FULL and w[1] < newest[w[0]])
    expect(not short, "every window before the stop is complete", "none short", short[:5])
    expect(not in_progress(out), "nothing left in progress", "none", in_progress(out))
    # the windows fired before the savepoint's barrier: the last committed files are those it
    # pre-committed, none was committed after it at the end of the input
    pending = savepoint_pending_seqs(sp, "out")
    seqs = [int(n.rsplit("-", 1)[1]) for n in os.listdir(out) if n.startswith("part-")]
    expect(pending and max(seqs) == max(pending), "the drained windows are in the savepoint's "
           "pre-commit", "newest committed part %s pending in the savepoint" % max(seqs),
           "pending: %s" % pending)


if __name__ == "__main__":
    main([test_rescale_chains_read_each_row_once, test_resume_after_drain_loses_no_row,
          test_savepoint_stop_and_restore, test_savepoint_errors_and_unknown_state,
          test_stop_and_resume_equals_uninterrupted,
          test_kill_resume_equals_uninterrupted, test_savepoint_rescales_exactly_once_sink,
          test_stop_without_drain_then_restore_equals_uninterrupted,
          test_stop_with_drain_commits_every_window],
         need_jobs=True)
