-- The ESRB ratings of each year's releases, as counts and shares of the year.
SELECT
    g.release_year AS year,
    coalesce(e.name, 'Not rated') AS esrb_rating,
    count(*) AS games,
    round(100.0 * count(*) / sum(count(*)) OVER (PARTITION BY g.release_year), 2) AS pct_of_year,
    round(avg(g.rating) FILTER (WHERE g.rating > 0), 4) AS avg_rating
FROM fact_games AS g
LEFT JOIN dim_esrb_rating AS e ON e.esrb_rating_key = g.esrb_rating_key
WHERE g.release_year IS NOT NULL
GROUP BY g.release_year, coalesce(e.name, 'Not rated')
ORDER BY year, games DESC, esrb_rating;
