"""The built HTML book, opened in headless Chromium as a reader would open it.

Run by ``make test`` after the book build (``make test-browser``).  Checks every page: math is
typeset (no raw TeX left), every image loads, no request leaves the machine, no console errors,
under 5 MB loaded; then that the search page finds things and that the navigation reaches every
chapter; then every explorer (``lb.plotting.explorer``): each slider moved changes the plotted
data.  Saves screenshots to ``_build/screenshots/``: a chapter page, and the focal loss's explorer
before and after its γ slider moves.
"""
from __future__ import annotations

import functools
import http.server
import pathlib
import shutil
import threading
from urllib.parse import unquote, urlparse

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
    page.loaded = set()  # every local URL the page fetched, for its weight
    page.on("requestfinished", lambda r: page.loaded.add(r.url))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url, wait_until="load")
    return page, outside, errors


def _weight(page) -> int:
    """The bytes of every file the page loaded from the book (the HTML, scripts, styles, fonts, images)."""
    total = 0
    for url in page.loaded:
        path = HTML / unquote(urlparse(url).path).lstrip("/")
        if path.is_file():
            total += path.stat().st_size
    return total


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
    weight = _weight(page)
    page.close()
    assert weight < 5e6, f"{doc}: the page loads {weight / 1e6:.2f} MB, more than 5 MB"
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


# ----------------------------------------------------------------------------------------- explorers

def _explorer_pages() -> list[str]:
    """Every chapter whose notebook calls lb.plotting.explorer (one or more explorers per page)."""
    import json

    pages = []
    for doc in PAGES:
        path = ROOT / f"{doc}.ipynb"
        if path.exists():
            cells = json.loads(path.read_text())["cells"]
            if any("lb.plotting.explorer(" in "".join(c["source"]) for c in cells if c["cell_type"] == "code"):
                pages.append(doc)
    return pages


EXPLORER_PAGES = _explorer_pages()

# what the panels plot, without their text: lines, dots, bars, rules and images
_PLOTTED = """(root) => [...root.querySelectorAll('svg.lbx-panel .lbx-plot *')].map(el =>
    [el.tagName, el.getAttribute('d'), el.getAttribute('cx'), el.getAttribute('cy'), el.getAttribute('x'),
     el.getAttribute('y'), el.getAttribute('height'), el.getAttribute('x1'), el.getAttribute('y1'),
     (el.getAttribute('href') || '').slice(-64)].join(' ')).join('\\n')"""

_MOVE = """(root, param) => {
    const input = root.querySelector(`input[data-param="${param}"]`);
    if (input.type === 'checkbox') { input.checked = !input.checked; }
    else { input.value = String(Number(input.value) === Number(input.max) ? 0 : Number(input.max)); }
    input.dispatchEvent(new Event('input', {bubbles: true}));
    input.dispatchEvent(new Event('change', {bubbles: true}));
    return input.type === 'checkbox' ? String(input.checked) : input.value;
}"""


def test_every_part_about_losses_has_a_driven_explorer():
    """The parts from Foundations to Custom losses each have explorers; the two last parts have none."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    without = []
    for part in toc["parts"]:
        if part["caption"] in ("Choosing", "Appendices"):
            continue
        files = [c["file"] for c in part.get("chapters", [])]
        if not set(files) & set(EXPLORER_PAGES):
            without.append(part["caption"])
    assert not without, f"parts with no explorer for the browser to move: {without}"
    for doc in PAGES:  # and no chapter is left with sliders that only a kernel can move
        path = ROOT / f"{doc}.ipynb"
        assert not (path.exists() and "widgets.interact" in path.read_text()), doc


@pytest.mark.parametrize("doc", EXPLORER_PAGES)
def test_explorers_move_offline(browser, server, doc):
    page, outside, errors = _open(browser, f"{server}/{doc}.html")
    page.wait_for_selector("div.lossbook-explorer.lbx-ready", timeout=20000)
    roots = page.query_selector_all("div.lossbook-explorer")
    assert roots, f"{doc}: no explorer on the page"
    unchanged = []
    for i, root in enumerate(roots):
        assert root.evaluate("r => r.classList.contains('lbx-ready') && !r.classList.contains('lbx-failed')")
        assert root.evaluate("r => r.querySelectorAll('svg.lbx-panel').length") >= 1
        params = root.evaluate("r => [...r.querySelectorAll('input[data-param]')].map(i => i.dataset.param)")
        assert params, f"{doc}: explorer {i} has no slider"
        for param in params:
            before = root.evaluate(_PLOTTED)
            assert before, f"{doc}: explorer {i} plots nothing"
            frame = root.get_attribute("data-frame")
            root.evaluate(_MOVE, param)
            after = root.evaluate(_PLOTTED)
            if after == before or root.get_attribute("data-frame") == frame:
                unchanged.append(param)
    page.close()
    assert not unchanged, f"{doc}: moving {unchanged} did not change the plotted data"
    assert not outside, f"{doc}: requests left the machine: {outside}"
    assert not errors, f"{doc}: console errors: {errors}"


def test_an_explorer_before_and_after_moving_a_slider(browser, server):
    """The build artifact the README points to: the focal loss's explorer, γ moved from 2 to 5."""
    page, outside, errors = _open(browser, f"{server}/book/probabilistic/binary-crossentropy.html")
    root = page.wait_for_selector("div.lossbook-explorer.lbx-ready", timeout=20000)
    root.scroll_into_view_if_needed()
    shots = ROOT / "_build" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    before = root.evaluate(_PLOTTED)
    root.screenshot(path=str(shots / "explorer-focal-before.png"))
    gamma = root.query_selector('input[data-param="gamma"]')
    gamma.focus()
    for _ in range(6):  # the keyboard, as a reader would: 2 -> 5 in steps of 0.5
        page.keyboard.press("ArrowRight")
    value = root.query_selector(".lbx-value").text_content()
    page.evaluate("() => document.activeElement.blur()")  # no focus ring in the picture
    after = root.evaluate(_PLOTTED)
    root.screenshot(path=str(shots / "explorer-focal-after.png"))
    page.close()
    assert value == "5"
    assert after != before
    assert not outside and not errors, (outside, errors)
