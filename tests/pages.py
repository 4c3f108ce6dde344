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
