"""End-to-end tests of `rill sql`, the interactive SQL client: statements read from a pipe
(stdin not a terminal) and through a pseudo-terminal (libedit's line editing, history, Ctrl-C).
A SELECT's tableau rows are parsed back and checked against values computed here (a multiset;
an updating GROUP BY's +I/-U/+U/-D replayed to its final table), at parallelism 1 and 3 with
checkpointing off and on; -f FILE runs each INSERT as a job of its own; an error leaves the
session usable; Ctrl-C cancels an unbounded SELECT and the client goes on.
"""
import collections
import glob
import os
import pty
import re
import select
import signal
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rill_e2e import (RILL_BIN, Failure, Started, committed_rows,  # noqa: E402
                      completed_checkpoints, expect, expect_in, expect_rc, main, run,
                      seeded_rng)

KEYS = ["a", "b", "c", "d", "\u00e9t\u00e9", "x y"]


def random_rows(rng, n):
    """(id, k, v) rows: k a key (sometimes NULL), v an INT (sometimes NULL)."""
    rows = []
    for i in range(n):
        k = None if rng.random() < 0.05 else rng.choice(KEYS)
        v = None if rng.random() < 0.1 else rng.randrange(-1000, 1000)
        rows.append((i, k, v))
    return rows


def write_csv(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for i, k, v in rows:
            f.write("%d,%s,%s\n" % (i, "" if k is None else k, "" if v is None else v))


def src_ddl(path):
    return ("CREATE TABLE src (id BIGINT, k STRING, v INT)\n"
            "  WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');\n" % path)


def tableaus(text):
    """Each streaming tableau in text: (header names, [(op, [cells])], total it announced or
    None, terminated by Ctrl-C)."""
    out = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("+----+") and i + 2 < len(lines) and \
                lines[i + 1].startswith("| op |"):
            head = [c.strip() for c in lines[i + 1].strip("|").split("|")][1:]
            rows, i = [], i + 3
            while i < len(lines) and lines[i].startswith("| "):
                cells = [c.strip() for c in lines[i][1:-1].split(" | ")]
                rows.append((cells[0], cells[1:]))
                i += 1
            total, terminated = None, False
            while i < len(lines) and lines[i].startswith("+----+"):
                i += 1
            if i < len(lines):
                m = re.match(r"(Received|Query terminated, received) a total of (\d+) rows?$",
                             lines[i])
                if m:
                    total, terminated = int(m.group(2)), m.group(1) != "Received"
            out.append((head, rows, total, terminated))
        i += 1
    return out


def cell(v):
    return "<NULL>" if v is None else str(v)


def replay(rows, n_keys):
    """A changelog's final table: +I/+U add a row, -U/-D take one away (which must be
    there)."""
    table = collections.Counter()
    for op, cells in rows:
        t = tuple(cells)
        if op in ("+I", "+U"):
            table[t] += 1
        elif op in ("-U", "-D"):
            if table[t] <= 0:
                raise Failure("%s of a row that is not in the table: %r" % (op, t))
            table[t] -= 1
        else:
            raise Failure("unknown change kind %r" % op)
    return sorted(t for t, n in table.items() for _ in range(n))


def test_pipe_select_group_by_set_and_errors(tmp):
    """DDL, then a SELECT with WHERE (its rows a multiset equal to the one computed here), an
    updating GROUP BY (its changelog replays to the groups computed here), SET; listing the
    options, and an error after which the session goes on: at p1 and p3, with checkpoints
    off and on."""
    rng = seeded_rng("sql_client_pipe")
    rows = random_rows(rng, 400)
    src = os.path.join(tmp, "src.csv")
    write_csv(src, rows)
    want_sel = sorted((str(i), cell(k), cell(v * 2 if v is not None else None))
                      for i, k, v in rows if v is not None and v > 0)
    groups = collections.defaultdict(lambda: [0, None])
    for i, k, v in rows:
        g = groups[k]
        g[0] += 1
        if v is not None:
            g[1] = v if g[1] is None else g[1] + v
    want_grp = sorted((cell(k), str(n), cell(s)) for k, (n, s) in groups.items())
    for par, ckpt in ((1, False), (3, True), (3, False)):
        flags = ["-p", str(par)]
        if ckpt:
            flags += ["--checkpoint-dir", os.path.join(tmp, "ck%d" % par),
                      "--checkpoint-interval", "20"]
        script = (src_ddl(src) +
                  "SET 'pipeline.name' = 'q';\n"
                  "SET 'sql-client.execution.result-mode' = 'tableau';\n"
                  "SET;\n"
                  "SELECT id, k,\n"
                  "       v * 2 AS v2\n"
                  "  FROM src\n"
                  "  WHERE v > 0;\n"
                  "SELECT nope FROM src;\n"
                  "SELECT k, COUNT(*) AS n, SUM(v) AS s FROM src GROUP BY k;\n"
                  "RESET 'pipeline.name';\n"
                  "SET;\n")
        r = run(["sql"] + flags, stdin_text=script, timeout=60)
        expect_rc(r, 0)
        what = "p%d%s" % (par, " with checkpoints" if ckpt else "")
        ts = tableaus(r.out)
        expect(len(ts) == 2, "%s: two SELECT results" % what, 2, len(ts), r)
        (h1, r1, t1, x1), (h2, r2, t2, x2) = ts
        expect(h1 == ["id", "k", "v2"], what + ": the SELECT's header", ["id", "k", "v2"], h1, r)
        expect(all(op == "+I" for op, _ in r1), what + ": an append-only query's rows are +I",
               "+I", [op for op, _ in r1], r)
        got = sorted(tuple(c) for _, c in r1)
        expect(got == want_sel, what + ": the SELECT's rows", want_sel, got, r)
        expect(t1 == len(r1) and not x1, what + ": Received a total of its rows", len(r1), t1, r)
        expect(h2 == ["k", "n", "s"], what + ": the GROUP BY's header", ["k", "n", "s"], h2, r)
        got = replay(r2, 1)
        expect(got == want_grp, what + ": the GROUP BY's changelog replayed", want_grp, got, r)
        expect(t2 == len(r2), what + ": its total", len(r2), t2, r)
        expect(any(op in ("-U", "+U") for op, _ in r2), what + ": updates in the changelog",
               "-U/+U rows", [op for op, _ in r2][:20], r)
        # SET; lists the options set (sorted), RESET takes one back
        expect(re.search(r"\|\s+pipeline\.name \|\s+q \|", r.out) is not None,
               what + ": SET; lists pipeline.name", "| pipeline.name | q |", r.out, r)
        expect(re.search(r"\|\s+sql-client\.execution\.result-mode \|\s+tableau \|", r.out)
               is not None, what + ": SET; lists the result mode", "tableau", r.out, r)
        last_set = r.out[r.out.rindex(" key | "):]
        expect("pipeline.name" not in last_set, what + ": RESET 'pipeline.name'",
               "not listed", last_set, r)
        expect_in("[ERROR] Could not execute SQL statement. Reason:\nColumn 'nope' not found",
                  r.out, what + ": the error", r)
        expect_in("at line 1, column 8:\nSELECT nope FROM src\n       ^", r.out,
                  what + ": the error's place and caret", r)


def test_refused_result_modes_and_bad_flags(tmp):
    r = run(["sql"], stdin_text="SET 'sql-client.execution.result-mode' = 'changelog';\n"
            "SET 'parallelism.default' = 'many';\nSET;\n", timeout=30)
    expect_rc(r, 0)
    expect_in("only the 'tableau' result mode", r.out, "table/changelog refused", r)
    expect_in("[ERROR] Could not execute SQL statement. Reason:\nSET 'parallelism.default'",
              r.out, "a bad option value refused", r)
    expect_in("Empty set", r.out, "refused options are not kept", r)
    r = run(["sql", "-p", "zero"], stdin_text="", timeout=30)
    expect_rc(r, 2)
    expect_in("--parallelism", r.err, "the bad flag named", r)
    r = run(["sql", "-m", "127.0.0.1:1"], stdin_text="", timeout=30)
    expect_rc(r, 2)
    r = run(["sql", "stray"], stdin_text="", timeout=30)
    expect_rc(r, 2)


def test_file_runs_each_insert_as_a_job(tmp):
    """-f FILE: two INSERTs into two filesystem tables, each a job of its own (its own
    checkpoint directory under its own name), their rows as computed here; -i runs first;
    an error in -f stops there with exit status 1."""
    rng = seeded_rng("sql_client_file")
    rows = random_rows(rng, 300)
    src = os.path.join(tmp, "src.csv")
    write_csv(src, rows)
    out1, out2, ck = (os.path.join(tmp, d) for d in ("o1", "o2", "ck"))
    init = os.path.join(tmp, "init.sql")
    with open(init, "w") as f:
        f.write(src_ddl(src))
    script = os.path.join(tmp, "job.sql")
    with open(script, "w") as f:
        f.write("CREATE TABLE t1 (id BIGINT, v INT) WITH ('connector' = 'filesystem',\n"
                "  'path' = '%s', 'format' = 'csv');\n"
                "CREATE TABLE t2 (k STRING, id BIGINT) WITH ('connector' = 'filesystem',\n"
                "  'path' = '%s', 'format' = 'csv');\n"
                "INSERT INTO t1 SELECT id, v + 1 FROM src WHERE v IS NOT NULL;\n"
                "INSERT INTO t2 SELECT k, id FROM src WHERE k <> 'a';\n" % (out1, out2))
    r = run(["sql", "-p", "2", "-i", init, "-f", script, "--checkpoint-dir", ck,
             "--checkpoint-interval", "50"], timeout=60)
    expect_rc(r, 0)
    expect(r.out.count("[INFO] Complete execution of the SQL update statement.") == 2,
           "two INSERTs completed", 2,
           r.out.count("[INFO] Complete execution of the SQL update statement."), r)
    want1 = sorted("%d,%d" % (i, v + 1) for i, k, v in rows if v is not None)
    want2 = sorted("%s,%d" % (k, i) for i, k, v in rows if k is not None and k != "a")
    got1, got2 = committed_rows(out1, header=False), committed_rows(out2, header=False)
    expect(got1 == want1, "t1's rows", want1, got1, r)
    expect(sorted(got2) == sorted(want2), "t2's rows", want2, got2, r)
    jobs = sorted(os.listdir(ck)) if os.path.isdir(ck) else []
    want_jobs = ["insert-into_default_catalog.default_database.t1",
                 "insert-into_default_catalog.default_database.t2"]
    expect(jobs == want_jobs, "each INSERT a job of its own (named as Flink names it)",
           want_jobs, jobs, r)
    bad = os.path.join(tmp, "bad.sql")
    with open(bad, "w") as f:
        f.write("SHOW TABLES;\nSELECT * FROM missing;\nSHOW TABLES;\n")
    r = run(["sql", "-f", bad], timeout=30)
    expect_rc(r, 1)
    expect_in("Object 'missing' not found", r.out, "the error", r)
    expect(r.out.count("table name") == 1, "-f stops at the error", 1,
           r.out.count("table name"), r)


class Pty:
    """`rill sql` on a pseudo-terminal: what it printed so far, read as it comes."""

    def __init__(self, args, env):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execve(RILL_BIN, [RILL_BIN] + args, env)
        self.buf = b""

    def read_until(self, pattern, timeout=20):
        rx = re.compile(pattern.encode() if isinstance(pattern, str) else pattern)
        end = time.monotonic() + timeout
        while True:
            m = rx.search(self.buf)
            if m:
                return m
            left = end - time.monotonic()
            if left <= 0:
                raise Failure("expected %r on the terminal within %d s; it shows:\n%s" % (
                    pattern, timeout, self.buf.decode("utf-8", "replace")[-3000:]))
            r, _, _ = select.select([self.fd], [], [], min(left, 0.5))
            if r:
                try:
                    data = os.read(self.fd, 65536)
                except OSError:
                    data = b""
                if not data:
                    raise Failure("the client's terminal closed; it showed:\n%s" %
                                  self.buf.decode("utf-8", "replace")[-3000:])
                self.buf += data

    def send(self, text):
        os.write(self.fd, text.encode())

    def mark(self):
        """Forget what was read so far: the next read_until looks at what follows."""
        self.buf = b""

    def wait(self, timeout=20):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
            try:
                r, _, _ = select.select([self.fd], [], [], 0.2)
                if r:
                    self.buf += os.read(self.fd, 65536)
            except OSError:
                time.sleep(0.1)
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        raise Failure("the client did not exit within %d s:\n%s" % (
            timeout, self.buf.decode("utf-8", "replace")[-3000:]))


NEXMARK = """CREATE TABLE bids (
  event_type INT,
  person ROW<id BIGINT, name VARCHAR, emailAddress VARCHAR, creditCard VARCHAR, city VARCHAR,
             state VARCHAR, `dateTime` TIMESTAMP(3), extra VARCHAR>,
  auction ROW<id BIGINT, itemName VARCHAR, description VARCHAR, initialBid BIGINT,
              reserve BIGINT, `dateTime` TIMESTAMP(3), expires TIMESTAMP(3), seller BIGINT,
              category BIGINT, extra VARCHAR>,
  bid ROW<auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR,
          `dateTime` TIMESTAMP(3), extra VARCHAR>
) WITH ('connector' = 'nexmark', 'first-event.rate' = '2000', 'next-event.rate' = '2000');
"""


def test_pty_line_editing_history_and_ctrl_c(tmp):
    """Through a terminal: the prompts (a continuation prompt for a statement over several
    lines), libedit's editing (Ctrl-A to the line's start) and history (Ctrl-P recalls the
    last statement; the history file written), Ctrl-C cancelling an unbounded SELECT over the
    nexmark connector with the client going on, and Ctrl-C at the prompt dropping a half-typed
    statement."""
    rng = seeded_rng("sql_client_pty")
    rows = random_rows(rng, 50)
    src = os.path.join(tmp, "src.csv")
    write_csv(src, rows)
    hist = os.path.join(tmp, "hist")
    env = dict(os.environ, RILL_SQL_HISTORY=hist, TERM="xterm", HOME=tmp)
    t = Pty(["sql"], env)
    try:
        t.read_until(r"rill SQL> ")
        ddl = src_ddl(src).splitlines()
        t.send(ddl[0] + "\r")
        t.read_until(r"\n> ")  # the continuation prompt
        t.send(ddl[1] + "\r")
        t.read_until(r"Execute statement succeed\.")
        t.mark()
        t.send("HOW TABLES;\x01S\r")  # Ctrl-A: to the line's start, where the S goes
        t.read_until(r"\|\s+src \|")
        t.mark()
        t.send("\x10\r")  # Ctrl-P: the last statement again
        t.read_until(r"\|\s+src \|")
        t.mark()
        t.send(NEXMARK.replace("\n", "\r"))
        t.read_until(r"Execute statement succeed\.")
        t.mark()
        t.send("SELECT bid.auction, bid.price FROM bids WHERE event_type = 2;\r")
        t.read_until(r"(\| \+I \|[^\n]*\n.*){5}", timeout=30)  # rows arriving
        t.send("\x03")  # Ctrl-C: SIGINT to the client
        m = t.read_until(r"Query terminated, received a total of (\d+) rows?", timeout=30)
        expect(int(m.group(1)) >= 5, "rows counted before Ctrl-C", ">= 5", m.group(1))
        t.read_until(r"rill SQL> ")
        for _ in range(5):  # at the prompt: the half-typed statement is dropped
            t.mark()
            t.send("SELECT id FROM src WHERE\r")
            t.read_until(r"\n> ")
            # At once: libedit draws the prompt before it puts the terminal in raw mode, so
            # this Ctrl-C often comes before the client waits for a key.
            t.send("\x03")
            t.read_until(r"rill SQL> ")
        t.mark()
        t.send("SELECT COUNT(*) AS n FROM src;\r")
        t.read_until(r"\| \+I \|\s+1 \|")  # counts as the rows come: 1 first
        t.read_until(r"\| \+U \|\s+%d \|" % len(rows))
        t.read_until(r"Received a total of \d+ rows")
        t.send("QUIT;\r")
        t.read_until(r"Exiting")
        rc = t.wait()
    finally:
        try:
            os.kill(t.pid, signal.SIGKILL)
            os.waitpid(t.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(t.fd)
    shown = t.buf.decode("utf-8", "replace")
    for mark in ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer",
                 "runtime error:"):
        expect(mark not in shown, "no sanitizer report", "none", shown[-3000:])
    expect(rc == 0, "the client's exit status", 0, rc)
    with open(hist, encoding="utf-8", errors="replace") as f:
        h = f.read()
    expect("SHOW" in h and "TABLES" in h, "the history file holds the statements",
           "SHOW TABLES", h)


KILL_SQL = """
CREATE TABLE datagen (
    event_type INT,
    person ROW<id BIGINT, `dateTime` TIMESTAMP(3)>,
    auction ROW<id BIGINT, `dateTime` TIMESTAMP(3)>,
    bid ROW<auction BIGINT, bidder BIGINT, price BIGINT, `dateTime` TIMESTAMP(3)>,
    `dateTime` AS CASE WHEN event_type = 0 THEN person.`dateTime`
                       WHEN event_type = 1 THEN auction.`dateTime` ELSE bid.`dateTime` END,
    WATERMARK FOR `dateTime` AS `dateTime` - INTERVAL '1' SECOND
) WITH ('connector' = 'nexmark', 'first-event.rate' = '20000', 'events.num' = '%(events)d',
        'events.base-time' = '1700000000000', 'max-emit-speed' = 'false');
CREATE VIEW b AS SELECT MOD(bid.auction, 10) AS k, bid.price AS price, `dateTime`
  FROM datagen WHERE event_type = 2;
CREATE TABLE out_t (k BIGINT, ws TIMESTAMP(3), n BIGINT, total BIGINT)
  WITH ('connector' = 'filesystem', 'path' = '%(out)s-t', 'format' = 'csv');
CREATE TABLE out_c (k BIGINT, ws TIMESTAMP(3), we TIMESTAMP(3), lo BIGINT)
  WITH ('connector' = 'filesystem', 'path' = '%(out)s-c', 'format' = 'csv');
INSERT INTO out_t
SELECT k, window_start, COUNT(*), SUM(price)
FROM TABLE(TUMBLE(TABLE b, DESCRIPTOR(`dateTime`), INTERVAL '0.1' SECOND))
GROUP BY k, window_start, window_end;
INSERT INTO out_c
SELECT k, window_start, window_end, MIN(price)
FROM TABLE(CUMULATE(TABLE b, DESCRIPTOR(`dateTime`), INTERVAL '0.1' SECOND,
                    INTERVAL '0.4' SECOND))
GROUP BY k, window_start, window_end;
"""


def test_kill_and_resume_per_job(tmp):
    """`rill sql -f` with two INSERTs (two jobs, each checkpointing under its own name in the
    one --checkpoint-dir) killed with SIGKILL at random moments and run again with --resume
    (at random parallelisms once both jobs' splits are fixed): the job that was running
    resumes from its checkpoint, a finished one from its final one, one not started yet
    starts (the other's checkpoints in the directory are no reason to refuse), and the
    committed rows of both tables equal an uninterrupted run's."""
    rng = seeded_rng("sql_client_kill")
    events = 40000
    ref = os.path.join(tmp, "ref")
    script = os.path.join(tmp, "ref.sql")
    with open(script, "w", encoding="utf-8") as f:
        f.write(KILL_SQL % {"events": events, "out": ref})
    r = run(["sql", "-p", "2", "-f", script], timeout=60)
    expect_rc(r, 0)
    want_t, want_c = (committed_rows(ref + x, header=False) for x in ("-t", "-c"))
    expect(len(want_t) > 100 and len(want_c) > len(want_t), "the reference run's windows",
           "> 100", (len(want_t), len(want_c)), r)
    out, ck = os.path.join(tmp, "out"), os.path.join(tmp, "ck")
    script = os.path.join(tmp, "chaos.sql")
    with open(script, "w", encoding="utf-8") as f:
        f.write(KILL_SQL % {"events": events, "out": out})
    job2 = os.path.join(ck, "insert-into_default_catalog.default_database.out_c", "chk-*",
                        "_metadata")

    def parallelism():
        """A job's splits are fixed by the parallelism of its first run (nexmark.md): 2, as
        the reference's, until the second job has a checkpoint; any after that."""
        return rng.randint(1, 3) if glob.glob(job2) else 2

    kills = 0
    for k in range(5):
        par = parallelism()
        p = Started(tmp, "run%d" % k, ["sql", "-p", str(par), "--checkpoint-dir", ck,
                                       "--checkpoint-interval", "100", "--resume", "-f", script])
        if k == 0:  # the first kill after a checkpoint: the splits are the first run's
            deadline = time.monotonic() + 60
            while not completed_checkpoints(ck) and p.p.poll() is None:
                expect(time.monotonic() < deadline, "a checkpoint within 60 s", "one", "none")
                time.sleep(0.01)
        else:
            time.sleep(rng.uniform(0.05, 1.5))
        r = p.kill9()
        kills += r.rc == -9
        print("    run %d: p%d, rc %d, %.2f s" % (k, par, r.rc, r.secs), flush=True)
        expect(r.rc in (0, -9), "run %d ended by the kill or by itself" % k, "0 or -9", r.rc, r)
    r = run(["sql", "-p", str(parallelism()), "--checkpoint-dir", ck,
             "--checkpoint-interval", "100", "--resume", "-f", script], timeout=60)
    expect_rc(r, 0)
    expect(kills >= 2, "most runs were killed", ">= 2 kills", kills)
    for what, got, w in (("TUMBLE", committed_rows(out + "-t", header=False), want_t),
                         ("CUMULATE", committed_rows(out + "-c", header=False), want_c)):
        if got != w:
            expect(False, "the committed %s windows after %d kills equal the uninterrupted "
                   "run's" % (what, kills),
                   "%d rows, e.g. %s" % (len(w), sorted(set(w) - set(got))[:3]),
                   "%d rows, e.g. %s" % (len(got), sorted(set(got) - set(w))[:3]), r)


if __name__ == "__main__":
    main([test_pipe_select_group_by_set_and_errors, test_refused_result_modes_and_bad_flags,
          test_file_runs_each_insert_as_a_job, test_pty_line_editing_history_and_ctrl_c,
          test_kill_and_resume_per_job])
