"""Fixtures for the browser tests: a real node served by uvicorn on a free 127.0.0.1 port, and Chromium.

The node is made as an operator makes one (``create_node``, the Korea-Japan world imported, one item with
a body, a consent request waiting) and its users are added through the users service, each with a
one-time password the tests log in with as a new user would. The browser is the Chromium installed on the
machine (/usr/bin/chromium), driven by Playwright; nothing downloads a browser. Without that Chromium (or
without Playwright) the tests skip and say why, unless GSOMIA_REQUIRE_BROWSER=1 makes that a failure.

Screenshots go to the folder named by GSOMIA_ARTIFACTS (made if need be), else to a pytest tmp folder.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from gsomia.bootstrap import Services, build, create_node
from gsomia.config import Settings
from gsomia.services.consent import ConsentRequest
from gsomia.web.app import create_app
from gsomia.web.auth import ApiConfig
from tests.web.conftest import BODY, BODY_ITEM, WORLD, node_users

CHROMIUM = Path("/usr/bin/chromium")
CONSENT = "C-UI-1"  # JPN asks to pass KOR's naval item K-NAV-1 on to USA
NEW_PASSWORD = "correct horse battery staple"
USERS = {  # name -> role; each test logs in as its own user, for the first time
    "olga": "officer",
    "omar": "officer",
    "otto": "officer",
    "lena": "legal",
    "aki": "auditor",
}


def unavailable(reason: str) -> None:
    """Skip with ``reason``, or fail when GSOMIA_REQUIRE_BROWSER=1 says the browser must be there."""
    if os.environ.get("GSOMIA_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (GSOMIA_REQUIRE_BROWSER=1)")
    pytest.skip(reason)


@dataclass
class Site:
    """The node being served: its base URL, services and the users' one-time passwords."""

    url: str
    services: Services
    passwords: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="module")
def playwright_module() -> Any:
    if not CHROMIUM.exists():
        unavailable(f"no Chromium at {CHROMIUM}: install Debian's chromium package to run the browser tests")
    try:
        from playwright import sync_api
    except ImportError:
        unavailable("Playwright is not installed: pip install playwright (never 'playwright install')")
    return sync_api


@pytest.fixture(scope="module")
def browser(playwright_module: Any) -> Iterator[Any]:
    """Debian's Chromium, headless, launched by Playwright (no browser is downloaded)."""
    with playwright_module.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM))
        yield launched
        launched.close()


def _serve(app: Any) -> tuple[str, Any, threading.Thread]:
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:  # bounded polling: the server says when it listens
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start within 30 seconds")
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server, thread


@pytest.fixture(scope="module")
def site(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A fresh SQLite node of KOR holding the Korea-Japan world, served over HTTP in a thread."""
    settings = create_node(tmp_path_factory.mktemp("ui-node") / "node", party="KOR")
    services = build(Settings.load(settings.node_dir))
    services.import_world(WORLD)
    services.items.add_item(BODY_ITEM, "KOR", "KR-II", ["dprk-missile"], body=BODY)
    services.consents.request(ConsentRequest("JPN", "USA", item="K-NAV-1"), id=CONSENT)
    users = node_users(services)
    config = ApiConfig(rate_limit=10**6, login_limit=10**6, secure_cookies=False)
    app = create_app(services=services, users=users, api_config=config)
    url, server, thread = _serve(app)
    made = Site(url, services)
    for name, role in USERS.items():
        made.passwords[name] = users.add(name, role).password
    yield made
    server.should_exit = True
    thread.join(timeout=15)
    services.close()


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: $GSOMIA_ARTIFACTS, else a tmp folder of this run."""
    chosen = os.environ.get("GSOMIA_ARTIFACTS")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("ui-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass
class Visit:
    """One browser context (its own cookies) with its page, the script errors seen and a camera."""

    page: Any
    site: Site
    folder: Path
    errors: list[str] = field(default_factory=list)

    def go(self, path: str) -> None:
        self.page.goto(self.site.url + path)

    def shot(self, name: str) -> Path:
        path = self.folder / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


def _visit(browser: Any, site: Site, artifacts: Path, *, javascript: bool) -> Iterator[Visit]:
    context = browser.new_context(java_script_enabled=javascript, viewport={"width": 1200, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    visit = Visit(page, site, artifacts)
    page.on("pageerror", lambda error: visit.errors.append(f"script error: {error}"))
    page.on(
        "console",
        lambda message: (
            visit.errors.append(f"console {message.type}: {message.text}")
            if message.type == "error"
            else None
        ),
    )
    yield visit
    context.close()


@pytest.fixture
def visit(browser: Any, site: Site, artifacts: Path) -> Iterator[Visit]:
    """A fresh browser context with JavaScript on."""
    yield from _visit(browser, site, artifacts, javascript=True)


@pytest.fixture
def visit_no_js(browser: Any, site: Site, artifacts: Path) -> Iterator[Visit]:
    """A fresh browser context with JavaScript off."""
    yield from _visit(browser, site, artifacts, javascript=False)
