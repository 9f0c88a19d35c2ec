"""Persistence at the edge: the twin's history in a relational database (SQLAlchemy 2 + Alembic).

SQLite by default (``sqlite:///yxy.db``), PostgreSQL through ``YXY_DATABASE_URL``.
The twin itself stays pure; a feed subscriber writes here.
"""
