"""Malformed query strings for every parameter a page reads (OWASP ASVS 5.1.3, 5.1.4): random
text (any Unicode up to U+10FFFF, very long, empty), raw percent-encoded bytes that are not UTF-8
or are NUL, repeated keys and keys the page does not know, as every role the page is for. No
answer is a 5xx. PARAMETERS lists what each page reads; a test reads the views' source for
`request.args` names so the list cannot fall behind."""
import re
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from portal import access
from portal.auth.models import Role
from tests.security.probes import ROLES, addresses, answer, browser_as, seed_clinic

PORTAL = Path(__file__).resolve().parents[2] / "portal"
EXAMPLES_PER_PARAMETER = 30

# What each GET page reads from its query string (the views, booking/week.py's helpers, the queue's
# filters, the templates' request.args).
WEEK = ["week", "day", "clinician"]
PARAMETERS = {
    "auth.login": ["next"], "auth.register": ["next", "answers"], "auth.registration_sent": ["next"],
    "auth_password.choose": ["next"],
    "booking.book": WEEK, "booking.slots_json": WEEK, "booking.reschedule": WEEK,
    "booking.confirm_booking": ["start", "clinician"], "booking.confirm_reschedule": ["start", "clinician"],
    "booking.my_appointments": ["booked"],
    "queue.queue": ["route", "urgency", "review", "page", "anon_page"],
    "desk.day": ["date"], "desk.week": ["date", "clinician"],
    "desk.move": ["week", "clinician"], "desk.confirm_move": ["start", "clinician"], "desk.cancel": ["back"],
    "desk_patients.book": ["type", *WEEK], "desk_patients.confirm": ["type", "start", "clinician"],
}
# Where a parameter's name is not written at the call: the helper that reads it, and the names it is given.
READ_THROUGH = {"queue/views.py": r'_(?:filter_value|page_number)\(\s*"(\w+)"'}
LITERAL_READS = (r'request\.args\.get\(\s*["\'](\w+)["\']', r'["\'](\w+)["\']\s+in\s+request\.args')

# Values the page gets after decoding, and raw bytes that are sent as they are.
EDGES = ["\U0010ffff", "ab\U0010ffff", "\ufeff", "\u202e", "\u0130", "0", "-1", "9" * 40, "1e308", "NaN", "",
         "2026-02-30", "9999-12-31", "0001-01-01", "99999-01-01", "2026-01-01T25:00:00+00:00", "x" * 5000,
         "é" * 3000, "' OR 1=1 --", "<script>alert(1)</script>", "//evil.example", "\r\n", "\t", " ", "%"]
RAW = ["%00", "%ff%fe", "%C0%AF", "%ED%A0%80", "%E2%82", "%ZZ", "%", "%%41", "+%2B+", "%0d%0a", "%F4%90%80%80",
       "%EF%BF%BF", "%F4%8F%BF%BF", "%01", "a%00b"]
ALWAYS_TRIED = ["%F4%8F%BF%BF", "%00", "%ED%A0%80", "x" * 5000]  # U+10FFFF, NUL, a lone surrogate, a long one


# Text a person or a script could type, without the C0 controls that are refused before any view
# reads them (portal/input_checks.py; RAW and ALWAYS_TRIED send those), so most values reach the view.
TYPED = st.characters(exclude_categories=("Cs",), exclude_characters="".join(map(chr, range(32))) + "\x7f")


def values() -> st.SearchStrategy[str]:
    return st.one_of(st.text(TYPED).map(lambda typed: quote(typed, safe="")),
                     st.text(TYPED, min_size=300, max_size=3000).map(lambda typed: quote(typed, safe="")),
                     st.text(st.characters(min_codepoint=0x10000), max_size=5).map(lambda typed: quote(typed, safe="")),
                     st.sampled_from(EDGES).map(lambda edge: quote(edge, safe="")), st.sampled_from(RAW),
                     st.integers().map(str), st.dates().map(str),
                     st.datetimes(timezones=st.timezones()).map(lambda moment: quote(moment.isoformat())))


def queries(parameters: list[str]) -> st.SearchStrategy[str]:
    """A raw query string: the page's parameters, some twice, some missing, maybe one it does not know."""
    names = st.sampled_from([*parameters, "unexpected", ""])
    return st.lists(st.tuples(names, values()), min_size=1, max_size=5).map(
        lambda pairs: "&".join(f"{name}={value}" for name, value in pairs))


def roles_for(endpoint: str) -> list[str]:
    return [who for who in ROLES if who in access.who_may_use(endpoint)]


@pytest.fixture
def browsers(app):
    clinic = seed_clinic()
    urls = {}
    for endpoint, url in addresses(app, clinic, "GET"):
        urls.setdefault(endpoint, url)
    return urls, {who: browser_as(app, clinic.emails.get(who))[0] for who in ROLES}


def failure(browser, url: str) -> str | None:
    response = answer(lambda: browser.get(url))
    if isinstance(response, str):
        return response
    return f"{response.status_code}" if response.status_code >= 500 else None


@pytest.mark.parametrize("endpoint", sorted(PARAMETERS))
def test_no_query_string_makes_a_page_fail(app, browsers, endpoint):
    urls, by_role = browsers
    url, parameters, roles = urls[endpoint], PARAMETERS[endpoint], roles_for(endpoint)
    tried = [(who, f"{url}?{name}={value}") for name in parameters for value in ALWAYS_TRIED for who in roles]
    wrong = [f"GET {address[:300]} as {who}: {problem}" for who, address in tried
             if (problem := failure(by_role[who], address))]
    assert wrong == [], "\n".join(wrong)

    @settings(max_examples=EXAMPLES_PER_PARAMETER * len(parameters), deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck))
    @given(who=st.sampled_from(roles), query=queries(parameters))
    def one_address(who, query):
        address = f"{url}?{query}"
        assert failure(by_role[who], address) is None, f"GET {address[:300]} as {who}: {failure(by_role[who], address)}"

    one_address()


def test_every_parameter_a_page_reads_is_fuzzed():
    """The names the views read (request.args, and the helpers given a name) are all in PARAMETERS,
    and every page listed exists."""
    fuzzed = {name for names in PARAMETERS.values() for name in names}
    read, unnamed = set(), []
    for path in [*PORTAL.rglob("*.py"), *PORTAL.rglob("*.html")]:
        source, where = path.read_text(), str(path.relative_to(PORTAL))
        for pattern in (*LITERAL_READS, READ_THROUGH.get(where, r"(?!)")):
            read |= set(re.findall(pattern, source))
        calls = len(re.findall(r"request\.args\.get\(", source))
        literal = len(re.findall(r"request\.args\.get\(\s*[\"']", source))
        if calls > literal and where not in READ_THROUGH:
            unnamed.append(where)
    assert unnamed == [], f"request.args read with a name given elsewhere: add the names to READ_THROUGH: {unnamed}"
    assert read - fuzzed == set(), f"add these to PARAMETERS in {__file__}: {sorted(read - fuzzed)}"
    assert {"week", "start", "clinician", "route", "anon_page", "next", "back"} <= read


def test_every_listed_page_exists_and_reads_its_parameters_as_a_get(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules() if "GET" in rule.methods}
    assert set(PARAMETERS) <= endpoints
    assert all(roles_for(endpoint) for endpoint in PARAMETERS)
    assert roles_for("auth.login") == list(ROLES) and roles_for("desk.day") == [Role.DESK, Role.ADMIN]


# Path arguments that are text (a feed's key, a reset link's key, a questionnaire step, a file): the
# same bytes in the path. A NUL there once reached PostgreSQL (review finding 7).
IN_A_PATH = ["%00", "a%00b", "%01", "%F4%8F%BF%BF", "%ED%A0%80", "%ff%fe", "%C0%AF", "%E2%80%A8", "x" * 3000,
             "%0d%0a", "%2e%2e%2f%2e%2e%2fetc%2fpasswd"]


def test_no_malformed_text_in_a_path_makes_a_page_fail(app, browsers):
    _, by_role = browsers
    wrong = []
    for rule in app.url_map.iter_rules():
        text_arguments = [name for name in rule.arguments if name in ("token", "step_id", "filename", "kind")]
        for name in text_arguments:
            for raw in IN_A_PATH:
                path = re.sub(r"<[^>]+>", lambda match: raw if name in match.group(0) else "1", rule.rule)
                for who in roles_for(rule.endpoint):
                    if problem := failure(by_role[who], path):
                        wrong.append(f"{sorted(rule.methods - {'HEAD', 'OPTIONS'})} {path[:200]} as {who}: {problem}")
    assert wrong == [], "\n".join(wrong)
