"""Durable state behind small interfaces; SQLite (through aiosqlite) is the embedded default."""
