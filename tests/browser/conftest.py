"""Browser tests: Playwright driving Debian's Chromium (/usr/bin/chromium, or ELEVFLOW_CHROMIUM).

Without Chromium they are skipped (install it with `apt-get install chromium`), unless
ELEVFLOW_TEST_REQUIRE_BROWSER=1 (as CI sets), when they fail instead. Screenshots go to
tests/artifacts/screenshots/.
"""
from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "tests" / "artifacts" / "screenshots"
PASSWORD = "ett långt lösenord för test"
SECRET = "browser-test-secret-key-0123456789-abcdefghij"
CHROMIUM_FLAGS = ["--lang=sv-SE", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_path() -> str | None:
    return os.environ.get("ELEVFLOW_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    path = chromium_path()
    if path is None:
        if os.environ.get("ELEVFLOW_TEST_REQUIRE_BROWSER") == "1":
            pytest.fail("Chromium is needed for the browser tests (apt-get install chromium)")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_FLAGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(  # type: ignore[attr-defined]
        locale="sv-SE", viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    yield tab
    context.close()


def buffered(app: Any) -> Any:
    """The app with each response read whole and closed before the server sends it.

    Werkzeug's development server can skip closing a response when the browser drops the connection
    (it abandons, say, the favicon as it navigates on): a static file is then left open, and its
    ResourceWarning, an error under this suite's warning filter, fails whichever test runs at the time.
    Production servers (gunicorn) close responses as WSGI requires; the pages here are all small.
    """
    def wsgi(environ: dict, start_response: Any) -> list[bytes]:
        response = app(environ, start_response)
        try:
            return [b"".join(response)]
        finally:
            if hasattr(response, "close"):
                response.close()
    return wsgi


@contextmanager
def serve(db_url: str, workers: Any) -> Iterator[str]:
    """The web app served on a free local port, in a thread, on the test database; yields its address."""
    from werkzeug.serving import make_server

    from elevflow.webui import close_app, create_app
    app = create_app({"DATABASE_URL": db_url, "TESTING": True, "SECRET_KEY": SECRET}, workers=workers)
    server = make_server("127.0.0.1", 0, buffered(app), threaded=True)
    # Requests still in flight at the end (the browser's last fetches) must finish before the app's
    # database is closed: a connection they hold would outlive its pool, open, and its ResourceWarning
    # would fail some later test. Tracked (not daemon) request threads are joined by server_close().
    server.daemon_threads = False
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
        close_app(app)


def log_in(page: Any, site: str, username: str) -> None:
    page.goto(f"{site}/logga-in")
    page.get_by_label("Användarnamn").fill(username)
    page.get_by_label("Lösenord").fill(PASSWORD)
    page.get_by_role("button", name="Logga in").click()
    page.wait_for_url(f"{site}/uppgifter**")


def screenshot(page: object, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path



def docs_screenshot(page: Any, name: str) -> Path:
    """A screenshot saved with the run's others; with ELEVFLOW_UPDATE_SCREENSHOTS=1 also as the
    documentation's picture (docs/images/NAME.png), which the docs and the README show."""
    path = screenshot(page, name)
    if os.environ.get("ELEVFLOW_UPDATE_SCREENSHOTS") == "1":
        (ROOT / "docs" / "images").mkdir(exist_ok=True)
        shutil.copy(path, ROOT / "docs" / "images" / f"{name}.png")
    return path
