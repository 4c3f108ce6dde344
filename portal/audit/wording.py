"""Audit details as the log page shows them: the moments a detail names, in the clinic's zone and in
words, though the row keeps them as exact ISO 8601 (a UTC offset and all) for anyone who exports it.

Only what the portal itself wrote is rewritten: words a person typed (a search, a filter) are kept
between curly quotes in the details, and are shown exactly as typed."""
import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from portal.dates import date_and_time, short_date

# An aware ISO 8601 moment ("2025-12-03T15:00:00+00:00", with or without seconds and fractions) or a
# day alone ("2025-12-04"); neither may be part of a longer run of digits.
_MOMENT = re.compile(r"(?<![\d-])\d{4}-\d{2}-\d{2}"
                     r"(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:\d{2}))?(?![\dT])")
_TYPED = re.compile(r"“[^”]*”")


def _in_words(match: re.Match, zone: ZoneInfo) -> str:
    written = match.group(0)
    try:
        if len(written) == 10:
            return short_date(date.fromisoformat(written))  # with its year, as a record should
        return date_and_time(datetime.fromisoformat(written), zone, short=True)
    except ValueError:  # 2025-13-45 is not a date: shown as it was written
        return written


def times_in_words(detail: str, zone: ZoneInfo) -> str:
    """`detail` with each ISO moment outside “typed words” in the clinic's zone, in words."""
    shown, last = [], 0
    for typed in _TYPED.finditer(detail):
        shown.append(_MOMENT.sub(lambda m: _in_words(m, zone), detail[last:typed.start()]))
        shown.append(typed.group(0))
        last = typed.end()
    shown.append(_MOMENT.sub(lambda m: _in_words(m, zone), detail[last:]))
    return "".join(shown)
