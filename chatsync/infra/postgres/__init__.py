"""PostgreSQL tables (SQLAlchemy models) and the stores built on them, one module per concern."""
