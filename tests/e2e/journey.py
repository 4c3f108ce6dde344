"""A journey: one person's walk through the portal in a browser tab, step by step.

Each step ends with a screenshot (tests/e2e/artifacts/<journey>/<size>/NN-step.png) and an axe
check of the page it ends on; a step that fails saves the page (NN-step-FAILED.png and .html) for
whoever reads the failure. At the end of the journey, any serious or critical accessibility
violation fails it, listed with its elements, and so does a page the browser loaded that no step
checked (two page loads inside one step), a page wider than the screen (it scrolls sideways), a
script error, or a Content-Security-Policy refusal.
"""
import re
import shutil
from contextlib import contextmanager
from pathlib import Path

from tests.e2e.accessibility import Violation, check_page
from tests.e2e.live_portal import LivePortal, Person

FLASH_WAIT_MS = 5000  # a page after a click, on a busy machine

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


class Journey:
    """One person's browser tab (a context of its own: no cookies shared) and what it saw."""

    def __init__(self, context, portal: LivePortal, name: str, size: str, axe: str):
        self.portal, self.name, self.size, self._axe = portal, name, size, axe
        self.folder = ARTIFACTS / _slug(name) / size
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        self.context = context
        self.page = context.new_page()
        self.steps = 0
        self.violations: list[Violation] = []
        self.problems: list[str] = []  # script errors, CSP refusals, pages no step checked, sideways scrolling
        self._loads: list[str] = []
        self._checked = 0
        self.page.on("load", self._loaded)
        self.page.on("pageerror", lambda error: self.problems.append(f"script error on {self.page.url}: {error}"))
        self.page.on("console", self._console)

    def __enter__(self) -> "Journey":
        return self

    def __exit__(self, kind, error, trace) -> None:
        if kind is None:
            self.finish()

    # --- what every step does --------------------------------------------------------------------

    def _loaded(self, page) -> None:
        if len(self._loads) > self._checked:
            self.problems.append(f"{self._loads[-1]} was loaded but no step checked it (split the step)")
        self._loads.append(page.url)

    def _console(self, message) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.problems.append(f"CSP refusal on {self.page.url}: {message.text}")

    @contextmanager
    def step(self, name: str):
        """A step of the journey; the page it ends on is photographed and checked by axe."""
        self.steps += 1
        stem = f"{self.steps:02d}-{_slug(name)}"
        try:
            yield self.page
            self.page.wait_for_load_state()
        except BaseException:
            self._save_failure(stem)
            raise
        self.page.screenshot(path=self.folder / f"{stem}.png", full_page=True)
        where = f"{stem} {self.page.url.removeprefix(self.portal.base_url)}"
        self.violations += check_page(self.page, self._axe, where)
        width = self.page.evaluate("document.scrollingElement.scrollWidth")
        if width > SIZES[self.size]["width"]:
            self.problems.append(f"{where} scrolls sideways: {width} px wide for {SIZES[self.size]['width']} px")
        self._checked = len(self._loads)

    def _save_failure(self, stem: str) -> None:
        try:
            self.page.screenshot(path=self.folder / f"{stem}-FAILED.png", full_page=True)
            (self.folder / f"{stem}-FAILED.html").write_text(self.page.content())
        except Exception as error:  # noqa: BLE001 - the step's own failure is what matters
            print(f"could not save the failed page: {error}")

    def finish(self) -> None:
        """The journey's verdict on what it saw: accessibility, scripts, unchecked pages."""
        failing = [v for v in self.violations if v.fails]
        notes = [v for v in self.violations if not v.fails]
        if notes:
            print(f"axe notes (moderate or minor) in {self.name} at {self.size}:")
            print("\n".join(v.describe() for v in notes))
        report = []
        if failing:
            report.append(f"axe-core found {len(failing)} serious or critical violations in {self.name} at {self.size} "
                          f"({self.size} screenshots in {self.folder}):\n" + "\n".join(v.describe() for v in failing))
        report += self.problems
        assert not report, "\n".join(report)

    # --- what people do --------------------------------------------------------------------------

    def go(self, path: str):
        return self.page.goto(self.portal.url(path))

    def nav(self, link: str):
        """Follow a link of the site's main navigation."""
        self.page.get_by_role("navigation", name="Main").get_by_role("link", name=link, exact=True).click()

    def log_in(self, who: Person) -> None:
        """The login page, the password, and for staff the code from the authenticator app: a step each."""
        with self.step("login page"):
            self.go("/auth/login")
        with self.step(f"log in as {who.name}") as page:
            page.get_by_label("Email address").fill(who.email)
            page.get_by_label("Password", exact=True).fill(who.password)
            page.get_by_role("button", name="Log in").click()
        if who.totp_secret:
            with self.step("type the code from the app") as page:
                page.get_by_label("Code from the app").fill(self.portal.totp_code(who.email))
                page.get_by_role("button", name="Log in").click()
        assert self.page.get_by_role("button", name="Log out").count() == 1, "not logged in"

    def flash(self) -> str:
        """The success or error messages the last action showed. The click that caused them may
        still be loading the next page: wait a few seconds for one to show (none: "")."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        notices = self.page.locator(".notice")
        try:
            notices.first.wait_for(state="visible", timeout=FLASH_WAIT_MS)
        except PlaywrightTimeout:
            return ""
        return " ".join(notices.all_inner_texts())
