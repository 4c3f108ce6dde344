"""Front-desk pages about patients: search, register a caller, book for a patient, urgent cases."""
from flask import Blueprint

bp = Blueprint("desk_patients", __name__, url_prefix="/desk/patients")
