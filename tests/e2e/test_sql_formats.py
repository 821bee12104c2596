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


def test_json_nested_rows(tmp):
    """A JSON object under a ROW column's key fills its fields, at any depth and in any key
    order; a null object or a missing key leaves them NULL; a value that is no object fails
    the job naming the column. Flink's json format reads rows so (JsonToRowDataConverters)."""
    write(tmp, "row.json", "\n".join([
        '{"id":1,"r":{"x":1,"y":{"z":"deep"}}}',
        '{"id":2,"r":{"x":2,"y":null}}',
        '{"r":{"y":{"z":"q","w":[1]},"x":5,"extra":{"a":1}},"id":3}',
        '{"id":4,"r":null}',
        '{"id":5}',
    ]) + "\n")
    ddl = ("CREATE TABLE rt (id INT, r ROW<x INT, y ROW<z STRING>>) WITH ("
           "'connector'='filesystem','path'='%s','format'='json'%%s);\n"
           % os.path.join(tmp, "row.json"))
    r = run_sql(tmp, ddl % "" + "SELECT id, r.x, r.y.z FROM rt;\n")
    expect_rc(r, 0)
    want = ["+I[1, 1, deep]", "+I[2, 2, null]", "+I[3, 5, q]", "+I[4, null, null]",
            "+I[5, null, null]"]
    expect(printed(r) == want, "the nested fields", want, printed(r), r)
    # Flink: a null ROW is no missing field, an absent one is (named within its row)
    with_missing = (ddl % ",'json.fail-on-missing-field'='true'" +
                    "SELECT id, r.x, r.y.z FROM rt;\n")
    write(tmp, "row.json", '{"id":1,"r":{"x":1,"y":null}}\n{"id":4,"r":null}\n')
    r = run_sql(tmp, with_missing)
    expect_rc(r, 0)
    want = ["+I[1, 1, null]", "+I[4, null, null]"]
    expect(printed(r) == want, "null rows are no missing fields", want, printed(r), r)
    for line, name in (('{"id":5}', "r"), ('{"id":6,"r":{"x":1}}', "y"),
                       ('{"id":7,"r":{"y":{"z":"a"}}}', "x")):
        write(tmp, "row.json", line + "\n")
        r = run_sql(tmp, with_missing)
        expect_rc(r, 1)
        expect_in("Could not find field with name '%s'." % name, r.err,
                  "a missing field in %s" % line, r)
    write(tmp, "row.json", '{"id":1,"r":5}\n')
    r = run_sql(tmp, ddl % "" + "SELECT id, r.x FROM rt;\n")
    expect_rc(r, 1)
    expect_in("expected a JSON object for the ROW column 'r'", r.err, "a ROW that is no object",
              r)


def test_json_coercion_as_flink(tmp):
    """Values of another JSON kind than the column's, as Flink's json format converts them
    (Jackson's asText, canConvertToInt/Long, Boolean.parseBoolean, new BigDecimal then
    DecimalData.fromBigDecimal). Each expected value is worked out by hand:
      a INT: 4.0 -> 4 (a double within int range, truncated), -4.7 -> -4, "  12 " -> 12 (text,
        trimmed);
      b STRING: 7 -> "7", 1e21 -> "1.0E21" (Double.toString), -0 -> "0" (an int node), 0.1 ->
        "0.1";
      c BIGINT: "12" -> 12, -3.9 -> -3;  d DOUBLE: "1.5" -> 1.5, 7 -> 7.0, "NaN" -> NaN;
      e BOOLEAN: "TRUE" -> true, 1 -> false ("1" is not "true"), "yes" -> false;
      f SMALLINT: 3, -2, "7" -> 7 (Short.parseShort of the text);
      g DECIMAL(3, 1): 12.34 -> 12.3, "99.95" -> 100.0 does not fit -> NULL, 5 -> 5.0,
        -0.05 -> -0.1 (HALF_UP);
      h STRING: an object -> its JSON text without white space, true -> "true".
    Values Flink cannot convert fail the job, naming the column; with json.ignore-parse-errors
    their rows are skipped."""
    lines = [
        '{"a":4.0,"b":7,"c":"12","d":"1.5","e":"TRUE","f":3,"g":12.34,'
        '"h":{"x": [1, 2], "s": "a b"}}',
        '{"a":-4.7,"b":1e21,"c":-3.9,"d":7,"e":1,"f":-2,"g":"99.95","h":true}',
        '{"a":"  12 ","b":-0,"c":null,"e":"yes","f":"7","g":5,"h":"s","zz":[1,{"q":2}]}',
        '{"b":0.1,"d":"NaN","g":-0.05}',
    ]
    want = ['+I[4, 7, 12, 1.5, true, 3, 12.3, {"x":[1,2],"s":"a b"}]',
            "+I[-4, 1.0E21, -3, 7.0, false, -2, null, true]",
            "+I[12, 0, null, null, false, 7, 5.0, s]",
            "+I[null, 0.1, null, NaN, null, null, -0.1, null]"]
    ddl = ("CREATE TABLE j (a INT, b STRING, c BIGINT, d DOUBLE, e BOOLEAN, f SMALLINT, "
           "g DECIMAL(3, 1), h STRING) WITH ('connector'='filesystem','path'='%s',"
           "'format'='json'%%s);\nSELECT * FROM j;\n" % os.path.join(tmp, "c.json"))
    write(tmp, "c.json", "\n".join(lines) + "\n")
    r = run_sql(tmp, ddl % "")
    expect_rc(r, 0)
    expect(printed(r) == want, "the coerced values", want, printed(r), r)
    # what Flink refuses: SMALLINT of "4.0" (parseShort), INT out of range, a boolean or an
    # object as a number, text that is no number
    bad = [('{"f":4.0}', "'f'"), ('{"a":3000000000}', "'a'"), ('{"a":true}', "'a'"),
           ('{"d":{"x":1}}', "'d'"), ('{"c":"1.5"}', "'c'"), ('{"g":"x"}', "'g'")]
    for line, col in bad:
        write(tmp, "c.json", lines[0] + "\n" + line + "\n")
        r = run_sql(tmp, ddl % "")
        expect_rc(r, 1)
        expect_in("c.json:2:", r.err, "the bad value %s is named by its line" % line, r)
        expect_in("for field " + col, r.err, "the bad value %s names its column" % line, r)
    write(tmp, "c.json", "\n".join([lines[0]] + [b for b, _ in bad] + ["not json", lines[1]])
          + "\n")
    r = run_sql(tmp, ddl % ",'json.ignore-parse-errors'='true'")
    expect_rc(r, 0)
    expect(printed(r) == want[:2], "json.ignore-parse-errors skips the rows", want[:2],
           printed(r), r)
    r = run_sql(tmp, ddl % (",'json.ignore-parse-errors'='true',"
                            "'json.fail-on-missing-field'='true'"))
    expect_rc(r, 1)
    expect_in("fail-on-missing-field and ignore-parse-errors shouldn't both be true.", r.err,
              "Flink's refusal of both", r)
    write(tmp, "c.json", lines[0] + "\n")
    r = run_sql(tmp, ddl % ",'json.fail-on-missing-field'='true'")
    expect_rc(r, 0)
    write(tmp, "c.json", lines[1].replace(',"h":true', '') + "\n")
    r = run_sql(tmp, ddl % ",'json.fail-on-missing-field'='true'")
    expect_rc(r, 1)
    expect_in("Could not find field with name 'h'.", r.err, "a missing field, Flink's message",
              r)


CSV_OPTS_DDL = """CREATE TABLE t (id INT, s STRING, u STRING) WITH ('connector'='filesystem',
 'path'='%(path)s','format'='csv','csv.field-delimiter'='%(delim)s',
 'csv.quote-character'='''','csv.null-literal'='NIL'%(more)s);
SELECT * FROM t;
"""


def test_csv_options(tmp):
    """Flink's csv options on a filesystem source: csv.ignore-parse-errors skips a row that
    does not parse and gives the columns a short row lacks NULL; csv.null-literal reads that
    text as NULL; csv.field-delimiter and csv.quote-character; csv.allow-comments skips lines
    starting with '#'. Without ignore-parse-errors a bad value fails the job naming the
    column by its SQL name. Expected rows written by hand from the lines."""
    path = write(tmp, "in.csv", "1|'a|b'|x\n# a comment\nz|b|y\n3|NIL|NIL\n4|''\n")

    def sql(more, delim="|"):
        return CSV_OPTS_DDL % {"path": path, "delim": delim, "more": more}
    r = run_sql(tmp, sql(",'csv.allow-comments'='true','csv.ignore-parse-errors'='true'"))
    expect_rc(r, 0)
    want = ["+I[1, a|b, x]", "+I[3, null, null]", "+I[4, , null]"]
    expect(printed(r) == want, "the rows with Flink's csv options", want, printed(r), r)
    r = run_sql(tmp, sql(",'csv.allow-comments'='true'"))
    expect_rc(r, 1)
    expect_in("in.csv:3:1: expected INT for field 'id', got \"z\"", r.err,
              "a bad value names the column by its SQL name", r)
    r = run_sql(tmp, sql(""))
    expect_rc(r, 1)
    expect_in("in.csv:2:1", r.err, "a comment line is a bad row without allow-comments", r)
    r = run_sql(tmp, sql("", delim="||"))
    expect_rc(r, 1)
    expect_in("Option 'csv.field-delimiter' must be a string with single character, but was: ||",
              r.err, "Flink's message for a long delimiter", r)


def test_unknown_options_refused(tmp):
    """Options a connector does not have are refused with Flink's message, every one listed:
    filesystem (read or written), print and blackhole."""
    src = write(tmp, "in.csv", "1\n")
    out = os.path.join(tmp, "out")
    s_ddl = ("CREATE TABLE s (id INT) WITH ('connector'='filesystem','path'='%s',"
             "'format'='csv');\n" % src)
    cases = [
        ("CREATE TABLE t (id INT) WITH ('connector'='filesystem','path'='%s','format'='csv',"
         "'bogus'='1','csv.nope'='2');\nSELECT * FROM t;\n" % src,
         "Unsupported options found for 'filesystem' (table 't'): bogus, csv.nope"),
        (s_ddl + "CREATE TABLE p (id INT) WITH ('connector'='print','bogus'='1');\n"
         "INSERT INTO p SELECT * FROM s;\n",
         "Unsupported options found for 'print' (table 'p'): bogus. Supported options: "
         "connector, print-identifier"),
        (s_ddl + "CREATE TABLE b (id INT) WITH ('connector'='blackhole','x.y'='1');\n"
         "INSERT INTO b SELECT * FROM s;\n",
         "Unsupported options found for 'blackhole' (table 'b'): x.y"),
        (s_ddl + "CREATE TABLE o (id INT) WITH ('connector'='filesystem','path'='%s',"
         "'format'='csv','sink.bogus'='1');\nINSERT INTO o SELECT * FROM s;\n" % out,
         "Unsupported options found for 'filesystem' (table 'o'): sink.bogus"),
    ]
    for sql, msg in cases:
        r = run_sql(tmp, sql)
        expect_rc(r, 1)
        expect_in(msg, r.err, "the refusal", r)
    # a read option on a table that is written is no error (nor in Flink)
    r = run_sql(tmp, s_ddl + "CREATE TABLE o (id INT) WITH ('connector'='filesystem',"
                "'path'='%s','format'='csv','csv.ignore-parse-errors'='true');\n"
                "INSERT INTO o SELECT * FROM s;\n" % out)
    expect_rc(r, 0)


def test_csv_row_columns(tmp):
    """A ROW column in a CSV file is one column of its fields' values separated by
    csv.array-element-delimiter (';' by default), as Flink's csv format reads it: '2;x' is
    ROW(2, 'x'), an empty column a NULL row, fewer values fail the job with Flink's message
    (with csv.ignore-parse-errors they are NULL), more are ignored; a ROW of a ROW is refused
    as Flink refuses it. Selecting a whole ROW and writing one are refused, naming them."""
    path = write(tmp, "r.csv", "1,2|x,7\n2,,8\n3,5,9\n4,6|z|w,10\n")
    ddl = ("CREATE TABLE s (id INT, r ROW<x INT, y STRING>, n BIGINT) WITH ("
           "'connector'='filesystem','path'='%s','format'='csv'%%s);\n" % path)
    r = run_sql(tmp, ddl % ",'csv.array-element-delimiter'='|'" + "SELECT id, r.y, n FROM s;\n")
    expect_rc(r, 1)
    expect_in("r.csv:3:3: Row length mismatch. 2 fields expected but was 1.", r.err,
              "Flink's message for a short ROW", r)
    r = run_sql(tmp, ddl % ",'csv.array-element-delimiter'='|','csv.ignore-parse-errors'='true'"
                + "SELECT id, r.x, r.y, n FROM s;\n")
    expect_rc(r, 0)
    want = ["+I[1, 2, x, 7]", "+I[2, null, null, 8]", "+I[3, 5, null, 9]", "+I[4, 6, z, 10]"]
    expect(printed(r) == want, "ROW columns with '|' (short rows NULL)", want, printed(r), r)
    write(tmp, "r.csv", "1,2;x,7\n2,,8\n3,5;z;w,9\n")
    r = run_sql(tmp, ddl % "" + "SELECT id, r.x, r.y, n FROM s;\n")
    expect_rc(r, 0)
    want = ["+I[1, 2, x, 7]", "+I[2, null, null, 8]", "+I[3, 5, z, 9]"]
    expect(printed(r) == want, "ROW columns", want, printed(r), r)
    r = run_sql(tmp, "CREATE TABLE s (id INT, r ROW<x INT, y ROW<z STRING>>) WITH ("
                "'connector'='filesystem','path'='%s','format'='csv');\n"
                "SELECT id FROM s;\n" % path)
    expect_rc(r, 1)
    expect_in("Only simple types are supported in the second level nesting of fields 'y'",
              r.err, "a nested ROW in CSV is refused as Flink does", r)
    r = run_sql(tmp, ddl % "" + "SELECT id, r FROM s;\n")
    expect_rc(r, 1)
    expect_in("Column 'r' is a ROW: selecting a whole ROW is not supported yet", r.err,
              "a whole ROW", r)
    r = run_sql(tmp, ddl % "" + "CREATE TABLE o (id INT, r ROW<x INT, y STRING>, n BIGINT) "
                "WITH ('connector'='filesystem','path'='%s','format'='json');\n"
                "INSERT INTO o SELECT * FROM s;\n" % os.path.join(tmp, "out"))
    expect_rc(r, 1)
    expect_in("Table 'o': writing its column 'r' of type ROW<`x` INT, `y` STRING> is not "
              "supported yet", r.err, "a ROW into a sink", r)


if __name__ == "__main__":
    main([test_kafka_metadata_flink_types, test_json_nested_rows, test_json_coercion_as_flink,
          test_csv_options, test_unknown_options_refused, test_csv_row_columns])
