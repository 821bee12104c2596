-- q4, average price per category: the winning bid of each auction (its largest bid made while
-- it was open), averaged per category (a join, a GROUP BY over it, a GROUP BY over that).
CREATE TABLE nexmark_q4 (id BIGINT, final BIGINT)
WITH ('connector' = 'blackhole');

INSERT INTO nexmark_q4
SELECT Q.category, AVG(Q.final)
FROM (
    SELECT MAX(B.price) AS final, A.category
    FROM auction A, bid B
    WHERE A.id = B.auction AND B.`dateTime` BETWEEN A.`dateTime` AND A.expires
    GROUP BY A.id, A.category
) Q
GROUP BY Q.category;
