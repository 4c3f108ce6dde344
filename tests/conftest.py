"""Fixtures: an app on a freshly migrated database per test, with CSRF on.

Each test gets a database of its own, copied from one migrated once per run:
SQLite (default): a template file copied into the test's temporary folder.
PostgreSQL (TEST_DATABASE_URL set): CREATE DATABASE ... TEMPLATE on that server, dropped after
the test; nothing is left behind on the server when the run ends.
"""
import os
import shutil
import uuid

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade
from sqlalchemy.engine import make_url

from portal import create_app
from portal.extensions import db
from tests.client import AuthActions, OwnContextClient

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
BASE_CONFIG = {"TESTING": True, "SECRET_KEY": "test-secret", "WTF_CSRF_ENABLED": True,
               "CLINIC_TIMEZONE": "America/Chicago", "BOOKING_MIN_NOTICE_MINUTES": 60,
               "BOOKING_HORIZON_DAYS": 90,
               # Every test logs in from 127.0.0.1; the limits have tests of their own that turn them on.
               "RATELIMIT_ENABLED": False}


def make_app(url: str, **config):
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": url, **config})
    app.test_client_class = OwnContextClient
    return app


def migrate_empty_database(url: str) -> None:
    app = make_app(url)
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def postgres_server():
    """An AUTOCOMMIT engine on the TEST_DATABASE_URL server, and a migrated template database
    made for this run; both go away at the end."""
    server = make_url(TEST_DATABASE_URL)
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    template = f"portal_template_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{template}"')
    except sa.exc.OperationalError as error:
        admin.dispose()
        if os.environ.get("CI") == "true":
            pytest.exit(f"PostgreSQL at {server.render_as_string()} is not reachable: {error}", returncode=3)
        pytest.skip(f"PostgreSQL not reachable: {error}")
    migrate_empty_database(server.set(database=template).render_as_string(hide_password=False))
    yield admin, server, template
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "portal.db"
    migrate_empty_database(f"sqlite:///{path}")
    return path


@pytest.fixture
def database_url(request, tmp_path):
    """A database of the test's own, migrated, dropped afterwards (a copy of the template)."""
    if TEST_DATABASE_URL:
        admin, server, template = request.getfixturevalue("postgres_server")
        name = f"{template}_{uuid.uuid4().hex[:6]}"
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        yield server.set(database=name).render_as_string(hide_password=False)
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        path = tmp_path / "portal.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"


@pytest.fixture
def new_database(request, tmp_path):
    """Makes databases with no tables at all, as before the first `flask db upgrade`: on the
    suite's PostgreSQL server (dropped after the test), or a SQLite file not yet there."""
    made: list[str] = []

    def make() -> str:
        name = f"portal_empty_{uuid.uuid4().hex[:10]}"
        if not TEST_DATABASE_URL:
            return f"sqlite:///{tmp_path / (name + '.db')}"
        admin, server, _template = request.getfixturevalue("postgres_server")
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        made.append(name)
        return server.set(database=name).render_as_string(hide_password=False)

    yield make
    if made:
        admin, _server, _template = request.getfixturevalue("postgres_server")
        with admin.connect() as connection:
            for name in made:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def empty_database_url(new_database):
    """One database with no tables (see new_database)."""
    return new_database()


@pytest.fixture
def app(database_url):
    app = make_app(database_url)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def runner(app):
    return app.test_cli_runner()
