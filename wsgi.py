"""Entry point: `flask --app wsgi ...` in development, `gunicorn wsgi:app` in production."""
from portal import create_app

app = create_app()
