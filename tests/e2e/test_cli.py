"""End-to-end tests of the rill command line: help, version, usage errors (exit 2), job
objects that cannot be run (exit 1) and job argument errors."""
import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rill_e2e import (expect, expect_in, expect_rc, fraud_so, main, run,  # noqa: E402
                      job_so)


def nonempty_lines(text):
    return [line for line in text.splitlines() if line.strip()]


def test_help(tmp):
    for args in (["--help"], ["-h"], ["help"]):
        r = run(args)
        expect_rc(r, 0)
        expect_in("usage: rill", r.out, "rill %s prints the usage on stdout" % args[0], r)
        expect_in("run", r.out, "rill %s mentions the run command" % args[0], r)


def test_run_help(tmp):
    for flag in ("--help", "-h"):
        r = run(["run", flag])
        expect_rc(r, 0)
        expect_in("rill run", r.out, "rill run %s prints the run usage" % flag, r)
        expect_in("--parallelism", r.out, "rill run %s mentions --parallelism" % flag, r)


def test_run_help_has_every_flag(tmp):
    """Every `rill run` flag of the option table (docs/options.md is generated from it, and a
    unit test keeps the two equal) is in `rill run --help`."""
    docs = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs",
                        "options.md")
    with open(docs, encoding="utf-8") as f:
        flags = re.findall(r"\| `(--[a-z-]+)` \|", f.read())
    expect(len(flags) > 20, "docs/options.md lists the flags", "> 20", len(flags))
    r = run(["run", "--help"])
    expect_rc(r, 0)
    missing = [fl for fl in flags if fl not in r.out]
    expect(not missing, "rill run --help names every flag", "[]", missing, r)


def test_version(tmp):
    for flag in ("--version", "-V"):
        r = run([flag])
        expect_rc(r, 0)
        expect(r.out == "rill 0.1.0\n", "rill %s output" % flag, repr("rill 0.1.0\n"),
               repr(r.out), r)


def test_no_args(tmp):
    r = run([])
    expect_rc(r, 2)
    expect_in("usage", r.err, "no arguments: usage on stderr", r)


def test_unknown_command(tmp):
    r = run(["frobnicate"])
    expect_rc(r, 2)
    expect_in("frobnicate", r.err, "unknown command named in the message", r)


def test_run_without_job(tmp):
    r = run(["run"])
    expect_rc(r, 2)
    expect(r.err.strip() != "", "rill run without a job explains itself", "a message", r.err, r)


def test_missing_job_file(tmp):
    path = os.path.join(tmp, "does-not-exist.so")
    r = run(["run", path])
    expect_rc(r, 1)
    lines = nonempty_lines(r.err)
    expect(len(lines) == 1 and path in lines[0], "one line naming the missing file",
           "1 line containing %s" % path, lines, r)


def test_not_a_shared_object(tmp):
    path = os.path.join(tmp, "notes.so")
    with open(path, "w") as f:
        f.write("user_id,amount,ts\n1,2.50,1000\n")
    r = run(["run", path])
    expect_rc(r, 1)
    expect_in("notes.so", r.err, "message names the file", r)
    # a directory is not a job either
    r = run(["run", tmp])
    expect_rc(r, 1)
    expect_in(tmp, r.err, "message names the directory", r)


def test_no_rill_job_symbol(tmp):
    r = run(["run", job_so("no_symbol")])
    expect_rc(r, 1)
    expect_in("rill_job", r.err, "message names the missing symbol", r)
    expect_in("no_symbol.so", r.err, "message names the job object", r)


def test_bad_flags(tmp):
    so = fraud_so()
    cases = [
        (["run", so, "--parallelism", "0"], "0"),
        (["run", so, "--parallelism", "abc"], "abc"),
        (["run", so, "-p", "-3"], "-3"),
        (["run", so, "--parallelism", "40000"], "40000"),
        (["run", so, "--bogus"], "--bogus"),
        (["run", so, "--batch-size", "0"], "0"),
        (["run", so, "--bad-records", "ignore"], "ignore"),
        (["run", so, "--parallelism"], "--parallelism"),
        (["run", so, "extra.so"], "extra.so"),
    ]
    for args, word in cases:
        r = run(args)
        expect_rc(r, 2)
        lines = nonempty_lines(r.err)
        expect(len(lines) >= 1 and lines[0].startswith("rill") and word in lines[0],
               "%s: a clear first line naming %r" % (" ".join(args[2:]), word),
               "rill...%s..." % word, lines, r)
    r = run(["run", so, "--parallelism", "0"])
    expect(re.search(r"parallelism", r.err) is not None, "message names the option",
           "parallelism", r.err, r)


def test_flag_forms(tmp):
    """Every command's options by getopt_long: `--flag=VALUE` as well as `--flag VALUE`, short
    options with their value attached, and a bad flag named in one clear line."""
    so = fraud_so()
    for flags in (["--parallelism=2", "--batch-size=256", "--name=eq-job"],
                  ["--parallelism", "2", "--batch-size", "256", "--name", "eq-job"],
                  ["-p2", "--name=eq-job"]):
        r = run(["run", so] + flags + ["--", "--events", "2000"])
        expect_rc(r, 0)
        expect_in("fraud: events=2000 ", r.out, "%s: the job ran" % " ".join(flags), r)
    for args, says in ((["run", so, "--parallelism=0"], "--parallelism"),
                       (["run", so, "--bogus=1"], "unknown option '--bogus=1'"),
                       (["run", so, "--resume=yes"], "option --resume takes no value"),
                       (["run", so, "--batch-size="], "batch-size"),
                       (["jobmanager", "--rest-port=abc"], "--rest-port must be an integer"),
                       (["list", "--jobmanager"], "option --jobmanager needs a value"),
                       (["stop", "j", "--drain=1"], "option --drain takes no value")):
        r = run(args)
        expect_rc(r, 2)
        lines = nonempty_lines(r.err)
        expect(len(lines) >= 1 and lines[0].startswith("rill") and says in lines[0],
               "%s: one clear first line" % " ".join(args), says, lines, r)


def test_job_argument_errors(tmp):
    so = fraud_so()
    for args, word in ((["--threshold", "abc"], "abc"), (["--events", "12q"], "12q"),
                       (["--frobnicate", "1"], "--frobnicate"), (["--threshold"], "threshold")):
        r = run(["run", so, "--"] + args)
        expect(r.rc != 0, "fraud %s exits non-zero" % " ".join(args), "non-zero", r.rc, r)
        expect_in(word, r.err, "fraud %s: message" % " ".join(args), r)
        expect(r.out == "", "fraud %s: nothing on stdout" % " ".join(args), "''", r.out, r)


def test_job_name_and_verbose(tmp):
    # a valid run with a custom name and -v still succeeds and prints its summary
    r = run(["run", fraud_so(), "--name", "my-job", "-v", "--", "--events", "1000"])
    expect_rc(r, 0)
    expect_in("fraud: events=1000 ", r.out, "summary line", r)


def test_checkpoints_without_a_directory(tmp):
    """A checkpoint interval without a directory (a Flink script's SET): checkpoints go to a
    private directory removed when the job ends, and the job runs to its end."""
    script = os.path.join(tmp, "ck.sql")
    with open(script, "w", encoding="utf-8") as f:
        f.write("SET 'execution.checkpointing.interval' = '20 ms';\n"
                "CREATE TABLE s (id BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = "
                "'3000', 'rows-per-second' = '20000', 'fields.id.kind' = 'sequence', "
                "'fields.id.start' = '1', 'fields.id.end' = '3000');\n"
                "SELECT COUNT(*) FROM s;\n")
    r = run(["run", "-v", script])
    expect_rc(r, 0)
    m = re.search(r"checkpoints in (\S+), removed when the job ends", r.err)
    expect(m is not None, "the private checkpoint directory is logged", "a line", r.err, r)
    expect(not os.path.exists(m.group(1)), "the private directory is gone", "gone",
           m.group(1), r)
    expect_in("completed", r.err, "a checkpoint completed", r)
    expect(r.out.strip().splitlines()[-1] in ("+U[3000]", "+I[3000]"), "the count",
           "+U[3000]", r.out.strip().splitlines()[-1:], r)


if __name__ == "__main__":
    main([test_checkpoints_without_a_directory, test_help, test_run_help,
          test_run_help_has_every_flag, test_version, test_no_args, test_unknown_command,
          test_run_without_job, test_missing_job_file, test_not_a_shared_object,
          test_no_rill_job_symbol, test_bad_flags, test_flag_forms, test_job_argument_errors,
          test_job_name_and_verbose], need_jobs=True)
