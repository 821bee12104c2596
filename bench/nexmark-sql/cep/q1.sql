-- CEP q1 (not in the original Nexmark suite): the longest runs of a bidder's bids on an
-- auction whose running average price stays under a threshold, and the bid that ends each.
-- MATCH_RECOGNIZE with an aggregate in DEFINE and AFTER MATCH SKIP PAST LAST ROW.
CREATE TABLE discard_sink (
    auction BIGINT,
    bidder BIGINT,
    start_tstamp TIMESTAMP(3),
    end_tstamp TIMESTAMP(3),
    avg_price BIGINT
) WITH ('connector' = 'blackhole');

INSERT INTO discard_sink
SELECT auction, bidder, start_tstamp, end_tstamp, avg_price
FROM bid
MATCH_RECOGNIZE (
    PARTITION BY auction, bidder
    ORDER BY `dateTime`
    MEASURES
        FIRST(A.`dateTime`) AS start_tstamp,
        LAST(A.`dateTime`) AS end_tstamp,
        AVG(A.price) AS avg_price
    ONE ROW PER MATCH
    AFTER MATCH SKIP PAST LAST ROW
    PATTERN (A+ B)
    DEFINE
        A AS AVG(A.price) < 10000
);
