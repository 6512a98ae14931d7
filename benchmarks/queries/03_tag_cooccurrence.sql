-- Among the 50 English tags RAWG lists on the most games (dim_tag.games_count): the 25 pairs
-- found together on the most games here, with their Jaccard overlap. Each game's popular tags
-- become one bit mask, so pairs are counted over the distinct masks instead of a self-join of
-- millions of bridge rows.
WITH popular AS (
    SELECT tag_key, row_number() OVER (ORDER BY games_count DESC, tag_key) - 1 AS bit
    FROM dim_tag
    WHERE language = 'eng'
    ORDER BY games_count DESC, tag_key
    LIMIT 50
),
masks AS (
    SELECT bit_or(1::UBIGINT << p.bit::UBIGINT) AS mask
    FROM bridge_game_tag AS b
    JOIN popular AS p ON p.tag_key = b.tag_key
    GROUP BY b.game_id
),
mask_counts AS (
    SELECT mask, count(*) AS games FROM masks GROUP BY mask
),
tag_games AS (
    SELECT p.tag_key, sum(m.games) AS games
    FROM popular AS p
    JOIN mask_counts AS m ON (m.mask >> p.bit::UBIGINT) & 1 = 1
    GROUP BY p.tag_key
),
pairs AS (
    SELECT a.tag_key AS key_a, b.tag_key AS key_b, sum(m.games) AS games
    FROM popular AS a
    JOIN popular AS b ON a.tag_key < b.tag_key
    JOIN mask_counts AS m
      ON (m.mask >> a.bit::UBIGINT) & 1 = 1 AND (m.mask >> b.bit::UBIGINT) & 1 = 1
    GROUP BY a.tag_key, b.tag_key
)
SELECT
    least(ta.name, tb.name) AS tag_a,
    greatest(ta.name, tb.name) AS tag_b,
    p.games::BIGINT AS games,
    round(1.0 * p.games / (ca.games + cb.games - p.games), 4) AS jaccard
FROM pairs AS p
JOIN tag_games AS ca ON ca.tag_key = p.key_a
JOIN tag_games AS cb ON cb.tag_key = p.key_b
JOIN dim_tag AS ta ON ta.tag_key = p.key_a
JOIN dim_tag AS tb ON tb.tag_key = p.key_b
ORDER BY p.games DESC, tag_a, tag_b
LIMIT 25;
