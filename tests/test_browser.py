"""What a reader sees: every page of the smoke-scale book opened in headless Chromium.

One browser visits each page once (from disk, as a reader opens ``_build/html/index.html``) and
gathers what the checks below assert: no JavaScript errors, nothing fetched from the network, math
typeset by the MathJax the book ships, every image loaded, every figure holding an image, no figure
shown twice, every internal link leading to an existing page and anchor, and the download and
launch buttons in place. Needs Debian's ``chromium`` and ``chromium-driver``
(``make browser`` installs them where apt is usable) and skips with a message where they are absent.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import shutil
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest

BOOK_SOURCES = Path(__file__).resolve().parents[1] / "book"
CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser"))), None)
DRIVER = shutil.which("chromedriver")
CHROME_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1024",
)
MISSING = (
    "chromium"
    if not CHROMIUM
    else "chromedriver (Debian's chromium-driver)"
    if not DRIVER
    else "selenium (requirements.txt)"
    if importlib.util.find_spec("selenium") is None
    else ""
)
# decided before any fixture runs, so a machine without a browser does not build the book for nothing
pytestmark = pytest.mark.skipif(
    bool(MISSING),
    reason=f"real-browser test skipped: {MISSING} not found; "
    "install Debian's chromium and chromium-driver (`make browser` does it "
    "where apt is usable)",
)

# Runs in the page once it has loaded. A page on a busy machine can answer before its document is
# parsed (``document.body`` null although ``readyState`` is already "complete"), so the probe first
# polls for a parsed document with a body (and, on a page with math, for MathJax to have started),
# then waits for MathJax's typesetting, then reports what a reader would see.
PAGE_REPORT_JS = r"""
const done = arguments[arguments.length - 1];
const readyS = arguments[0];
const deadline = Date.now() + 1000 * readyS;
const hasMath = () => document.querySelector("span.math, div.math") !== null;
const parsed = () => document.readyState === "complete" && document.body !== null;
const mathStarted = () => !hasMath() || (window.MathJax && MathJax.startup && MathJax.startup.promise);
new Promise((resolve, reject) => {
  (function poll() {
    if (parsed() && mathStarted()) return resolve();
    if (Date.now() > deadline) {
      return reject(new Error(`page not ready after ${readyS} s: readyState ${document.readyState}, ` +
                              `body ${document.body ? "present" : "missing"}, MathJax ` +
                              `${window.MathJax && MathJax.startup ? "started" : "not started"}`));
    }
    setTimeout(poll, 50);
  })();
}).then(() => (window.MathJax && MathJax.startup && MathJax.startup.promise) || null).then(() => {
  const skip = "pre, code, script, style, mjx-container, .MathJax, textarea";
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const raw = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const t = n.textContent;
    if (/\\\(|\\\)|\\\[|\\\]|\$\$/.test(t) && !n.parentElement.closest(skip)) raw.push(t.trim().slice(0, 80));
  }
  done({
    url: location.href,
    mathjax: window.MathJax && MathJax.version ? MathJax.version : null,
    math_sources: document.querySelectorAll("span.math, div.math").length,
    math_rendered: document.querySelectorAll("mjx-container").length,
    raw_tex: raw,
    empty_figures: Array.from(document.querySelectorAll("figure"))
                        .filter(f => !Array.from(f.querySelectorAll("img, svg, canvas"))
                                            .some(e => !e.closest("button")))  // not copy-button icons
                        .map(f => (f.id || "") + ": " + f.innerText.trim().slice(0, 60)),
    images: Array.from(document.images).map(i => ({src: i.currentSrc || i.src,
                                                  ok: i.complete && i.naturalWidth > 0})),
    links: Array.from(document.querySelectorAll("a[href]")).map(a => a.href),
    fetched: performance.getEntriesByType("resource").map(r => r.name),
  });
}).catch(e => done({error: String(e)}));
"""
READY_S = 45  # how long the probe waits for a parsed document and MathJax, per attempt
# What sticks out of the content column at the window's width: tables, code, outputs and images
# whose right edge lies past the column's (a box that scrolls inside the column is fine).
OVERFLOW_JS = r"""
const col = document.querySelector(".bd-article") || document.querySelector("article");
if (!col) return [];
const right = col.getBoundingClientRect().right + 1;
return Array.from(col.querySelectorAll("table, pre, img, div.cell_output, figure"))
  .filter(e => e.getBoundingClientRect().width > 0 && e.getBoundingClientRect().right > right)
  .map(e => e.tagName.toLowerCase() + ": " + (e.innerText || e.getAttribute("src") || "")
                                              .trim().slice(0, 60));
"""
WIDTHS = (1280, 390)  # a desktop window and a phone


REFRESH = re.compile(r'<meta http-equiv="refresh" content="\d+; url=([^"]+)"', re.I)
EMPTY = {
    "empty_figures": [],
    "mathjax": None,
    "math_sources": 0,
    "math_rendered": 0,
    "raw_tex": [],
    "images": [],
    "links": [],
    "fetched": [],
    "console": [],
    "overflow": {},
}  # what a redirect page reports


class _Ids(HTMLParser):
    """Every ``id`` (and legacy ``name``) attribute of a page: the anchors a link may target."""

    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if key in ("id", "name") and value:
                self.ids.add(value)


def _pages(html: Path) -> list[Path]:
    return sorted(
        p for p in html.rglob("*.html") if not p.relative_to(html).parts[0].startswith(("_", "."))
    )


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager look for drivers
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in CHROME_FLAGS:
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=opts, service=Service(executable_path=DRIVER))
    driver.set_script_timeout(60)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _visit(browser, page: Path) -> dict:
    """What ``page`` showed; a visit that errors (the probe failed, or the browser answered for
    another document) is retried once, then reported with its own message under ``error``."""
    from selenium.common.exceptions import WebDriverException

    report: dict = {}
    for attempt in (1, 2):
        try:
            browser.get(page.as_uri())
            report = browser.execute_async_script(PAGE_REPORT_JS, READY_S)
            if "error" not in report and unquote(report["url"]).split("#")[0] != unquote(
                page.as_uri()
            ):
                report = {"error": f"the browser reported {report['url']}, not this page"}
        except WebDriverException as e:
            report = {"error": f"{type(e).__name__}: {(e.msg or str(e)).splitlines()[0]}"}
        # the console of a failed attempt is dropped with it: get_log empties the buffer
        console = [
            e["message"] for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")
        ]
        if "error" not in report:
            overflow = {}
            for width in WIDTHS:  # resized in place: the page reflows, nothing reloads
                browser.set_window_size(width, 1024)
                overflow[width] = browser.execute_script(OVERFLOW_JS)
            browser.set_window_size(WIDTHS[0], 1024)
            return {**report, "console": console, "attempts": attempt, "overflow": overflow}
    return {"error": f"{report['error']} (after 2 attempts)"}


@pytest.fixture(scope="module")
def visits(browser, smoke_book) -> dict[str, dict]:
    """Each page of the build, opened from disk: page (relative path) -> what the page showed
    (or ``{"error": ...}`` for a page that could not be visited)."""
    if smoke_book.returncode:
        pytest.fail(
            "the smoke build failed; see test_book_builds_at_smoke_scale_...:\n" + smoke_book.log
        )
    html = smoke_book.html
    out = {}
    for page in _pages(html):
        refresh = REFRESH.search(page.read_text(errors="replace"))
        if refresh:  # a redirect (index.html): only its target must exist; the browser follows it
            target = urljoin(page.as_uri(), refresh.group(1))
            out[str(page.relative_to(html))] = {**EMPTY, "links": [target]}
            continue
        out[str(page.relative_to(html))] = _visit(browser, page)
    assert out, f"no pages under {html}"
    return out


def _visited(visits: dict[str, dict]) -> dict[str, dict]:
    """The pages whose visit succeeded (the others are reported by :func:`_report`)."""
    return {p: r for p, r in visits.items() if "error" not in r}


def _report(bad: dict, what: str, visits: dict[str, dict] | None = None) -> None:
    """Fail with one line per page (pytest would cut a long dict short); pages that could not be
    visited are listed as "not visited", since nothing was checked on them."""
    missed = {p: f"not visited: {r['error']}" for p, r in (visits or {}).items() if "error" in r}
    if bad or missed:
        lines = [f"  {p}: {v}" for p, v in {**bad, **missed}.items()]
        also = f"; {len(missed)} page(s) not visited, so not checked" if missed else ""
        pytest.fail(f"{what} on {len(bad)} page(s){also}:\n" + "\n".join(lines), pytrace=False)


def _local(url: str) -> Path | None:
    parts = urlsplit(url)
    return Path(unquote(parts.path)) if parts.scheme == "file" else None


def test_every_page_of_the_book_was_opened(visits, smoke_book):
    assert "index.html" in visits and "book/scoreboard.html" in visits
    _report({p: r["error"] for p, r in visits.items() if "error" in r}, "visits that failed")


def test_no_javascript_errors_in_the_console(visits):
    errors = {p: r["console"] for p, r in _visited(visits).items() if r.get("console")}
    _report(errors, "JavaScript errors in the console", visits)


def test_nothing_is_fetched_from_the_network(visits):
    """The built book is self-contained: scripts, styles, fonts and MathJax come from _static."""
    remote = {
        p: sorted({u for u in r["fetched"] if not u.startswith(("file:", "data:", "blob:"))})
        for p, r in _visited(visits).items()
    }
    remote = {p: u for p, u in remote.items() if u}
    _report(remote, "resources fetched from the network", visits)


def test_math_is_rendered_by_mathjax(visits):
    bad = {}
    for page, r in _visited(visits).items():
        if r["math_sources"] and (not r["mathjax"] or r["math_rendered"] < r["math_sources"]):
            bad[page] = (
                f"MathJax {r['mathjax']}: {r['math_rendered']} rendered of "
                f"{r['math_sources']} math elements"
            )
        if r["raw_tex"]:
            bad[page] = bad.get(page, "") + f" raw TeX left: {r['raw_tex'][:3]}"
    _report(bad, "math not rendered", visits)
    assert any(r["math_rendered"] for r in _visited(visits).values()), "no page rendered any math"


def test_every_image_loaded(visits):
    broken = {
        p: [i["src"] for i in r["images"] if not i["ok"]] for p, r in _visited(visits).items()
    }
    broken = {p: s for p, s in broken.items() if s}
    _report(broken, "images that did not load", visits)


def test_every_figure_shows_an_image(visits):
    """A glued figure whose output has no image (e.g. only ``<Figure size 640x480 ...>`` text,
    when no PNG formatter was registered) leaves a caption under nothing."""
    empty = {p: r["empty_figures"] for p, r in _visited(visits).items() if r["empty_figures"]}
    _report(empty, "figures with no image", visits)


def test_no_figure_is_shown_twice_on_a_page(visits):
    """Two images on a page with the same content (e.g. a glued figure that the inline backend
    also showed as the cell's output) are one figure shown twice."""
    twice = {}
    for page, r in _visited(visits).items():
        digests = Counter()
        for img in r["images"]:
            path = _local(img["src"])
            data = path.read_bytes() if path and path.is_file() else img["src"].encode()
            digests[hashlib.sha256(data).hexdigest()] += 1
        n = sum(c - 1 for c in digests.values() if c > 1)
        if n:
            twice[page] = f"{n} of {len(r['images'])} images repeat another on the page"
    _report(twice, "a figure shown twice", visits)


def test_every_internal_link_resolves(visits, smoke_book):
    ids: dict[Path, set[str]] = {}
    bad = {}
    for page, r in _visited(visits).items():
        for href in r["links"]:
            path = _local(href)
            if path is None:
                continue  # external (http, mailto) links are not followed offline
            fragment = unquote(urlsplit(href).fragment)
            if path.is_dir():
                path = path / "index.html"
            if not path.is_file():
                bad.setdefault(page, []).append(href)
                continue
            if fragment and path.suffix == ".html":
                if path not in ids:
                    parser = _Ids()
                    parser.feed(path.read_text(errors="replace"))
                    ids[path] = parser.ids
                if fragment not in ids[path]:
                    bad.setdefault(page, []).append(href)
    _report(
        {p: sorted(set(v))[:10] for p, v in bad.items()},
        "internal links that do not resolve",
        visits,
    )


def test_download_and_launch_buttons(visits):
    """Every page offers its source for download (.ipynb for a notebook, .md for a Markdown page;
    the link-check above makes sure the file is there), and every notebook its launch buttons."""
    missing = {}
    for page, r in _visited(visits).items():
        if not page.startswith("book/"):
            continue
        name = Path(page).stem
        notebook = (BOOK_SOURCES / f"{name}.ipynb").exists()
        wanted = [f"_sources/book/{name}.ipynb" if notebook else f"_sources/book/{name}.md"]
        if notebook:
            wanted += ["https://mybinder.org/", "https://colab.research.google.com/"]
        lacking = [w for w in wanted if not any(w in href for href in r["links"])]
        if lacking:
            missing[page] = lacking
    _report(missing, "download or launch buttons missing", visits)


def test_nothing_overflows_the_content_column_on_a_desktop_or_a_phone(visits):
    bad = {
        f"{page} at {width} px": items[:3]
        for page, v in visits.items()
        for width, items in v.get("overflow", {}).items()
        if items
    }
    assert not bad, f"tables, code or figures wider than the column: {bad}"
