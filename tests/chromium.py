"""The report page in headless Chromium (Debian's ``chromium``), driven by Playwright.

Playwright drives the system's browser through ``executable_path``: ``playwright install``
(which downloads a browser build) is never needed. The page is opened from its file with
the network off; every request the page makes is recorded, and any that would leave the
file is aborted, so a test can assert there was none. Used by tests/test_report.py and by
bench/report.py.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

READY_SELECTOR = "body[data-ready=true]"
NO_CHROMIUM = (
    "Chromium is not installed: `make test` installs Debian's chromium with apt-get when it runs as "
    "root (or set MOVIELAKE_CHROMIUM to a Chromium binary)"
)


def chromium_path() -> str | None:
    """The Chromium binary: ``$MOVIELAKE_CHROMIUM``, else ``chromium`` on PATH; None if neither."""
    return (
        os.environ.get("MOVIELAKE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    )


@dataclass
class Visit:
    """An open page and what it did: every request's URL, console errors and uncaught errors."""

    page: Any  # playwright.sync_api.Page
    url: str
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def left_the_file(self) -> list[str]:
        """The requests for anything but the page's own file."""
        return [url for url in self.requests if url != self.url]


@contextmanager
def offline_page(path: Path, width: int = 1280, height: int = 900, timeout_s: float = 60) -> Iterator[Visit]:
    """``path`` opened in headless Chromium with the network off, once every chart is drawn."""
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    if executable is None:
        raise RuntimeError(NO_CHROMIUM)
    url = path.resolve().as_uri()
    with sync_playwright() as playwright:
        # --no-sandbox: Chromium refuses to run as root with its sandbox (CI runs as root).
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            context = browser.new_context(offline=True, viewport={"width": width, "height": height})
            page = context.new_page()
            visit = Visit(page, url)
            page.on("request", lambda request: visit.requests.append(request.url))
            page.on("console", lambda m: visit.errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda error: visit.errors.append(str(error)))
            context.route(
                "**/*", lambda route: route.continue_() if route.request.url == url else route.abort()
            )
            page.goto(url)
            try:
                page.wait_for_selector(READY_SELECTOR, state="attached", timeout=timeout_s * 1000)
            except Exception as exc:  # the page's own errors say more than the timeout
                raise RuntimeError(f"{path}: not drawn in {timeout_s} s; errors: {visit.errors}") from exc
            yield visit
        finally:
            browser.close()


COUNT_MARKS = """
(key) => {
  const count = (mark) => {
    let n = mark.marktype && mark.marktype !== "group" && mark.role === "mark" ? mark.items.length : 0;
    for (const item of mark.items || []) for (const child of item.items || []) n += count(child);
    return n;
  };
  return count(window.movielake.views[key].scenegraph().root);
}
"""
