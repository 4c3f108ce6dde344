"""Connection pool settings come from the environment (portal/config.py pool_options)."""
import pytest

from portal.config import pool_options

POSTGRES = "postgresql+psycopg://portal@db.internal/portal"


def settings(**env):
    return pool_options(env.get)


def test_sqlite_gets_no_pool_settings():
    assert settings() == {}
    assert settings(DATABASE_URL="sqlite:////srv/portal.db", DB_POOL_SIZE="9") == {}


def test_postgresql_defaults_suit_sync_workers():
    assert settings(DATABASE_URL=POSTGRES) == {"pool_size": 2, "max_overflow": 3, "pool_timeout": 10,
                                               "pool_recycle": 1800, "pool_pre_ping": True}


def test_each_setting_is_read():
    assert settings(DATABASE_URL=POSTGRES, DB_POOL_SIZE="7", DB_MAX_OVERFLOW="0", DB_POOL_TIMEOUT="3",
                    DB_POOL_RECYCLE="0", DB_POOL_PRE_PING="0") == {
        "pool_size": 7, "max_overflow": 0, "pool_timeout": 3, "pool_recycle": -1, "pool_pre_ping": False}


@pytest.mark.parametrize("name, value", [("DB_POOL_SIZE", "ten"), ("DB_MAX_OVERFLOW", "-1"),
                                         ("DB_POOL_RECYCLE", "1.5")])
def test_a_bad_value_stops_the_start_with_its_name(name, value):
    with pytest.raises(RuntimeError, match=name):
        settings(DATABASE_URL=POSTGRES, **{name: value})


def test_the_app_uses_them(monkeypatch, tmp_path):
    from portal import create_app
    from portal.extensions import db

    monkeypatch.setenv("DATABASE_URL", POSTGRES)
    monkeypatch.setenv("DB_POOL_SIZE", "4")
    monkeypatch.setenv("DB_POOL_RECYCLE", "600")
    app = create_app({"SECRET_KEY": "x" * 40})
    with app.app_context():
        pool = db.engine.pool  # made without connecting
        assert (pool.size(), pool._recycle, pool._pre_ping) == (4, 600, True)
        assert db.engine.hide_parameters
