-- How players vote: per rating (5 exceptional ... 1 skip) the votes, their share, and top spots.
SELECT
    r.rating_id,
    min(r.title) AS title,
    count(*) AS games,  -- one row per (game, rating): a validated invariant
    sum(r."count")::BIGINT AS votes,
    round(100.0 * sum(r."count") / sum(sum(r."count")) OVER (), 2) AS pct_of_votes,
    round(avg(r.percent), 2) AS avg_percent_per_game,
    count(*) FILTER (WHERE g.rating_top = r.rating_id) AS games_where_top
FROM fact_game_ratings AS r
JOIN fact_games AS g ON g.game_id = r.game_id
GROUP BY r.rating_id
ORDER BY r.rating_id DESC;
