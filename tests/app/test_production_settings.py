"""PORTAL_ENV=production: no demo data, no demo accounts, no made-up secret key; migrations still run."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from portal import create_app
from portal.auth.models import Role, User
from portal.demo import seed_demo_command
from portal.extensions import db
from tests import factories

REPOSITORY = Path(__file__).resolve().parents[2]
GOOD_KEY = "k" * 64


@pytest.fixture
def production(monkeypatch):
    """The environment of a production server: PORTAL_ENV and a proper SECRET_KEY, not under `flask`."""
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", GOOD_KEY)
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/0")  # shared by every process
    monkeypatch.delenv("FLASK_RUN_FROM_CLI", raising=False)


def production_app(url: str, **config):
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, **config})
    app.test_client().get("/")  # a request, so the end of its context gives the connection back
    with app.app_context():
        db.engine.dispose()
    return app


def test_production_will_not_start_without_a_secret_key(database_url, production, monkeypatch):
    monkeypatch.delenv("SECRET_KEY")
    with pytest.raises(RuntimeError, match="SECRET_KEY is not set.*secrets.token_urlsafe"):
        create_app({"SQLALCHEMY_DATABASE_URI": database_url})


def test_production_will_not_start_with_a_short_secret_key(database_url, production, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "changeme")
    with pytest.raises(RuntimeError, match="SECRET_KEY is shorter than 32"):
        create_app({"SQLALCHEMY_DATABASE_URI": database_url})


def test_an_unknown_portal_env_is_refused(database_url, monkeypatch):
    monkeypatch.setenv("PORTAL_ENV", "prod")
    with pytest.raises(RuntimeError, match="PORTAL_ENV='prod'"):
        create_app({"SQLALCHEMY_DATABASE_URI": database_url})


def test_development_is_the_default(database_url, monkeypatch):
    monkeypatch.delenv("PORTAL_ENV", raising=False)
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "test-secret"})
    assert app.config["PORTAL_ENV"] == "development"


def test_production_starts_with_a_secret_key_and_no_demo_accounts(database_url, production):
    app = production_app(database_url)
    assert app.config["SECRET_KEY"] == GOOD_KEY
    assert app.test_client().get("/auth/login").status_code == 200


@pytest.mark.parametrize("email", ["admin@example.com", "patient@example.com", "alice.week@example.com"])
def test_production_will_not_start_while_a_demo_account_exists(app, database_url, production, email):
    factories.make_user(email=email, role=Role.ADMIN)
    db.session.remove()
    with pytest.raises(RuntimeError, match=f"demo accounts with published passwords \\({email}\\).*PORTAL_ENV"):
        create_app({"SQLALCHEMY_DATABASE_URI": database_url})


def test_production_starts_before_the_first_migration(empty_database_url, production):
    """A new server is often started before `flask db upgrade`: no tables is not a demo account."""
    app = production_app(empty_database_url)
    assert app.config["PORTAL_ENV"] == "production"


def test_under_the_flask_command_demo_accounts_are_refused_at_the_first_request(app, database_url, production,
                                                                                  monkeypatch):
    """`flask db upgrade` must make the app on a database with demo accounts; `flask run` must not serve it."""
    factories.make_user(email="desk@example.com", role=Role.DESK)
    db.session.remove()
    monkeypatch.setenv("FLASK_RUN_FROM_CLI", "true")
    served = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True})
    with pytest.raises(RuntimeError, match="desk@example.com"):
        served.test_client().get("/auth/login")


@pytest.mark.parametrize("args", [["seed-demo"], ["seed-demo", "--if-empty"]])
def test_seed_demo_refuses_in_production_and_writes_nothing(database_url, production, args):
    app = production_app(database_url)
    result = app.test_cli_runner().invoke(seed_demo_command, args[1:])
    assert result.exit_code != 0
    assert "refuses to run with PORTAL_ENV=production" in result.output
    assert "Nothing was written" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 0
        db.engine.dispose()


def _flask(*args: str, database_url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PORTAL_ENV": "production", "SECRET_KEY": GOOD_KEY, "DATABASE_URL": database_url}
    env.pop("FLASK_RUN_FROM_CLI", None)
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=REPOSITORY, env=env,
                          capture_output=True, text=True, timeout=120)


def test_flask_db_upgrade_works_in_production(empty_database_url):
    """The real command, as the README's production section runs it, on a database with no tables."""
    result = _flask("db", "upgrade", database_url=empty_database_url)
    assert result.returncode == 0, result.stderr
    engine = sa.create_engine(empty_database_url)
    try:
        assert sa.inspect(engine).has_table("user_account")
    finally:
        engine.dispose()


def test_flask_db_upgrade_works_in_production_while_demo_accounts_exist(app, database_url):
    """The start check must not stand in the way of the migrations (the fix may need one)."""
    factories.make_user(email="doctor@example.com", role=Role.DOCTOR)
    db.session.remove()
    result = _flask("db", "upgrade", database_url=database_url)
    assert result.returncode == 0, result.stderr


def test_seed_demo_command_refuses_in_production(empty_database_url):
    """`flask seed-demo` itself, the way a person would type it: a clear refusal and a failing exit code."""
    assert _flask("db", "upgrade", database_url=empty_database_url).returncode == 0
    result = _flask("seed-demo", database_url=empty_database_url)
    assert result.returncode != 0
    assert "refuses to run with PORTAL_ENV=production" in result.stderr
    engine = sa.create_engine(empty_database_url)
    try:
        with engine.connect() as connection:
            assert connection.scalar(select(func.count()).select_from(User)) == 0
    finally:
        engine.dispose()
