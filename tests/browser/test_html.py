"""The built HTML book, opened in headless Chromium as a reader would open it.

Run by ``make test`` after the book build (``make test-browser``).  Checks every page: math is
typeset (no raw TeX left), every image loads, no request leaves the machine, no console errors;
then that the search page finds things and that the navigation reaches every chapter.  Saves a
screenshot of a chapter page to ``_build/screenshots/``.
"""
from __future__ import annotations

import functools
import http.server
import pathlib
import shutil
import threading
from urllib.parse import urlparse

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-quic"]


def _toc_pages() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]
    for part in toc.get("parts", []):
        for chapter in part.get("chapters", []):
            pages.append(chapter["file"])
            pages.extend(s["file"] for s in chapter.get("sections", []))
    return [p.removesuffix(".ipynb").removesuffix(".md") for p in pages]


PAGES = _toc_pages()


@pytest.fixture(scope="module")
def server():
    if not (HTML / "index.html").exists():
        pytest.fail("no built book: run `make book` (or `make test`, which builds it) first")
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    playwright = pytest.importorskip("playwright.sync_api")
    if not pathlib.Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed (the Makefile's test target installs it)")
    with playwright.sync_playwright() as p:
        # a fresh profile every run; Playwright passes --user-data-dir for a persistent context
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("profile")), executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield context
        context.close()


def _open(browser, url):
    """Open ``url``; return the page and what it tried to fetch elsewhere or complained about."""
    page = browser.new_page()
    outside, errors = [], []

    def route(r):
        host = urlparse(r.request.url).hostname
        if r.request.url.startswith(("data:", "blob:")) or host in ("127.0.0.1", "localhost"):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url, wait_until="load")
    return page, outside, errors


def _wait_for_math(page):
    page.wait_for_function("() => !window.MathJax || (window.MathJax.startup && window.MathJax.startup.promise)")
    page.evaluate("() => window.MathJax && window.MathJax.startup ? window.MathJax.startup.promise : null")


@pytest.mark.parametrize("doc", PAGES)
def test_page_renders_offline(browser, server, doc):
    page, outside, errors = _open(browser, f"{server}/{doc}.html")
    _wait_for_math(page)
    raw_tex = page.evaluate("""() => [...document.querySelectorAll('.math, span.math, div.math')]
        .filter(el => !el.querySelector('mjx-container')).map(el => el.textContent.slice(0, 80))""")
    broken_images = page.evaluate("""() => [...document.images]
        .filter(img => !(img.complete && img.naturalWidth > 0)).map(img => img.src)""")
    title = page.title()
    page.close()
    assert not outside, f"{doc}: requests left the machine: {outside}"
    assert not errors, f"{doc}: console errors: {errors}"
    assert not raw_tex, f"{doc}: math left as raw TeX: {raw_tex[:3]}"
    assert not broken_images, f"{doc}: images that did not load: {broken_images}"
    assert title and "404" not in title


def test_chapter_pages_have_typeset_math_and_figures(browser, server):
    page, _, _ = _open(browser, f"{server}/book/regression/mse.html")
    _wait_for_math(page)
    n_math = page.evaluate("() => document.querySelectorAll('mjx-container').length")
    n_img = page.evaluate("() => document.images.length")
    shots = ROOT / "_build" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "mse.png"), full_page=False)
    page.close()
    assert n_math >= 10, f"expected the MSE chapter's equations to be typeset, found {n_math}"
    assert n_img >= 3, f"expected the MSE chapter's figures, found {n_img}"


def test_search_finds_a_loss(browser, server):
    page, outside, errors = _open(browser, f"{server}/search.html?q=gradient")
    page.wait_for_selector("#search-results li", timeout=20000)
    hits = page.evaluate("() => document.querySelectorAll('#search-results li').length")
    page.close()
    assert hits > 0 and not outside


def test_navigation_reaches_every_chapter(browser, server):
    page, _, _ = _open(browser, f"{server}/book/intro.html")
    hrefs = page.evaluate("""() => [...document.querySelectorAll('.bd-sidebar a.reference.internal, nav a.reference.internal')]
        .map(a => new URL(a.href).pathname)""")
    page.close()
    reached = {h.lstrip("/").removesuffix(".html") for h in hrefs}
    missing = [p for p in PAGES if p != PAGES[0] and p not in reached]
    assert not missing, f"the navigation does not link to: {missing}"
