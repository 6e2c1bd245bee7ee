"""A real browser for the UI tests: Playwright driving the system Chromium (Debian's ``chromium`` package).

Playwright's own browser download cannot run offline, so the browser is the OS package that ``.ci/run``
installs. A failure keeps a screenshot of every page the test opened under ``test-artifacts/browser/``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from helpers import REPO

# Headless flags for a machine without network: no background fetches, no sandbox (CI runs as root).
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(os.environ.get("PAPERFLOWS_TEST_ARTIFACTS", REPO / "test-artifacts")) / "browser"


def why_no_browser() -> str | None:
    """None when a browser can be driven here, else the reason (for ``pytest.skip``)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (make install-dev installs it from requirements-dev.lock)"
    if chromium() is None:
        return "no Chromium: install Debian's `chromium` package (.ci/run does) or set PAPERFLOWS_CHROMIUM"
    return None


def chromium() -> str | None:
    """PAPERFLOWS_CHROMIUM if set (a path that is not an executable means "no browser"), else the system's."""
    chosen = os.environ.get("PAPERFLOWS_CHROMIUM")
    if chosen is not None:
        return chosen if os.access(chosen, os.X_OK) else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


class BrowserSession:
    """One browser page; every 4xx/5xx response it sees is kept in ``failed`` as ``(status, url)``.

    Leaving the block with an exception saves a screenshot of the current page as ``<name>.png`` under
    ``ARTIFACTS``, so a red CI run shows what the user would have seen."""

    def __init__(self, name: str, width: int = 1400, height: int = 1000):
        self.name, self.size = name, {"width": width, "height": height}
        self.failed: list[tuple[int, str]] = []

    def __enter__(self):
        from playwright.sync_api import sync_playwright

        self._pw = sync_playwright().start()
        self._browser = self._pw.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        self.page = self._browser.new_page(viewport=self.size)
        self.page.set_default_timeout(60_000)
        self.page.on("response", lambda r: self.failed.append((r.status, r.url)) if r.status >= 400 else None)
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is not None:
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                shot = ARTIFACTS / f"{self.name}.png"
                self.page.screenshot(path=str(shot), full_page=True)
                print(f"browser screenshot at failure: {shot} (page {self.page.url})")
        finally:
            self._browser.close()
            self._pw.stop()
        return False

    def images(self) -> list[dict]:
        """Every ``<img>`` on the page: its alt text, whether it loaded, and its natural width (0 = broken)."""
        return self.page.eval_on_selector_all(
            "img", "els => els.map(e => ({alt: e.alt, complete: e.complete, width: e.naturalWidth}))")
