"""The published book: it builds with warnings as errors, and its pages work in a real browser.

The book is built once per session into a temporary folder (``jupyter-book build -W``, so a
broken cross-reference or a missing page fails the build), every link of every built page is
checked on disk (nothing is fetched), and every page of the toc is opened in Debian's headless
Chromium: it loads, its images load, it shows no error output, and every internal link in it
resolves. A page with math is opened with the network blocked: the book serves its own MathJax
(``cnnpapers.offline_mathjax``), so the formulas still typeset. Screenshots of the landing page,
one chapter and the claims ledger are saved under ``_build/screenshots/`` for the people reviewing
a change.
"""

import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from cnnpapers import bookpages, claims, pipeline

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = ROOT / "_build" / "screenshots"
PAGES = bookpages.toc_files()
SCREENSHOT_CHAPTER = "book/opening"
MATH_PAGE = "book/densenet_memory"  # inline and display math ($...$, $$...$$)
MATHJAX_SCRIPT = re.compile(r'<script[^>]*\ssrc="([^"?]*/MathJax\.js)\?config=TeX-AMS_CHTML"')
REMOTE_MATHJAX = re.compile(r"(?:https?:)?//[^\s\"'<>]*mathjax", re.IGNORECASE)
# Jupyter Book 1.0.4 with sphinx-thebe 0.3.1 writes thebe's one-line configuration script twice
# into every page; the second copy's redeclaration throws, harmlessly (the first copy stands, and
# the book does not use thebe). Any other JavaScript error fails the test.
KNOWN_JS_ERRORS = ("Identifier 'THEBE_JS_URL' has already been declared",)

pytestmark = [pytest.mark.book, pytest.mark.slow]


@pytest.fixture(scope="module")
def html_dir(tmp_path_factory) -> Path:
    missing = [p for p in PAGES if not any((ROOT / f"{p}{ext}").exists() for ext in (".md", ".ipynb"))]
    assert not missing, f"_toc.yml lists pages that do not exist: {missing}; run `make execute`"
    out = tmp_path_factory.mktemp("book")
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    build = subprocess.run(
        [str(jupyter_book), "build", str(ROOT), "-W", "--keep-going", "--path-output", str(out)],
        capture_output=True, text=True, timeout=600,
    )
    assert build.returncode == 0, f"jupyter-book build -W failed:\n{build.stdout[-4000:]}\n{build.stderr[-4000:]}"
    return out / "_build" / "html"


def page_file(html: Path, entry: str) -> Path:
    return html / f"{entry}.html"


def test_every_toc_page_is_built(html_dir):
    for entry in PAGES:
        assert page_file(html_dir, entry).exists(), f"{entry} was not built"
    assert (html_dir / "index.html").exists()


def test_no_built_page_shows_an_error_output(html_dir):
    assert pipeline.error_pages(html_dir) == []


def test_every_internal_link_of_the_built_book_resolves_and_none_is_fetched(html_dir):
    broken, external = bookpages.link_report(html_dir)
    assert broken == []
    assert all(urlsplit(url).scheme in ("http", "https") for url in external)


def test_claims_ledger_links_every_claim_to_the_chapter_page_that_shows_it(html_dir):
    page = page_file(html_dir, "book/appendix_claims")
    text = page.read_text()
    in_book = bookpages.book_pages()
    for chapter in {c.chapter for c in claims.list_claims()}:
        if chapter in in_book:
            assert f'href="{chapter}.html"' in text, f"no link to {chapter} in the ledger"
            assert (page.parent / f"{chapter}.html").exists()


def test_pages_with_math_load_the_books_own_mathjax_and_none_a_remote_one(html_dir):
    mathjax = (html_dir / "_static" / "mathjax" / "MathJax.js").resolve()
    assert mathjax.is_file()
    assert page_file(html_dir, MATH_PAGE).read_text().count('class="math') > 1
    for page in html_dir.rglob("*.html"):
        if {"_static", "_sources"} & set(page.parts):
            continue
        name, text = page.relative_to(html_dir), page.read_text(errors="replace")
        assert not REMOTE_MATHJAX.search(text), f"{name} names a remote MathJax"
        if 'class="math' in text:
            scripts = MATHJAX_SCRIPT.findall(text)
            assert len(scripts) == 1, f"{name} does not load MathJax, or loads it twice"
            assert (page.parent / scripts[0]).resolve() == mathjax


# --------------------------------------------------------------------------- in a real browser


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's `chromium` (`make setup` does) "
                    "to run the browser check")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _page_report(page) -> dict:
    """What the rendered page shows: images, error outputs and the links it offers."""
    return page.evaluate("""async () => {
        const images = Array.from(document.images);
        await Promise.all(images.map(img => { img.loading = 'eager'; return img.decode().catch(() => null); }));
        return {
            images: images.map(img => ({src: img.currentSrc || img.src, width: img.naturalWidth})),
            errors: Array.from(document.querySelectorAll('.output.error, .output.traceback, div.traceback'))
                         .map(e => e.innerText.slice(0, 200)),
            traceback: document.body.innerText.includes('Traceback (most recent call last)'),
            links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
        };
    }""")


def _page_problems(page, url: str, html_dir: Path) -> list[str]:
    """Open ``url`` and list what is wrong with it as a reader would see it."""
    response = page.goto(url, wait_until="load")
    name = url.rsplit("/", 1)[-1]
    if response is not None and not response.ok:
        return [f"{name}: did not load ({response.status})"]
    report = _page_report(page)
    problems = [f"{name}: image {i['src']} did not load" for i in report["images"] if i["width"] == 0]
    problems += [f"{name}: error output {e!r}" for e in report["errors"]]
    if report["traceback"]:
        problems.append(f"{name}: shows a traceback")
    if not page.title():
        problems.append(f"{name}: no title")
    root = html_dir.resolve()
    for link in report["links"]:
        parts = urlsplit(link)
        if parts.scheme != "file":
            continue  # external: never fetched
        target = Path(unquote(parts.path)).resolve()
        if not target.is_relative_to(root) or not target.is_file():
            problems.append(f"{name}: link {link} leads nowhere")
    return problems


def test_every_toc_page_loads_with_its_images_no_errors_and_working_links(html_dir, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    js_errors = []
    page.on("pageerror", lambda err: js_errors.append(f"{page.url}: {err}"))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems = []
    for entry in PAGES:
        problems += _page_problems(page, page_file(html_dir, entry).as_uri(), html_dir)
        if entry == SCREENSHOT_CHAPTER:
            page.screenshot(path=SCREENSHOTS / "chapter.png", full_page=True)
        if entry.endswith("appendix_claims"):
            page.screenshot(path=SCREENSHOTS / "claims_ledger.png", full_page=True)
    context.close()
    assert problems == []
    assert [e for e in js_errors if not e.endswith(KNOWN_JS_ERRORS)] == []


def test_the_browser_check_sees_a_broken_image_an_error_output_and_a_dead_link(browser, tmp_path):
    import matplotlib.pyplot as plt
    import numpy as np

    plt.imsave(tmp_path / "ok.png", np.zeros((2, 2)))
    (tmp_path / "bad.html").write_text(
        "<html><head><title>bad</title></head><body><img src='ok.png'><img src='missing.png'>"
        "<div class='cell_output'><div class='output traceback highlight-ipythontb'><pre>"
        "Traceback (most recent call last):\nValueError</pre></div></div>"
        "<a href='gone.html'>dead</a><a href='ok.png'>fine</a><a href='https://example.org/'>ext</a>"
        "</body></html>")
    page = browser.new_page()
    problems = _page_problems(page, (tmp_path / "bad.html").as_uri(), tmp_path)
    page.close()
    assert [p.split(":")[1].split()[0] for p in problems] == ["image", "error", "shows", "link"]
    assert "missing.png" in problems[0] and "gone.html" in problems[3]


def test_landing_page_opens_from_index_and_offers_every_part(html_dir, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto((html_dir / "index.html").as_uri(), wait_until="load")
    page.wait_for_url("**/book/intro.html")
    assert page.title().startswith("CNN papers, rebuilt")
    sidebar = page.locator("nav.bd-docs-nav").inner_text()
    for caption in ("Introduction", "DenseNet", "ResNeXt", "Performance", "Appendix"):
        assert caption in sidebar
    next_link = page.locator("a.right-next")
    assert next_link.count() == 1 and next_link.get_attribute("href") == "opening.html"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "landing.png", full_page=True)
    page.close()


def test_math_typesets_with_the_network_blocked(html_dir, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    fetched, failed = [], []

    def offline(route):
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            fetched.append(route.request.url)
            route.abort()

    context.route("**/*", offline)
    page = context.new_page()
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.goto(page_file(html_dir, MATH_PAGE).as_uri(), wait_until="load")
    page.wait_for_function("() => window.MathJax && window.MathJax.isReady", timeout=30_000)
    report = page.evaluate(r"""async () => {
        // MathJax 2 posts "End" once it has typeset the page (at once when it already has)
        await new Promise(done => MathJax.Hub.Register.StartupHook("End", done));
        const math = Array.from(document.querySelectorAll('.math'));
        // the web font the book ships: local() finds Debian's fonts-mathjax first on this machine
        const woff = await document.fonts.load('16px MJXc-TeX-main-Rw', 'x')
            .then(faces => faces.map(f => f.status), err => [String(err)]);
        return {
            math: math.length,
            untypeset: math.filter(e => !e.querySelector('.MathJax_CHTML')).map(e => e.innerText),
            raw: math.map(e => e.innerText).filter(t => /\\[()\[\]]|\$\$/.test(t)),
            tex_errors: document.querySelectorAll('.mjx-noError, .mjx-merror, .MathJax_Error').length,
            woff: woff,
        };
    }""")
    context.close()
    assert report["math"] > 1
    assert report["untypeset"] == [] and report["raw"] == [] and report["tex_errors"] == 0
    assert report["woff"] == ["loaded"]
    assert fetched == [] and failed == []
