"""The bare Flask app bench/load.sh measures the portal's pages against: one route, a short text,
served by the same gunicorn command and settings, so the ratio shows what the portal itself costs.

    .venv/bin/gunicorn bench.hello:app
"""
from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "Hello"
