"""A referral letter or scan request as a PDF, made from its LetterContent with fpdf2.

Every page carries the clinic's letterhead, from the second on the patient's name and date of
birth, and a footer with the page count, the letter's reference and the triage rules version, so a
loose page still says whose it is and which rules it came from. An unsigned letter says "DRAFT –
NOT SIGNED" on every page and in the signature block, so a draft can never pass for a signed one.
Text is set in the vendored DejaVu Sans so any patient's name prints. The creation date is the
signature time (or the letter's date for a draft), so the same letter always gives the same bytes.
Pure: no Flask, no database.
"""
from __future__ import annotations

import logging
import unicodedata
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from portal.config import LETTER_PAPERS
from portal.dates import dated, signed_moment
from portal.letters.content import PRIORITY_WORDS, LetterContent, Priority

# fpdf2 subsets the fonts with fontTools, which tells INFO of every table it trims: dozens of log
# lines per PDF, none of them news.
logging.getLogger("fontTools").setLevel(logging.WARNING)

PAPER_SIZES = LETTER_PAPERS  # one list, which the LETTER_PAPER setting is checked against too

FONT_FAMILY = "DejaVuSans"
FONTS = Path(__file__).resolve().parent / "fonts"

MARGIN = 20  # mm, left, right and top
FOOTER_HEIGHT = 22  # mm kept free at the bottom for the footer
BODY_SIZE = 11  # pt
LINE = 5.6  # mm, about 1.45 times the body size
BULLET_INDENT = 6  # mm

INK = (33, 33, 33)
MUTED = (96, 96, 96)
RULE = (170, 170, 170)
ALERT = (170, 20, 20)  # urgent priorities and the draft warning

DRAFT_MARK = "DRAFT – NOT SIGNED"


def long_date(day: date) -> str:
    """A date in words, as US letters write it: "November 30, 2026"."""
    return dated(day)


def signed_time(moment: datetime, zone: str = "UTC") -> str:
    """The signature time in the clinic's zone, plainly: "November 30, 2026 at 2:05 PM UTC",
    "November 30, 2026 at 8:05 AM Central Time"."""
    return signed_moment(moment, ZoneInfo(zone))


def question_heading(recipient: str) -> str:
    """"Question for the sleep medicine service": the recipient's first word in lower case,
    unless it is an abbreviation (NHS) that must stay as it is."""
    if not recipient.strip():
        return "Question"
    first_word = recipient.split()[0]
    if len(first_word) > 1 and first_word[1:].islower():
        recipient = recipient[0].lower() + recipient[1:]
    return f"Question for the {recipient}"


class _LetterDocument(FPDF):
    """The page layout: fpdf2 calls header() and footer() on every page it adds."""

    def __init__(self, content: LetterContent, paper: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format=paper)
        self.content = content
        self.add_font(FONT_FAMILY, "", str(FONTS / "DejaVuSans.ttf"))
        self.add_font(FONT_FAMILY, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(True, margin=FOOTER_HEIGHT)
        self.c_margin = 0  # text starts exactly at the margin, in line with the rules drawn there
        self.set_text_color(*INK)

    def header(self) -> None:
        clinic = self.content.clinic
        self.set_xy(MARGIN, MARGIN - 6)
        self.set_font(FONT_FAMILY, "B", 14)
        self.paragraph(clinic.name, 6.5)
        self.set_font(FONT_FAMILY, "", 9)
        self.set_text_color(*MUTED)
        self.paragraph(clinic.address, 4.5)
        self.paragraph(f"Phone {clinic.phone}", 4.5)
        self.set_text_color(*INK)
        self.ln(2)
        self.set_draw_color(*RULE)
        self.set_line_width(0.3)
        self.line(MARGIN, self.y, self.w - MARGIN, self.y)
        self.ln(3)
        if self.content.signature is None:
            self.set_font(FONT_FAMILY, "B", 12)
            self.set_text_color(*ALERT)
            self.cell(0, 7, DRAFT_MARK, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.set_text_color(*INK)
            self.ln(2)
        self.ln(3)
        if self.page_no() > 1:
            # A page that comes loose from the letter still says whose it is.
            patient = self.content.patient
            born = f", born {long_date(patient.date_of_birth)}" if patient.date_of_birth else ""
            self.set_font(FONT_FAMILY, "", 9)
            self.set_text_color(*MUTED)
            self.paragraph(f"{self.content.title} for {patient.name}{born} (continued)", 4.5)
            self.set_text_color(*INK)
            self.ln(3)
        self.set_font(FONT_FAMILY, "", BODY_SIZE)

    def footer(self) -> None:
        self.set_y(-(FOOTER_HEIGHT - 6))
        self.set_draw_color(*RULE)
        self.set_line_width(0.2)
        self.line(MARGIN, self.y, self.w - MARGIN, self.y)
        self.ln(1.5)
        self.set_font(FONT_FAMILY, "", 8)
        self.set_text_color(*MUTED)
        # "{nb}" is fpdf2's place-holder for the page count, filled in when the document closes.
        page_count = f"Page {self.page_no()} of {{nb}}"
        where = f"Reference {self.content.reference}  ·  Triage rules {self.content.rules_version}"
        self.cell(self.epw / 2, 5, where, align="L")
        self.cell(self.epw / 2, 5, page_count, align="R")
        self.set_text_color(*INK)

    # The body, top to bottom.

    def title_block(self) -> None:
        content = self.content
        self.set_font(FONT_FAMILY, "B", 16)
        self.paragraph(content.title, 8)
        self.ln(3)
        self.labelled_line("To", content.recipient)
        self.labelled_line("Date", long_date(content.letter_date))
        self.labelled_line("Reference", content.reference)
        pressing = content.priority in (Priority.URGENT, Priority.STAT)
        self.labelled_line("Priority", PRIORITY_WORDS[content.priority], stand_out=pressing)

    def patient_block(self) -> None:
        patient = self.content.patient
        self.heading("Patient")
        self.labelled_line("Name", patient.name, bold=True)
        if patient.date_of_birth:
            self.labelled_line("Date of birth", long_date(patient.date_of_birth))
        if patient.phone:
            self.labelled_line("Phone", patient.phone)
        if patient.email:
            self.labelled_line("Email", patient.email)

    def sections_block(self) -> None:
        for section in self.content.sections:
            self.heading(section.heading)
            for line in section.lines:
                self.bullet(line)

    def doctor_text_block(self) -> None:
        content = self.content
        self.heading("History")
        self.free_text(content.history)
        self.heading(question_heading(content.recipient))
        self.free_text(content.question)

    def signature_block(self) -> None:
        signature = self.content.signature
        self.ln(10)
        # The signature block is not split over two pages.
        if self.will_page_break(3 * LINE + 4):
            self.add_page()
        self.set_draw_color(*RULE)
        self.set_line_width(0.2)
        self.line(MARGIN, self.y, MARGIN + 80, self.y)
        self.ln(2)
        if signature is None:
            self.set_font(FONT_FAMILY, "B", BODY_SIZE + 1)
            self.set_text_color(*ALERT)
            self.paragraph(DRAFT_MARK, LINE + 1)
            self.set_text_color(*INK)
            self.set_font(FONT_FAMILY, "", BODY_SIZE)
            self.paragraph(f"Drafted by {self.content.author}. Not to be sent until signed.")
            return
        self.set_font(FONT_FAMILY, "B", BODY_SIZE)
        self.paragraph(f"Signed electronically by {signature.name}")
        self.set_font(FONT_FAMILY, "", BODY_SIZE)
        self.paragraph(signed_time(signature.signed_at, self.content.clinic.timezone))

    # The pieces the blocks are made of.

    def heading(self, text: str) -> None:
        self.ln(4)
        # Keep a heading with at least two lines of what follows it.
        if self.will_page_break(LINE + 1 + 2 * LINE):
            self.add_page()
        self.set_font(FONT_FAMILY, "B", BODY_SIZE + 1)
        self.paragraph(text, LINE + 1)
        self.set_font(FONT_FAMILY, "", BODY_SIZE)
        self.ln(0.5)

    def paragraph(self, text: str, height: float = LINE) -> None:
        """Text from the current x to the right margin, wrapped, left-aligned (justified lines open
        wide gaps in a letter's short measure); the next line starts back at the margin."""
        self.multi_cell(0, height, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def labelled_line(self, label: str, value: str, *, bold: bool = False, stand_out: bool = False) -> None:
        self.set_font(FONT_FAMILY, "", BODY_SIZE)
        self.set_text_color(*MUTED)
        self.cell(32, LINE, label)
        self.set_text_color(*(ALERT if stand_out else INK))
        self.set_font(FONT_FAMILY, "B" if bold or stand_out else "", BODY_SIZE)
        self.paragraph(value)
        self.set_text_color(*INK)
        self.set_font(FONT_FAMILY, "", BODY_SIZE)

    def bullet(self, text: str) -> None:
        self.set_x(MARGIN + 2)
        self.cell(BULLET_INDENT - 2, LINE, "•")
        # multi_cell starts every wrapped line at the x it began at, so the text hangs past the bullet.
        self.paragraph(text)
        self.ln(0.8)

    def free_text(self, text: str) -> None:
        if not text.strip():
            self.set_text_color(*MUTED)
            self.paragraph("None given.")
            self.set_text_color(*INK)
            return
        # The doctor's own line breaks are kept: multi_cell starts a new line at each "\n".
        self.paragraph(text.strip("\n"))


def _nfc(content: LetterContent) -> LetterContent:
    """The letter with every text in NFC: a letter typed as a base letter plus a combining accent
    becomes the one accented character the font draws well (fpdf2 sets glyphs one by one)."""
    return LetterContent.from_dict(_normalise(content.to_dict()))


def _normalise(value: Any) -> Any:
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, list):
        return [_normalise(item) for item in value]
    if isinstance(value, dict):
        return {key: _normalise(item) for key, item in value.items()}
    return value


def creation_moment(content: LetterContent) -> datetime:
    """When the document says it was made: the signature time, or midnight UTC of the letter's
    date for a draft, so rendering the same letter again gives the same bytes."""
    if content.signature:
        return content.signature.signed_at.astimezone(UTC)
    return datetime.combine(content.letter_date, time(0), tzinfo=UTC)


def letter_pdf(content: LetterContent, *, paper: str = "A4") -> bytes:
    """The letter as a PDF on A4 or US Letter paper; the same content always gives the same bytes."""
    if paper not in PAPER_SIZES:
        raise ValueError(f"Paper must be one of {', '.join(PAPER_SIZES)}, not {paper!r}.")
    content = _nfc(content)
    document = _LetterDocument(content, paper.lower())
    document.set_title(f"{content.title} {content.reference}")
    document.set_author(content.clinic.name)
    document.set_creator(content.clinic.name)
    document.set_lang("en-GB")
    document.set_creation_date(creation_moment(content))
    document.add_page()
    document.title_block()
    document.patient_block()
    document.sections_block()
    document.doctor_text_block()
    document.signature_block()
    return bytes(document.output())
