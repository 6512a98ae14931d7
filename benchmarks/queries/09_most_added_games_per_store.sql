-- The five games most added to RAWG libraries in each store's catalogue.
WITH game_store AS (
    SELECT DISTINCT game_id, store_key FROM bridge_game_store
)
SELECT
    s.name AS store,
    row_number() OVER (PARTITION BY s.name ORDER BY g.added DESC, g.game_id) AS rank,
    g.game_id,
    g.name AS game,
    g.added,
    g.added_beaten,
    g.rating
FROM game_store AS gs
JOIN dim_store AS s ON s.store_key = gs.store_key
JOIN fact_games AS g ON g.game_id = gs.game_id
WHERE g.added IS NOT NULL
QUALIFY rank <= 5
ORDER BY store, rank;
