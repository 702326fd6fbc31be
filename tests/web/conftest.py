"""A real API (uvicorn, small trained models, a token) and Debian's Chromium driven by
Playwright. Each test's page is screenshotted into test-artifacts/screenshots/ and must log
no console error but the HTTP statuses the test says it provokes."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from models.artifacts.registry import ArtifactStore
from tests.conftest import SUBSET
from tests.helpers import api_process, private_api_environment

CHROMIUM = "/usr/bin/chromium"
TOKEN = "web-test-token-0123456789"
SCREENSHOTS = Path(__file__).parents[2] / "test-artifacts" / "screenshots"
_FAILED_LOAD = re.compile(r"status of (\d{3})")


@dataclass
class Web:
    base: str
    store: ArtifactStore
    environment: dict[str, str]
    folder: Path


@pytest.fixture(scope="session")
def web(trained_root, tmp_path_factory):
    """One API for every browser test, over a private copy of the trained store."""
    folder = tmp_path_factory.mktemp("web")
    environment = private_api_environment(trained_root, folder, TOKEN, HANDCALC_DATA=str(SUBSET))
    with api_process(folder, environment, "--log-level", "warning") as (base, _):
        yield Web(base, ArtifactStore(folder / "store"), environment, folder)


@pytest.fixture()
def worker(web):
    """A real Celery worker sharing the API's state folder (embedded broker) and store."""
    from app.cli import worker_command

    log = web.folder / "worker.log"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HANDCALC_")}
    process = subprocess.Popen(
        [*worker_command(1), "--hostname", f"web-{os.getpid()}@%h"],
        env={**environment, **web.environment, "TF_CPP_MIN_LOG_LEVEL": "2"},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    yield log
    os.killpg(process.pid, 15)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)
        process.wait()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        chromium.close()


@dataclass
class Console:
    """Console errors and uncaught exceptions of a page; `allow(422)` for a test that
    provokes that status on purpose (Chromium logs every failed load as an error)."""

    errors: list[str] = field(default_factory=list)
    allowed: set[int] = field(default_factory=set)

    def allow(self, *statuses: int) -> None:
        self.allowed.update(statuses)

    def unexpected(self) -> list[str]:
        return [
            error
            for error in self.errors
            if not ((found := _FAILED_LOAD.search(error)) and int(found.group(1)) in self.allowed)
        ]


@pytest.fixture()
def console() -> Console:
    return Console()


@pytest.fixture()
def page(browser, web, console, request):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=web.base)
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.on("console", lambda m: m.type == "error" and console.errors.append(m.text))
    page.on("pageerror", lambda error: console.errors.append(f"page error: {error}"))
    yield page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{request.node.name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    context.close()
    assert not console.unexpected(), console.errors
