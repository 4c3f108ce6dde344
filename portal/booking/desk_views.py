"""Front-desk pages: the clinicians' calendars and what the desk does to an appointment."""
from flask import Blueprint

bp = Blueprint("desk", __name__, url_prefix="/desk")
