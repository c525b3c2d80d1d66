#!/usr/bin/env python3
"""Browser test of Berth's Markdown renderer (Sources/BerthHTTP/Web/markdown.js) in headless
Chromium driven by Selenium. It needs no Berth server and no Docker.

What it does, in one run:

1. serves a temporary folder on a free loopback port with Python's http.server, under the
   Content-Security-Policy Berth's pages have: a copy of markdown.js, a harness page and a
   harness script (no inline scripts: the policy forbids them);
2. renders each case of CASES with BerthMarkdown.render in the page, and compares the HTML the
   browser serializes from the DOM nodes with the expected HTML: raw HTML in the source must come
   out as text, javascript:, data: and vbscript: links must not become links, and the supported
   Markdown (headings, emphasis, code, fences, lists, quotes, links) must come out right;
3. checks that nothing ran: window.alert (replaced by the harness) was never called, and that
   hostile, deeply nested input renders quickly;
4. checks that the browser console has no errors (/favicon.ico aside) and, always, closes the
   browser and the file server.

Exit status: 0 when every check passed, 1 when one failed, 2 when a prerequisite (Chromium,
chromedriver, Selenium) is missing.

Usage: python3 tests/browser/test_markdown.py [--timeout SECONDS]
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MARKDOWN_JS = REPO / "Sources" / "BerthHTTP" / "Web" / "markdown.js"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'self'; base-uri 'none'"
)

HARNESS_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>markdown.js check</title></head>
<body><div id="out"></div>
<script src="/markdown.js"></script>
<script src="/harness.js"></script>
</body></html>
"""

HARNESS_JS = """"use strict";
window.alerts = [];
window.alert = (message) => { window.alerts.push(String(message)); };
window.renderCase = (source, options) => {
  const box = document.createElement("div");
  box.append(BerthMarkdown.render(source, options || {}));
  document.getElementById("out").append(box);
  return box.innerHTML;
};
// Milliseconds BerthMarkdown.render takes for `source`, and the size of the HTML it makes.
window.timeCase = (source) => {
  const started = performance.now();
  const fragment = BerthMarkdown.render(source);
  const elapsed = performance.now() - started;
  const box = document.createElement("div");
  box.append(fragment);
  return [elapsed, box.innerHTML.length];
};
window.harnessReady = true;
"""

# (name, source, options, expected HTML); {origin} is the harness page's origin.
CASES = [
    ("raw HTML stays text", "<img src=x onerror=alert(1)>", {},
     "<p>&lt;img src=x onerror=alert(1)&gt;</p>"),
    ("script tag stays text", "<script>alert(1)</script> and <b>bold</b>", {},
     "<p>&lt;script&gt;alert(1)&lt;/script&gt; and &lt;b&gt;bold&lt;/b&gt;</p>"),
    ("javascript: link is text", "[click](javascript:alert(1))", {},
     '<p><span class="unsafe-link" title="link removed: only http, https and relative links are allowed">click</span></p>'),
    ("mixed-case javascript: link is text", "[x](JaVaScRiPt:alert(1))", {},
     '<p><span class="unsafe-link" title="link removed: only http, https and relative links are allowed">x</span></p>'),
    ("data: link is text", "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)", {},
     '<p><span class="unsafe-link" title="link removed: only http, https and relative links are allowed">x</span></p>'),
    ("vbscript: link is text", "[x](<vbscript:msgbox(1)>)", {},
     '<p><span class="unsafe-link" title="link removed: only http, https and relative links are allowed">x</span></p>'),
    ("javascript: autolink is text", "<javascript:alert(1)>", {},
     "<p>&lt;javascript:alert(1)&gt;</p>"),
    ("javascript: image is text", "![pic](javascript:alert(1))", {},
     '<p><span class="unsafe-link" title="link removed: only http, https and relative links are allowed">pic</span></p>'),
    ("image becomes a link, not an img", "![a cat](https://example.org/cat.png)", {},
     '<p><a href="https://example.org/cat.png" rel="noopener noreferrer" target="_blank">a cat</a></p>'),
    ("absolute link", '[docs](https://example.org/a_(b) "The docs")', {},
     '<p><a href="https://example.org/a_(b)" rel="noopener noreferrer" target="_blank" title="The docs">docs</a></p>'),
    ("relative link stays in the tab", "[next](/environments/web-service)", {},
     '<p><a href="{origin}/environments/web-service" rel="noopener noreferrer">next</a></p>'),
    ("bare URL", "See https://example.org/x. Done", {},
     '<p>See <a href="https://example.org/x" rel="noopener noreferrer" target="_blank">https://example.org/x</a>. Done</p>'),
    ("attribute injection through a link", '[x](https://e.org/"onmouseover="alert(1))', {},
     '<p><a href="https://e.org/%22onmouseover=%22alert(1)" rel="noopener noreferrer" target="_blank">x</a></p>'),
    ("headings", "# One\n## Two\n### Three", {},
     "<h1>One</h1><h2>Two</h2><h3>Three</h3>"),
    ("heading offset", "# One\n### Three", {"headingOffset": 2},
     "<h3>One</h3><h5>Three</h5>"),
    ("hash without space is text", "#hashtag", {}, "<p>#hashtag</p>"),
    ("emphasis, strong, code, strike", "*a* **b** `c <d>` _e_ snake_case_name ~~f~~", {},
     "<p><em>a</em> <strong>b</strong> <code>c &lt;d&gt;</code> <em>e</em> snake_case_name <del>f</del></p>"),
    ("nested emphasis", "**bold *and italic***", {},
     "<p><strong>bold <em>and italic</em></strong></p>"),
    ("strong inside emphasis", "*it **bold** it* and ***both***", {},
     "<p><em>it <strong>bold</strong> it</em> and <strong><em>both</em></strong></p>"),
    ("unclosed markers stay", "2 * 3 = 6 and a_b and **open", {},
     "<p>2 * 3 = 6 and a_b and **open</p>"),
    ("escapes", r"\*not em\* and \<b>", {}, "<p>*not em* and &lt;b&gt;</p>"),
    ("fenced code keeps HTML as text", "```sh\nls -a <dir>\necho '<b>'\n```", {},
     '<pre><code data-language="sh">ls -a &lt;dir&gt;\necho \'&lt;b&gt;\'</code></pre>'),
    ("unclosed fence runs to the end", "```\ncode", {}, "<pre><code>code</code></pre>"),
    ("bullet list", "- one\n- two `x`\n- three", {},
     "<ul><li>one</li><li>two <code>x</code></li><li>three</li></ul>"),
    ("numbered list with start", "3. three\n4. four", {}, '<ol start="3"><li>three</li><li>four</li></ol>'),
    ("nested list", "- a\n  - b\n  - c\n- d", {},
     "<ul><li>a<ul><li>b</li><li>c</li></ul></li><li>d</li></ul>"),
    ("loose list", "- a\n\n- b", {}, "<ul><li><p>a</p></li><li><p>b</p></li></ul>"),
    ("paragraphs and soft breaks", "line one\nline two\n\nnext", {},
     "<p>line one\nline two</p><p>next</p>"),
    ("hard break", "one  \ntwo", {}, "<p>one<br>two</p>"),
    ("block quote", "> quoted *text*\n> more", {},
     "<blockquote><p>quoted <em>text</em>\nmore</p></blockquote>"),
    ("rule", "a\n\n---\n\nb", {}, "<p>a</p><hr><p>b</p>"),
    ("HTML inside a list and a heading", "# <i>t</i>\n- <img src=x>", {},
     "<h1>&lt;i&gt;t&lt;/i&gt;</h1><ul><li>&lt;img src=x&gt;</li></ul>"),
    ("linux-basics description", (
        "Your first shell. Somewhere on this machine a file that `ls` does not show holds a flag\n"
        "of the form `berth{...}`. Look around with `ls -a`, `cd`, `find` and `cat`.\n\n"
        "Your home folder is yours to write in; the rest of the system is read-only.\n"), {},
     "<p>Your first shell. Somewhere on this machine a file that <code>ls</code> does not show holds a flag\n"
     "of the form <code>berth{...}</code>. Look around with <code>ls -a</code>, <code>cd</code>, <code>find</code> "
     "and <code>cat</code>.</p><p>Your home folder is yours to write in; the rest of the system is read-only.</p>"),
]

# Hostile input that must render quickly (milliseconds, not seconds) without exhausting the stack.
STRESS = [
    ("deep quotes", ">" * 5000 + " x"),
    ("deep lists", "".join("  " * depth + "- x\n" for depth in range(400))),
    ("many stars", "*a " * 20000),
    ("many brackets", "[" * 20000 + "x"),
    ("many backticks", "` " * 20000),
    ("unclosed backtick runs", "".join("`" * n + "x" for n in range(1, 200)) * 20),
    ("links without ends", "[a](" + "x" * 20000 + "[b](" * 5000),
    ("many underscores", "_x " * 20000),
]
STRESS_LIMIT_MS = 1000


def log(message: str) -> None:
    print(f"markdown-test: {message}", flush=True)


class Prerequisite(Exception):
    """Something the test needs is missing; exit status 2."""


class CheckFailed(Exception):
    """A check failed; exit status 1."""


class Handler(http.server.SimpleHTTPRequestHandler):
    def end_headers(self) -> None:
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - http.server's signature
        pass


def run(timeout: float) -> int:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            raise Prerequisite(f"{path} is missing; run scripts/ensure-browser.sh")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        raise Prerequisite("Selenium is missing; run scripts/ensure-browser.sh") from None

    workdir = Path(tempfile.mkdtemp(prefix="berth-markdown-test-"))
    site = workdir / "site"
    site.mkdir()
    shutil.copy(MARKDOWN_JS, site / "markdown.js")
    (site / "index.html").write_text(HARNESS_HTML)
    (site / "harness.js").write_text(HARNESS_JS)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    driver = None
    failures: list[str] = []
    try:
        os.environ["SE_OFFLINE"] = "true"
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for argument in (
            "--headless=new", "--window-size=1000,800", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
            "--no-first-run", "--no-default-browser-check", "--disable-extensions",
            f"--user-data-dir={workdir / 'chromium-profile'}",
        ):
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
        driver.set_page_load_timeout(timeout)
        driver.set_script_timeout(timeout)
        driver.get(origin + "/")
        deadline = time.monotonic() + timeout
        while not driver.execute_script("return window.harnessReady === true"):
            if time.monotonic() > deadline:
                raise CheckFailed("the harness page did not load markdown.js")
            time.sleep(0.1)

        for name, source, render_options, expected in CASES:
            expected = expected.replace("{origin}", origin)
            html = driver.execute_script("return renderCase(arguments[0], arguments[1])", source, render_options)
            if html == expected:
                log(f"ok: {name}")
            else:
                failures.append(name)
                log(f"FAILED: {name}\n    source:   {source!r}\n    expected: {expected!r}\n    got:      {html!r}")

        for name, source in STRESS:
            elapsed, length = driver.execute_script("return timeCase(arguments[0])", source)
            if elapsed > STRESS_LIMIT_MS:
                failures.append(f"stress: {name}")
                log(f"FAILED: stress {name} took {elapsed:.0f} ms (limit {STRESS_LIMIT_MS} ms)")
            else:
                log(f"ok: stress {name} ({len(source)} chars -> {length} chars of HTML in {elapsed:.0f} ms)")

        found = driver.execute_script(
            """
            const out = document.getElementById("out");
            const handlers = Array.from(out.querySelectorAll("*")).filter((node) =>
              Array.from(node.attributes).some((attr) => attr.name.startsWith("on")));
            const bad = Array.from(out.querySelectorAll("a")).filter((a) => !/^https?:$/.test(new URL(a.href).protocol));
            return {
              alerts: window.alerts,
              images: out.querySelectorAll("img, script, iframe, object, embed, style").length,
              handlers: handlers.length,
              badLinks: bad.map((a) => a.getAttribute("href")),
              blank: Array.from(out.querySelectorAll("a[target=_blank]")).filter((a) => a.rel !== "noopener noreferrer").length,
            };
            """
        )
        if found["alerts"]:
            failures.append("alert called")
            log(f"FAILED: window.alert was called: {found['alerts']}")
        if found["images"] or found["handlers"] or found["badLinks"] or found["blank"]:
            failures.append("unsafe DOM")
            log(f"FAILED: unsafe nodes in the rendered output: {found}")
        else:
            log("ok: no img/script elements, no on* attributes, only http(s) links, _blank links have rel=noopener noreferrer")

        errors = [
            entry for entry in driver.get_log("browser")
            if entry.get("level") == "SEVERE" and "/favicon.ico" not in entry.get("message", "")
        ]
        if errors:
            failures.append("console errors")
            log(f"FAILED: browser console errors: {[entry.get('message') for entry in errors]}")
        else:
            log("ok: no errors in the browser console")
    finally:
        if driver is not None:
            try:
                driver.quit()
            except Exception as error:  # noqa: BLE001 - clean-up goes on
                log(f"warning: closing the browser: {error}")
        server.shutdown()
        server.server_close()
        shutil.rmtree(workdir, ignore_errors=True)
    if failures:
        raise CheckFailed(f"{len(failures)} check(s) failed: {', '.join(failures)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Browser test of Berth's Markdown renderer (headless Chromium).")
    parser.add_argument("--timeout", type=float, default=float(os.environ.get("BROWSER_TEST_TIMEOUT", "30")))
    args = parser.parse_args(argv)
    status = 0
    try:
        run(args.timeout)
    except Prerequisite as error:
        print(f"markdown-test: error: {error}", file=sys.stderr)
        status = 2
    except CheckFailed as error:
        print(f"markdown-test: FAILED: {error}", file=sys.stderr)
        status = 1
    failed = 0 if status == 0 else 1
    print(f"markdown: {1 - failed} passed, {failed} failed", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
