"""The database: ``engine`` (engines and sessions; SQLite in WAL mode, PostgreSQL),
``schema`` (Alembic upgrades), ``bulk`` (one-DBAPI-call bulk writes for the hot paths) and
``partition`` (monthly partitions of test_result on PostgreSQL)."""
