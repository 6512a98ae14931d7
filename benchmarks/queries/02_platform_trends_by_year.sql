-- Games released per platform and year, their share of the year, and the change on the year before.
-- Bridge rows are unique per (game, platform) (a validated invariant), so count(*) counts games.
WITH per_platform AS (
    SELECT g.release_year AS year, b.platform_key, count(*) AS games
    FROM fact_games AS g
    JOIN bridge_game_platform AS b ON b.game_id = g.game_id
    WHERE g.release_year IS NOT NULL
    GROUP BY g.release_year, b.platform_key
),
per_year AS (
    SELECT release_year AS year, count(*) AS year_games
    FROM fact_games
    WHERE release_year IS NOT NULL
    GROUP BY release_year
)
SELECT
    pp.year,
    p.name AS platform,
    pp.games,
    round(100.0 * pp.games / py.year_games, 2) AS pct_of_year,
    pp.games - lag(pp.games) OVER (PARTITION BY p.name ORDER BY pp.year) AS change_on_previous
FROM per_platform AS pp
JOIN dim_platform AS p ON p.platform_key = pp.platform_key
JOIN per_year AS py ON py.year = pp.year
ORDER BY pp.year, pp.games DESC, platform;
