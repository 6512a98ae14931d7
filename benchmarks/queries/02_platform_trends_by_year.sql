-- Games released per platform and year, their share of the year, and the change on the year before.
WITH per_platform AS (
    SELECT g.release_year AS year, p.name AS platform, count(DISTINCT g.game_id) AS games
    FROM fact_games AS g
    JOIN bridge_game_platform AS b ON b.game_id = g.game_id
    JOIN dim_platform AS p ON p.platform_key = b.platform_key
    WHERE g.release_year IS NOT NULL
    GROUP BY g.release_year, p.name
),
per_year AS (
    SELECT release_year AS year, count(*) AS year_games
    FROM fact_games
    WHERE release_year IS NOT NULL
    GROUP BY release_year
)
SELECT
    pp.year,
    pp.platform,
    pp.games,
    round(100.0 * pp.games / py.year_games, 2) AS pct_of_year,
    pp.games - lag(pp.games) OVER (PARTITION BY pp.platform ORDER BY pp.year) AS change_on_previous
FROM per_platform AS pp
JOIN per_year AS py ON py.year = pp.year
ORDER BY pp.year, pp.games DESC, pp.platform;
