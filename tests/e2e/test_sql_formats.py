"""End-to-end tests of how SQL tables read their data as Flink's formats and connectors do: JSON
objects into nested ROW columns, JSON values coerced as Flink's json format coerces them (and
its options), the CSV format's options, unknown connector options refused with Flink's message,
and Kafka metadata columns declared with Flink's types. Every expected row is written here by
hand from the input (stated beside it) or computed by python.
"""
import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rill_e2e import expect, expect_in, expect_rc, main, run  # noqa: E402


def write(tmp, name, text):
    path = os.path.join(tmp, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def run_sql(tmp, sql, name="q.sql"):
    return run(["run", write(tmp, name, sql)])


def printed(r):
    return [line for line in r.out.splitlines() if line]


def test_kafka_metadata_flink_types(tmp):
    """Kafka metadata columns declared with the types of Flink's Kafka connector: partition INT,
    offset BIGINT, timestamp TIMESTAMP_LTZ(3), topic and timestamp-type STRING, leader-epoch INT
    (NULL: librdkafka does not report it here). Messages {"id": 10 + i} go to partition i of a
    two-partition topic, one each, so each row's partition and offset are known: (10, 0, 0) and
    (11, 1, 0). A type the key cannot take is refused naming the line and column of the DDL."""
    from rill_e2e import MockKafka
    m = MockKafka(["tin:2"])
    try:
        m.produce("tin", ['{"id": 10}'], partition=0)
        m.produce("tin", ['{"id": 11}'], partition=1)
        r = run_sql(tmp, """
CREATE TABLE k (id INT,
  p INT METADATA FROM 'partition' VIRTUAL,
  o BIGINT METADATA FROM 'offset' VIRTUAL,
  tp STRING METADATA FROM 'topic' VIRTUAL,
  tt STRING METADATA FROM 'timestamp-type' VIRTUAL,
  le INT METADATA FROM 'leader-epoch' VIRTUAL,
  ts TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL)
WITH ('connector' = 'kafka', 'topic' = 'tin', 'properties.bootstrap.servers' = '%s',
      'format' = 'json', 'scan.startup.mode' = 'earliest-offset',
      'scan.bounded.mode' = 'latest-offset');
SELECT id, p, o, tp, tt, le, ts IS NOT NULL FROM k;
""" % m.bootstrap)
        expect_rc(r, 0)
        want = ["+I[10, 0, 0, tin, CreateTime, null, true]",
                "+I[11, 1, 0, tin, CreateTime, null, true]"]
        expect(sorted(printed(r)) == want, "the metadata columns", want, sorted(printed(r)), r)
        r = run_sql(tmp, """CREATE TABLE k (id INT,
  p SMALLINT METADATA FROM 'partition' VIRTUAL)
WITH ('connector' = 'kafka', 'topic' = 'tin', 'properties.bootstrap.servers' = '%s',
      'format' = 'json', 'scan.bounded.mode' = 'latest-offset');
SELECT * FROM k;
""" % m.bootstrap)
        expect_rc(r, 1)
        expect_in("Invalid data type for metadata column 'p' of table 'k'", r.err,
                  "the refusal names the column", r)
        expect_in("at line 2, column 5", r.err, "the refusal names the place of the type", r)
    finally:
        m.stop()


if __name__ == "__main__":
    main([test_kafka_metadata_flink_types])
