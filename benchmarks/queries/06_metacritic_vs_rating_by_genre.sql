-- Critics (Metacritic, 0-100) against players (RAWG rating, 0-5 scaled to 100) per genre.
SELECT
    d.name AS genre,
    count(*) AS games,
    round(avg(g.metacritic), 2) AS avg_metacritic,
    round(avg(g.rating) * 20, 2) AS avg_player_score,
    round(avg(g.metacritic) - avg(g.rating) * 20, 2) AS critics_minus_players,
    round(corr(g.metacritic, g.rating), 4) AS correlation
FROM fact_games AS g
JOIN bridge_game_genre AS b ON b.game_id = g.game_id
JOIN dim_genre AS d ON d.genre_key = b.genre_key
WHERE g.metacritic IS NOT NULL AND g.rating > 0
GROUP BY d.name
HAVING count(*) >= 3
ORDER BY games DESC, genre;
