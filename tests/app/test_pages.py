"""Pages for everyone: the landing page, the health check and the error pages."""

import re

import pytest
import sqlalchemy
from sqlalchemy.orm import Session

from portal import access, create_app
from portal.extensions import db
from portal.triage.questions import STEPS
from tests.conftest import BASE_CONFIG
from tests.pages import main, text, words


def assert_looks_like_the_site(page: str, app) -> None:
    """The error pages keep the site's header, footer and a way home."""
    assert app.config["CLINIC_NAME"] in page
    assert app.config["CLINIC_PHONE"] in page
    assert 'class="site-header"' in page and 'class="site-footer"' in page
    assert "portal.css" in page
    assert "Go to the home page" in page


def test_landing_page_names_the_clinic_and_the_emergency_number(app, client):
    response = client.get("/")

    assert response.status_code == 200
    page = text(response)
    assert app.config["CLINIC_NAME"] in page
    assert f"call {app.config['EMERGENCY_NUMBER']}" in page.replace("<strong>", "").replace("</strong>", "")
    assert app.config["CLINIC_PHONE"] in page
    assert "Log in" in page and "Find the right visit" in page and "/triage/" in page


def test_landing_page_says_what_the_clinic_helps_with_and_how_the_questions_work(client):
    page = main(client.get("/"))

    assert re.findall(r"<h3>([^<]+)</h3>", page) == ["Restless legs", "Leg veins", "Sleep"]
    how = words(page.split('id="how-it-works"')[1].split("</section>")[0])
    assert "Answer a few short questions" in how
    assert all(visit in how for visit in ("ultrasound scan", "sleep study", "consultation with a doctor"))
    # It explains; it does not diagnose, nor promise what vein treatment cannot be shown to do.
    assert "They do not give a diagnosis" in words(page)
    assert "we do not promise that it will" in words(page)


def test_the_landing_pages_big_button_starts_the_questions_in_one_click(client):
    page = main(client.get("/"))
    start = re.search(r'<a class="button primary[^"]*" href="([^"]+)">Find the right visit</a>', page)

    assert start, "the first button of the page starts the questions"
    assert page.index(start.group(0)) < page.index("<h2")  # at the top, before anything else to read
    questions = client.get(start.group(1))
    assert questions.status_code == 200
    assert f"<h1>{STEPS[0].title}</h1>" in main(questions)


def test_landing_page_shows_the_clinic_settings(database_url):
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url,
                      "CLINIC_NAME": "Lakeside Legs", "EMERGENCY_NUMBER": "112"})
    try:
        page = text(app.test_client().get("/"))
    finally:
        with app.app_context():
            db.engine.dispose()

    assert "Lakeside Legs" in page
    assert "<strong>112</strong>" in page


def test_healthz_answers_ok(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.is_json
    assert response.get_json()["status"] == "ok"


def test_healthz_answers_503_when_the_database_file_cannot_be_opened(tmp_path):
    app = create_app({**BASE_CONFIG, "PROPAGATE_EXCEPTIONS": False,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'no-such-folder' / 'portal.db'}"})
    try:
        response = app.test_client().get("/healthz")
    finally:
        with app.app_context():
            db.engine.dispose()

    assert response.status_code == 503
    assert response.is_json
    assert response.get_json()["status"] != "ok"


def test_healthz_answers_503_when_the_database_errors(client, monkeypatch):
    def unreachable(self, *args, **kwargs):
        raise sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(Session, "execute", unreachable)
    client.application.config["PROPAGATE_EXCEPTIONS"] = False

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.get_json()["status"] != "ok"


def test_unknown_page_gives_404_in_the_site_look(app, client):
    response = client.get("/no-such-page")

    assert response.status_code == 404
    page = text(response)
    assert "We could not find that page" in page
    assert_looks_like_the_site(page, app)


def test_a_failing_view_gives_500_in_the_site_look(app, client, monkeypatch):
    @app.get("/test-only/boom")
    def boom():
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(access, "PUBLIC", access.PUBLIC | {"boom"})  # a page nobody listed is refused
    app.config["PROPAGATE_EXCEPTIONS"] = False

    response = client.get("/test-only/boom")

    assert response.status_code == 500
    page = text(response)
    assert "Something went wrong on our side" in page
    assert "Nothing was changed" in page
    assert "secret internal detail" not in page and "Traceback" not in page
    assert_looks_like_the_site(page, app)


@pytest.mark.parametrize("method, url, status, title", [
    ("get", "/auth/logout", 405, "That did not work"),
    ("post", "/auth/login", 400, "This form has expired"),
])
def test_other_errors_keep_the_site_look(app, client, method, url, status, title):
    response = getattr(client, method)(url)

    assert response.status_code == status
    page = text(response)
    assert title in page
    assert_looks_like_the_site(page, app)


def test_form_fields_carry_no_empty_aria_attributes(client):
    page = client.get("/auth/register").get_data(as_text=True)
    assert '="None"' not in page
    assert 'aria-describedby="email-help"' in page
    from tests.client import submit
    bad = submit(client, "/auth/register", {"email": "nope"}).get_data(as_text=True)
    assert 'aria-invalid="true"' in bad and '="None"' not in bad
