-- Among the 50 English tags on the most games: the 25 pairs found together most often, with
-- their Jaccard overlap. (Pairs of rare tags are noise; limiting to popular tags keeps it useful.)
WITH popular AS (
    SELECT b.tag_key, count(*) AS games
    FROM bridge_game_tag AS b
    JOIN dim_tag AS t ON t.tag_key = b.tag_key
    WHERE t.language = 'eng'
    GROUP BY b.tag_key
    ORDER BY games DESC, b.tag_key
    LIMIT 50
),
tagged AS (
    SELECT b.game_id, b.tag_key
    FROM bridge_game_tag AS b
    SEMI JOIN popular AS p ON p.tag_key = b.tag_key
),
pairs AS (
    SELECT a.tag_key AS key_a, b.tag_key AS key_b, count(*) AS games
    FROM tagged AS a
    JOIN tagged AS b ON b.game_id = a.game_id AND a.tag_key < b.tag_key
    GROUP BY a.tag_key, b.tag_key
)
SELECT
    least(ta.name, tb.name) AS tag_a,
    greatest(ta.name, tb.name) AS tag_b,
    p.games,
    round(1.0 * p.games / (ca.games + cb.games - p.games), 4) AS jaccard
FROM pairs AS p
JOIN popular AS ca ON ca.tag_key = p.key_a
JOIN popular AS cb ON cb.tag_key = p.key_b
JOIN dim_tag AS ta ON ta.tag_key = p.key_a
JOIN dim_tag AS tb ON tb.tag_key = p.key_b
ORDER BY p.games DESC, tag_a, tag_b
LIMIT 25;
