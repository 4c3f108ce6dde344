"""The whole questionnaire and a booking with the keyboard alone: Tab and Shift+Tab to move,
arrow keys and Space to answer, Enter to go on; never a click. Wherever the focus lands it must
be visible (an outline or a shadow on the focused element), WCAG 2.4.7."""
import pytest
from playwright.sync_api import expect

from portal.triage.questions import STEPS
from tests.e2e.live_portal import KEYBOARD_PATIENT

FOCUSED = """() => {
    const element = document.activeElement;
    if (!element || element === document.body) return null;
    const style = getComputedStyle(element);
    return {
        described: `${element.tagName.toLowerCase()}${element.id ? '#' + element.id : ''}`
                   + `${element.name ? '[name=' + element.name + ']' : ''}`
                   + ` "${(element.innerText || element.value || '').trim().slice(0, 40)}"`,
        visible: (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0)
                 || (style.boxShadow !== 'none' && style.boxShadow !== ''),
    };
}"""
DIRECTION = """(selector) => {
    const target = document.querySelector(selector), focused = document.activeElement;
    if (!target) throw new Error(`nothing on the page matches ${selector}`);
    if (!focused || focused === document.body) return 'Tab';
    return focused.compareDocumentPosition(target) & Node.DOCUMENT_POSITION_PRECEDING ? 'Shift+Tab' : 'Tab';
}"""
MOST_TAB_PRESSES = 120


class Keyboard:
    """A person with a keyboard and no mouse; every place the focus lands is checked."""

    def __init__(self, page):
        self.page = page
        self.unseen_focus: list[str] = []

    def _focus_is_on(self, selector: str) -> bool:
        return self.page.evaluate("(s) => !!document.activeElement && document.activeElement.matches(s)", selector)

    def press(self, key: str) -> None:
        self.page.keyboard.press(key)
        focused = self.page.evaluate(FOCUSED)
        if focused and not focused["visible"]:
            self.unseen_focus.append(f"{self.page.url}: {focused['described']}")

    def tab_to(self, selector: str) -> None:
        """Tab (or Shift+Tab, when it is above the focus) until the focus is on `selector`."""
        key = self.page.evaluate(DIRECTION, selector)
        for _ in range(MOST_TAB_PRESSES):
            if self._focus_is_on(selector):
                return
            self.press(key)
        raise AssertionError(f"{key} never reached {selector} on {self.page.url}")

    def type_into(self, selector: str, text: str) -> None:
        self.tab_to(selector)
        self.page.keyboard.type(text)

    def choose(self, name: str, value: str) -> None:
        """A radio button: Tab to its group, arrows to the answer, Space when it is the first."""
        self.tab_to(f"input[type=radio][name='{name}']")
        for _ in range(10):
            if self._focus_is_on(f"input[value='{value}']"):
                break
            self.press("ArrowDown")
        self.page.keyboard.press("Space")
        expect(self.page.locator(f"input[name='{name}'][value='{value}']")).to_be_checked()

    def tick(self, name: str, value: str) -> None:
        self.tab_to(f"input[type=checkbox][name='{name}'][value='{value}']")
        self.page.keyboard.press("Space")
        expect(self.page.locator(f"input[name='{name}'][value='{value}']")).to_be_checked()

    def enter(self) -> None:
        """Enter, on a link or in a form: the next page."""
        with self.page.expect_navigation():
            self.page.keyboard.press("Enter")

    def activate(self, selector: str) -> None:
        """Follow a link or press a button: Tab to it, then Enter."""
        self.tab_to(selector)
        self.enter()


def answer_as_a_varicose_vein_case(keys: Keyboard, step_id: str) -> None:
    """A routine leg vein ultrasound (tests/factories.py ANSWERS_FOR); the other steps left empty."""
    if step_id == "safety":
        for question_id in ("pe_symptoms", "bleeding_vein", "cold_pale_leg"):
            keys.choose(question_id, "no")
    elif step_id == "about_you":
        keys.type_into("[name='age']", "66")
        keys.choose("sex", "male")
    elif step_id == "legs":
        keys.choose("dvt_signs", "no")
        keys.choose("svt_signs", "no")
        keys.choose("venous_symptoms", "yes")
        keys.tick("leg_signs", "varicose_veins")  # back up the page, with Shift+Tab


@pytest.mark.parametrize("size", ["desktop"], indirect=True)
def test_the_questions_and_a_booking_with_the_keyboard_alone(journey, portal):
    with journey("keyboard only") as j:
        keys = Keyboard(j.page)
        with j.step("login page"):
            j.go("/auth/login")
        with j.step("logged in") as page:
            keys.type_into("input[name='email']", KEYBOARD_PATIENT.email)
            keys.type_into("input[name='password']", KEYBOARD_PATIENT.password)
            keys.enter()
            expect(page.get_by_role("heading", level=1)).to_have_text("My appointments")
        with j.step("book a visit: the questions first") as page:
            keys.activate("nav a[href$='/book/']")
            expect(page.get_by_role("heading", level=1)).to_have_text("Find the right visit")
        with j.step("start the questions") as page:
            keys.activate("main a[href*='/triage/step/']")
        for step in STEPS:
            with j.step(f"answer {step.title}") as page:
                expect(page.get_by_role("heading", level=1)).to_have_text(step.title)
                answer_as_a_varicose_vein_case(keys, step.id)
                keys.activate("button[value='next']")
        with j.step("the outcome leads with the free times") as page:
            expect(page.get_by_role("heading", level=1)).to_have_text("Pick a time")
        with j.step("confirm the time") as page:
            keys.activate("main a[href*='start=']")
            expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your visit")
        with j.step("booked") as page:
            keys.activate("main form button[type=submit]")
            expect(page.get_by_role("heading", level=1)).to_have_text("My appointments")
            assert "is booked" in j.flash()
        assert not keys.unseen_focus, "focus not visible on:\n" + "\n".join(keys.unseen_focus)
