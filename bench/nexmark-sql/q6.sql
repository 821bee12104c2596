-- q6, average selling price by seller: for each seller, the average closing price of its last
-- ten closed auctions and the one closing now (Nexmark's definition: AVG OVER the 10 preceding
-- rows and the current one). An auction's closing price is its winning bid: the highest bid made
-- while it was open, a Top-1 per auction over a join of auctions and bids. That Top-1 is an
-- updating input (a higher bid replaces the winner), and Flink's OVER aggregation does not take
-- updates, so Flink cannot run this query; rill keeps each seller's current winners ordered by
-- time and re-emits every average a new winner changes (docs/sql.md, OVER aggregations).
-- Nexmark's own q6.sql runs too (with two warnings: its WHERE names the rownum of its own
-- select list, and its sink's seller is a VARCHAR); this copy is written in standard SQL.
CREATE TABLE nexmark_q6 (seller BIGINT, avg_price BIGINT)
WITH ('connector' = 'blackhole');

INSERT INTO nexmark_q6
SELECT Q.seller,
    AVG(Q.price) OVER (PARTITION BY Q.seller ORDER BY Q.`dateTime`
                       ROWS BETWEEN 10 PRECEDING AND CURRENT ROW)
FROM (
    SELECT * FROM (
        SELECT *, ROW_NUMBER() OVER (PARTITION BY id, seller ORDER BY price DESC) AS rownum
        FROM (
            SELECT A.id, A.seller, B.price, B.`dateTime`
            FROM auction AS A, bid AS B
            WHERE A.id = B.auction AND B.`dateTime` BETWEEN A.`dateTime` AND A.expires
        )
    )
    WHERE rownum <= 1
) AS Q;
