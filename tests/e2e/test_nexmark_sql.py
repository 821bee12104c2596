"""The project's copies of Nexmark's Flink SQL queries (bench/nexmark-sql/, run by
bench/nexmark) run end to end with the runner's placeholders filled in, as bench/nexmark fills
them: each query over a small stream exits 0 with nothing on stderr but its own log lines; q10
writes the bids into day and minute partition directories, every bid once."""
import glob
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rill_e2e import RILL_BUILD, expect, expect_rc, load_bench, main, run  # noqa: E402



def test_every_query_runs(tmp):
    bench = load_bench()
    events = 20000
    for q in bench.QUERIES:
        out_dir = os.path.join(tmp, q)
        os.makedirs(out_dir)
        script = os.path.join(tmp, q + ".sql")
        with open(script, "w", encoding="utf-8") as f:
            f.write(bench.script_of(q, events, RILL_BUILD, out_dir))
        r = run(["run", "-p", "1", script])
        expect_rc(r, 0)
        if q == "q10":  # Hive-style partitions of day and minute, each bid once
            rows = []
            for part in glob.glob(os.path.join(out_dir, "data", "output", "run", "bid",
                                               "dt=*", "hm=*")):
                for name in os.listdir(part):
                    if not name.startswith(".") and not name.startswith("_"):
                        with open(os.path.join(part, name), encoding="utf-8") as f:
                            rows += [x for x in f.read().splitlines() if x]
            expect(len(rows) > events // 2, "q10: the bids in partition files",
                   "most of %d events" % events, len(rows), r)
            expect(len(rows) == len(set(rows)), "q10: each bid once", len(set(rows)),
                   len(rows), r)


if __name__ == "__main__":
    main([test_every_query_runs])
