"""A date of birth as three boxes, month, day and year, instead of a native date picker (which
makes someone born in 1954 scroll back seventy years, and reads dates in the browser's order).

`DateOfBirthField` posts `<name>-month` (1-12, a select of month names), `<name>-day` and
`<name>-year`; its data is a `date`, or None. It also takes one ISO date posted as `<name>` (1954-03-14),
for scripts and older forms. Impossible dates (February 30) and years that are not four digits get
their own message; whether a date is plausible (not in the future, not 120 years ago) is the
form's validator's business, as for any date.
"""
import calendar
from datetime import date

from markupsafe import Markup
from wtforms import Field

MONTHS = [(number, calendar.month_name[number]) for number in range(1, 13)]
NOT_A_DATE = "Please enter the date of birth as month, day and year, for example March 14, 1954."


def _number(text: str) -> int | None:
    text = (text or "").strip()
    return int(text) if text.isdigit() and len(text) <= 4 else None


def date_from_parts(month: str, day: str, year: str) -> date:
    """The date the three boxes give; ValueError with the message to show when they give none."""
    m, d, y = _number(month), _number(day), _number(year)
    if not (month or "").strip() or not (day or "").strip() or not (year or "").strip():
        missing = [word for word, given in (("month", month), ("day", day), ("year", year))
                   if not (given or "").strip()]
        raise ValueError(f"Please enter the {' and '.join(missing)} of the date of birth.")
    if m is None or not 1 <= m <= 12:
        raise ValueError("Please choose the month from the list.")
    if y is None or not 1000 <= y <= 9999:
        raise ValueError("Please enter the year in four digits, for example 1954.")
    if d is None or d < 1:
        raise ValueError("Please enter the day as a number, for example 14.")
    last = calendar.monthrange(y, m)[1]
    if d > last:
        raise ValueError(f"{calendar.month_name[m]} {y} has {last} days: there is no {calendar.month_name[m]} {d}. "
                         "Please check the day.")
    return date(y, m, d)


class DateOfBirthWidget:
    """The month select carries the field's id, so the field's label focuses it; day and year have
    labels of their own. Autofill fills the three parts when the form asks for "bday"."""

    def __call__(self, field: "DateOfBirthField", **attrs) -> Markup:
        """Markup built from constant templates only: every value is escaped by Markup.format."""
        month, day, year = field.parts
        birthday = attrs.get("autocomplete") == "bday"
        shared = Markup("").join(Markup(' {}="{}"').format(name, attrs[name])
                                 for name in ("aria-describedby", "aria-invalid") if attrs.get(name))

        def complete(part: str) -> str:
            return "bday-" + part if birthday else "off"

        def box(part: str, label: str, value: str, width: int) -> Markup:
            return Markup('<label class="date-part"><span class="muted">{label}</span> <input type="text" '
                          'inputmode="numeric" id="{id}-{part}" name="{name}-{part}" value="{value}" size="{width}" '
                          'maxlength="{width}" autocomplete="{complete}"{shared}></label>').format(
                label=label, id=field.id, name=field.name, part=part, value=value, width=width,
                complete=complete(part), shared=shared)

        selected = Markup(" selected")
        options = [Markup('<option value=""{}>Month</option>').format(selected if not month else "")] + [
            Markup('<option value="{}"{}>{}</option>').format(number, selected if str(month) == str(number) else "",
                                                               name)
            for number, name in MONTHS]
        select = Markup('<select id="{id}" name="{name}-month" autocomplete="{complete}"{shared}>{options}</select>'
                        ).format(id=field.id, name=field.name, complete=complete("month"), shared=shared,
                                 options=Markup("").join(options))
        return Markup('<span class="date-parts">{} {} {}</span>').format(
            select, box("day", "Day", day, 2), box("year", "Year", year, 4))


class DateOfBirthField(Field):
    widget = DateOfBirthWidget()

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.parts: tuple[str, str, str] = ("", "", "")

    def process(self, formdata, data=None, extra_filters=None):
        self.process_errors = []
        self.data = data if isinstance(data, date) else None
        if self.data is not None:
            self.parts = (str(self.data.month), str(self.data.day), str(self.data.year))
        self.raw_data = []
        if formdata is None:
            return
        parts = tuple((formdata.get(f"{self.name}-{part}") or "").strip()[:8] for part in ("month", "day", "year"))
        whole = (formdata.get(self.name) or "").strip()
        if any(parts):
            self.parts = parts
            self.raw_data = ["-".join(parts)]
            try:
                self.data = date_from_parts(*parts)
            except ValueError as error:
                self.data = None
                self.process_errors.append(str(error))
        elif whole:
            self.raw_data = [whole]
            try:
                self.data = date.fromisoformat(whole)
                self.parts = (str(self.data.month), str(self.data.day), str(self.data.year))
            except ValueError:
                self.data = None
                self.process_errors.append(NOT_A_DATE)
        elif formdata:
            self.data = None
            self.parts = ("", "", "")

    def _value(self) -> str:
        return self.data.isoformat() if self.data else ""
