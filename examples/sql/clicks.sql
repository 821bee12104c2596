-- Clicks per page per minute, from examples/sql/clicks.csv (run from the repository's root):
--   ./build/rill run examples/sql/clicks.sql
-- The 12:00:40 click comes after 12:01:30 has moved the watermark past 12:01: it is late and
-- not counted, as in Flink.
CREATE TABLE clicks (
  ts TIMESTAMP(3),
  user_id BIGINT,
  page STRING,
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) WITH ('connector' = 'filesystem', 'path' = 'examples/sql/clicks.csv', 'format' = 'csv');

SELECT page, window_start, window_end, COUNT(*) AS clicks
FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
GROUP BY page, window_start, window_end;
