-- The five best-rated genres of each release year, among genres with at least five rated games.
-- RAWG leaves `rating` at 0 until a game has enough votes, so 0 means "not rated".
WITH genre_year AS (
    SELECT
        g.release_year,
        d.name AS genre,
        count(*) AS rated_games,
        avg(g.rating) AS avg_rating,
        sum(g.ratings_count)::BIGINT AS ratings
    FROM fact_games AS g
    JOIN bridge_game_genre AS b ON b.game_id = g.game_id
    JOIN dim_genre AS d ON d.genre_key = b.genre_key
    WHERE g.release_year IS NOT NULL AND g.rating > 0
    GROUP BY g.release_year, d.name
    HAVING count(*) >= 5
)
SELECT
    release_year,
    row_number() OVER (PARTITION BY release_year ORDER BY avg_rating DESC, genre) AS rank,
    genre,
    rated_games,
    round(avg_rating, 4) AS avg_rating,
    ratings
FROM genre_year
QUALIFY rank <= 5
ORDER BY release_year, rank;
