"""A real headless Chromium for the tests that open what a person opens: the HTML reports and the
dashboard page. ``open_page(path)`` loads a file and returns what the browser logged as SEVERE (a
script error, a resource that did not load) with the driver, so a test can also count the plots
the page actually drew.

Selenium drives Debian's ``chromium`` through its ``chromium-driver`` (the distribution matches
their versions; Selenium Manager would download a driver, which an offline machine cannot). Without
them the tests skip with the reason, unless ``MLOPS_REQUIRE_BROWSER=1`` (CI sets it after
installing both), where a missing browser is a failure: in CI these run or fail, never silently skip.

Tests using it import the fixture: ``from tests.browser import open_page  # noqa: F401``.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service

REQUIRE_ENV = "MLOPS_REQUIRE_BROWSER"  # set by CI: an absent browser fails instead of skipping
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
DRIVER = "chromedriver"

OpenPage = Callable[[Path], tuple[list[str], webdriver.Chrome]]

# A source attribute that would fetch over the network: a report must open offline, years later.
_REMOTE_SOURCE = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)
_REMOTE_CSS = re.compile(r"""(?:url\(\s*["']?|@import\s+["']?)\s*(?:https?:)?//""", re.IGNORECASE)


def _unavailable(reason: str) -> None:
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def _browser() -> Iterator[webdriver.Chrome]:
    binary = next((found for name in BROWSERS if (found := shutil.which(name))), None)
    driver_path = shutil.which(DRIVER)
    if binary is None or driver_path is None:
        missing = " and ".join(
            name for name, found in (("chromium", binary), (DRIVER, driver_path)) if found is None
        )
        _unavailable(f"no {missing} on PATH; install them (Debian: apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = str(binary)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        driver = webdriver.Chrome(options=options, service=Service(str(driver_path)))
    except WebDriverException as err:
        _unavailable(f"{binary} did not start under {driver_path}: {err.msg}")
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture
def open_page(_browser: webdriver.Chrome) -> OpenPage:
    """Load a local HTML file; return the browser's SEVERE log lines from that load, and the driver."""

    def load(path: Path) -> tuple[list[str], webdriver.Chrome]:
        _browser.get_log("browser")  # what an earlier page logged is not this page's
        _browser.get(path.resolve().as_uri())
        errors = [entry["message"] for entry in _browser.get_log("browser") if entry["level"] == "SEVERE"]
        return errors, _browser

    return load


def remote_sources(page: str) -> list[str]:
    """Every place the page would fetch something over the network (empty for a self-contained page)."""
    return [m.group(0) for pattern in (_REMOTE_SOURCE, _REMOTE_CSS) for m in pattern.finditer(page)]


def drawn_images(driver: webdriver.Chrome) -> int:
    """Images the browser decoded (an inline PNG that is corrupt has no natural width)."""
    return int(
        driver.execute_script(
            "return Array.from(document.images).filter(i => i.complete && i.naturalWidth > 0).length"
        )
    )


def drawn_svgs(driver: webdriver.Chrome) -> int:
    """Inline SVG charts the browser laid out with a visible size."""
    return int(
        driver.execute_script(
            "return Array.from(document.querySelectorAll('svg'))"
            ".filter(s => { const b = s.getBoundingClientRect(); return b.width > 0 && b.height > 0; }).length"
        )
    )
