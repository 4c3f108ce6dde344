"""Pages for everyone: the landing page and the health check."""
from flask import Blueprint, jsonify, render_template
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from portal.extensions import db
from portal.triage.questions import STEPS

bp = Blueprint("pages", __name__)


@bp.get("/")
def index():
    # The big button starts the questions themselves: the page already says what they are.
    return render_template("pages/index.html", steps=STEPS)


@bp.get("/healthz")
def healthz():
    """200 when the app and its database answer, 503 when the database does not."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return jsonify(status="error", database="unreachable"), 503
    finally:
        db.session.remove()
    return jsonify(status="ok", database="ok"), 200
