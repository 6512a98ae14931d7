-- Releases by month and weekday (ISO, Monday = 1), with each weekday's share of the month.
SELECT
    d.month,
    d.month_name,
    d.weekday,
    d.day_name,
    d.is_weekend,
    count(*) AS games,
    round(100.0 * count(*) / sum(count(*)) OVER (PARTITION BY d.month), 2) AS pct_of_month,
    round(avg(g.rating) FILTER (WHERE g.rating > 0), 4) AS avg_rating
FROM fact_games AS g
JOIN dim_date AS d ON d.date_key = g.released_date_key
GROUP BY d.month, d.month_name, d.weekday, d.day_name, d.is_weekend
ORDER BY d.month, d.weekday;
