"""Every page fits a 390-pixel phone whatever the data: a name, an email or a reason typed without a
space wraps instead of pushing the page sideways (the audit log was 3,187 px wide on a desktop, the
schedules 539 px on a phone), and the staff's tables become one card per row on a phone, each value
after its column's name.

The test client draws nothing, so this reads what the browser is given: the tables holding people's
data are the stylesheet's fit-tables, every cell of them names its column, and the stylesheet's rules
that make long words wrap and tables stack are there. The browser suite (tests/e2e) measures the
pages' widths at 390 and 1280 pixels."""
import re
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

import portal
from portal.auth.models import Role
from portal.booking.service import BookingPolicy, book_appointment, cancel_appointment
from portal.extensions import db
from tests import factories
from tests.client import logged_in, submit
from tests.factories import local
from tests.pages import text

LONG_NAME = "Bartholomew-Maximilian-Featherstonehaugh" * 3  # 120 characters, no space to break at
LONG_EMAIL = "averyveryverylongemailaddresswithoutanybreaks" * 2 + "@example.com"
LONG_REASON = "Becauseofareasonwrittenwithoutanyspacesatall" * 4
STYLESHEET = Path(portal.__file__).parent / "static" / "portal.css"


# --- reading the stylesheet -------------------------------------------------------------------------

def css_rules(css: str) -> list[tuple[str, str, dict[str, str]]]:
    """(the @media it sits in or "", selector, declarations) for every rule; comments dropped."""
    rules, media, selector, buffer = [], "", None, ""
    for token in re.split(r"([{}])", re.sub(r"/\*.*?\*/", "", css, flags=re.S)):
        if token == "{":
            if buffer.strip().startswith("@"):
                media = " ".join(buffer.split())
            else:
                selector = " ".join(buffer.split())
            buffer = ""
        elif token == "}":
            if selector is not None:
                rules.append((media, selector, {name.strip(): value.strip() for name, _, value in
                                                (part.partition(":") for part in buffer.split(";")) if value}))
                selector = None
            else:  # the end of an @media block
                media = ""
            buffer = ""
        else:
            buffer += token
    return rules


def declared(selector: str, prop: str, *, media: str = "") -> list[str]:
    """The values `prop` gets from rules whose selector list holds `selector` (under `media`)."""
    with_media = [(m, s, d) for m, s, d in css_rules(STYLESHEET.read_text()) if media in m and (media or not m)]
    return [d[prop] for _, s, d in with_media if selector in [part.strip() for part in s.split(",")] and prop in d]


def test_the_stylesheet_wraps_long_words_and_stacks_tables_on_a_phone():
    assert "break-word" in declared("body", "overflow-wrap")
    for cell in ("main td", "main tbody th", ".details dd"):
        assert "anywhere" in declared(cell, "overflow-wrap"), cell  # a table cell gives way to a long word
    assert "0" in declared(".dp-head > *", "min-width")  # a long name in a heading row may shrink, then wrap
    assert "100%" in declared("main select", "max-width")  # a long clinician's name in a menu
    phone = "(max-width: 700px)"
    assert "none" in declared(".fit-table thead", "display", media=phone)
    assert "block" in declared(".fit-table tr", "display", media=phone)
    assert "block" in declared(".fit-table td", "display", media=phone)
    assert 'attr(data-label) ": "' in declared(".fit-table td[data-label]::before", "content", media=phone)


# --- reading the tables -----------------------------------------------------------------------------

class _Tables(HTMLParser):
    """Each table of a page: its class, its column names, and its body's rows of cells."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables: list[dict] = []
        self._cell: dict | None = None
        self._in_head = False

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        if tag == "table":
            self.tables.append({"class": attributes.get("class", "").split(), "columns": [], "rows": []})
        elif not self.tables:
            return
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr" and not self._in_head:
            self.tables[-1]["rows"].append([])
        elif tag in ("td", "th"):
            self._cell = {"tag": tag, "label": attributes.get("data-label"), "text": "", "form": False}
        elif self._cell is not None and (tag in ("form", "button") or "button" in attributes.get("class", "").split()):
            self._cell["form"] = True  # a cell of actions

    def handle_endtag(self, tag):
        if tag == "thead":
            self._in_head = False
        elif tag in ("td", "th") and self._cell is not None and self.tables:
            cell, self._cell = self._cell, None
            cell["text"] = " ".join(cell["text"].split())
            if self._in_head:
                self.tables[-1]["columns"].append(cell["text"])
            elif self.tables[-1]["rows"]:
                self.tables[-1]["rows"][-1].append(cell)

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data


def tables_of(response) -> list[dict]:
    reader = _Tables()
    reader.feed(text(response))
    return reader.tables


def unnamed_cells(table: dict) -> list[str]:
    """Cells of the table's body that do not name their column: the row's first cell (its title, such
    as the name) and a cell of buttons or button links may go without; every other cell says which column it is."""
    problems = []
    for row in table["rows"]:
        if len(row) == 1:  # "No events match." across the whole row
            continue
        for position, cell in enumerate(row):
            if position == 0 or cell["form"] or not cell["text"]:
                continue
            if cell["label"] not in table["columns"]:
                problems.append(f"{cell['text'][:40]!r} (data-label {cell['label']!r})")
    return problems


@pytest.fixture
def long_data(app):
    """A patient, a staff member and a clinician whose names have no space, booked, cancelled, urgent."""
    visit = factories.make_type()
    clinician = factories.make_clinician(name="Dr " + LONG_NAME[:117])  # names hold 120 characters at most
    factories.make_user(role=Role.DESK, name=LONG_NAME)
    patient = factories.make_user(name=LONG_NAME, email=LONG_EMAIL)
    factories.make_submission(patient, "vascular_ultrasound", "urgent")
    desk = factories.make_user(role=Role.DESK)
    day = factories.future_weekday()
    for hour in (10, 11):
        booked = book_appointment(patient_id=patient.id, clinician_id=clinician.id, appointment_type_id=visit.id,
                                  start=local(day + timedelta(days=hour - 10), hour), booked_by_id=desk.id,
                                  policy=BookingPolicy.for_front_desk(), override_reason=LONG_REASON)
    cancel_appointment(booked.id, by_user=desk, reason=LONG_REASON)
    db.session.rollback()
    return patient.id


@pytest.mark.parametrize("role, page", [
    (Role.ADMIN, "/desk/audit/"),
    (Role.ADMIN, "/desk/outbox"),
    (Role.ADMIN, "/accounts/"),
    (Role.DESK, "/desk/schedules/"),
    (Role.DESK, "/desk/patients/urgent"),
    (Role.DESK, "search"),
])
def test_every_table_of_peoples_data_stacks_on_a_phone_and_names_its_columns(app, long_data, role, page):
    _, browser = logged_in(app, role)
    if page == "search":
        response = submit(browser, "/desk/patients/", {"q": "Bartholomew"})
    else:
        response = browser.get(page)
    assert response.status_code == 200
    tables = tables_of(response)
    assert tables, f"{page} shows no table"
    for table in tables:
        assert "fit-table" in table["class"], page
        assert unnamed_cells(table) == [], page
    assert LONG_NAME[:100] in text(response) or LONG_EMAIL in text(response)  # the long data is on the page


def test_the_audit_log_keeps_what_the_portal_writes_whole_and_gives_details_room(app, long_data):
    """On a wide screen the long name does not squeeze the time or the action into single letters."""
    _, browser = logged_in(app, Role.ADMIN)
    [table] = tables_of(browser.get("/desk/audit/"))
    assert table["columns"] == ["When", "Who", "Action", "Patient", "Appointment", "From", "Detail"]
    markup = text(browser.get("/desk/audit/"))
    for column in ("When", "Action", "Appointment", "From"):
        assert f'<td class="keep" data-label="{column}">' in markup
    assert '<td class="long" data-label="Detail">' in markup
    assert "wide" in table["class"]
