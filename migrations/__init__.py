"""One Alembic history for bot, pipeline and cmmsconnect (env.py combines their metadata)."""
