"""The HTML report and the history site in a real browser: headless Chromium from the
distribution (``/usr/bin/chromium``), driven by playwright. Run by ``make test-browser`` only.

Each page is opened from disk in light and dark colour schemes and for print, in a fresh
profile with the network features off. It must log no console error or page error, request
nothing that fails or leaves the disk, show its heading and text, draw its charts, and its
screenshot must not be blank.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Request, sync_playwright

from tests.conftest import SCENARIOS, run_cli

CHROMIUM = Path(os.environ.get("GOALCTL_CHROMIUM", "/usr/bin/chromium"))
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
EXAMPLES = ("refund-support-tools.md", "email_sender_v1.yaml", "email_sender_v2.md")


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A report page and a history site from offline runs of the examples."""
    root = tmp_path_factory.mktemp("browser")
    env = {"GOALCTL_STATE_DIR": str(root / "state")}
    for name in EXAMPLES:
        result = run_cli("run", str(SCENARIOS / name), "--html", str(root / "html"), env=env)
        assert result.exit_code == 0, result.stderr
    # Runs with the sections that compare: a baseline (faq v2 against v1's saved one) and models.
    for args in (
        [str(SCENARIOS / "faq-v1.md")],
        [str(SCENARIOS / "faq-v2.md"), "--baseline=auto"],
        [str(SCENARIOS / "ticket-priority-models.md")],
    ):
        result = run_cli("run", *args, "--html", str(root / "html"), env=env)
        assert result.exit_code == 0, result.stderr
    result = run_cli("history", "--out", str(root / "site"), env=env)
    assert result.exit_code == 0, result.stderr
    runs = sorted((root / "state" / "runs").glob("refund-support-tools-*"))
    return {
        "baseline": root / "html" / "faq-2.0.0.html",
        "models": root / "html" / "ticket-priority-1.0.0-claude-haiku-4-5.html",
        "faq": root / "site" / "goal-faq.html",
        "report": root / "html" / "refund-support-tools-1.0.0.html",
        "index": root / "site" / "index.html",
        "goal": root / "site" / "goal-email-sender.html",
        "run": root / "site" / "runs" / f"{runs[0].name}.html",
    }


@pytest.fixture(params=["light", "dark"])
def browser(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BrowserContext]:
    assert CHROMIUM.is_file(), f"{CHROMIUM} is missing: apt-get install chromium"
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),  # fresh each time
            executable_path=str(CHROMIUM),
            args=ARGS,
            headless=True,
            color_scheme=request.param,
            viewport={"width": 1100, "height": 900},
            offline=True,
        )
        try:
            yield context
        finally:
            context.close()


class Watched:
    """What a page logged and requested while it loaded."""

    def __init__(self, page: Page) -> None:
        self.problems: list[str] = []
        self.requests: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("requestfailed", lambda r: self.problems.append(f"request failed: {r.url}"))
        page.on("request", self._request)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            self.problems.append(f"console {message.type}: {message.text}")

    def _request(self, request: Request) -> None:
        self.requests.append(request.url)


def not_blank(png: bytes) -> None:
    image = Image.open(io.BytesIO(png)).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 16)
    assert colours is None or len(colours) > 16, "the screenshot is (nearly) one colour"
    text_pixels = sum(n for n, c in (colours or []) if c != image.getpixel((0, 0)))
    assert colours is None or text_pixels > 500


def open_page(context: BrowserContext, path: Path, media: str) -> tuple[Page, Watched]:
    page = context.new_page()
    watched = Watched(page)
    page.emulate_media(media=media)  # type: ignore[arg-type]
    page.goto(path.as_uri(), wait_until="load")
    return page, watched


def check(page: Page, watched: Watched, heading: str, shot: Path) -> None:
    assert watched.problems == []
    assert all(url.startswith("file://") for url in watched.requests), watched.requests
    h1 = page.locator("h1")
    assert h1.count() == 1
    assert h1.is_visible()
    assert heading in h1.inner_text()
    assert len(page.inner_text("main").split()) > 20
    png = page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 0
    not_blank(png)


@pytest.mark.parametrize("media", ["screen", "print"])
def test_report_page(
    browser: BrowserContext, pages: dict[str, Path], media: str, tmp_path: Path
) -> None:
    page, watched = open_page(browser, pages["report"], media)
    check(page, watched, "Refunds, with tools — achieved", tmp_path / "report.png")
    assert page.locator("h1.verdict-achieved").count() == 1
    assert page.locator("table.steps").count() == 2


@pytest.mark.parametrize("media", ["screen", "print"])
def test_history_goal_page_draws_its_charts(
    browser: BrowserContext, pages: dict[str, Path], media: str, tmp_path: Path
) -> None:
    page, watched = open_page(browser, pages["goal"], media)
    page.wait_for_selector(".plotly-graph-div .main-svg")
    check(page, watched, "Email Sender", tmp_path / "goal.png")
    for chart in ("rates", "cost", "time"):
        assert page.locator(f"#chart-{chart}-email-sender .main-svg").count() >= 1
    # error bars of the intervals are drawn
    assert page.locator("#chart-rates-email-sender g.errorbar").count() > 0
    assert "Added personalization" in page.inner_text(".lineage")


@pytest.mark.parametrize("media", ["screen", "print"])
def test_report_sections_that_compare(
    browser: BrowserContext, pages: dict[str, Path], media: str, tmp_path: Path
) -> None:
    page, watched = open_page(browser, pages["baseline"], media)
    check(page, watched, "FAQ", tmp_path / "baseline.png")
    table = page.locator("table.baseline")
    assert table.is_visible()
    assert "regressed" in table.locator("tr[data-compared='cites-source']").inner_text()
    assert page.locator("text=Regressed:").is_visible()
    page, watched = open_page(browser, pages["models"], media)
    check(page, watched, "Ticket", tmp_path / "models.png")
    models = page.locator("table.models")
    assert models.is_visible()
    assert models.locator("tbody tr").count() == 2
    assert "(this run)" in models.locator("tr.current").inner_text()


def test_history_goal_page_draws_its_saved_baselines(
    browser: BrowserContext, pages: dict[str, Path], tmp_path: Path
) -> None:
    page, watched = open_page(browser, pages["faq"], "screen")
    page.wait_for_selector("#chart-rates-faq .main-svg")
    check(page, watched, "FAQ", tmp_path / "faq.png")
    assert page.locator("table.baselines tbody tr").count() == 1
    assert "baseline saved" in page.inner_text(".lineage")
    dashed = page.evaluate(
        "Array.from(document.querySelectorAll('#chart-rates-faq .scatterlayer path.js-line'))"
        ".filter(p => (p.style.strokeDasharray || 'none') !== 'none').length"
    )
    assert dashed == 2  # one dashed reference line per criterion of the faq goal


@pytest.mark.parametrize("name", ["index", "run"])
def test_history_index_and_run_pages(
    browser: BrowserContext, pages: dict[str, Path], name: str, tmp_path: Path
) -> None:
    page, watched = open_page(browser, pages[name], "screen")
    heading = "goalctl history" if name == "index" else "Refunds, with tools"
    check(page, watched, heading, tmp_path / f"{name}.png")
    if name == "index":
        page.click("text=Email Sender")
        page.wait_for_selector(".main-svg")
        assert page.url.endswith("goal-email-sender.html")


def test_dark_scheme_changes_the_page_colours(pages: dict[str, Path], tmp_path: Path) -> None:
    backgrounds = {}
    with sync_playwright() as playwright:
        for scheme in ("light", "dark"):
            context = playwright.chromium.launch_persistent_context(
                str(tmp_path / scheme),
                executable_path=str(CHROMIUM),
                args=ARGS,
                headless=True,
                color_scheme=scheme,
            )
            try:
                page = context.new_page()
                page.goto(pages["report"].as_uri())
                backgrounds[scheme] = page.evaluate(
                    "getComputedStyle(document.body).backgroundColor"
                )
            finally:
                context.close()
    assert backgrounds == {"light": "rgb(255, 255, 255)", "dark": "rgb(20, 23, 27)"}
