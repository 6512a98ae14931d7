-- Average and percentile playtime (hours) of the games on each platform family.
-- Bridge rows are unique per (game, family), so each row is one game.
SELECT
    pp.name AS parent_platform,
    count(*) AS games,
    count(*) FILTER (WHERE g.playtime > 0) AS games_with_playtime,
    round(avg(g.playtime) FILTER (WHERE g.playtime > 0), 2) AS avg_hours,
    quantile_disc(g.playtime, 0.5) FILTER (WHERE g.playtime > 0) AS median_hours,
    quantile_disc(g.playtime, 0.9) FILTER (WHERE g.playtime > 0) AS p90_hours,
    max(g.playtime) AS max_hours
FROM fact_games AS g
JOIN bridge_game_parent_platform AS b ON b.game_id = g.game_id
JOIN dim_parent_platform AS pp ON pp.parent_platform_key = b.parent_platform_key
GROUP BY pp.name
ORDER BY games DESC, parent_platform;
