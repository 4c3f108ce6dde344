"""A scratch database for a benchmark: a temporary SQLite file by default, or with
DATABASE_URL=postgresql+psycopg://... a database of its own on that server, dropped afterwards."""
import os
import tempfile
import uuid
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import make_url


def scratch_database() -> tuple[str, Callable[[], None]]:
    """A URL for an empty database, and a function that removes it."""
    server = os.environ.get("DATABASE_URL")
    if not server or server.startswith("sqlite"):
        folder = tempfile.TemporaryDirectory()
        return f"sqlite:///{folder.name}/bench.db", folder.cleanup
    url = make_url(server)
    name = f"portal_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop():
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop
