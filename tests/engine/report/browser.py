"""Open a report in headless Chromium (Debian's ``chromium``, driven by Playwright's Python
package with ``executable_path``; ``playwright install`` is never needed) and check it as a
user's browser would see it: JavaScript console errors, every network request, every chart.

Used by tests/engine/report/test_browser.py and to make the README screenshot::

    python -m tests.engine.report.browser out/demo/report.html examples/screenshots/report.png
"""

from __future__ import annotations

import contextlib
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

#: Where Debian's chromium package puts the browser (.ci/run installs it when missing).
CHROMIUM = "/usr/bin/chromium"
#: No first-run, sync, component update or QUIC: nothing that would phone home.
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
#: JavaScript: per plot container, whether plotly drew it (its SVG and a trace, image or canvas).
_DRAWN_JS = """() => Array.from(document.querySelectorAll('.plotly-graph-div')).map(d => ({
    id: d.id,
    svg: d.querySelectorAll('svg.main-svg').length,
    marks: d.querySelectorAll('g.trace, g.heatmaplayer image, image, canvas, path.point, '
                              + 'g.barlayer path').length,
    full: !!d._fullLayout}))"""


class BrowserMissing(RuntimeError):
    """Chromium or Playwright is not installed (the message says how to install them)."""


@dataclass
class PageCheck:
    """What the browser saw."""

    url: str
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    charts: list[dict] = field(default_factory=list)

    @property
    def foreign_requests(self) -> list[str]:
        """Every request other than the page itself."""
        return [r for r in self.requests if r != self.url]

    @property
    def undrawn(self) -> list[str]:
        return [c["id"] for c in self.charts if not (c["svg"] and c["marks"] and c["full"])]


@contextlib.contextmanager
def launch():
    """One headless Chromium for several :func:`check_page` calls (launching costs seconds)."""
    exe = shutil.which("chromium") or CHROMIUM
    if not Path(exe).exists():
        raise BrowserMissing(f"Chromium not found at {CHROMIUM}: install it with "
                             "`apt-get install -y chromium fonts-noto-cjk` (.ci/run does this)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise BrowserMissing("the playwright package is missing: pip install -e '.[dev]'"
                             ) from exc
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, args=ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def check_page(html_path, screenshot=None, *, browser=None, full_page: bool = True,
               viewport=(1280, 900), timeout_ms: int = 60_000, at: str | None = None
               ) -> PageCheck:
    """Load ``html_path`` from its ``file://`` URL in a fresh browser context (``browser``
    from :func:`launch`, else a browser of its own), wait for every chart, screenshot it."""
    if browser is None:
        with launch() as b:
            return check_page(html_path, screenshot, browser=b, full_page=full_page,
                              viewport=viewport, timeout_ms=timeout_ms, at=at)
    url = Path(html_path).resolve().as_uri()
    out = PageCheck(url)
    ctx = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]},
                              service_workers="block")
    try:
        def route(r):
            if r.request.url not in out.requests:
                out.requests.append(r.request.url)
            if r.request.url == url:
                r.continue_()
            else:  # never let a request leave the machine, but record it
                r.abort()

        ctx.route("**/*", route)
        page = ctx.new_page()
        page.on("console", lambda m: out.console_errors.append(m.text)
                if m.type == "error" else None)
        page.on("pageerror", lambda e: out.page_errors.append(str(e)))
        page.on("request", lambda r: None if r.url in out.requests
                else out.requests.append(r.url))
        page.goto(url, wait_until="load", timeout=timeout_ms)
        page.wait_for_function(
            "() => Array.from(document.querySelectorAll('.plotly-graph-div'))"
            ".every(d => d._fullLayout && d.querySelector('svg.main-svg'))",
            timeout=timeout_ms)
        page.wait_for_timeout(300)
        out.charts = page.evaluate(_DRAWN_JS)
        if at is not None:  # scroll an element (e.g. "#p0-equity") to the top of the view
            page.eval_on_selector(at, "e => window.scrollTo(0, e.offsetTop - 8)")
            page.wait_for_timeout(200)
        if screenshot is not None:
            page.screenshot(path=str(screenshot), full_page=full_page)
    finally:
        ctx.close()
    return out


def main(argv=None) -> int:
    """``python -m tests.engine.report.browser REPORT.html OUT.png [SELECTOR]``: the README
    screenshot (one 1280 x 900 view, scrolled to SELECTOR when given)."""
    argv = sys.argv[1:] if argv is None else argv
    res = check_page(argv[0], argv[1], full_page=False, at=argv[2] if len(argv) > 2 else None)
    print(f"{len(res.charts)} charts, undrawn {res.undrawn}, console errors "
          f"{res.console_errors + res.page_errors}, foreign requests {res.foreign_requests}")
    return 0 if not (res.undrawn or res.console_errors or res.page_errors
                     or res.foreign_requests) else 1


if __name__ == "__main__":
    sys.exit(main())
