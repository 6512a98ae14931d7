"""Named example queries over the star schema, to run as-is or to start from."""

from __future__ import annotations

from dataclasses import dataclass

from rawgwh.errors import QueryError

__all__ = ["EXAMPLES", "Example", "example"]


@dataclass(frozen=True, slots=True)
class Example:
    """A named query with a one-line description."""

    name: str
    description: str
    sql: str


def _example(name: str, description: str, sql: str) -> Example:
    return Example(name, description, sql.strip())


_EXAMPLES = (
    _example(
        "top-genres",
        "Genres with the most games, and their average rating",
        """
SELECT d.name AS genre, count(*) AS games,
       round(avg(g.rating) FILTER (WHERE g.rating > 0), 2) AS avg_rating
FROM fact_games AS g
JOIN bridge_game_genre AS b ON b.game_id = g.game_id
JOIN dim_genre AS d ON d.genre_key = b.genre_key
GROUP BY d.name
ORDER BY games DESC, genre
LIMIT 20""",
    ),
    _example(
        "platform-trends",
        "Games released per platform and year",
        """
SELECT g.release_year AS year, p.name AS platform, count(DISTINCT g.game_id) AS games
FROM fact_games AS g
JOIN bridge_game_platform AS b ON b.game_id = g.game_id
JOIN dim_platform AS p ON p.platform_key = b.platform_key
WHERE g.release_year IS NOT NULL
GROUP BY year, platform
ORDER BY year, games DESC, platform""",
    ),
    _example(
        "tag-cooccurrence",
        "Pairs of English tags most often found on the same game",
        """
WITH tags AS (
    SELECT DISTINCT b.game_id, t.name AS tag
    FROM bridge_game_tag AS b JOIN dim_tag AS t ON t.tag_key = b.tag_key
    WHERE t.language = 'eng'
)
SELECT a.tag AS tag_a, b.tag AS tag_b, count(*) AS games
FROM tags AS a JOIN tags AS b ON b.game_id = a.game_id AND a.tag < b.tag
GROUP BY tag_a, tag_b
ORDER BY games DESC, tag_a, tag_b
LIMIT 20""",
    ),
    _example(
        "store-coverage",
        "How many games each store sells, and what share of all games that is",
        """
SELECT s.name AS store, count(DISTINCT b.game_id) AS games,
       round(100.0 * count(DISTINCT b.game_id) / (SELECT count(*) FROM fact_games), 1)
           AS pct_of_games
FROM bridge_game_store AS b
JOIN dim_store AS s ON s.store_key = b.store_key
GROUP BY store
ORDER BY games DESC, store""",
    ),
    _example(
        "esrb-mix",
        "ESRB ratings of the games released each year",
        """
SELECT g.release_year AS year, coalesce(e.name, 'Not rated') AS esrb_rating,
       count(*) AS games
FROM fact_games AS g
LEFT JOIN dim_esrb_rating AS e ON e.esrb_rating_key = g.esrb_rating_key
WHERE g.release_year IS NOT NULL
GROUP BY year, esrb_rating
ORDER BY year, games DESC, esrb_rating""",
    ),
    _example(
        "top-rated-by-year",
        "The five best-rated games of each year (at least 20 ratings)",
        """
SELECT release_year AS year,
       row_number() OVER (PARTITION BY release_year ORDER BY rating DESC, ratings_count DESC,
                          game_id) AS rank,
       name, rating, ratings_count, metacritic
FROM fact_games
WHERE release_year IS NOT NULL AND ratings_count >= 20
QUALIFY rank <= 5
ORDER BY year, rank""",
    ),
    _example(
        "release-calendar",
        "Releases per weekday (ISO, Monday = 1), from the date dimension",
        """
SELECT d.weekday, d.day_name, count(*) AS games
FROM fact_games AS g
JOIN dim_date AS d ON d.date_key = g.released_date_key
GROUP BY d.weekday, d.day_name
ORDER BY d.weekday""",
    ),
    _example(
        "most-added",
        "The games most added to RAWG players' libraries",
        """
SELECT name, released, added, added_beaten, added_playing, rating
FROM fact_games
ORDER BY added DESC NULLS LAST, game_id
LIMIT 20""",
    ),
)

#: Examples by name, in the order they are listed.
EXAMPLES: dict[str, Example] = {e.name: e for e in _EXAMPLES}


def example(name: str) -> Example:
    """The example called ``name``; a :class:`QueryError` lists the names otherwise."""
    try:
        return EXAMPLES[name]
    except KeyError:
        raise QueryError(f"no example named {name!r}; try {', '.join(EXAMPLES)}") from None
