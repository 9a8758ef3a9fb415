"""define.xml opened in a real browser: headless Chromium applies the stylesheet written
beside it, every dataset and internal link resolves, the page is not blank and the console
has no error. Needs Debian's chromium and chromium-driver and the selenium package
(`.ci/run` installs them); skipped otherwise."""
from __future__ import annotations

import functools
import http.server
import io
import shutil
import threading
import urllib.request
from pathlib import Path
from urllib.parse import urljoin, urlparse

import numpy as np
import pytest

from cdisc_convert.io.read_folder import read_folder

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
selenium = pytest.importorskip("selenium", reason="selenium is not installed")
pytestmark = [pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                                 reason="Debian chromium and chromium-driver are not installed"),
              pytest.mark.slow]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The bundled study's outputs behind a loopback HTTP server (browsers refuse XSLT
    from file:// URLs)."""
    from cdisc_convert.api import run_study

    out = tmp_path_factory.mktemp("browser") / "out"
    run_study(out=out, formats=("xpt",), jobs=1)
    handler = functools.partial(_QuietHandler, directory=str(out))
    server = _QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield out, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass                     # a browser closing a connection early is not a failure


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1280,1000",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _png_spread(png: bytes) -> float:
    from matplotlib import image

    pixels = image.imread(io.BytesIO(png), format="png")
    return float(np.asarray(pixels)[..., :3].std())


@pytest.mark.parametrize("part", ["sdtm", "adam"])
def test_define_renders_with_its_stylesheet(served, browser, part):
    from selenium.webdriver.common.by import By

    out, base = served
    url = urljoin(base, f"{part}/define.xml")
    browser.get(url)
    headings = [h.text for h in browser.find_elements(By.TAG_NAME, "h2")]
    assert {"Standards", "Datasets", "Codelists", "Methods"} <= set(headings)
    # every dataset of the folder has its link to its file, and the file is served
    datasets = {name.lower() for name in read_folder(out / part)
                if name.isalnum() and len(name) <= 8}
    links = {a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR,
                                                                    "a.dataset-file")}
    assert {Path(urlparse(h).path).stem for h in links} == datasets
    for href in links:
        with urllib.request.urlopen(href, timeout=10) as answer:
            assert answer.status == 200
    # every link inside the page points at an element that exists
    ids = set(browser.execute_script(
        "return Array.from(document.querySelectorAll('[id]')).map(e => e.id)"))
    anchors = browser.execute_script(
        "return Array.from(document.querySelectorAll('a[href^=\"#\"]'))"
        ".map(a => a.getAttribute('href').slice(1))")
    assert anchors and not sorted(set(anchors) - ids)
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []
    png = browser.get_screenshot_as_png()
    assert _png_spread(png) > 0.05          # text and tables, not a blank page
