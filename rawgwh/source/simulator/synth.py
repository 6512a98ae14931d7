"""Synthetic RAWG games: deterministic from a seed, shaped like real list records.

Calibrated on 10,000 real games of 2015 (data from RAWG, rawg.io) and the contract's
30,000-game figures. A game's JSON is a small per-game header (id, name, dates, counters,
rendered on demand from columns and a hash of the id) spliced onto one of a few thousand
pre-serialised bodies (platforms, stores, tags, ...), so a million games take tens of
megabytes and a page costs a few string joins.
"""

from __future__ import annotations

import random
from bisect import bisect
from itertools import accumulate
from typing import Any

import orjson

from rawgwh.source.simulator.catalog import (
    NULL_DAY,
    NULL_INT,
    Catalog,
    fmt_day,
    fmt_ts,
    parse_ts,
    to_days,
)

__all__ = ["SyntheticCatalog", "PLATFORMS", "STORES", "GENRES", "ESRB"]

# Calibration, measured on the 2015 sample (10,000 games) unless noted.
P_PLATFORMS_NULL = 0.042
PLATFORM_COUNTS = {1: 739, 2: 122, 3: 102, 4: 22, 5: 8, 6: 4, 7: 2, 8: 1}  # given not null
P_STORES_NULL = 0.038
STORE_COUNTS = {1: 933, 2: 43, 3: 13, 4: 6, 5: 3, 6: 1}
GENRE_COUNTS = {0: 170, 1: 454, 2: 271, 3: 75, 4: 19, 5: 8, 6: 3}  # mean 1.3
TAG_COUNTS = [  # games with 0, 1, 2, ... tags (mean 5.9; contract 5.6)
    985,
    887,
    1090,
    1206,
    1060,
    949,
    684,
    545,
    504,
    507,
    421,
    150,
    132,
    108,
    90,
    64,
    59,
    64,
    44,
    36,
    52,
    25,
    24,
    14,
    16,
    23,
    14,
    14,
    15,
    12,
    13,
    12,
    10,
    8,
    10,
    12,
    16,
    16,
    13,
    17,
    14,
]
P_ESRB = 0.18  # contract (the 2015 sample: 0.23)
ESRB_WEIGHTS = {2: 1686, 3: 377, 4: 147, 1: 49, 5: 23}
P_METACRITIC = 0.012  # contract says 1%, the sample 1.9%
P_NO_IMAGE = 0.08  # no background image and no screenshots
SCREENSHOT_COUNTS = {2: 168, 3: 66, 4: 130, 5: 135, 6: 182, 7: 236}
P_RELEASED_NULL = 0.03
P_ADDED = 0.20
P_RATED = 0.05  # rating > 0; ratings_count > 0 for 12%
P_RATINGS_COUNT = 0.12
P_MASS_UPDATE = 0.75  # of games created before it: half the sample shares this `updated`
MASS_UPDATE = parse_ts("2019-01-09T12:41:06")
N_TAGS = 9300
P_TAG_RUS = 0.15
NOW = parse_ts("2025-11-20T12:00:00")  # synthetic "now": fixed, so output is reproducible
CREATED_FROM = parse_ts("2016-06-01T00:00:00")
YEARS = range(1975, 2031)
ERA_YEARS = 5  # one body pool per 5 release years, so platforms fit the era

# (id, name, slug, parent id, first year, last year, weight); ids and names as RAWG has them.
PLATFORMS = [
    (4, "PC", "pc", 1, 1980, 2030, 49),
    (3, "iOS", "ios", 4, 2008, 2030, 33),
    (5, "macOS", "macos", 5, 2001, 2030, 17),
    (171, "Web", "web", 14, 1996, 2030, 14),
    (6, "Linux", "linux", 6, 1999, 2030, 12),
    (21, "Android", "android", 8, 2009, 2030, 7),
    (18, "PlayStation 4", "playstation4", 2, 2013, 2023, 5),
    (1, "Xbox One", "xbox-one", 3, 2013, 2023, 4),
    (7, "Nintendo Switch", "nintendo-switch", 7, 2017, 2030, 4),
    (187, "PlayStation 5", "playstation5", 2, 2020, 2030, 3),
    (186, "Xbox Series S/X", "xbox-series-x", 3, 2020, 2030, 3),
    (10, "Wii U", "wii-u", 7, 2012, 2017, 1),
    (16, "PlayStation 3", "playstation3", 2, 2006, 2016, 3),
    (19, "PS Vita", "ps-vita", 2, 2011, 2019, 1),
    (14, "Xbox 360", "xbox360", 3, 2005, 2016, 3),
    (8, "Nintendo 3DS", "nintendo-3ds", 7, 2011, 2020, 1),
    (55, "Classic Macintosh", "macintosh", 5, 1984, 2001, 2),
    (17, "PSP", "psp", 2, 2004, 2014, 1),
    (15, "PlayStation 2", "playstation2", 2, 2000, 2013, 3),
    (24, "Game Boy Advance", "game-boy-advance", 7, 2001, 2008, 2),
    (11, "Wii", "wii", 7, 2006, 2013, 2),
    (9, "Nintendo DS", "nintendo-ds", 7, 2004, 2013, 2),
    (27, "PlayStation", "playstation1", 2, 1994, 2005, 3),
    (80, "Xbox", "xbox-old", 3, 2001, 2008, 2),
    (83, "Nintendo 64", "nintendo-64", 7, 1996, 2002, 2),
    (79, "SNES", "snes", 7, 1990, 1998, 3),
    (49, "NES", "nes", 7, 1983, 1995, 3),
    (23, "Atari 2600", "atari-2600", 9, 1975, 1992, 3),
]
PARENTS = {
    1: ("PC", "pc"), 2: ("PlayStation", "playstation"), 3: ("Xbox", "xbox"), 4: ("iOS", "ios"),
    5: ("Apple Macintosh", "mac"), 6: ("Linux", "linux"), 7: ("Nintendo", "nintendo"),
    8: ("Android", "android"), 9: ("Atari", "atari"), 14: ("Web", "web"),
}  # fmt: skip
# (id, name, slug, domain, weight, parent platforms it sells for)
STORES = [
    (9, "itch.io", "itch", "itch.io", 54, {1, 5, 6, 14}),
    (4, "App Store", "apple-appstore", "apps.apple.com", 32, {4}),
    (1, "Steam", "steam", "store.steampowered.com", 11, {1, 5, 6}),
    (8, "Google Play", "google-play", "play.google.com", 3, {8}),
    (3, "PlayStation Store", "playstation-store", "store.playstation.com", 2, {2}),
    (6, "Nintendo Store", "nintendo", "nintendo.com", 2, {7}),
    (2, "Xbox Store", "xbox-store", "microsoft.com", 1.5, {3}),
    (5, "GOG", "gog", "gog.com", 0.8, {1, 5, 6}),
    (7, "Xbox 360 Store", "xbox360", "marketplace.xbox.com", 0.3, {3}),
    (11, "Epic Games", "epic-games", "epicgames.com", 0.2, {1}),
]
GENRES = [
    (4, "Action", "action", 224), (3, "Adventure", "adventure", 156),
    (7, "Puzzle", "puzzle", 126), (14, "Simulation", "simulation", 119),
    (11, "Arcade", "arcade", 90), (10, "Strategy", "strategy", 82), (51, "Indie", "indie", 82),
    (5, "RPG", "role-playing-games-rpg", 80), (83, "Platformer", "platformer", 76),
    (40, "Casual", "casual", 71), (2, "Shooter", "shooter", 57), (15, "Sports", "sports", 53),
    (1, "Racing", "racing", 51), (19, "Family", "family", 35),
    (28, "Board Games", "board-games", 26), (17, "Card", "card", 14),
    (6, "Fighting", "fighting", 8), (34, "Educational", "educational", 7),
    (59, "Massively Multiplayer", "massively-multiplayer", 4),
]  # fmt: skip
ESRB = {
    1: ("Everyone", "everyone", "Для всех"),
    2: ("Everyone 10+", "everyone-10-plus", "С 10 лет"),
    3: ("Teen", "teen", "С 13 лет"),
    4: ("Mature", "mature", "С 17 лет"),
    5: ("Adults Only", "adults-only", "Только для взрослых"),
}
# The head of the real tag distribution; the long tail is synthetic.
REAL_TAGS = [
    (31, "Singleplayer", "singleplayer", "eng"), (45, "2D", "2d", "eng"),
    (40847, "Steam Achievements", "steam-achievements", "eng"), (2590, "fun", "fun", "eng"),
    (42392, "Приключение", "prikliuchenie", "rus"), (7, "Multiplayer", "multiplayer", "eng"),
    (40836, "Full controller support", "full-controller-support", "eng"),
    (7808, "steam-trading-cards", "steam-trading-cards", "eng"), (25, "Space", "space", "eng"),
    (42465, "Головоломка", "golovolomka", "rus"), (571, "3D", "3d", "eng"),
    (122, "Pixel Graphics", "pixel-graphics", "eng"), (136, "Music", "music", "eng"),
    (74, "Retro", "retro", "eng"), (42467, "Ретро", "retro-2", "rus"),
    (114, "Physics", "physics", "eng"), (16, "Horror", "horror", "eng"),
    (69, "Action-Adventure", "action-adventure", "eng"), (88, "Cute", "cute", "eng"),
    (40850, "Steam Leaderboards", "steam-leaderboards", "eng"), (4, "Funny", "funny", "eng"),
    (72, "Local Multiplayer", "local-multiplayer", "eng"), (652, "8-Bit", "8-bit", "eng"),
]  # fmt: skip
_WORDS = [
    "shadow",
    "crimson",
    "iron",
    "star",
    "lost",
    "last",
    "dark",
    "neon",
    "pixel",
    "silent",
    "broken",
    "wild",
    "hidden",
    "ancient",
    "frozen",
    "golden",
    "hollow",
    "infinite",
    "little",
    "mad",
    "rogue",
    "secret",
    "steel",
    "stormy",
    "velvet",
    "wandering",
    "quest",
    "legend",
    "kingdom",
    "island",
    "dungeon",
    "knight",
    "galaxy",
    "tower",
    "garden",
    "empire",
    "odyssey",
    "hunter",
    "echo",
    "forest",
    "ocean",
    "planet",
    "circuit",
    "dragon",
    "city",
    "road",
    "runner",
    "rebel",
    "saga",
    "tales",
    "heart",
]
_RUS = [
    "тень",
    "звезда",
    "лес",
    "город",
    "дракон",
    "путь",
    "море",
    "небо",
    "ночь",
    "свет",
    "огонь",
    "мир",
]
_GLYPHS = ["ドラゴン", "物語", "星の", "Ωmega", "Ünïcødé", "✦", "🎮"]
_RATING_TITLES = {5: "exceptional", 4: "recommended", 3: "meh", 1: "skip"}
_MASK = (1 << 64) - 1
_QUOTED_MARK = b'"\\u0000R\\u0000"'  # a released_at placeholder inside a body


def _mix(x: int) -> int:
    """splitmix64: cheap, well-spread per-game bits from (seed, id)."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def _pick(rng: random.Random, weights: dict[int, int]) -> int:
    return rng.choices(list(weights), list(weights.values()))[0]


def _image(rng: random.Random, kind: str) -> str:
    h = rng.getrandbits(128)
    return f"https://media.rawg.io/media/{kind}/{h >> 116:03x}/{h:032x}.jpg"


def _slug(text: str) -> str:
    out = "".join(c if c.isascii() and c.isalnum() else "-" for c in text.lower())
    return "-".join(p for p in out.split("-") if p)


class _Vocab:
    """Tags: the real head plus a Zipf-shaped synthetic tail, and their sampler."""

    def __init__(self, rng: random.Random) -> None:
        self.tags: list[dict[str, Any]] = []
        for rank in range(N_TAGS):
            if rank < len(REAL_TAGS):
                tid, name, slug, lang = REAL_TAGS[rank]
            else:
                rus = rng.random() < P_TAG_RUS
                words = rng.sample(_RUS if rus else _WORDS, 2)
                name = " ".join(words).capitalize()
                tid, slug, lang = (
                    50000 + rank,
                    f"{_slug(name) or 'tag'}-{rank}",
                    "rus" if rus else "eng",
                )
            count = int(250_000 / (rank + 1) ** 1.05) + rng.randint(1, 50)
            self.tags.append(
                {"id": tid, "name": name, "slug": slug, "language": lang,
                 "games_count": count, "image_background": _image(rng, "games")}
            )  # fmt: skip
        self.cum = list(accumulate(1 / (r + 3) ** 0.8 for r in range(N_TAGS)))


class SyntheticCatalog(Catalog):
    """``n_games`` synthetic games, identical for the same seed."""

    def __init__(self, n_games: int, *, seed: int = 0, pool: int | None = None) -> None:
        super().__init__(now=NOW, seed=seed)
        self.seed = seed
        rng = random.Random(f"rawgwh-synth:{seed}")
        self._vocab = _Vocab(rng)
        eras = (len(YEARS) + ERA_YEARS - 1) // ERA_YEARS
        size = max(8, min(pool or 8192, n_games) // eras)
        self.bodies: list[list[bytes]] = []
        for era in range(eras):
            for _ in range(size):
                self._add_body(rng, YEARS[0] + era * ERA_YEARS)
        self._era_size = size
        self._year_cum = list(accumulate(self._year_weight(y) for y in YEARS))
        self._next_id = 0
        self._generate(n_games, rng, created_from=CREATED_FROM, created_to=NOW - 86400)

    @staticmethod
    def _year_weight(year: int) -> float:
        # Roughly RAWG's shape: growth to a plateau around 2018-2023, few announced games.
        if year <= 2021:
            return float(1.14 ** (year - 1975))
        return float(1.14**46 * (0.8 ** (year - 2021)))

    def _add_body(self, rng: random.Random, era_start: int) -> None:
        year = era_start + rng.randrange(ERA_YEARS)
        live = [p for p in PLATFORMS if p[4] <= year <= p[5]] or PLATFORMS[:1]
        body: dict[str, Any] = {}
        plats: list[tuple[Any, ...]] = []
        if rng.random() >= P_PLATFORMS_NULL:
            k = min(_pick(rng, PLATFORM_COUNTS), len(live))
            while len(plats) < k:
                p = rng.choices(live, [q[6] for q in live])[0]
                if p not in plats:
                    plats.append(p)
        parents = sorted({p[3] for p in plats})
        body["platforms"] = [
            {"platform": {"id": p[0], "name": p[1], "slug": p[2]}, "released_at": "\0R\0",
             "requirements_en": None, "requirements_ru": None} for p in plats
        ] or None  # fmt: skip
        body["parent_platforms"] = [
            {"platform": {"id": i, "name": PARENTS[i][0], "slug": PARENTS[i][1]}} for i in parents
        ] or None
        stores: list[tuple[Any, ...]] = []
        if rng.random() >= P_STORES_NULL:
            k = _pick(rng, STORE_COUNTS)
            fits = [s for s in STORES if s[5] & set(parents)] or STORES
            while len(stores) < min(k, len(fits)):
                s = rng.choices(fits, [q[4] for q in fits])[0]
                if s not in stores:
                    stores.append(s)
        body["stores"] = [
            {"id": rng.randrange(1, 10_000_000),
             "store": {"id": s[0], "name": s[1], "slug": s[2], "domain": s[3]}} for s in stores
        ] or None  # fmt: skip
        k = _pick(rng, GENRE_COUNTS)
        genres = sorted(set(rng.choices(GENRES, [g[3] for g in GENRES], k=k)), key=GENRES.index)
        body["genres"] = [{"id": g[0], "name": g[1], "slug": g[2]} for g in genres]
        k = rng.choices(range(len(TAG_COUNTS)), TAG_COUNTS)[0]
        tags: set[int] = set()
        while len(tags) < k:
            tags.add(bisect(self._vocab.cum, rng.random() * self._vocab.cum[-1]))
        body["tags"] = [self._vocab.tags[min(t, N_TAGS - 1)] for t in sorted(tags)]
        esrb = _pick(rng, ESRB_WEIGHTS) if rng.random() < P_ESRB else None
        body["esrb_rating"] = (
            None if esrb is None
            else {"id": esrb, "name": ESRB[esrb][0], "slug": ESRB[esrb][1],
                  "name_en": ESRB[esrb][0], "name_ru": ESRB[esrb][2]}
        )  # fmt: skip
        if rng.random() < P_NO_IMAGE:
            body["background_image"], body["short_screenshots"] = None, []
        else:
            bg = _image(rng, "screenshots")
            shots = [{"id": -1, "image": bg}]
            base = rng.randrange(1, 4_000_000)
            for i in range(_pick(rng, SCREENSHOT_COUNTS) - 1):
                shots.append({"id": base + i, "image": _image(rng, "screenshots")})
            body["background_image"], body["short_screenshots"] = bg, shots
        body.update(saturated_color="0f0f0f", dominant_color="0f0f0f", clip=None, user_game=None)
        blob = orjson.dumps(body)[1:]  # joined after a header that ends with ","
        self.bodies.append(blob.split(_QUOTED_MARK))
        self.groups.append(
            (
                frozenset(p[0] for p in plats),
                frozenset(s[0] for s in stores),
                frozenset(g[0] for g in genres),
                frozenset(t["id"] for t in body["tags"]),
            )
        )

    def _generate(self, n: int, rng: random.Random, *, created_from: int, created_to: int) -> None:
        rnd = rng.random
        years = rng.choices(YEARS, cum_weights=self._year_cum, k=n)
        span = max(created_to - created_from, 1)
        base_days = [to_days(f"{y}-01-01") for y in YEARS]
        for i, year in enumerate(years):
            self._next_id += 1 + (int(rnd() * 8) if rnd() < 0.1 else 0)
            gid = self._next_id
            created = created_from + span * i // max(n, 1)
            if rnd() < P_RELEASED_NULL:
                released = NULL_DAY
                era = rng.randrange(len(self.bodies) // self._era_size)
            else:
                released = base_days[year - YEARS[0]] + int(rnd() * 365)
                era = (year - YEARS[0]) // ERA_YEARS
            if created <= MASS_UPDATE and rnd() < P_MASS_UPDATE:
                updated = MASS_UPDATE
            else:
                updated = created + int((NOW - created) * rnd() ** 2)
            added = int(2.718 ** (rnd() * 9)) if rnd() < P_ADDED else 0
            rating = round(1 + 4 * rnd(), 2) if rnd() < P_RATED else 0.0
            meta = int(45 + 50 * rnd()) if rnd() < P_METACRITIC else NULL_INT
            group = era * self._era_size + int(rnd() * self._era_size)
            self._append(gid, released, updated, created, added, rating, meta, group)

    def _new_rows(self, n: int, rng: random.Random) -> None:
        ts = self.next_ts()
        self._generate(n, rng, created_from=ts, created_to=ts + n)
        for row in range(len(self.ids) - n, len(self.ids)):
            self.updated[row] = self.created[row] = self.next_ts()

    def name(self, row: int) -> str:
        return self._title(self.ids[row])[0]

    def _title(self, gid: int) -> tuple[str, str]:
        """A game's name and slug, from a hash of (seed, id)."""
        h = _mix(self.seed * 1_000_003 + gid)
        a, b, c = _WORDS[h % 48], _WORDS[(h >> 8) % 48], _WORDS[(h >> 16) % 48]
        form = (h >> 24) % 8
        if form < 3:
            name, slug = f"{a.title()} {b.title()}", f"{a}-{b}-{gid}"
        elif form < 5:
            name, slug = f"{b.title()} of the {c.title()}", f"{b}-of-the-{c}-{gid}"
        elif form == 5:
            n = (h >> 28) % 5 + 2
            name, slug = f"{a.title()} {b.title()} {n}", f"{a}-{b}-{n}-{gid}"
        elif form == 6:
            name, slug = f"{c.title()}: {a.title()} {b.title()}", f"{c}-{a}-{b}-{gid}"
        else:
            name, slug = f"{a.upper()} {c.title()}", f"{a}-{c}-{gid}"
        if (h >> 32) % 100 < 3:  # ~3% of real names are not ASCII
            name += f" {_GLYPHS[(h >> 36) % len(_GLYPHS)]} {_RUS[(h >> 40) % len(_RUS)]}"
        return name, slug

    def render(self, row: int) -> bytes:
        gid = self.ids[row]
        h = _mix(self.seed * 1_000_003 + gid)
        name, slug = self._title(gid)
        day = self.released[row]
        released = b"null" if day == NULL_DAY else b'"%s"' % fmt_day(day).encode()
        tba = b"true" if day == NULL_DAY and h & 1 else b"false"
        rating = self.rating[row]
        added = self.added[row]
        h2 = h >> 8
        ratings_count = 1 + h2 % 40 if rating > 0 else (1 + h2 % 3 if h2 % 100 < 7 else 0)
        top = 0 if rating == 0 else (5 if rating >= 4.5 else 4 if rating >= 3.5 else 3)
        if rating and rating < 2:
            top = 1
        ratings = b"[]"
        if ratings_count:
            first = (ratings_count * 2 + 2) // 3
            parts = [(top or 3, first), (1 if top != 1 else 3, ratings_count - first)]
            ratings = orjson.dumps(
                [{"id": i, "title": _RATING_TITLES[i], "count": c,
                  "percent": round(100 * c / ratings_count, 2)} for i, c in parts if c]
            )  # fmt: skip
        status = b"null"
        if added:
            owned = added * 6 // 10
            rest = added - owned
            status = orjson.dumps(
                {"yet": rest // 3 or None, "owned": owned or None, "beaten": rest // 4 or None,
                 "toplay": rest - rest // 3 - rest // 4 or None, "dropped": None, "playing": None}
            )  # fmt: skip
        meta = self.metacritic[row]
        community = h >> 20 & 31
        head = b'{"id":%d,"slug":"%s","name":%s,"released":%s,"tba":%s,"updated":"%s",' % (
            gid, slug.encode(), orjson.dumps(name), released, tba,
            fmt_ts(self.updated[row]).encode(),
        )  # fmt: skip
        head += (
            b'"rating":%r,"rating_top":%d,"ratings":%s,"ratings_count":%d,"reviews_count":%d,'
            b'"reviews_text_count":%d,"added":%d,"added_by_status":%s,"metacritic":%s,'
            b'"playtime":%d,"suggestions_count":%d,"score":null,%s'
        ) % (
            rating, top, ratings, ratings_count, ratings_count + (h >> 30) % 2,
            (h >> 32) % 3 if ratings_count else 0, added, status,
            b"null" if meta == NULL_INT else b"%d" % meta,
            (h >> 36) % 30 if (h >> 44) % 10 == 0 else 0, (h >> 48) % 400,
            b"" if community == 0 else b'"community_rating":null,' if community < 3
            else b'"community_rating":0.0,',
        )  # fmt: skip
        return head + released.join(self.bodies[self.group[row]])
