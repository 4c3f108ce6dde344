"""Height, weight and neck between US and metric units (portal/triage/units.py)."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.triage import units


@pytest.mark.parametrize("feet, inches, cm", [(5, 6, 167.6), (5, 0, 152.4), (6, 2, 188.0), (4, 11.5, 151.1)])
def test_feet_and_inches_to_centimeters(feet, inches, cm):
    assert units.feet_and_inches_to_cm(feet, inches) == cm


def test_pounds_to_kilograms_and_inches_to_centimeters():
    assert units.pounds_to_kg(150) == 68.0
    assert units.pounds_to_kg(220.5) == 100.0
    assert units.inches_to_cm(16) == 40.6  # a 16-inch collar is over the rules' 40 cm
    assert units.inches_to_cm(15.5) == 39.4


def test_centimeters_and_kilograms_shown_back_in_us_units():
    assert units.cm_to_feet_and_inches(170.2) == (5, 7)
    assert units.cm_to_feet_and_inches(182.6) == (6, 0)  # 71.9 inches: 6 feet, not 5 feet 12
    assert units.feet_and_inches(167.6) == "5 ft 6 in"
    assert units.kg_to_pounds(68.0) == 150
    assert units.cm_to_inches(40.6) == 16.0
    assert units.number(16.0) == "16" and units.number(16.5) == "16.5"


@given(st.integers(20, 98))
def test_a_height_in_inches_survives_the_round_trip(inches):
    assert units.cm_to_feet_and_inches(units.inches_to_cm(inches)) == divmod(inches, 12)


@given(st.integers(45, 770))
def test_a_weight_in_pounds_survives_the_round_trip(pounds):
    assert units.kg_to_pounds(units.pounds_to_kg(pounds)) == pounds


@given(st.integers(16, 54).map(lambda half_inches: half_inches / 2))
def test_a_neck_in_half_inches_survives_the_round_trip(inches):
    assert units.cm_to_inches(units.inches_to_cm(inches)) == inches
