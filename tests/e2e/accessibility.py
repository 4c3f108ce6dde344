"""axe-core, from the npm registry, run in the page: the accessibility check of every page a
journey visits.

axe is installed once into tests/e2e/.npm (ignored by git) with `npm install`, at the version
pinned here. It goes into the page with page.evaluate(its source), not add_script_tag: the
portal's Content-Security-Policy (`script-src 'self'`) refuses the inline <script> that
add_script_tag writes, while a script the browser's DevTools protocol evaluates is not subject to
the page's CSP. That keeps the CSP on for everything else: bypass_csp=True on the browser context
would also let through any inline script of the portal's own, which a real browser would refuse,
so the suite could pass on pages that are broken for patients.
"""
import subprocess
from dataclasses import dataclass
from pathlib import Path

AXE_VERSION = "4.14.1"
NPM_FOLDER = Path(__file__).resolve().parent / ".npm"
AXE_SCRIPT = NPM_FOLDER / "node_modules" / "axe-core" / "axe.min.js"
FAILING_IMPACTS = ("serious", "critical")

# Every WCAG 2.0/2.1 A and AA rule, and axe's best practices (heading order, landmarks), which are
# reported as notes unless serious or critical.
RUN_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
               "resultTypes": ["violations"]}


def axe_source() -> str:
    """The text of axe.min.js, installed from the npm registry when missing or another version."""
    package = NPM_FOLDER / "node_modules" / "axe-core" / "package.json"
    if not (AXE_SCRIPT.exists() and f'"version": "{AXE_VERSION}"' in package.read_text()):
        NPM_FOLDER.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--prefix", str(NPM_FOLDER), "--no-audit", "--no-fund",
                        "--loglevel=error", f"axe-core@{AXE_VERSION}"], check=True, timeout=300)
    return AXE_SCRIPT.read_text()


@dataclass(frozen=True)
class Violation:
    rule: str
    impact: str
    help: str
    targets: tuple[str, ...]
    page: str  # the step and address where it was found

    @property
    def fails(self) -> bool:
        return self.impact in FAILING_IMPACTS

    def describe(self) -> str:
        targets = "\n".join(f"        {target}" for target in self.targets)
        return f"  {self.page}\n    {self.rule} [{self.impact}] {self.help}\n{targets}"


def check_page(page, source: str, where: str) -> list[Violation]:
    """Run axe on the page as it is now; every violation, with the CSS selectors of its elements."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(source)
    found = page.evaluate(
        """async (options) => (await axe.run(document, options)).violations.map(v => ({
               rule: v.id, impact: v.impact || 'minor', help: v.help,
               targets: v.nodes.map(n => n.target.join(' ')) }))""", RUN_OPTIONS)
    return [Violation(rule=v["rule"], impact=v["impact"], help=v["help"], targets=tuple(v["targets"]), page=where)
            for v in found]
