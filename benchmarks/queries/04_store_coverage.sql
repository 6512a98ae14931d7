-- Per store: games sold, share of all games, games sold nowhere else, and their average scores.
WITH game_store AS (
    SELECT DISTINCT game_id, store_key FROM bridge_game_store
),
store_counts AS (
    SELECT game_id, count(*) AS stores FROM game_store GROUP BY game_id
),
total AS (
    SELECT count(*) AS games FROM fact_games
)
SELECT
    s.name AS store,
    count(*) AS games,
    round(100.0 * count(*) / max(total.games), 2) AS pct_of_games,
    count(*) FILTER (WHERE sc.stores = 1) AS only_here,
    round(avg(g.rating) FILTER (WHERE g.rating > 0), 4) AS avg_rating,
    round(avg(g.metacritic), 2) AS avg_metacritic
FROM game_store AS gs
JOIN dim_store AS s ON s.store_key = gs.store_key
JOIN store_counts AS sc ON sc.game_id = gs.game_id
JOIN fact_games AS g ON g.game_id = gs.game_id
CROSS JOIN total
GROUP BY s.name
ORDER BY games DESC, store;
