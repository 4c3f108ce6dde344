"""Fixtures of the browser suite: Debian's Chromium through Playwright, axe-core from npm, and the
real portal on a loopback port, one per screen size.

The suite runs only with E2E=1 (`make test-e2e`, which `.ci/run` calls); `make test` skips it.
Chromium is launched by its path (/usr/bin/chromium, `apt-get install chromium`), never
downloaded by Playwright. Each size gets a portal of its own, a copy of one seeded database, and
its journeys run in story order there: the patient's, the emergency, the desk's, the doctor's,
then the admin reading what the desk and the doctor did.
"""
import os
from pathlib import Path

import pytest

from tests.e2e.accessibility import axe_source
from tests.e2e.journey import SIZES, Journey
from tests.e2e.live_portal import seed_database, start_portal, suite_clinic_zone

RUN_E2E = os.environ.get("E2E") == "1"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
E2E_FOLDER = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    """Everything under tests/e2e is a browser test: marked e2e, and skipped unless E2E=1."""
    skip = pytest.mark.skip(reason="the browser suite runs with E2E=1: make test-e2e")
    for item in items:
        if E2E_FOLDER in item.path.parents:
            item.add_marker(pytest.mark.e2e)
            if not RUN_E2E:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def axe() -> str:
    return axe_source()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install -y chromium (or set CHROMIUM to its path)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def clinic_zone() -> str:
    return suite_clinic_zone()


@pytest.fixture(scope="session")
def seeded_database(tmp_path_factory, clinic_zone) -> Path:
    """Migrated, with the demo data and the suite's people: copied for each portal."""
    database = tmp_path_factory.mktemp("e2e-template") / "portal.db"
    seed_database(database, clinic_zone)
    return database


@pytest.fixture(scope="session", params=list(SIZES))
def size(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def portal(size, seeded_database, clinic_zone, tmp_path_factory):
    running = start_portal(seeded_database, tmp_path_factory.mktemp(f"e2e-{size}"), clinic_zone)
    yield running
    running.stop()


@pytest.fixture
def journey(browser, portal, size, axe):
    """open(name) -> a Journey in a browser of its own (no cookies shared) at this size; use it as
    `with journey("...") as j:` so its verdict is given when the walk ends."""
    contexts = []

    def open_journey(name: str) -> Journey:
        context = browser.new_context(viewport=SIZES[size], accept_downloads=True, locale="en-US",
                                      timezone_id=portal.zone)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return Journey(context, portal, name, size, axe)

    yield open_journey
    for context in contexts:
        context.close()

