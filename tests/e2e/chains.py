"""Chains of three parallelisms: a job run at -p a, handed over to a run at -p b, then to a run
at -p c that goes to the end, for every (a, b, c) in {1, 2, 3, 4}^3, in two modes:

- savepoint: each of the first two runs is stopped with `rill stop --savepoint` once it has
  completed a checkpoint, and the next run starts `--from-savepoint`;
- kill: each of the first two runs is killed with SIGKILL once it has completed a checkpoint
  (a new one, after its restore), and the next run starts with `--resume`.

Two jobs, every chain in both modes:
- files (tests/jobs/eo_files.c): ids from several CSV files of unequal length, passed through
  to the exactly-once file sink: every id committed exactly once, nothing left in progress
  (file split positions handed over between parallelisms);
- selfcheck (examples/selfcheck.c): generated (key, seq) rows, generator and keyed checker both
  at the chain's parallelism: no gap or duplicate alert committed, and one "done" row per key,
  committed once (generator positions and key groups handed over).

The first two runs are slowed to a fixed rate over all their subtasks, so that they are
stopped or killed part way whatever their parallelism; the last one runs at full speed. A run
that ends by itself before it could be stopped or killed (it should not: its input lasts
seconds) is reported "early": the chain ends there and its output is still checked.

Used by test_chains.py (a sample of chains in `make test`) and by `make chaos`, which runs
every chain and prints a table:

    python3 tests/e2e/chains.py [--mode savepoint|kill] [--job files|selfcheck] [--seed S]
                                [CHAIN ...]    (CHAIN like 2-1-1; RILL_* as for ctest)
"""
import argparse
import itertools
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rill_e2e  # noqa: E402
from rill_e2e import Failure, Started, expect, expect_rc  # noqa: E402

PARALLELISMS = (1, 2, 3, 4)
CHAINS = list(itertools.product(PARALLELISMS, repeat=3))
MODES = ("savepoint", "kill")
JOBS = ("files", "selfcheck")

ROWS_PER_MS = 12       # the slowed runs' rate over all subtasks: 12,000 rows/s
FILE_ROWS = (14000, 9000, 17000, 11000, 13000)  # 64,000 ids: over 5 s at that rate
KEYS = 12              # a multiple of every parallelism (each key then has one source)
EVENTS = 60000         # 5 s at that rate
INTERVAL_MS = 100      # checkpoint interval
LATER_S = 0.3          # a stop or kill comes up to this long after a checkpoint completed
WAIT_S = 120           # for a checkpoint, a REST port, a run's end (sanitizer builds are slow)


def chain_name(chain):
    return "-".join(str(p) for p in chain)


class Files:
    """The file pass-through: input written once, shared by every chain."""
    name, job_name = "files", "eo_files"

    def __init__(self, root):
        self.src = os.path.join(root, "in")
        os.makedirs(self.src)
        self.n = 0
        for f, rows in enumerate(FILE_ROWS):
            with open(os.path.join(self.src, "part-%d.csv" % f), "w") as fh:
                fh.write("id\n" + "".join("%d\n" % i for i in range(self.n, self.n + rows)))
            self.n += rows

    def args(self, d, par, slow):
        # the filter sleeps 1 ms per rows_per_ms rows of each subtask: 12 rows/ms in all
        rows_per_ms = ROWS_PER_MS // par if slow else 0
        return [rill_e2e.job_so("eo_files"), "--", "--input", self.src, "--output",
                os.path.join(d, "out"), "--rows-per-ms", str(rows_per_ms)]

    def check(self, d, r, what):
        ids, in_progress = rill_e2e.committed_ids(os.path.join(d, "out"))
        rill_e2e.expect_each_once(ids, self.n, what, r)
        expect(not in_progress, "%s: nothing left in progress" % what, "none", in_progress, r)


class Selfcheck:
    """The generator and the keyed checker at the chain's parallelism."""
    name, job_name = "selfcheck", "selfcheck"

    def __init__(self, root):
        pass

    def args(self, d, par, slow):
        rate = ROWS_PER_MS * 1000 if slow else 0
        return [os.path.join(rill_e2e.RILL_EXAMPLES, "selfcheck.so"), "--", "--keys",
                str(KEYS), "--events", str(EVENTS), "--rate", str(rate), "--source-parallelism",
                str(par), "--done-rows", "1", "--alerts", os.path.join(d, "alerts")]

    def check(self, d, r, what):
        _events, alerts, gaps, dups = rill_e2e.selfcheck_summary(r.out, what)
        expect(alerts == gaps == dups == 0, "%s: the last run saw no gap or duplicate" % what,
               "alerts=0 gaps=0 duplicates=0",
               "alerts=%d gaps=%d duplicates=%d" % (alerts, gaps, dups), r)
        out = os.path.join(d, "alerts")
        rows = rill_e2e.committed_rows(out)
        done = sorted("%d,%d,%d,done" % (k, last, last) for k, last in (
            (k, (EVENTS - k + KEYS - 1) // KEYS) for k in range(KEYS)))
        expect(rows == done, "%s: committed one done row per key and no alert" % what,
               "%d done rows" % len(done), "%d rows: %s" % (len(rows), rows[:12]), r)
        in_progress = sorted(n for n in os.listdir(out) if n.endswith(".inprogress"))
        expect(not in_progress, "%s: nothing left in progress" % what, "none", in_progress, r)


def wait_checkpoint_after(s, ck, after, what):
    """Polls until the running process s has completed a checkpoint with an id above `after`;
    returns that id, or None when s ended first."""
    deadline = time.monotonic() + WAIT_S
    while s.p.poll() is None:
        done = rill_e2e.completed_checkpoints(ck)
        if done and done[-1] > after:
            return done[-1]
        if time.monotonic() > deadline:
            raise Failure("%s: no checkpoint after %d within %d s\n%s"
                          % (what, after, WAIT_S, s.kill9().describe()))
        time.sleep(0.01)
    return None


def wait_running(s, secs):
    """Waits secs while s runs (where in its input a stop or kill lands: any place is right);
    returns whether s still runs."""
    deadline = time.monotonic() + secs
    while s.p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    return s.p.poll() is None


def wait_end(s, what):
    """The Result of s once it has ended by itself (within WAIT_S); it must exit with 0."""
    try:
        s.p.wait(timeout=WAIT_S)
    except subprocess.TimeoutExpired:
        raise Failure("%s: did not end within %d s\n%s" % (what, WAIT_S, s.kill9().describe()))
    r = s.result()
    expect(r.rc == 0, "%s: exit status" % what, 0, r.rc, r)
    return r


def stop_with_savepoint(s, job, sp, what):
    """Stops s (running with the REST API on) with a savepoint into sp; returns (the savepoint's
    path, the Result of s), or (None, Result) when s ended by itself before the stop."""
    port = s.rest_port(WAIT_S)
    r = rill_e2e.run(["stop", job.job_name, "--savepoint", sp, "-m", "127.0.0.1:%d" % port])
    if r.rc != 0:
        # the only acceptable reason: the job had ended by itself (then s exits with 0)
        try:
            s.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        if s.p.poll() == 0:
            return None, s.result()
        s.kill9()
        expect_rc(r, 0)
    path = rill_e2e.savepoint_path(r, what)
    return path, wait_end(s, what + " (stopped)")


def run_chain(root, job, mode, chain, rng):
    """Runs one chain in directory root/<mode>-<job>-<chain> and checks its output; the stops
    and kills come a random 0..LATER_S after a checkpoint completed (rng). Returns
    ("ok" or "early": a run ended by itself before it could be stopped or killed, seconds
    taken); raises Failure."""
    t0 = time.monotonic()
    d = os.path.join(root, "%s-%s-%s" % (mode, job.name, chain_name(chain)))
    ck = os.path.join(d, "ck")
    os.makedirs(d)
    sp, status, r = None, "ok", None
    for i, par in enumerate(chain):
        what = "%s %s chain %s, run %d at -p %d" % (job.name, mode, "->".join(
            map(str, chain)), i + 1, par)
        final = i == len(chain) - 1
        args = ["run", "-p", str(par), "--checkpoint-dir", ck, "--checkpoint-interval",
                str(INTERVAL_MS)]
        if mode == "kill" and i > 0:
            args.append("--resume")
        if mode == "savepoint" and i > 0:
            args += ["--from-savepoint", sp]
        if mode == "savepoint" and not final:
            args += ["--rest-port", "0"]
        before = rill_e2e.completed_checkpoints(ck)
        s = Started(d, "run%d" % i, args + job.args(d, par, slow=not final), log_level="info")
        if final:
            r = wait_end(s, what)
            ended = True
        elif wait_checkpoint_after(s, ck, max(before, default=0), what) is None:
            r = wait_end(s, what)  # ended by itself before a checkpoint
            ended = True
        elif not wait_running(s, rng.uniform(0, LATER_S)):
            r = wait_end(s, what)  # ended by itself meanwhile
            ended = True
        elif mode == "kill":
            r = s.kill9()
            ended = r.rc == 0
        else:
            sp, r = stop_with_savepoint(s, job, os.path.join(d, "sp%d" % i), what)
            ended = sp is None
        if mode == "kill" and i > 0:
            # --resume restores the newest checkpoint: the one the run before was killed after
            # or a newer one
            got = rill_e2e.restored_checkpoint(r.err)
            expect(got is not None and got >= before[-1], "%s: restored the run before's "
                   "checkpoint" % what, "restoring checkpoint >= %d" % before[-1], got, r)
        if ended and not final:
            status = "early"  # its output is complete: check it
            break
    job.check(d, r, "%s %s chain %s" % (job.name, mode, "->".join(map(str, chain))))
    shutil.rmtree(d, ignore_errors=True)
    return status, time.monotonic() - t0


def parse_chain(text):
    try:
        chain = tuple(int(x) for x in text.split("-"))
    except ValueError:
        chain = ()
    if len(chain) != 3 or any(p not in PARALLELISMS for p in chain):
        raise argparse.ArgumentTypeError("a chain is three of 1..4, like 2-1-1: %r" % text)
    return chain


def run_chains(chains, modes, jobs, rng, log=print):
    """Runs each chain in each mode with each job (names from MODES and JOBS); returns
    ({(chain, mode, job): (status, seconds)}, [failure messages]). Goes on after a failure."""
    results, failures = {}, []
    root = tempfile.mkdtemp(prefix="rill-chains-")
    try:
        made = {"files": Files, "selfcheck": Selfcheck}
        made = {n: made[n](root) for n in jobs}
        for chain in chains:
            for mode in modes:
                for n in jobs:
                    try:
                        results[chain, mode, n] = run_chain(root, made[n], mode, chain, rng)
                    except Failure as e:
                        results[chain, mode, n] = ("FAIL", 0.0)
                        failures.append("chain %s, %s, %s: %s" % (chain_name(chain), mode, n, e))
                        log("FAIL " + failures[-1])
            log("  %s  %s" % (chain_name(chain), "  ".join(
                "%s/%s %s %.1f s" % ((m, n) + results[chain, m, n]) for m in modes
                for n in jobs)))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return results, failures


def table(results, chains, modes, jobs):
    """The lines of a table of what run_chains did: a row per chain, a column per mode and
    job, then the totals per mode."""
    cols = [(m, n) for m in modes for n in jobs]
    lines = ["%-7s %s" % ("chain", " ".join("%-20s" % ("%s/%s" % c) for c in cols))]
    for chain in chains:
        lines.append("%-7s %s" % (chain_name(chain), " ".join(
            "%-20s" % ("%s %.1f s" % results[(chain,) + c]) for c in cols)))
    for m in modes:
        runs = [results[chain, m, n] for chain in chains for n in jobs]
        counts = {}
        for status, _secs in runs:
            counts[status] = counts.get(status, 0) + 1
        lines.append("%s: %d chains x %d jobs in %.0f s: %s" % (
            m, len(chains), len(jobs), sum(secs for _st, secs in runs), ", ".join(
                "%d %s" % (v, k) for k, v in sorted(counts.items()))))
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mode", choices=MODES, action="append")
    ap.add_argument("--job", choices=JOBS, action="append")
    ap.add_argument("--seed", type=int, default=None,
                    help="for where the stops and kills land (default: new)")
    ap.add_argument("chains", nargs="*", type=parse_chain, help="default: all 64")
    a = ap.parse_args()
    rill_e2e.check_env(need_jobs=True)
    modes, jobs, chains = a.mode or MODES, a.job or JOBS, a.chains or CHAINS
    seed = a.seed if a.seed is not None else random.randrange(1 << 31)
    print("chains: %d chains x %s x %s, seed %d" % (len(chains), "/".join(modes),
                                                    "/".join(jobs), seed), flush=True)
    results, failures = run_chains(chains, modes, jobs, random.Random(seed),
                                   lambda text: print(text, flush=True))
    print("\n" + "\n".join(table(results, chains, modes, jobs)))
    if failures:
        print("chains: %d failed (seed %d):\n  %s" % (len(failures), seed, "\n  ".join(
            f.splitlines()[0] for f in failures)))
    else:
        print("chains: all passed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
