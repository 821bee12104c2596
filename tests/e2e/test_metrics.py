"""End-to-end tests of the metrics: GET /metrics (Prometheus's text format, Flink's
PrometheusReporter names under rill_) on the mini-cluster's REST API, on a JobManager (every
TaskManager's metrics merged) and on each TaskManager (--metrics-port), checked against what the
job did: records in and out exactly the rows generated, watermarks advancing while it runs. The
text passes `promtool check metrics` (but for its snake_case lint: Flink's names are camelCase by
design), and a real Prometheus server on loopback scrapes rill and answers a query for it.

The job (tests/jobs/metrics_job.c) holds its operators' close until a gate file exists, so the
final counts can be read while its tasks are still there. Skipped, with a message, without
promtool and prometheus (Debian's `prometheus` package; scripts/install-deps installs it).
"""
import http.client
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import json

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from rill_e2e import (Failure, Started, expect, expect_rc, job_so, main, read_text,  # noqa: E402
                      run)
from test_cluster import HB, run_cluster  # noqa: E402
from test_cluster_jobs import submit, wait_job  # noqa: E402

PROMTOOL = shutil.which("promtool")
PROMETHEUS = shutil.which("prometheus")
EVENTS = 20000
RATE = 5000  # rows per second: the job runs ~4 s, long enough to watch it move
TM_LINE_M = re.compile(r"rill-taskmanager id=(\S+) data=\S+ metrics=127\.0\.0\.1:(\d+)")
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
WM_MAX = 9223372036854775807


def scrape(port, path="/metrics"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", path)
    r = c.getresponse()
    body = r.read().decode()
    ctype = r.getheader("Content-Type", "")
    c.close()
    expect(r.status == 200, "GET %s on port %d answers 200" % (path, port), 200,
           "%d %s" % (r.status, body[:500]))
    expect(ctype.startswith("text/plain; version=0.0.4"), "the exposition's content type",
           "text/plain; version=0.0.4", ctype)
    return body


def samples(text):
    """[(name, {label: value}, float)] of the exposition text."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        expect(m is not None, "a sample line", "name{labels} value", line)
        labels = dict(LABEL.findall(m.group(3) or ""))
        out.append((m.group(1), labels, float(m.group(4))))
    return out


def pick(ss, name, **want):
    return [(lb, v) for n, lb, v in ss if n == name and
            all(lb.get(k) == str(x) for k, x in want.items())]


def total(ss, metric, operator):
    return sum(v for _, v in pick(ss, "rill_taskmanager_job_task_operator_" + metric,
                                  operator_name=operator))


def promtool_check(text, what):
    """promtool check metrics: no problem but its snake_case lint, which Flink's names fail by
    design (rc 3 is 'lint problems', 1 a parse error)."""
    p = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=60)
    problems = [l for l in (p.stdout + p.stderr).splitlines() if l.strip()]
    other = [l for l in problems if "should be written in 'snake_case' not 'camelCase'" not in l]
    expect(p.returncode in (0, 3) and not other,
           "promtool check metrics passes the %s's exposition (but camelCase)" % what,
           "no other problem", "rc %d: %s" % (p.returncode, "\n".join(other[:20])))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class PromServer:
    """A real Prometheus server on loopback scraping targets {scrape job: [ports]} every second."""

    def __init__(self, tmp, targets):
        self.port = free_port()
        cfg = os.path.join(tmp, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n")
            for job, ports in targets.items():
                f.write("  - job_name: %s\n    static_configs:\n      - targets: [%s]\n"
                        % (job, ", ".join("'127.0.0.1:%d'" % p for p in ports)))
        self.log = os.path.join(tmp, "prometheus.log")
        with open(self.log, "w") as log:
            self.p = subprocess.Popen(
                [PROMETHEUS, "--config.file=" + cfg,
                 "--storage.tsdb.path=" + os.path.join(tmp, "prom-data"),
                 "--web.listen-address=127.0.0.1:%d" % self.port, "--log.level=warn"],
                stdout=log, stderr=log)

    def query(self, promql, want, timeout=60):
        """Polls the HTTP API until promql gives one value equal to want; returns it."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.p.poll() is not None:
                break
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                c.request("GET", "/api/v1/query?query=" + urllib.parse.quote(promql))
                r = c.getresponse()
                last = json.loads(r.read().decode())
                c.close()
                res = last.get("data", {}).get("result", [])
                if len(res) == 1 and float(res[0]["value"][1]) == want:
                    return last
            except (OSError, ValueError):
                pass
            time.sleep(0.25)
        raise Failure("expected Prometheus to answer %s with %s within %d s, last answer %s\n"
                      "--- prometheus log ---\n%s" % (promql, want, timeout, last,
                                                      read_text(self.log)[-3000:]))

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(30)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(30)


def wait_counts(port, want, timeout=60):
    """Scrapes until the window has taken `want` rows (the gate holds the job there)."""
    deadline = time.monotonic() + timeout
    ss = []
    while time.monotonic() < deadline:
        text = scrape(port)
        ss = samples(text)
        if total(ss, "numRecordsIn", "window") == want:
            return text, ss
        time.sleep(0.1)
    raise Failure("expected the window's numRecordsIn to reach %d on port %d within %d s, it "
                  "is %s" % (want, port, timeout, total(ss, "numRecordsIn", "window")))


def check_final(ss, what):
    """Every row counted exactly once at every operator; event time at its end."""
    for op, metric in (("gen", "numRecordsOut"), ("stamp", "numRecordsIn"),
                       ("stamp", "numRecordsOut"), ("wm", "numRecordsOut"),
                       ("window", "numRecordsIn")):
        expect(total(ss, metric, op) == EVENTS, "%s: %s %s" % (what, op, metric), EVENTS,
               total(ss, metric, op))
    windows = total(ss, "numRecordsOut", "window")
    expect(windows == EVENTS // 100 * 10, "%s: windows emitted (10 keys per 100 ms)" % what,
           EVENTS // 100 * 10, windows)
    expect(total(ss, "numRecordsIn", "sink") == windows, "%s: the sink took every window" % what,
           windows, total(ss, "numRecordsIn", "sink"))
    wms = pick(ss, "rill_taskmanager_job_task_operator_currentInputWatermark",
               operator_name="window")
    expect(wms and all(v >= float(WM_MAX) for _, v in wms),
           "%s: the window's input watermark at its end" % what, WM_MAX, wms)
    expect(total(ss, "numLateRecordsDropped", "window") == 0, "%s: no late rows" % what, 0,
           total(ss, "numLateRecordsDropped", "window"))
    busy = pick(ss, "rill_taskmanager_job_task_busyTimeMsPerSecond")
    expect(busy and all(0 <= v <= 1000 for _, v in busy), "%s: busy time per second" % what,
           "0..1000", busy)
    nbytes = sum(v for _, v in pick(ss, "rill_taskmanager_job_task_numBytesIn"))
    expect(nbytes >= EVENTS * 16, "%s: bytes into the window's task" % what, ">= %d" %
           (EVENTS * 16), nbytes)


def watch_progress(port, what):
    """Scrapes while the job runs: rows and the watermark move forward, the rate shows."""
    seen = []  # (records out of the source, the event-time operator's watermark, rate)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ss = samples(scrape(port))
        n = total(ss, "numRecordsOut", "gen")
        wms = [v for _, v in pick(ss, "rill_taskmanager_job_task_operator_currentOutputWatermark",
                                  operator_name="wm")]
        if n > 0:
            # the operator's watermark is its slowest subtask's (Flink's)
            seen.append((n, min(wms) if wms else None, total(ss, "numRecordsOutPerSecond", "gen")))
        if n >= EVENTS:
            break
        time.sleep(0.25)
    running = [x for x in seen if x[0] < EVENTS]
    expect(len(running) >= 2 and running[-1][0] > running[0][0],
           "%s: records out of the source grow while it runs" % what, "growing", seen)
    wms = [x[1] for x in running if x[1] is not None and 0 <= x[1] < EVENTS]
    expect(len(wms) >= 2 and wms[-1] > wms[0],
           "%s: the event-time operator's output watermark advances" % what, "advancing", seen)
    rate = max(x[2] for x in seen)
    expect(0 < rate < RATE * 3, "%s: the source's records per second" % what,
           "about %d" % RATE, seen)


def need_prometheus():
    if not PROMTOOL or not PROMETHEUS:
        print("skip: promtool and prometheus are not installed (Debian's `prometheus` package; "
              "scripts/install-deps installs it)")
        sys.exit(77)  # CTest's SKIP_RETURN_CODE for the e2e tests


def test_minicluster_metrics(tmp):
    gate = os.path.join(tmp, "gate")
    job = Started(tmp, "job", ["run", "--rest-port", "0", job_so("metrics_job"), "--",
                               "--events", str(EVENTS), "--rate", str(RATE), "--gate", gate])
    prom = None
    ok = False
    try:
        port = job.rest_port()
        watch_progress(port, "mini-cluster")
        text, ss = wait_counts(port, EVENTS)
        check_final(ss, "mini-cluster")
        expect(pick(ss, "rill_jobmanager_numRunningJobs") == [({}, 1.0)],
               "one job running", 1, pick(ss, "rill_jobmanager_numRunningJobs"))
        rss = pick(ss, "rill_jobmanager_Status_Process_Memory_RSS")
        expect(rss and rss[0][1] > 1e6, "the process's RSS", "> 1 MB", rss)
        promtool_check(text, "mini-cluster")
        prom = PromServer(tmp, {"rill": [port]})
        prom.query('sum(rill_taskmanager_job_task_operator_numRecordsIn{job="rill",'
                   'operator_name="window",job_name="metrics_job"})', EVENTS)
        ok = True
    finally:
        open(gate, "w").close()
        if prom:
            prom.stop()
        if not ok and job.p.poll() is None:  # a failure above: the job goes too
            job.p.kill()
            job.p.wait(30)
    r = job.wait()
    expect_rc(r, 0)
    # the C API (rill_env_metric) after the run, printed by the job
    m = re.search(r"^metrics (.*)$", r.out, re.M)
    expect(m is not None, "the job prints its metrics", "metrics ...", r.out, r)
    got = dict(kv.split("=") for kv in m.group(1).split())
    for key, want in (("gen.numRecordsOut", EVENTS), ("stamp.numRecordsIn", EVENTS),
                      ("window.numRecordsIn", EVENTS), ("window.numRecordsOut", EVENTS // 10),
                      ("sink.numRecordsIn", EVENTS // 10),
                      ("window.currentInputWatermark", WM_MAX),
                      ("window.numLateRecordsDropped", 0)):
        expect(int(got.get(key, -1)) == want, "rill_env_metric " + key, want, got.get(key), r)


def test_cluster_metrics(tmp):
    gate = os.path.join(tmp, "gate")
    prom = None

    def body(c):
        nonlocal prom
        jm = c.jobmanager()
        tms = []
        for _ in range(2):
            tm = c.taskmanager(jm.control, 1, ["--metrics-port", "0"])
            m = tm.wait_line(TM_LINE_M)
            tm.metrics = int(m.group(2))
            tms.append(tm)
        jid = submit(jm, job_so("metrics_job"), ["-p", "2"],
                     ["--events", str(EVENTS), "--rate", str(RATE), "--gate", gate])
        watch_progress(jm.rest, "JobManager")
        text, ss = wait_counts(jm.rest, EVENTS)
        check_final(ss, "JobManager")
        ids = {lb.get("tm_id") for lb, _ in
               pick(ss, "rill_taskmanager_job_task_operator_numRecordsIn")}
        expect(ids == {tms[0].id, tms[1].id}, "the JobManager merges both TaskManagers' reports",
               {tms[0].id, tms[1].id}, ids)
        promtool_check(text, "JobManager")
        merged = []
        for tm in tms:
            t = scrape(tm.metrics)
            promtool_check(t, "TaskManager")
            tss = samples(t)
            own = {lb.get("tm_id") for lb, _ in
                   pick(tss, "rill_taskmanager_job_task_operator_numRecordsIn")}
            expect(own == {tm.id}, "a TaskManager's /metrics shows its own tasks", {tm.id}, own)
            merged += tss
        check_final(merged, "the TaskManagers together")
        prom = PromServer(tmp, {"rill-jm": [jm.rest], "rill-tm": [t.metrics for t in tms]})
        for scrape_job in ("rill-jm", "rill-tm"):
            prom.query('sum(rill_taskmanager_job_task_operator_numRecordsIn{job="%s",'
                       'operator_name="window"})' % scrape_job, EVENTS)
        open(gate, "w").close()
        wait_job(jm, jid, ("FINISHED",), 120)

    try:
        run_cluster(tmp, body)
    finally:
        open(gate, "w").close()
        if prom:
            prom.stop()


if __name__ == "__main__":
    need_prometheus()
    main([test_minicluster_metrics, test_cluster_metrics], need_jobs=True)
