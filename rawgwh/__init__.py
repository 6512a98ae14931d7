"""rawgwh: a local-first warehouse for RAWG video-game data."""
