"""The letter PDF read back as a person would read it: letterhead, patient, sections, the doctor's
words, signature or draft mark, footer on every page, paper size. Pure: no app, no database."""
from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from pypdf import PdfReader

from portal import config
from portal.letters.content import Clinic, LetterContent, LetterKind, Patient, Priority, Section, Signature
from portal.letters.pdf import PAPER_SIZES, letter_pdf

CLINIC = Clinic("Riverside Vein Clinic", "14 Harbour Road, Bristol BS1 5TT", "0117 496 0000")
SIGNED_AT = datetime(2026, 11, 30, 14, 5, tzinfo=UTC)


def sleep_referral(**changes: object) -> LetterContent:
    letter = LetterContent(
        kind=LetterKind.SLEEP_STUDY_REFERRAL,
        clinic=CLINIC,
        recipient="Sleep medicine service",
        patient=Patient("Zoë Łukasiewicz", date(1961, 3, 4), "female", "zoe@example.org", "07700 900123"),
        priority=Priority.URGENT,
        sections=(
            Section("What the patient reported", (
                "Loud snoring most nights, reported by her partner.",
                "Wakes up choking or gasping two or three times a week; daytime sleepiness makes driving "
                "difficult and she has stopped driving on the motorway since the summer.",
                "STOP-Bang score 6 of 8.")),
            Section("What the triage rules found", ("S2: high risk of obstructive sleep apnoea.",)),
        ),
        history="Varicose veins, left leg, C2.\nHypertension on amlodipine 5 mg.",
        question="Please assess for obstructive sleep apnoea before general anaesthesia.",
        rules_version="2026.3",
        reasons=("S2",),
        letter_date=date(2026, 11, 30),
        reference="L12-v2",
        author="Dr. Samuel Okafor",
        signature=Signature("Dr. Samuel Okafor", SIGNED_AT),
    )
    return replace(letter, **changes)


def ultrasound_request(**changes: object) -> LetterContent:
    letter = LetterContent(
        kind=LetterKind.VASCULAR_ULTRASOUND,
        clinic=CLINIC,
        recipient="Vascular laboratory",
        patient=Patient("Nguyễn Thị Minh", date(1978, 12, 1), "female", None, "07700 900456"),
        priority=Priority.STAT,
        sections=(Section("Symptoms", ("Swollen, painful right calf for three days.",
                                       "Short of breath on the stairs since yesterday.")),),
        history="Long-haul flight last week.",
        question="Please exclude deep vein thrombosis of the right leg.",
        rules_version="2026.3",
        reasons=("E1",),
        letter_date=date(2026, 12, 2),
        reference="L40-v1",
        author="Dr. Amara Reyes",
        signature=None,
    )
    return replace(letter, **changes)


def pages_text(data: bytes) -> list[str]:
    """Each page's text with runs of whitespace made one space: pypdf may break lines anywhere."""
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(data)).pages]


def whole_text(data: bytes) -> str:
    return " ".join(pages_text(data))


def test_signed_sleep_referral_reads_as_the_letter() -> None:
    text = whole_text(letter_pdf(sleep_referral()))

    assert "Riverside Vein Clinic" in text
    assert "14 Harbour Road, Bristol BS1 5TT" in text
    assert "0117 496 0000" in text
    assert "Referral for a sleep study" in text
    assert "To Sleep medicine service" in text
    assert "November 30, 2026" in text
    assert "L12-v2" in text
    assert "Priority Urgent" in text
    assert "Zoë Łukasiewicz" in text
    assert "March 4, 1961" in text
    assert "07700 900123" in text
    assert "zoe@example.org" in text
    for heading, lines in (("What the patient reported", sleep_referral().sections[0].lines),
                           ("What the triage rules found", sleep_referral().sections[1].lines)):
        assert heading in text
        for line in lines:
            assert line in text
    assert "History Varicose veins, left leg, C2. Hypertension on amlodipine 5 mg." in text
    assert ("Question for the sleep medicine service "
            "Please assess for obstructive sleep apnoea before general anaesthesia.") in text
    assert "Signed electronically by Dr. Samuel Okafor November 30, 2026 at 2:05 PM UTC" in text
    assert "Triage rules 2026.3" in text
    assert "Page 1 of 1" in text
    assert "DRAFT" not in text


def test_draft_ultrasound_request_is_marked_draft_and_unsigned() -> None:
    text = whole_text(letter_pdf(ultrasound_request()))

    assert "Request for a venous duplex ultrasound" in text
    assert "Nguyễn Thị Minh" in text
    assert "December 1, 1978" in text
    assert "Priority Emergency" in text
    assert "Symptoms" in text
    assert "Swollen, painful right calf for three days." in text
    assert "Question for the vascular laboratory Please exclude deep vein thrombosis of the right leg." in text
    assert "Signed electronically" not in text
    # Once near the top of the page and once where the signature would be.
    assert text.count("DRAFT – NOT SIGNED") == 2
    assert "Drafted by Dr. Amara Reyes" in text
    # Only the details the patient gave are listed.
    assert "Email" not in text


def test_missing_history_and_question_say_none_given() -> None:
    text = whole_text(letter_pdf(sleep_referral(history="", question="  \n")))

    assert "History None given." in text
    assert "Question for the sleep medicine service None given." in text


def test_the_doctors_line_breaks_are_kept() -> None:
    data = letter_pdf(sleep_referral(history="First line.\nSecond line.\n\nAfter a blank line."))
    lines = [line.strip() for line in PdfReader(io.BytesIO(data)).pages[0].extract_text().splitlines()]

    assert lines.index("Second line.") == lines.index("First line.") + 1
    assert "After a blank line." in lines


def test_long_history_runs_to_several_pages_each_with_header_and_footer() -> None:
    history = "\n".join(f"Visit {number}: legs reviewed, no change in the varicose veins." for number in range(1, 201))
    pages = pages_text(letter_pdf(sleep_referral(history=history)))

    assert len(pages) >= 3
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in page
        assert "Riverside Vein Clinic" in page
        assert "0117 496 0000" in page
        assert "L12-v2" in page
        assert "Triage rules 2026.3" in page
    everything = " ".join(pages)
    for number in (1, 100, 200):
        assert f"Visit {number}: legs reviewed, no change in the varicose veins." in everything
    assert "Signed electronically by Dr. Samuel Okafor" in pages[-1]
    # The pages after the first name the patient, so a loose page still says whose it is.
    assert all("Zoë Łukasiewicz, born March 4, 1961" in page for page in pages[1:])


def test_every_page_of_a_long_draft_says_draft() -> None:
    history = "\n".join(f"Note {number}." for number in range(1, 201))
    pages = pages_text(letter_pdf(ultrasound_request(history=history)))

    assert len(pages) >= 2
    assert all("DRAFT – NOT SIGNED" in page for page in pages)


def test_long_text_wraps_inside_the_page() -> None:
    long_line = "The patient describes " + "aching and heaviness in both legs by the evening " * 12
    unbroken = "https://example.org/" + "x" * 300
    data = letter_pdf(sleep_referral(sections=(Section("Symptoms", (long_line.strip(),)),), history=unbroken))
    lines = PdfReader(io.BytesIO(data)).pages[0].extract_text().splitlines()
    text = " ".join(" ".join(lines).split())

    assert " ".join(long_line.split()) in text
    assert unbroken in "".join(lines)
    # Both are broken over several lines, none longer than a line of the page holds.
    assert sum("aching and heaviness" in line for line in lines) >= 5
    assert sum("xxxxxxxxxx" in line for line in lines) >= 4
    assert max(len(line) for line in lines) <= 100


@pytest.mark.parametrize(("paper", "width", "height"), [("A4", 595, 842), ("Letter", 612, 792)])
def test_paper_size(paper: str, width: int, height: int) -> None:
    for page in PdfReader(io.BytesIO(letter_pdf(sleep_referral(), paper=paper))).pages:
        assert float(page.mediabox.width) == pytest.approx(width, abs=1)
        assert float(page.mediabox.height) == pytest.approx(height, abs=1)


def test_a4_is_the_default_paper() -> None:
    page = PdfReader(io.BytesIO(letter_pdf(sleep_referral()))).pages[0]

    assert float(page.mediabox.width) == pytest.approx(595, abs=1)


@pytest.mark.parametrize("paper", ["A5", "a4", "legal", ""])
def test_other_paper_is_refused_naming_the_allowed_sizes(paper: str) -> None:
    with pytest.raises(ValueError, match="A4, Letter"):
        letter_pdf(sleep_referral(), paper=paper)
    assert PAPER_SIZES == ("A4", "Letter")


def test_metadata_names_the_letter_and_the_clinic() -> None:
    metadata = PdfReader(io.BytesIO(letter_pdf(sleep_referral()))).metadata

    assert metadata is not None
    assert metadata.title == "Referral for a sleep study L12-v2"
    assert metadata.author == "Riverside Vein Clinic"
    assert metadata.creation_date == SIGNED_AT


def test_a_draft_is_dated_by_its_letter_date() -> None:
    metadata = PdfReader(io.BytesIO(letter_pdf(ultrasound_request()))).metadata

    assert metadata is not None
    assert metadata.creation_date == datetime(2026, 12, 2, tzinfo=UTC)


def test_the_same_letter_gives_the_same_bytes() -> None:
    assert letter_pdf(sleep_referral()) == letter_pdf(sleep_referral())
    assert letter_pdf(ultrasound_request(), paper="Letter") == letter_pdf(ultrasound_request(), paper="Letter")


def test_a_name_typed_with_combining_accents_prints_as_the_accented_letter() -> None:
    decomposed = "Zoe\u0308 Nguye\u0302\u0303n"
    text = whole_text(letter_pdf(sleep_referral(patient=Patient(decomposed, None, None, None, None))))

    assert "Zoë Nguyễn" in text
    assert "Date of birth" not in text


def test_page_count_matches_the_pages() -> None:
    data = letter_pdf(sleep_referral(history="\n".join(["A line of history."] * 120)))
    pages = pages_text(data)

    assert [re.search(r"Page (\d+) of (\d+)", page).groups() for page in pages] == [  # type: ignore[union-attr]
        (str(number), str(len(pages))) for number in range(1, len(pages) + 1)]


@pytest.mark.parametrize("paper", PAPER_SIZES)
def test_the_paper_setting_takes_each_size_the_pdf_knows(monkeypatch, tmp_path, paper):
    monkeypatch.setenv("LETTER_PAPER", paper)
    assert config.from_environment(tmp_path)["LETTER_PAPER"] == paper


def test_a_paper_size_the_pdf_does_not_know_stops_the_start_and_names_the_setting(monkeypatch, tmp_path):
    assert config.LETTER_PAPERS == PAPER_SIZES
    monkeypatch.setenv("LETTER_PAPER", "A5")
    with pytest.raises(RuntimeError, match="LETTER_PAPER='A5'"):
        config.from_environment(tmp_path)
