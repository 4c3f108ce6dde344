"""A case's page, with its review and, for an emergency, the record that it has been dealt with.
views.py puts these on the queue's blueprint, beside the queue itself; what the page reads is in
case_record.py."""
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from portal import clinic
from portal.auth.guards import roles_required
from portal.auth.models import Role
from portal.extensions import db
from portal.letters.content import KIND_TITLES
from portal.letters.forms import ButtonForm
from portal.queue.case_record import case_statement, read_case_record
from portal.queue.forms import EmergencyDealtWithForm, ReviewForm
from portal.triage.models import TriageSubmission
from portal.triage.rules import CLINICIAN_RULE_TEXT, FLAG_TEXT
from portal.triage.service import ReviewError, record_emergency_dealt_with, record_review, record_staff_view
from portal.triage.vocabulary import ROUTE_LABELS


def _case_page(submission_id: int, *, review: ReviewForm | None = None,
               emergency: EmergencyDealtWithForm | None = None):
    """The case with its answers, reasons, flags, appointments and history, and the doctor's
    forms: while its emergency is open, only the record that it was dealt with."""
    submission = db.one_or_404(case_statement(submission_id))
    review = review or ReviewForm()
    emergency = (emergency or EmergencyDealtWithForm()).offer_routes(provisional=submission.route_provisional)
    if request.method == "GET":
        record_staff_view(submission, current_user)
    record = read_case_record(submission)
    page = render_template("queue/case.html", submission=submission, result=submission.result, form=review,
                           letters=record.letters, letter_button=ButtonForm(), letter_titles=KIND_TITLES,
                           other_letters=record.other_letters, current_letters=record.current_letters,
                           emergency_form=emergency, grouped_answers=record.grouped_answers,
                           appointments=record.appointments, today=clinic.today(), route_labels=ROUTE_LABELS,
                           rule_text=CLINICIAN_RULE_TEXT, flag_text=FLAG_TEXT)
    return page, 400 if review.errors or emergency.errors else 200


@roles_required(Role.DOCTOR)
def case(submission_id: int):
    form = ReviewForm()
    if form.validate_on_submit():
        try:
            record_review(submission_id, doctor=current_user, new_route=form.new_route.data or None,
                          reason=form.reason.data)
        except ReviewError as error:
            form.reason.errors.append(str(error))
        else:
            flash("Your review is saved.", "success")
            return redirect(url_for(".case", submission_id=submission_id))
    return _case_page(submission_id, review=form)


@roles_required(Role.DOCTOR)
def emergency_dealt_with(submission_id: int):
    """Record that the case's emergency has been dealt with: booking opens again for the patient."""
    form = EmergencyDealtWithForm()
    submission = db.get_or_404(TriageSubmission, submission_id)
    form.offer_routes(provisional=submission.route_provisional)
    if form.validate_on_submit():
        try:
            record_emergency_dealt_with(submission_id, doctor=current_user, note=form.note.data,
                                        new_route=form.new_route.data or None)
        except ReviewError as error:
            form.note.errors.append(str(error))
        else:
            flash("Recorded: the emergency has been dealt with. The patient can book again.", "success")
            return redirect(url_for(".case", submission_id=submission_id))
    return _case_page(submission_id, emergency=form)
