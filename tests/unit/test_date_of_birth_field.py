"""The date of birth's month, day and year boxes (portal/auth/fields.py)."""
from datetime import date

import pytest
from werkzeug.datastructures import MultiDict
from wtforms import Form

from portal.auth.fields import DateOfBirthField, date_from_parts


class BirthForm(Form):
    born = DateOfBirthField("Date of birth")


@pytest.mark.parametrize(("parts", "expected"), [
    (("3", "14", "1954"), date(1954, 3, 14)),
    (("2", "29", "2000"), date(2000, 2, 29)),
    (("12", "31", "1999"), date(1999, 12, 31)),
    ((" 1 ", " 05 ", " 1980 "), date(1980, 1, 5)),
])
def test_three_boxes_make_a_date(parts, expected):
    assert date_from_parts(*parts) == expected


@pytest.mark.parametrize(("parts", "message"), [
    (("2", "30", "1990"), "February 1990 has 28 days: there is no February 30."),
    (("2", "29", "1900"), "there is no February 29"),
    (("4", "31", "1980"), "there is no April 31"),
    (("13", "1", "1980"), "Please choose the month from the list."),
    (("x", "1", "1980"), "Please choose the month from the list."),
    (("1", "0", "1980"), "Please enter the day as a number"),
    (("1", "first", "1980"), "Please enter the day as a number"),
    (("1", "1", "80"), "four digits"),
    (("", "", "1980"), "Please enter the month and day of the date of birth."),
    (("5", "3", ""), "Please enter the year of the date of birth."),
])
def test_impossible_dates_say_what_is_wrong(parts, message):
    with pytest.raises(ValueError, match=message):
        date_from_parts(*parts)


def test_the_field_reads_the_three_boxes_and_keeps_what_was_typed():
    form = BirthForm(MultiDict({"born-month": "2", "born-day": "30", "born-year": "1990"}))
    assert not form.validate()
    assert form.born.data is None and "there is no February 30" in form.born.errors[0]
    assert form.born.parts == ("2", "30", "1990")
    shown = form.born()
    assert '<option value="2" selected>February</option>' in shown and 'value="30"' in shown


def test_the_field_takes_one_iso_date_from_scripts():
    form = BirthForm(MultiDict({"born": "1954-03-14"}))
    assert form.validate() and form.born.data == date(1954, 3, 14)
    bad = BirthForm(MultiDict({"born": "14/03/1954"}))
    assert not bad.validate() and "month, day and year" in bad.born.errors[0]


def test_the_field_shows_a_stored_date_and_labels_every_box():
    form = BirthForm(data={"born": date(1961, 4, 12)})
    shown = form.born()
    assert '<select id="born" name="born-month"' in shown
    assert '<option value="4" selected>April</option>' in shown
    assert 'name="born-day" value="12"' in shown and 'name="born-year" value="1961"' in shown
    assert ">Day<" in shown and ">Year<" in shown and 'type="date"' not in shown


def test_nothing_posted_is_no_date():
    form = BirthForm(MultiDict({"other": "x"}))
    assert form.born.data is None and form.born.raw_data == []
