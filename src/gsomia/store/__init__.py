"""Storage adapters behind :mod:`gsomia.services.ports`: memory, SQLite (default) and PostgreSQL."""
