"""End-to-end chaos tests (the short version; `make chaos` runs the long one): jobs killed with
SIGKILL at random moments and resumed at random parallelisms until they finish, with their
committed output checked against one uninterrupted run (see chaos.py), and a directed test that
late rows stay late through a restore. RILL_E2E_SEED fixes the random choices (the seed is
printed)."""
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chaos  # noqa: E402
import rill_e2e  # noqa: E402
from rill_e2e import expect, expect_rc, main, run  # noqa: E402
from rill_e2e import Started  # noqa: E402

KILLS = 9  # per job: 36 in all


def test_late_rows_stay_late_after_restore(tmp):
    """Row 100 moves event time far ahead; every row after it is late and dropped. A run killed
    after row 100 and resumed (at -p 1, 2 and 3) must drop them too: the restored operators start
    from the watermark of the checkpoint, not from the beginning of time (they counted 19,899
    late rows into windows)."""
    path = os.path.join(tmp, "in.csv")
    with open(path, "w") as f:
        f.write("ts,user_id,page\n")
        for i in range(6000):
            f.write("1000000000,1,/b\n" if i == 100 else
                    "%d,1,%s\n" % (i * 10, "/a" if i < 100 else "/c"))
    so = rill_e2e.job_so("chaos_windows")
    for par in (1, 2, 3):
        ck, out = os.path.join(tmp, "ck-%d" % par), os.path.join(tmp, "out-%d" % par)
        args = ["run", "--resume", "--checkpoint-dir", ck, "--checkpoint-interval", "50",
                "-p", "1", so, "--", "--input", path, "--output", out, "--rows-per-ms", "4",
                "--max-delay-ms", "1000", "--size-ms", "10000"]
        s = Started(tmp, "first-%d" % par, args)
        while s.p.poll() is None and max(rill_e2e.completed_checkpoints(ck), default=0) < 3:  # well past row 100
            time.sleep(0.01)
        expect(s.p.poll() is None, "the first run was killed before its end", "running",
               "ended", s.result())
        s.kill9()
        args[args.index("-p") + 1] = str(par)
        r = run(args)
        expect_rc(r, 0)
        rows = rill_e2e.committed_rows(out)
        expect(rows == ["/a,0,10000,100", "/b,1000000000,1000010000,1"],
               "resumed at -p %d: only the windows of the on-time rows" % par,
               ["/a,0,10000,100", "/b,1000000000,1000010000,1"], rows[:8], r)


def test_chaos_selfcheck(tmp):
    log = chaos.selfcheck(tmp, rill_e2e.seeded_rng("selfcheck"), KILLS, verbose=True)
    print("  " + log.summary())


def test_chaos_windows(tmp):
    log = chaos.windows(tmp, rill_e2e.seeded_rng("windows"), KILLS, verbose=True)
    print("  " + log.summary())


def test_chaos_files(tmp):
    log = chaos.files(tmp, rill_e2e.seeded_rng("files"), KILLS, verbose=True)
    print("  " + log.summary())


def test_chaos_sql_joins(tmp):
    log = chaos.sql_joins(tmp, rill_e2e.seeded_rng("sql_joins"), KILLS, verbose=True)
    print("  " + log.summary())


if __name__ == "__main__":
    main([test_late_rows_stay_late_after_restore, test_chaos_selfcheck, test_chaos_windows,
          test_chaos_files, test_chaos_sql_joins], need_jobs=True)
