"""Height, weight and neck size between the units US patients give them in (feet and inches,
pounds, inches) and the centimeters and kilograms the rules take (rules.py reads height_cm,
weight_kg and neck_cm). Pure: no Flask, no database.

Rounding: a converted answer is kept to 0.1 cm or 0.1 kg, finer than anyone measures at home and
far below what moves a BMI or the neck threshold; shown back in US units, a height is rounded
to the inch, a weight to the pound and a neck to 0.1 inch, so an answer read back and sent again
stays the same answer.
"""
from __future__ import annotations

CM_PER_INCH = 2.54
KG_PER_POUND = 0.45359237  # the international avoirdupois pound
INCHES_PER_FOOT = 12


def inches_to_cm(inches: float) -> float:
    return round(inches * CM_PER_INCH, 1)


def feet_and_inches_to_cm(feet: float, inches: float) -> float:
    return inches_to_cm(feet * INCHES_PER_FOOT + inches)


def pounds_to_kg(pounds: float) -> float:
    return round(pounds * KG_PER_POUND, 1)


def cm_to_feet_and_inches(cm: float) -> tuple[int, int]:
    """Whole feet and the inches left over, to the nearest inch: 170.2 cm is (5, 7)."""
    total = round(cm / CM_PER_INCH)
    return total // INCHES_PER_FOOT, total % INCHES_PER_FOOT


def cm_to_inches(cm: float) -> float:
    return round(cm / CM_PER_INCH, 1)


def kg_to_pounds(kg: float) -> int:
    return round(kg / KG_PER_POUND)


def feet_and_inches(cm: float) -> str:
    """ "5 ft 7 in" for 170.2 cm."""
    feet, inches = cm_to_feet_and_inches(cm)
    return f"{feet} ft {inches} in"


def number(value: float) -> str:
    """16.0 as "16", 16.5 as "16.5"."""
    return f"{value:g}" if isinstance(value, float) else str(value)
