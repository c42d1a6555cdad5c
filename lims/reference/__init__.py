"""Reference data: ``loader`` (the shipped CSV/TOML files into the database, idempotent),
``editor`` (validated edits of thresholds, methods, kits and profiles, with history) and
``lookup`` (names in Chinese or English → rows, MRL look-up by edition)."""
