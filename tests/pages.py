"""Reading a page as a person does, for the app tests: its text, its words, where it sends you,
and the times it offers."""
import html
import re
from urllib.parse import urlsplit


def text(response) -> str:
    """The page as a person reads it (entities such as &#39; turned back into characters)."""
    return html.unescape(response.get_data(as_text=True))


def main(response) -> str:
    """The page's main content (not the header's menu or the footer), as markup."""
    match = re.search(r'<main id="main"[^>]*>(.*)</main>', response.get_data(as_text=True), re.S)
    assert match, "the page has no main content"
    return html.unescape(match.group(1))


def words(markup: str) -> str:
    """Markup as a person reads it: tags dropped, entities turned back, spaces squeezed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def location(response) -> str:
    """Where a redirect sends the browser (the path alone)."""
    assert response.status_code in (301, 302, 303), response.status_code
    return urlsplit(response.headers["Location"]).path


def slot_links(response) -> list[str]:
    """The href of every time offered on the page, in page order."""
    return [html.unescape(href) for href in
            re.findall(r'<a class="slot[^"]*" href="([^"]+)"', response.get_data(as_text=True))]


# --- the slot picker (booking/_week.html) ---------------------------------------------------------

def spoken(markup: str) -> str:
    """Markup as a screen reader says it: words, without what is hidden from it (aria-hidden)."""
    return words(re.sub(r'<span[^>]*aria-hidden="true"[^>]*>.*?</span>', " ", markup, flags=re.S))


def day_strip(response) -> list[dict]:
    """The strip of days, in order: each day as a screen reader says it, its link (None for a day
    offered with no link) and whether it is marked as the chosen day (aria-current)."""
    page = response.get_data(as_text=True)
    strip = re.search(r'<nav class="sp-strip"[^>]*>(.*?)</nav>', page, re.S)
    assert strip, "the page has no strip of days"
    days = []
    for item in re.findall(r"<li>(.*?)</li>", strip.group(1), re.S):
        link = re.match(r'\s*<a class="sp-tab" href="([^"]+)"', item)
        days.append({"says": spoken(item), "link": html.unescape(link.group(1)) if link else None,
                     "current": 'aria-current="true"' in item})
    return days


def first_free_link(response) -> str | None:
    """The "first free time" link at the top of the times, if any."""
    match = re.search(r'<a class="button primary sp-first-time" href="([^"]+)"', response.get_data(as_text=True))
    return html.unescape(match.group(1)) if match else None


def time_buttons(response) -> list[str]:
    """Every time offered, as a screen reader names its button (day, time, clinician)."""
    return [spoken(inner) for inner in
            re.findall(r'<a class="slot[^"]*" href="[^"]+">(.*?)</a>', response.get_data(as_text=True), re.S)]


def parts_of_day(response) -> list[tuple[str, list[str]]]:
    """The chosen day's times as grouped on the page: each part's heading (Morning, ...) and the
    times under it, as they are shown."""
    page = response.get_data(as_text=True)
    groups = re.findall(r'<h\d class="sp-part">(.*?)</h\d>\s*<ul class="slots sp-times">(.*?)</ul>', page, re.S)
    return [(heading, [words(re.sub(r'<span class="visually-hidden">.*?</span>', "", button))
                       for button in re.findall(r'<a class="slot[^"]*" href="[^"]+">(.*?)</a>', times, re.S)])
            for heading, times in groups]
