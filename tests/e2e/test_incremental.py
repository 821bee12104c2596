#!/usr/bin/env python3
"""test_incremental.py - incremental checkpoints on the rocksdb state backend, on the real binary
with the self-checking job (examples/selfcheck.c): SST files shared between retained checkpoints
by hard links and removed with the last one (link counts are the reference counts, nothing
leaked), REST's size-bytes below full-size-bytes, every retained checkpoint restorable on its own
(same and other parallelism, heap), kill -9 and --resume while checkpoints are written at a high
rate, a half-written or corrupt newest checkpoint skipped and so is one with an SST file missing or
cut short (the log names it), savepoints of an incremental job canonical (no SST files) and
restorable on the heap; the working directories of killed runs are removed by the next run on the
same --state-dir.

Sizes shrink under sanitizers (a build directory whose name contains "asan", or
RILL_E2E_SLOW=1). RILL_E2E_SEED fixes the random kill moments (it is printed on failure).
"""
import filecmp
import json
import os
import random
import re
import shutil
import stat
import subprocess
import sys
import time
import urllib.request

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rill_e2e  # noqa: E402
from rill_e2e import (RILL_BIN, RILL_BUILD, RILL_EXAMPLES, SANITIZER_MARKS,  # noqa: E402
                      Failure, Result, expect, expect_in, expect_rc, main, run,
                      short)

SLOW = (os.environ.get("RILL_E2E_SLOW", "") not in ("", "0") or
        any("asan" in os.path.basename(os.path.normpath(p)).lower()
            for p in (RILL_BUILD, os.path.dirname(RILL_BIN), os.path.dirname(RILL_EXAMPLES))
            if p))
SEED = int(os.environ.get("RILL_E2E_SEED", "0")) or random.randrange(1, 1 << 30)

JOB = "selfcheck"
SUMMARY = re.compile(r"^selfcheck: events=(\d+) alerts=(\d+) gaps=(\d+) duplicates=(\d+) "
                     r"failures=(\d+)$", re.M)
CHK = re.compile(r"^chk-(\d+)$")
LOCK = "_lock"  # the lock of the run that commits to the job directory
CKPT_FILE = re.compile(r"^(_metadata|task-\d+|task-\d+-\d+-.+)$")
KEYS = 20000


def scaled(fast, slow):
    return slow if SLOW else fast


# ---- helpers -------------------------------------------------------------------------------

def selfcheck_so():
    return os.path.join(RILL_EXAMPLES, "selfcheck.so")


def job_args(tmp, ck, events, rate=0, par=2, interval=100, retained=3, backend="rocksdb",
             incremental=True, extra=()):
    """`run` arguments of selfcheck: KEYS keys, 2 source subtasks, checkpoints into ck."""
    args = ["run", "-p", str(par), "--state-backend", backend]
    if backend == "rocksdb":
        sd = os.path.join(tmp, "state")
        os.makedirs(sd, exist_ok=True)
        args += ["--state-dir", sd, "--state-memory", "8m"]
        if incremental:
            args += ["--incremental-checkpoints"]
    args += ["--checkpoint-dir", ck, "--checkpoint-interval", str(interval),
             "--checkpoints-retained", str(retained), "--restart-delay", "50"]
    args += list(extra) + [selfcheck_so(), "--", "--keys", str(KEYS),
                           "--source-parallelism", "2", "--events", str(events)]
    if rate:
        args += ["--rate", str(rate)]
    return args


def resume_args(args):
    return args[:1] + ["--resume"] + args[1:]


def with_log_info(fn, *a, **kw):
    old = os.environ.get("RILL_LOG")
    os.environ["RILL_LOG"] = "info"
    try:
        return fn(*a, **kw)
    finally:
        if old is None:
            del os.environ["RILL_LOG"]
        else:
            os.environ["RILL_LOG"] = old


def expect_clean(r, what, events=None):
    found = SUMMARY.findall(r.out)
    expect(len(found) == 1, what + ": one selfcheck summary line", "selfcheck: ...", r.out, r)
    ev, alerts, gaps, dups, fails = (int(x) for x in found[0])
    expect(alerts == gaps == dups == 0, what + ": no gap, no duplicate",
           "alerts=0 gaps=0 duplicates=0", found[0], r)
    if events is not None:
        expect(ev == events, what + ": every event counted", events, ev, r)


def job_dir(ck):
    return os.path.join(ck, JOB)


def chk_dirs(ck):
    """{id: path} of every chk-<n> directory of the job (complete or not)."""
    d = job_dir(ck)
    out = {}
    for name in os.listdir(d) if os.path.isdir(d) else []:
        m = CHK.match(name)
        if m:
            out[int(m.group(1))] = os.path.join(d, name)
    return out


def completed(ck):
    return sorted(i for i, p in chk_dirs(ck).items()
                  if os.path.isfile(os.path.join(p, "_metadata")))


def rest_get(port, path):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=10) as f:
        return json.loads(f.read().decode())


def rest_checkpoints(port):
    """The job's checkpoint list from REST (the first job), or None once it is gone."""
    try:
        jobs = rest_get(port, "/jobs")["jobs"]
        if not jobs:
            return None
        return rest_get(port, "/jobs/%s/checkpoints" % jobs[0]["id"])["checkpoints"]
    except (OSError, ValueError, KeyError):
        return None


def finish(p, timeout):
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        raise Failure("the job did not end within %d s\n%s" % (timeout, short(err)))
    err = getattr(p, "early_stderr", "") + err  # (the lines before the REST API's)
    r = Result(p.args, p.returncode, out, err, 0.0)
    if r.rc < 0:
        raise Failure("the job was killed by signal %d\n%s" % (-r.rc, r.describe()))
    for mark in SANITIZER_MARKS:
        if mark in err:
            raise Failure("expected no sanitizer report, found %r\n%s" % (mark, r.describe()))
    return r


def run_polling(args, timeout, until=None):
    """Runs args with a REST API; polls its checkpoint list every 50 ms until it ends (or until
    until(list) is true). Returns (result, {id: checkpoint}) of every checkpoint seen."""
    p, port = rill_e2e.start_rest_job(args[:1] + ["--rest-port", "0"] + args[1:])
    seen = {}
    deadline = time.monotonic() + timeout
    try:
        while p.poll() is None and time.monotonic() < deadline:
            cks = rest_checkpoints(port)
            for c in cks or []:
                seen[c["id"]] = c
            if until and cks and until(cks):
                break
            time.sleep(0.05)
    finally:
        r = finish(p, max(5, deadline - time.monotonic()))
    return r, seen


def files_by_inode(dirs):
    """{inode: [(dir, name, stat)]} over the files of dirs."""
    inodes = {}
    for d in dirs:
        for name in os.listdir(d):
            st = os.lstat(os.path.join(d, name))
            if not stat.S_ISREG(st.st_mode):
                continue
            inodes.setdefault(st.st_ino, []).append((d, name, st))
    return inodes


def expect_links_counted(dirs, what, r=None):
    """Every file's link count equals its links in dirs: no reference from outside them."""
    inodes = files_by_inode(dirs)
    leaked = [(links[0][1], links[0][2].st_nlink, len(links))
              for links in inodes.values() if links[0][2].st_nlink != len(links)]
    expect(not leaked, what + ": every file's link count equals its links in the retained "
           "checkpoints", "st_nlink == number of retained dirs holding it",
           "(name, st_nlink, links here): %s" % leaked[:10], r)
    return inodes


def dir_bytes(d):
    return sum(os.lstat(os.path.join(d, n)).st_size for n in os.listdir(d))


def copy_one_checkpoint(ck, chk_id, dst):
    """A fresh checkpoint dir holding only chk-<chk_id> (hard links become plain copies)."""
    shutil.copytree(os.path.join(job_dir(ck), "chk-%d" % chk_id),
                    os.path.join(dst, JOB, "chk-%d" % chk_id))
    return dst


# ---- 1. shared files, cleaned up over many checkpoints -------------------------------------

def test_shared_and_cleaned_up(tmp):
    ck = os.path.join(tmp, "ck")
    events, rate = scaled(900000, 400000), scaled(120000, 40000)
    r, seen = run_polling(job_args(tmp, ck, events, rate, interval=100, retained=3), 120)
    expect_rc(r, 0)
    expect_clean(r, "incremental run", events)
    left = os.listdir(os.path.join(tmp, "state"))
    expect(not left, "the rocksdb working directories are removed at the end", "[]", left, r)
    done = sorted(i for i, c in seen.items() if c["status"] == "COMPLETED")
    expect(len(done) >= 15, "15 or more completed checkpoints", ">= 15", done, r)

    # exactly the retained completed checkpoints remain, and nothing else
    d = job_dir(ck)
    dirs = chk_dirs(ck)
    ids = sorted(dirs)
    expect(len(ids) == 3, "three retained checkpoint directories", 3, sorted(os.listdir(d)), r)
    expect(ids[-1] >= done[-1], "the retained ones are the newest", ">= chk-%d" % done[-1],
           ids, r)
    others = [n for n in os.listdir(d) if not CHK.match(n) and n != LOCK]
    expect(not others, "nothing else in the job directory", "only chk-<n> and _lock", others, r)
    for i in ids:
        names = os.listdir(dirs[i])
        expect("_metadata" in names, "chk-%d is complete" % i, "_metadata", names, r)
        stray = [n for n in names if not CKPT_FILE.match(n) or
                 not os.path.isfile(os.path.join(dirs[i], n))]
        expect(not stray, "chk-%d: only checkpoint files" % i,
               "_metadata, task-<i>, task-<i>-<k>-<file>", stray, r)
        expect(any(n.endswith(".sst") for n in names), "chk-%d holds SST files" % i,
               "task-<i>-<k>-NNNNNN.sst", names, r)

    # link counts are the reference counts: every link is inside the retained directories
    inodes = expect_links_counted([dirs[i] for i in ids], "incremental run", r)
    shared = {}
    for a, b in zip(ids, ids[1:]):
        ia = {os.lstat(os.path.join(dirs[a], n)).st_ino for n in os.listdir(dirs[a])
              if n.endswith(".sst")}
        ib = {os.lstat(os.path.join(dirs[b], n)).st_ino for n in os.listdir(dirs[b])
              if n.endswith(".sst")}
        shared[(a, b)] = len(ia & ib)
    expect(sum(shared.values()) > 0, "consecutive retained checkpoints share SST files",
           "> 0 shared inodes", shared, r)
    non_sst_shared = [links[0][1] for links in inodes.values()
                      if len(links) > 1 and not links[0][1].endswith(".sst")]
    expect(not non_sst_shared, "only SST files are shared", "[]", non_sst_shared, r)
    unique = sum(links[0][2].st_size for links in inodes.values())
    full = sum(dir_bytes(dirs[i]) for i in ids)
    expect(unique < 0.85 * full, "the shared files are stored once",
           "unique bytes < 85%% of the checkpoints' full sizes (%d)" % full, unique, r)
    for i in ids:
        if i in seen:
            got = dir_bytes(dirs[i])
            expect(abs(seen[i]["full-size-bytes"] - got) <= 0.05 * got + 4096,
                   "chk-%d: REST full-size-bytes is the directory's size" % i, got,
                   seen[i]["full-size-bytes"], r)

    # REST: incremental sizes below the full ones
    later = [seen[i] for i in done if i != done[0]]
    smaller = [c for c in later if c["size-bytes"] < c["full-size-bytes"]]
    expect(len(smaller) >= 0.6 * len(later),
           "size-bytes < full-size-bytes for most checkpoints after the first",
           ">= 60%% of %d" % len(later),
           "%d: %s" % (len(smaller), [(c["id"], c["size-bytes"], c["full-size-bytes"])
                                      for c in later]), r)
    over = [c["id"] for c in seen.values() if c["size-bytes"] > c["full-size-bytes"]]
    expect(not over, "size-bytes never exceeds full-size-bytes", "[]", over, r)

    # incremental off: every checkpoint writes all it needs, and nothing is shared
    ck2 = os.path.join(tmp, "ck-full")
    r, seen = run_polling(job_args(tmp, ck2, events // 3, rate, interval=100, retained=3,
                                   incremental=False), 120)
    expect_rc(r, 0)
    expect_clean(r, "full-checkpoint run", events // 3)
    done = [c for c in seen.values() if c["status"] == "COMPLETED"]
    expect(len(done) >= 3, "full-checkpoint run: some checkpoints", ">= 3", len(done), r)
    diff = [(c["id"], c["size-bytes"], c["full-size-bytes"]) for c in done
            if c["size-bytes"] != c["full-size-bytes"]]
    expect(not diff, "incremental off: size-bytes == full-size-bytes", "[]", diff, r)
    dirs = chk_dirs(ck2)
    multi = [links[0][1] for links in files_by_inode(dirs.values()).values()
             if links[0][2].st_nlink != 1]
    expect(not multi, "incremental off: no hard links", "st_nlink 1", multi, r)


# ---- 2. every retained checkpoint restores on its own --------------------------------------

def test_every_retained_checkpoint_restores(tmp):
    ck = os.path.join(tmp, "ck")
    events, rate = scaled(600000, 300000), scaled(150000, 50000)
    args = job_args(tmp, ck, events, rate, interval=100, retained=3)
    # killed part way so a restore has input left to check against the restored state
    p = subprocess.Popen([RILL_BIN] + args, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + scaled(20, 60)
    while p.poll() is None and time.monotonic() < deadline:
        if len(completed(ck)) >= 3 and (completed(ck)[-1] >= 6):
            break
        time.sleep(0.02)
    p.kill()
    p.wait()
    # a kill between a checkpoint's _metadata and the removal of the oldest leaves four
    ids = completed(ck)[-3:]
    expect(len(ids) == 3, "three retained completed checkpoints after kill -9", 3,
           sorted(os.listdir(job_dir(ck))) if os.path.isdir(job_dir(ck)) else "(none)")
    for n, (chk, par, backend) in enumerate(zip(ids, ("2", "3", "1"),
                                                ("rocksdb", "rocksdb", "heap"))):
        one = copy_one_checkpoint(ck, chk, os.path.join(tmp, "one-%d" % chk))
        a = job_args(tmp, one, events, 0, par=int(par), interval=100, retained=3,
                     backend=backend)
        r = with_log_info(run, resume_args(a))
        what = "chk-%d alone on %s at -p %s" % (chk, backend, par)
        expect_rc(r, 0)
        expect_in("restoring checkpoint %d" % chk, r.err, what + ": restored it", r)
        expect_clean(r, what, events)


# ---- 3. kill -9 and --resume at a high checkpoint rate -------------------------------------

def test_kill_and_resume(tmp):
    rng = random.Random(SEED)
    ck = os.path.join(tmp, "ck")
    events, rate = scaled(1500000, 600000), scaled(150000, 50000)
    what = "seed %d" % SEED
    pars = (2, 3, 2, 2)  # the last killed run is at -p 2, as is the final run
    for n, par in enumerate(pars):
        args = job_args(tmp, ck, events, rate, par=par, interval=60, retained=1)
        if n:
            args = resume_args(args)
        before = completed(ck)
        p = subprocess.Popen([RILL_BIN] + args, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + scaled(20, 60)
        # a checkpoint of this run, then a random moment while the next ones are written
        while p.poll() is None and time.monotonic() < deadline:
            now = completed(ck)
            if now and (not before or now[-1] > before[-1]):
                break
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.4))
        ended = p.poll() is not None
        p.kill()
        p.wait()
        expect(not ended, "%s: run %d (-p %d) is still running when killed" % (what, n, par),
               "running", "ended with %s" % p.returncode)
        now = completed(ck)
        expect(now and (not before or now[-1] > before[-1]),
               "%s: run %d (-p %d) completed a checkpoint" % (what, n, par),
               "newer than %s" % before, now)
    newest = completed(ck)[-1]
    restored_dir = os.path.join(job_dir(ck), "chk-%d" % newest)
    restored = {n: os.lstat(os.path.join(restored_dir, n)).st_ino
                for n in os.listdir(restored_dir) if n.endswith(".sst")}
    # the final run keeps its checkpoints (and the restored one) to compare the first with it
    args = resume_args(job_args(tmp, ck, events, scaled(400000, 150000), par=2, interval=100,
                                retained=1000))
    r, seen = with_log_info(run_polling, args, 120)
    expect_rc(r, 0)
    expect_in("restoring checkpoint %d" % newest, r.err,
              "%s: the final run restored the newest checkpoint" % what, r)
    expect_clean(r, "%s: final run after 4 kills" % what, events)
    first = [seen[i] for i in sorted(seen) if seen[i]["status"] == "COMPLETED"]
    expect(first, "%s: the final run completed checkpoints" % what, ">= 1", seen, r)
    c = first[0]
    first_dir = os.path.join(job_dir(ck), "chk-%d" % c["id"])
    names = {n: os.lstat(os.path.join(first_dir, n)).st_ino
             for n in os.listdir(first_dir) if n.endswith(".sst")}
    same_name = sorted(set(names) & set(restored))
    copied = [n for n in same_name if names[n] != restored[n] and filecmp.cmp(
        os.path.join(first_dir, n), os.path.join(restored_dir, n), shallow=False)]
    # an SST file the restored instance still had is linked from the restored checkpoint, not
    # copied; when compaction rewrote all of them before the first checkpoint, none is shared
    expect(not copied, "%s: the restored run's first checkpoint chk-%d links the SST files of "
           "the restored chk-%d it still has (same parallelism)" % (what, c["id"], newest),
           "same inode", "copied: %s" % copied, r)
    same_name = [n for n in same_name if names[n] == restored[n]]
    if same_name:
        expect(c["size-bytes"] < c["full-size-bytes"],
               "%s: chk-%d shares files with chk-%d: size-bytes below full-size-bytes"
               % (what, c["id"], newest), "< %d" % c["full-size-bytes"], c["size-bytes"], r)
    else:
        print("    note: chk-%d shares no SST file with the restored chk-%d (compacted)"
              % (c["id"], newest))
    later = first[1:]
    smaller = [x for x in later if x["size-bytes"] < x["full-size-bytes"]]
    expect(len(smaller) >= 0.5 * len(later), "%s: the restored run's checkpoints are "
           "incremental" % what, ">= half of %d" % len(later),
           [(x["id"], x["size-bytes"], x["full-size-bytes"]) for x in later], r)
    left = sorted(n for n in os.listdir(job_dir(ck)) if n != LOCK)
    expect(left == sorted("chk-%d" % i for i in completed(ck)), "%s: only complete checkpoints at "
           "the end" % what, "chk-<n> with _metadata", left, r)
    # the killed runs' working directories (see test_killed_runs_working_dirs_removed) hold
    # links too: counted here, so what is checked is that nothing else holds one
    work = [root for root, _, _ in os.walk(os.path.join(tmp, "state"))]
    expect_links_counted(list(chk_dirs(ck).values()) + work, what + ", at the end", r)


def test_killed_runs_working_dirs_removed(tmp):
    """The rocksdb working directory of a run killed with -9
    (--state-dir/rill-rocksdb-<op>-<subtask>-XXXXXX) is removed by the next run on the same
    --state-dir (it was not: with incremental checkpoints its hard links to adopted checkpoint
    SST files also kept those files on disk after the checkpoints were removed)."""
    ck = os.path.join(tmp, "ck")
    events, rate = scaled(600000, 300000), scaled(150000, 50000)
    args = job_args(tmp, ck, events, rate, interval=100, retained=1)
    for n in range(2):
        before = completed(ck)
        p = subprocess.Popen([RILL_BIN] + (resume_args(args) if n else args),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + scaled(20, 60)
        while p.poll() is None and time.monotonic() < deadline:
            now = completed(ck)
            if now and (not before or now[-1] > before[-1]):
                break
            time.sleep(0.01)
        time.sleep(0.2)
        p.kill()
        p.wait()
    r = with_log_info(run, resume_args(args))
    expect_rc(r, 0)
    expect_clean(r, "resumed after two kills", events)
    left = os.listdir(os.path.join(tmp, "state"))
    expect(not left, "after a clean run on the same --state-dir, no working directory of the "
           "killed runs is left", "[]", left, r)
    expect_links_counted(chk_dirs(ck).values(), "after the clean run", r)


# ---- 4. a crash mid-snapshot, a missing SST file -------------------------------------------

def truncated_copy(src, dst):
    with open(src, "rb") as f:
        data = f.read()
    with open(dst, "wb") as f:
        f.write(data[:len(data) // 2])


def test_half_written_newest_and_missing_sst(tmp):
    ck = os.path.join(tmp, "ck")
    events, rate = scaled(600000, 300000), scaled(150000, 50000)
    args = job_args(tmp, ck, events, rate, interval=100, retained=2)
    p = subprocess.Popen([RILL_BIN] + args, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + scaled(20, 60)
    while p.poll() is None and time.monotonic() < deadline and len(completed(ck)) < 2:
        time.sleep(0.02)
    time.sleep(0.3)
    p.kill()
    p.wait()
    ids = completed(ck)
    expect(len(ids) >= 2, "two completed checkpoints before the kill", ">= 2", ids)
    for i, p_ in chk_dirs(ck).items():  # a checkpoint the kill interrupted: not counted
        if i not in ids:
            shutil.rmtree(p_)
    good = ids[-1]
    src = os.path.join(job_dir(ck), "chk-%d" % good)
    half = os.path.join(job_dir(ck), "chk-%d" % (good + 1))
    os.mkdir(half)
    for name in os.listdir(src):
        if name != "_metadata":
            truncated_copy(os.path.join(src, name), os.path.join(half, name))
    bad = os.path.join(job_dir(ck), "chk-%d" % (good + 2))
    shutil.copytree(src, bad)  # copies, not links: chk-<good> stays untouched
    truncated_copy(os.path.join(src, "_metadata"), os.path.join(bad, "_metadata"))

    r = with_log_info(run, resume_args(args), timeout=scaled(60, 180))
    expect_rc(r, 0)
    expect_in("restoring checkpoint %d" % good, r.err,
              "resumed from the newest good checkpoint chk-%d" % good, r)
    skipped = [line for line in r.err.splitlines()
               if "skipping checkpoint %d" % (good + 2) in line or "chk-%d" % (good + 2) in line]
    expect(skipped, "the log says chk-%d (corrupt _metadata) was skipped" % (good + 2),
           "a line naming checkpoint %d" % (good + 2), r.err, r)
    expect_clean(r, "resumed past a half-written and a corrupt checkpoint", events)
    restarts = [line for line in r.err.splitlines()
                if re.search(r"restarting \(attempt|checkpoint \d+ failed", line)]
    expect(not restarts, "the resumed job's checkpoints do not trip over the broken ones",
           "no failed checkpoint, no restart", restarts, r)
    half_lines = [line for line in r.err.splitlines() if "chk-%d" % (good + 1) in line]
    expect(half_lines, "the log names chk-%d (no _metadata)" % (good + 1),
           "a line naming chk-%d" % (good + 1), r.err, r)
    left = sorted(n for n in os.listdir(job_dir(ck)) if n != LOCK)
    expect(left == ["chk-%d" % i for i in completed(ck)] and len(left) == 2,
           "after the resumed run: only its two retained complete checkpoints",
           "two chk-<n> with _metadata", left, r)
    expect(completed(ck)[0] > good + 2, "the broken checkpoints' numbers were not reused",
           "ids above %d" % (good + 2), completed(ck), r)
    # the resumed run's newest checkpoint, with one of its SST files gone
    ids = completed(ck)
    newest = os.path.join(job_dir(ck), "chk-%d" % ids[-1])
    ssts = sorted(n for n in os.listdir(newest) if n.endswith(".sst"))
    expect(ssts, "the newest checkpoint chk-%d holds SST files" % ids[-1], "*.sst",
           os.listdir(newest), r)
    # an SST file of the newest checkpoint gone or cut short: that checkpoint is skipped (before
    # any task starts) for the one before it, as a corrupt one is, and the job ends clean
    saved = os.path.join(tmp, "ck-saved")
    shutil.copytree(ck, saved)  # copies: each try starts from the same two checkpoints
    for how in ("deleted", "truncated to half"):
        shutil.rmtree(ck)
        shutil.copytree(saved, ck)
        name = ssts[0] if how == "deleted" else ssts[-1]
        path = os.path.join(newest, name)
        if how == "deleted":
            os.unlink(path)
        else:
            keep = os.path.join(tmp, "kept.sst")
            os.rename(path, keep)
            truncated_copy(keep, path)
        r = with_log_info(run, resume_args(args), timeout=scaled(60, 180))
        what = "--resume with an SST file of chk-%d %s" % (ids[-1], how)
        expect_rc(r, 0)
        skip = [line for line in r.err.splitlines()
                if "skipping checkpoint %d" % ids[-1] in line and path in line]
        expect(skip, what + ": the log says that checkpoint is skipped and names the file",
               "skipping checkpoint %d: ... %s" % (ids[-1], path), r.err, r)
        expect_in("restoring checkpoint %d" % ids[-2], r.err,
                  what + ": resumed from the checkpoint before it", r)
        expect("restarting (attempt" not in r.err, what + ": no failed attempt", "no restart",
               r.err, r)
        expect_clean(r, what, events)


# ---- 5. savepoints of an incremental job are canonical -------------------------------------

def test_savepoint_canonical(tmp):
    ck = os.path.join(tmp, "ck")
    events, rate = scaled(500000, 200000), scaled(150000, 50000)
    args = job_args(tmp, ck, events, rate, interval=100, retained=2)
    p, port = rill_e2e.start_rest_job(args[:1] + ["--rest-port", "0"] + args[1:])
    try:
        deadline = time.monotonic() + scaled(20, 60)
        while p.poll() is None and time.monotonic() < deadline and len(completed(ck)) < 2:
            time.sleep(0.02)
        r = run(["savepoint", JOB, os.path.join(tmp, "sp"), "-m", "127.0.0.1:%d" % port])
        expect_rc(r, 0)
        m = re.search(r"savepoint written: (\S+)", r.out)
        expect(m is not None, "the savepoint's path", "savepoint written: PATH", r.out, r)
        sp = m.group(1)
    finally:
        rj = finish(p, scaled(60, 180))
    expect_rc(rj, 0)
    expect_clean(rj, "the incremental job", events)
    files = [os.path.join(root, f) for root, _, fs in os.walk(sp) for f in fs]
    expect(os.path.isfile(os.path.join(sp, "_metadata")), "the savepoint is complete",
           "_metadata", files)
    native = [f for f in files if f.endswith(".sst") or "MANIFEST" in f or
              re.search(r"task-\d+-\d+-", os.path.basename(f))]
    expect(not native, "no rocksdb files in the savepoint", "[]", native)
    for backend, par in (("heap", 3), ("rocksdb", 1)):
        r = with_log_info(run, ["run", "--from-savepoint", sp] +
                          job_args(tmp, os.path.join(tmp, "ck-%s" % backend), events, 0,
                                   par=par, backend=backend)[1:])
        expect_rc(r, 0)
        expect_clean(r, "the savepoint restored on %s at -p %d" % (backend, par), events)


if __name__ == "__main__":
    main([test_shared_and_cleaned_up, test_every_retained_checkpoint_restores,
          test_kill_and_resume, test_killed_runs_working_dirs_removed,
          test_half_written_newest_and_missing_sst,
          test_savepoint_canonical])
