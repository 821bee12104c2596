#!/usr/bin/env python3
"""test_final_checkpoint.py - the final checkpoint at the end of a bounded input, on the real
binary: a job with --exactly-once output and checkpoints commits exactly what a run without
checkpoints commits, leaves no in-progress file, and its newest checkpoint is the final one,
with every source at the end of its input; --resume against it writes nothing more.

Run on the fraud job (keyed state, 2 source subtasks in the second case) and the clicks job
(event-time windows: their results must be inside the final checkpoint, or a resume would
fire them again)."""
import os
import re
import struct
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rill_e2e import (RILL_EXAMPLES, expect, expect_in, expect_rc, main,  # noqa: E402
                      read_text, run)

MAGIC = b"RILLCKPT"


def example(name):
    return os.path.join(RILL_EXAMPLES, name + ".so")


def read_frame(path, kind):
    """The payload of a framed checkpoint file (magic, u32 version, u32 kind, u64 length,
    payload, u32 CRC32C), its frame checked except the CRC (the binary checks that)."""
    with open(path, "rb") as f:
        data = f.read()
    expect(data[:8] == MAGIC, "%s: magic" % path, MAGIC, data[:8])
    version, k, length = struct.unpack_from("<IIQ", data, 8)
    expect(k == kind, "%s: kind" % path, kind, k)
    expect(len(data) == 24 + length + 4, "%s: length" % path, 24 + length + 4, len(data))
    return data[24:24 + length]


class Reader:
    def __init__(self, data):
        self.data, self.at = data, 0

    def take(self, fmt):
        v = struct.unpack_from("<" + fmt, self.data, self.at)
        self.at += struct.calcsize("<" + fmt)
        return v if len(v) > 1 else v[0]

    def string(self):
        n = self.take("I")
        s = self.data[self.at:self.at + n].decode()
        self.at += n
        return s


def checkpoint_tasks(chk_dir):
    """(uid, subtask, parallelism, file or None when the task had finished) of every task in
    chk_dir/_metadata."""
    r = Reader(read_frame(os.path.join(chk_dir, "_metadata"), 2))
    r.take("I")   # version
    r.take("Q")   # id
    r.take("qq")  # trigger and completion times
    r.take("I")   # max parallelism
    r.string()    # job name
    tasks = []
    for _ in range(r.take("I")):
        _vertex, subtask, par = r.take("III")
        uid, file = r.string(), r.string()
        r.take("Q")
        finished = r.take("B")
        tasks.append((uid, subtask, par, None if finished or not file else file))
    return tasks


def operator_states(chk_dir, file):
    """{uid: state bytes} of one task data file."""
    r = Reader(read_frame(os.path.join(chk_dir, file), 1))
    states = {}
    for _ in range(r.take("I")):
        uid = r.string()
        n = r.take("Q")
        states[uid] = r.data[r.at:r.at + n]
        r.at += n
    return states


def completed(ckpt_dir, job):
    d = os.path.join(ckpt_dir, job)
    ids = [int(m.group(1)) for m in (re.match(r"^chk-(\d+)$", n) for n in os.listdir(d))
           if m and os.path.isfile(os.path.join(d, m.group(0), "_metadata"))]
    return sorted(ids)


def expect_sources_at_end(ckpt_dir, job, source_uid, events, r):
    """The newest checkpoint holds every generator subtask's position, each at its end: the
    next row index k of subtask s of p is past the last of its rows n = s + k p < events."""
    ids = completed(ckpt_dir, job)
    expect(ids, "a completed checkpoint in %s" % ckpt_dir, "chk-<n>", ids, r)
    chk = os.path.join(ckpt_dir, job, "chk-%d" % ids[-1])
    positions = []
    for uid, subtask, par, file in checkpoint_tasks(chk):
        if uid != source_uid:
            continue
        expect(file is not None, "%s: source subtask %d took part in the final checkpoint"
               % (chk, subtask), "a data file (running, waiting at the end)", "finished", r)
        state = operator_states(chk, file)[source_uid]
        s, p, k = struct.unpack("<QQQ", state)
        expect((s, p) == (subtask, par), "%s: the position's subtask" % chk, (subtask, par),
               (s, p), r)
        positions.append((s, p, k))
        end = (events - s + p - 1) // p  # rows of subtask s
        expect(k == end, "%s: source subtask %d/%d is at the end of its input" % (chk, s + 1, p),
               "next row index %d" % end, k, r)
    expect(positions, "%s: the source's positions" % chk, "at least one", positions, r)
    return ids[-1]


def committed_rows(d, r=None):
    """The data rows of every committed part file in d, sorted; fails on an in-progress file
    (nothing may be left uncommitted once the job has finished)."""
    rows = []
    for name in sorted(os.listdir(d)):
        expect(not name.endswith(".inprogress"), "no in-progress file left in %s" % d,
               "none", name, r)
        if name.startswith("."):
            continue
        lines = read_text(os.path.join(d, name)).splitlines()
        rows += [line for line in lines[1:] if line]  # each part file starts with its header
    return sorted(rows)


def final_checkpoint_case(tmp, job, job_args, par, source_uid, events, summary_zero):
    so = example(job)
    oracle = os.path.join(tmp, "oracle")
    r = run(["run", "-p", par, so, "--"] + job_args + ["--output", oracle, "--exactly-once"])
    expect_rc(r, 0)
    want = committed_rows(oracle, r)
    expect(len(want) > 10, "the run without checkpoints committed rows", "> 10 rows",
           len(want), r)

    out, ck = os.path.join(tmp, "out"), os.path.join(tmp, "ck")
    args = ["run", "-p", par, "--checkpoint-dir", ck, "--checkpoint-interval", "50", so, "--"] + \
        job_args + ["--output", out, "--exactly-once"]
    old = os.environ.get("RILL_LOG")
    os.environ["RILL_LOG"] = "info"
    try:
        r = run(args)
        expect_rc(r, 0)
        got = committed_rows(out, r)
        expect(got == want, "%s with checkpoints: the same committed rows as without" % job,
               "%d rows" % len(want), "%d rows (first difference: %s)" % (
                   len(got), next((a for a, b in zip(got, want) if a != b), "-")), r)
        m = re.findall(r"final checkpoint (\d+) completed", r.err)
        expect(len(m) == 1, "one final checkpoint completed", "final checkpoint N completed",
               r.err, r)
        newest = expect_sources_at_end(ck, job, source_uid, events, r)
        expect(int(m[0]) == newest, "the newest checkpoint is the final one", m[0], newest, r)

        # --resume: the sources start at their end; nothing more is committed
        r = run(args[:1] + ["--resume"] + args[1:])
        expect_rc(r, 0)
        expect_in("restoring checkpoint %d" % newest, r.err, "resumed from the final checkpoint",
                  r)
        expect_in(summary_zero, r.out, "the resumed run read and wrote nothing", r)
        got = committed_rows(out, r)
        expect(got == want, "--resume after the final checkpoint commits no more rows",
               "%d rows" % len(want), "%d rows" % len(got), r)
        expect_sources_at_end(ck, job, source_uid, events, r)
    finally:
        if old is None:
            del os.environ["RILL_LOG"]
        else:
            os.environ["RILL_LOG"] = old


def test_final_checkpoint_fraud(tmp):
    events = 200000
    final_checkpoint_case(tmp, "fraud", ["--events", str(events), "--users", "300",
                                         "--threshold", "5000", "--rate", "400000"],
                          "1", "transactions", events, "events=0 alerts=0")


def test_final_checkpoint_clicks_windows_two_sources(tmp):
    events = 200000
    final_checkpoint_case(tmp, "clicks", ["--events", str(events), "--size-ms", "60000",
                                          "--slide-ms", "20000"],
                          "2", "clicks", events, "events=0 windows=0")


if __name__ == "__main__":
    main([test_final_checkpoint_fraud, test_final_checkpoint_clicks_windows_two_sources])
