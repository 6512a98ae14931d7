-- Per store: games sold, share of all games, games sold nowhere else, and their average scores.
-- Bridge rows are unique per (game, store) (a validated invariant), and the model builds
-- fact_games.store_count from the same rows.
WITH total AS (
    SELECT count(*) AS games FROM fact_games
)
SELECT
    s.name AS store,
    count(*) AS games,
    round(100.0 * count(*) / max(total.games), 2) AS pct_of_games,
    count(*) FILTER (WHERE g.store_count = 1) AS only_here,
    round(avg(g.rating) FILTER (WHERE g.rating > 0), 4) AS avg_rating,
    round(avg(g.metacritic), 2) AS avg_metacritic
FROM bridge_game_store AS b
JOIN dim_store AS s ON s.store_key = b.store_key
JOIN fact_games AS g ON g.game_id = b.game_id
CROSS JOIN total
GROUP BY s.name
ORDER BY games DESC, store;
