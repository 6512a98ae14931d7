-- The five games most added to RAWG libraries in each store's catalogue.
WITH top_per_store AS (
    SELECT b.store_key, unnest(max_by(g.game_id, (g.added, -g.game_id), 5)) AS game_id
    FROM bridge_game_store AS b
    JOIN fact_games AS g ON g.game_id = b.game_id
    WHERE g.added IS NOT NULL
    GROUP BY b.store_key
)
SELECT
    s.name AS store,
    row_number() OVER (PARTITION BY s.name ORDER BY g.added DESC, g.game_id) AS rank,
    g.game_id,
    g.name AS game,
    g.added,
    g.added_beaten,
    g.rating
FROM top_per_store AS t
JOIN dim_store AS s ON s.store_key = t.store_key
JOIN fact_games AS g ON g.game_id = t.game_id
ORDER BY store, rank;
