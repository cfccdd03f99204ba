"""One suite, three stores: memory, SQLite and PostgreSQL must all keep the same contract."""
