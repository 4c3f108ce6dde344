"""Letters' pages: the doctor's draft, signature and correction of a case's referral letter or
scan request; the signed letter as PDF and as a FHIR ServiceRequest for whoever may read it.

Who may read a letter is the letter's own rule (Letter.readable_by), the same for every way of
reading it; anyone else is told it does not exist (404). Every view and download is in the audit
log.
"""
from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user

from portal.auth.guards import roles_required
from portal.auth.models import Role
from portal.extensions import db
from portal.letters.content import KIND_TITLES, PRIORITY_WORDS, LetterKind
from portal.letters.fhir import service_request
from portal.letters.forms import ButtonForm, LetterForm
from portal.letters.models import Letter
from portal.letters.pdf import letter_pdf
from portal.letters.service import (
    LetterError,
    letter_content,
    record_letter_seen,
    save_draft,
    sign_letter,
    start_correction,
    start_letter,
    versions_of,
)
from portal.triage.vocabulary import ROUTE_LABELS

bp = Blueprint("letters", __name__, url_prefix="/letters")


def _readable_letter(letter_id: int) -> Letter:
    letter = db.get_or_404(Letter, letter_id)
    if not letter.readable_by(current_user):
        abort(404)  # someone else's letter, or a draft: as if there were none
    return letter


@bp.post("/case/<int:submission_id>/<kind>")
@roles_required(Role.DOCTOR)
def start(submission_id: int, kind: str):
    """Open the case's letter of this kind: its draft, its signed letter, or a new draft."""
    if kind not in set(LetterKind):
        abort(404)
    if not ButtonForm().validate_on_submit():
        abort(400)
    try:
        letter = start_letter(submission_id, LetterKind(kind), doctor=current_user)
    except LetterError as error:
        flash(str(error), "error")
        return redirect(url_for("queue.case", submission_id=submission_id))
    return redirect(url_for(".letter", letter_id=letter.id))


def _letter_page(letter: Letter, form: LetterForm | None = None, status: int = 200):
    versions = versions_of(letter)
    if form is None:
        form = LetterForm(history=letter.history, question=letter.question)
    record_letter_seen(letter, current_user, "page")
    return render_template("letters/letter.html", letter=letter, content=letter_content(letter), form=form,
                           button=ButtonForm(), versions=versions, latest=versions[0],
                           priority_words=PRIORITY_WORDS, route_labels=ROUTE_LABELS), status


@bp.route("/<int:letter_id>", methods=["GET", "POST"])
@roles_required(Role.DOCTOR)
def letter(letter_id: int):
    letter = db.get_or_404(Letter, letter_id)
    form = LetterForm()
    if not form.is_submitted():
        return _letter_page(letter)
    if letter.is_signed:
        flash("This letter is signed and cannot change. Write a correction instead.", "error")
        return redirect(url_for(".letter", letter_id=letter.id))
    if form.validate():
        try:
            if form.sign.data:
                sign_letter(letter.id, doctor=current_user, history=form.history.data, question=form.question.data)
                flash(f"Signed. The {KIND_TITLES[letter.letter_kind].lower()} is locked; the patient and the "
                      "front desk can now download it.", "success")
            else:
                save_draft(letter.id, doctor=current_user, history=form.history.data, question=form.question.data)
                flash("The draft is saved. It is not signed yet.", "success")
        except LetterError as error:
            form.question.errors = [*form.question.errors, str(error)]
        else:
            return redirect(url_for(".letter", letter_id=letter.id))
    # What the doctor typed stays on the page with what was wrong, and nothing was stored.
    db.session.expire(letter)
    return _letter_page(letter, form, 400)


@bp.post("/<int:letter_id>/correct")
@roles_required(Role.DOCTOR)
def correct(letter_id: int):
    letter = db.get_or_404(Letter, letter_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    try:
        correction = start_correction(letter.id, doctor=current_user)
    except LetterError as error:
        flash(str(error), "error")
        return redirect(url_for(".letter", letter_id=letter.id))
    flash(f"This is version {correction.version}, a correction of the signed letter. Edit it and sign it; the "
          "signed version stays as it was.", "success")
    return redirect(url_for(".letter", letter_id=correction.id))


def _file_name(letter: Letter, extension: str) -> str:
    return f"{letter.kind.replace('_', '-')}-{letter.reference}.{extension}"


@bp.get("/<int:letter_id>.pdf")
def pdf(letter_id: int):
    letter = _readable_letter(letter_id)
    data = letter_pdf(letter_content(letter), paper=current_app.config["LETTER_PAPER"])
    record_letter_seen(letter, current_user, "pdf")
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{_file_name(letter, "pdf")}"'})


@bp.get("/<int:letter_id>.json")
def fhir(letter_id: int):
    """The letter as a FHIR R4 ServiceRequest, for the receiving service's system."""
    letter = _readable_letter(letter_id)
    resource = service_request(letter_content(letter), letter_id=letter.id, version=letter.version,
                               patient_id=letter.patient_id, base_url=current_app.config["PUBLIC_URL"])
    record_letter_seen(letter, current_user, "fhir")
    response = current_app.json.response(resource)
    response.mimetype = "application/fhir+json"
    response.headers["Content-Disposition"] = f'attachment; filename="{_file_name(letter, "json")}"'
    return response
