"""App-test fixtures on top of tests/conftest.py: every request gets its own app context.

tests/conftest.py keeps one app context pushed for the whole test, and Flask reuses a pushed
app context for a request instead of making a new one. `g` (where Flask-Login caches
current_user) and the database session would then carry over from one request to the next and
from one test client to another: a second, anonymous client was served the first patient's
appointments. A server gives each request a fresh context; so does this client.
"""
import pytest
from flask.testing import FlaskClient


class OwnContextClient(FlaskClient):
    """A test client whose every request (redirects included) runs in a fresh app context."""

    def run_wsgi_app(self, environ, buffered=False):
        with self.application.app_context():
            return super().run_wsgi_app(environ, buffered=buffered)


@pytest.fixture
def app(app):
    app.test_client_class = OwnContextClient
    return app
