-- The 25 pairs of English tags found together on the most games, with their Jaccard overlap.
WITH tags AS (
    SELECT DISTINCT b.game_id, t.name AS tag
    FROM bridge_game_tag AS b
    JOIN dim_tag AS t ON t.tag_key = b.tag_key
    WHERE t.language = 'eng'
),
tag_games AS (
    SELECT tag, count(*) AS games FROM tags GROUP BY tag
),
pairs AS (
    SELECT a.tag AS tag_a, b.tag AS tag_b, count(*) AS games
    FROM tags AS a
    JOIN tags AS b ON b.game_id = a.game_id AND a.tag < b.tag
    GROUP BY a.tag, b.tag
)
SELECT
    p.tag_a,
    p.tag_b,
    p.games,
    round(1.0 * p.games / (ca.games + cb.games - p.games), 4) AS jaccard
FROM pairs AS p
JOIN tag_games AS ca ON ca.tag = p.tag_a
JOIN tag_games AS cb ON cb.tag = p.tag_b
ORDER BY p.games DESC, p.tag_a, p.tag_b
LIMIT 25;
