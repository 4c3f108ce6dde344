"""Links in templates, built once: Flask's url_for costs about as much as a small query, and a
page of free times asks for dozens (bench/README.md).

- `url_for` in templates remembers what it built for the same endpoint and arguments: the menu,
  the stylesheet and the week's day links are the same on every request.
- `slot_href` makes a free time's link from its page's link and the time, without rebuilding the
  route for each of a day's times.
"""
from functools import lru_cache
from urllib.parse import quote

from flask import Flask, request, url_for

# Arguments that make url_for depend on more than the endpoint and its values.
_NOT_REMEMBERED = ("_external", "_scheme", "_anchor", "_method")


@lru_cache(maxsize=4096)  # bounded: links carrying record ids come and go
def _built(script_root: str, endpoint: str, values: tuple) -> str:
    return url_for(endpoint, **dict(values))


def remembered_url_for(endpoint: str, **values) -> str:
    """url_for, from memory when the same link was built before under the same application root.
    Relative endpoints (".name") and the arguments above depend on the request: built afresh."""
    if endpoint.startswith(".") or any(name in values for name in _NOT_REMEMBERED):
        return url_for(endpoint, **values)
    try:
        return _built(request.script_root, endpoint, tuple(sorted(values.items())))
    except TypeError:  # an unhashable value (a list of values for one argument)
        return url_for(endpoint, **values)


def slot_href(endpoint: str, args: dict, start, clinician_id: int) -> str:
    """The link that picks a free time: the page's link (`endpoint` with `args`) with
    ?start=<ISO time>&clinician=<id> added, as booking/week.py's picked_slot reads them."""
    base = remembered_url_for(endpoint, **args)
    joiner = "&" if "?" in base else "?"
    return f"{base}{joiner}start={quote(start.isoformat(), safe=':')}&clinician={int(clinician_id)}"


def install(app: Flask) -> None:
    app.jinja_env.globals.update(url_for=remembered_url_for, slot_href=slot_href)
