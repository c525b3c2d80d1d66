#!/usr/bin/env python3
"""Browser test of Berth's web app (catalog, sign-in, environment page, scoreboard, admin
console), in headless Chromium driven by Selenium, against a real `berth serve`.

What it does, in one run:

1. checks its prerequisites (as tests/browser/test_terminal_page.py does: Docker, the images
   berth/base:latest and berth-env/linux-basics:latest, xterm.js in vendor/xterm, Debian's
   Chromium and chromedriver, Selenium), copies examples/environments into a temporary folder
   and adds one environment, `markdown-safety`, whose description holds raw HTML
   (`<img src=x onerror=alert(1)>`) and a `javascript:` link; starts `berth serve` on it with a
   temporary data directory, a random admin token and a namespace of its own;
2. the player, in a first browser at 1280x800: registers on /login with a strong password,
   lands on the catalog and finds `linux-basics` under its category (screenshot
   web-catalog.png); opens it, presses Start, waits for the terminal iframe to show a prompt,
   types `cat /opt/.secret/.notes/.flag` (where examples/environments/linux-basics/Dockerfile
   hides the flag) and reads the flag off the screen; submits it in the flag form and sees the
   success message and the points (web-environment.png); on /scoreboard sees itself at rank 1
   with those points (web-scoreboard.png);
3. the admin, in a second browser with the admin token in localStorage: on /admin checks the
   environments, submissions, lab progress (a lab's row, its HTML step title as text), settings and
   audit tabs; the admin's own catalog and environment
   page do not show the player's instance, and Start runs the admin's own one, which Stop ends
   with a reason in plain words (web-admin-own-instance.png); finds the player's running instance in
   the instances tab (owner, age, expiry, resources; web-admin.png), kills it and accepts the
   confirmation (web-admin-killed.png); the player's environment page then shows `stopped`
   within 5 s and drops the terminal iframe (web-environment-stopped.png);
   the recordings page lists the player's recording by name, with a relative start time;
4. at phone width (390x844): the catalog and the environment page (started again, with the
   terminal iframe at full width) have no horizontal overflow (web-catalog-phone.png,
   web-environment-phone.png); the standalone terminal page's header fits and a notice sits
   above the terminal (web-terminal-phone.png); Stop there offers Start, which opens a fresh
   instance's terminal; every admin tab fits the phone (web-admin-instances-phone.png,
   web-admin-users-phone.png) and times read "just now" / "N minutes ago" with the exact time
   on hover; the player stops the instance with Stop; an unknown URL shows the HTML 404 page;
   signed out, /recordings leads to /login;
5. signs out; a wrong password shows "Wrong name or password.", registering the taken name
   shows the server's error, and the right password signs in again;
6. markdown safety: on /environments/markdown-safety the raw HTML shows as text, no img element
   exists, no link has a javascript: target, and no alert opened (web-markdown-safety.png);
7. a challenge without an instance (examples/environments/crypto-rot13: no image, no
   Dockerfile, one attachment): its catalog card and page show no Start button and no instance
   panel; the page lists cipher.txt with its size and SHA-256 and a download link, and the bytes
   the link serves have that SHA-256 (computed in the page); ROT13 of them holds the flag, which
   the flag form accepts (web-no-instance.png);
7b. an instance with two minutes to live (`short-lived`): on its terminal page the expiry
   warning shows above the terminal and reads the same M:SS as the countdown
   (web-terminal-expiring.png);
7c. an instance nobody connects to (`left-alone`, lifetime.whenDisconnected: 16s; the test blocks
   the terminal's ticket, the file API and the editor's heartbeat in the player's browser): the
   environment page shows the banner "Nobody is connected: this instance stops at … unless you
   open its terminal or editor." before the stop, then the reason it stopped
   (web-disconnect-warning.png); started again, the owner's terminal page (its terminal blocked
   too) shows the same warning, then the reason;
8. both browsers' consoles hold no errors, apart from /favicon.ico and the 4xx answers the test
   causes on purpose (the wrong password, the taken name, and the killed instance's terminal
   and status requests, and the requests 7c blocks);
9. always, even on failure: closes both browsers, deletes the instances, stops the server and
   removes any container or network labelled with its namespace.

Every wait has a timeout (BROWSER_TEST_TIMEOUT seconds, default 30). Exit status: 0 when every
check passed, 1 when one failed, 2 when a prerequisite is missing or the server did not start.

Usage: python3 tests/browser/test_web_app.py [--berth PATH] [--environments DIR]
       [--artifacts DIR] [--timeout SECONDS] [--keep-artifacts]
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_terminal_page import (  # noqa: E402
    CHROMEDRIVER, CHROMIUM, PROMPT, REPO, CheckFailed, TerminalPageTest, log, wait_for,
)

ENVIRONMENT = "linux-basics"
CATEGORY = "linux"
# examples/environments/linux-basics/Dockerfile writes the flag here.
FLAG_COMMAND = "cat /opt/.secret/.notes/.flag"
FLAG = re.compile(r"^berth\{[^}\s]+\}$")
UNSAFE_HTML_FOR_PROBLEMS = "<img src=x onerror=alert(2)>"
BROKEN_SLUG = "broken-template"
BROKEN_CHALLENGE = f"name: Broken\nvalue: {{{{easy}}}}\nberth: {{network: \"{UNSAFE_HTML_FOR_PROBLEMS}\"}}\n"
UNSAFE_SLUG = "markdown-safety"
# examples/environments/crypto-rot13: a challenge without an instance and one attachment.
NO_INSTANCE_SLUG = "crypto-rot13"
# An example whose berth block says containers: true (the admin console marks it).
CONTAINERS_SLUG = "container-basics"
NO_INSTANCE_FILE = "cipher.txt"
UNSAFE_HTML = "<img src=x onerror=alert(1)>"
UNSAFE_CHALLENGE = f"""# Written by tests/browser/test_web_app.py: raw HTML and a javascript: link that the
# environment page must show as text.
name: Markdown safety
author: Berth browser test
category: test
description: |
  Raw HTML must stay text: {UNSAFE_HTML} and <script>alert(2)</script>.

  A link that must not run: [click](javascript:alert(1)). A fine one: [Berth](https://example.org/).
value: 10
type: standard
flags:
  - berth{{markdown_is_text}}
tags: [test]
image: berth/base:latest
"""
SHORT_SLUG = "short-lived"
# Two minutes to live: its terminal gets the server's `expiring` warning (5 minutes ahead) at once.
SHORT_CHALLENGE = """# Written by tests/browser/test_web_app.py: an instance that is about to expire.
name: Short lived
author: Berth browser test
category: test
description: Expires soon.
value: 10
type: standard
flags:
  - berth{short_lived}
image: berth/base:latest
berth:
  command: ["sleep", "infinity"]
  terminal: {command: ["/bin/sh"], user: "1000:1000", workdir: /tmp}
  lifetime: {ttl: 2m, renewals: 1, maxLifetime: 10m}
"""
LEFT_SLUG = "left-alone"
LEFT_SETTING_SECONDS = 16
# Stops once nobody has been connected for 16 s: the pages warn from 8 s before (half the setting), which
# leaves the terminal page, read once as it opens, time to load on a loaded machine.
LEFT_CHALLENGE = f"""# Written by tests/browser/test_web_app.py: an instance that stops when nobody is connected.
name: Left alone
author: Berth browser test
category: test
description: Stops when nobody is connected.
value: 10
type: standard
flags:
  - berth{{left_alone}}
image: berth/base:latest
berth:
  command: ["sleep", "infinity"]
  terminal: {{command: ["/bin/sh"], user: "1000:1000", workdir: /tmp}}
  lifetime: {{ttl: 10m, whenDisconnected: {LEFT_SETTING_SECONDS}s}}
"""
# What 7c blocks in the player's browser, so neither the terminal nor the editor connects.
BLOCKED_ON_PURPOSE = ["/terminal/ticket", "/presence", "/files"]
LAB_SLUG = "board-lab"
# A two-step lab for the admin's progress board; its first step's title is HTML that must show as text.
LAB_CHALLENGE = """# Written by tests/browser/test_web_app.py: a lab for the progress board.
name: Board lab
author: Berth browser test
category: test
description: A lab whose progress the admin console shows.
value: 10
type: standard
image: berth/base:latest
berth:
  command: ["sleep", "infinity"]
  terminal: {command: ["/bin/sh"], user: "1000:1000", workdir: /tmp}
steps:
  - id: first
    title: "<img src=x onerror=window.boardXSS=1> First step"
    text: Read this.
  - id: second
    title: Second step
    text: Then this.
"""
DESKTOP = (1280, 800)
PHONE = (390, 844)
STOPPED_WITHIN = 5.0
KEY_INTERVAL = 0.05


class WebAppTest(TerminalPageTest):
    def __init__(self, args: argparse.Namespace):
        super().__init__(args)
        self.artifacts = Path(args.artifacts)
        self.examples = Path(args.environments)
        self.player = f"player-{secrets.token_hex(3)}"
        # Long, mixed and random: no password rule can call it weak.
        self.password = f"Tr4il-{secrets.token_urlsafe(12)}-Berth!"
        self.admin_driver = None
        self.player_url = ""
        self.admin_url = ""
        self.points: int | None = None
        # (path fragment, status) of the failed requests the test causes on purpose.
        self.expected_failures: list[tuple[str, str]] = []
        self.consoles: dict[str, list[dict]] = {"player": [], "admin": []}

    # -- prerequisites and set-up --------------------------------------------------------

    def required_images(self) -> list[str]:
        return ["berth/base:latest", f"berth-env/{ENVIRONMENT}:latest"]

    def prepare_environments(self) -> None:
        """examples/environments plus the markdown-safety environment, in the temporary folder."""
        folder = self.workdir / "environments"
        shutil.copytree(self.examples, folder)
        (folder / UNSAFE_SLUG).mkdir()
        (folder / UNSAFE_SLUG / "challenge.yml").write_text(UNSAFE_CHALLENGE)
        (folder / SHORT_SLUG).mkdir()
        (folder / SHORT_SLUG / "challenge.yml").write_text(SHORT_CHALLENGE)
        (folder / LEFT_SLUG).mkdir()
        (folder / LEFT_SLUG / "challenge.yml").write_text(LEFT_CHALLENGE)
        (folder / LAB_SLUG).mkdir()
        (folder / LAB_SLUG / "challenge.yml").write_text(LAB_CHALLENGE)
        # A broken folder the catalog leaves out; the admin console lists its problems as text.
        (folder / BROKEN_SLUG).mkdir()
        (folder / BROKEN_SLUG / "challenge.yml").write_text(BROKEN_CHALLENGE)
        self.args.environments = str(folder)
        log(f"environments: {self.examples} plus {UNSAFE_SLUG}, in {folder}")

    # -- browsers ------------------------------------------------------------------------

    def new_driver(self, name: str, size: tuple[int, int]):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        # Never let Selenium Manager look for (or download) a driver or a browser.
        os.environ["SE_OFFLINE"] = "true"
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for argument in (
            "--headless=new", f"--window-size={size[0]},{size[1]}", "--no-sandbox", "--disable-dev-shm-usage",
            "--disable-gpu", "--no-first-run", "--no-default-browser-check", "--disable-extensions",
            f"--user-data-dir={self.workdir / ('chromium-profile-' + name)}",
        ):
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        service = Service(executable_path=CHROMEDRIVER, log_output=str(self.workdir / f"chromedriver-{name}.log"))
        driver = webdriver.Chrome(service=service, options=options)
        driver.set_page_load_timeout(self.timeout)
        driver.set_script_timeout(self.timeout)
        self.set_viewport(driver, size)
        return driver

    @staticmethod
    def set_viewport(driver, size: tuple[int, int]) -> None:
        """Sizes the window so that the page itself (innerWidth x innerHeight) gets `size`."""
        driver.set_window_size(*size)
        inner = driver.execute_script("return [window.innerWidth, window.innerHeight]")
        if list(inner) != list(size):
            driver.set_window_size(2 * size[0] - inner[0], 2 * size[1] - inner[1])

    def open_browsers(self) -> None:
        # The player on http://127.0.0.1:<port>, the admin on http://localhost:<port>: two
        # browsers, and two origins too, so neither sees the other's cookie or token.
        self.player_url = self.base_url
        self.admin_url = self.base_url.replace("127.0.0.1", "localhost")
        self.driver = self.new_driver("player", DESKTOP)
        self.admin_driver = self.new_driver("admin", DESKTOP)
        size = self.driver.execute_script("return [window.innerWidth, window.innerHeight]")
        log(f"Chromium {self.driver.capabilities.get('browserVersion')} is open twice (player viewport {size[0]}x{size[1]})")

    def shot(self, driver, name: str) -> None:
        self.artifacts.mkdir(parents=True, exist_ok=True)
        path = self.artifacts / f"{name}.png"
        if not driver.save_screenshot(str(path)):
            raise CheckFailed(f"could not save a screenshot to {path}")
        log(f"screenshot saved to {path}")

    def find(self, css: str, driver=None):
        from selenium.webdriver.common.by import By

        return (driver or self.driver).find_element(By.CSS_SELECTOR, css)

    def finds(self, css: str, driver=None):
        from selenium.webdriver.common.by import By

        return (driver or self.driver).find_elements(By.CSS_SELECTOR, css)

    def visible_text(self, css: str, driver=None) -> str | None:
        elements = self.finds(css, driver)
        return elements[0].text if elements and elements[0].is_displayed() and elements[0].text else None

    def fail_on_notice(self, driver=None) -> None:
        """Raises CheckFailed when the page's #notice shows an error."""
        notice = self.finds("#notice", driver)
        if notice and notice[0].is_displayed() and notice[0].text and notice[0].get_attribute("data-kind") != "ok":
            raise CheckFailed(f"the page says: {notice[0].text!r}")

    def fill(self, css: str, text: str) -> None:
        field = self.find(css)
        field.clear()
        field.send_keys(text)

    def no_overflow(self, what: str, driver=None) -> None:
        driver = driver or self.driver
        width, inner = driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
        if width > inner:
            wide = driver.execute_script(
                """
                const limit = window.innerWidth;
                return Array.from(document.querySelectorAll("body *"))
                  .filter((node) => node.getBoundingClientRect().right > limit + 1)
                  .slice(0, 5).map((node) => node.tagName + (node.id ? "#" + node.id : "") + "." + node.className);
                """
            )
            raise CheckFailed(f"{what} overflows horizontally: scrollWidth {width} > innerWidth {inner}; widest: {wide}")
        self.passed.append(f"{what}: no horizontal overflow at {inner} px")

    # -- 1. register and the catalog -----------------------------------------------------

    def register(self) -> None:
        driver = self.driver
        driver.get(self.player_url + "/login")
        wait_for("the register form", lambda: self.find("#register-form").is_displayed(), self.timeout)
        self.fill("#register-name", self.player)
        self.fill("#register-password", self.password)
        self.fill("#register-password-again", self.password)
        self.find("#register-form button:not([type=button])").click()

        def landed():
            error = self.visible_text("#register-error")
            if error:
                raise CheckFailed(f"registering failed: {error!r}")
            return driver.current_url.rstrip("/") == self.player_url

        wait_for("the catalog after registering", landed, self.timeout)
        who = wait_for("the navigation bar to name the player", lambda: self.visible_text("#whoami"), self.timeout)
        if self.player not in who:
            raise CheckFailed(f"the navigation bar says {who!r}, not the player's name {self.player!r}")
        self.passed.append("register: a new player lands on the catalog, signed in")
        log(f"registered {self.player}; the navigation bar says {who!r}")

    def catalog(self) -> None:
        css = f'section.category[data-category="{CATEGORY}"] a.env-card[data-slug="{ENVIRONMENT}"]'

        def card():
            self.fail_on_notice()
            cards = self.finds(css)
            return cards[0] if cards and cards[0].is_displayed() else None

        found = wait_for(f"the {ENVIRONMENT} card under {CATEGORY}", card, self.timeout)
        text = found.text.replace("\n", " | ")
        if "pts" not in text:
            raise CheckFailed(f"the {ENVIRONMENT} card shows no points: {text!r}")
        heading = self.find(f'section.category[data-category="{CATEGORY}"] h2').text
        self.passed.append(f"catalog: {ENVIRONMENT} is under its category with points")
        log(f"catalog: under {heading!r}: {text!r}")
        self.shot(self.driver, "web-catalog")
        found.click()

    # -- 2. start, the terminal, the flag ------------------------------------------------

    def env_url(self, slug: str = ENVIRONMENT) -> str:
        return f"{self.player_url}/environments/{slug}"

    def state(self) -> str:
        return self.find("#instance-state").text

    def wait_running(self) -> None:
        def running():
            self.fail_on_notice()
            state = self.state()
            if state in ("failed", "stopped", "expired"):
                raise CheckFailed(f"the instance ended as {state!r}")
            frames = self.finds("#terminal-frame")
            return state == "running" and frames and frames[0].is_displayed()

        wait_for("state 'running' and the terminal iframe", running, self.timeout)
        self.instance_id = self.find("#instance-panel").get_attribute("data-instance-id")
        if not self.instance_id:
            raise CheckFailed("#instance-panel has no data-instance-id")

    def start_instance(self) -> None:
        driver = self.driver
        wait_for(
            f"{self.env_url()} to load",
            lambda: driver.current_url == self.env_url() and self.find("#env-name").text == "Linux basics", self.timeout,
        )
        description = wait_for("the description", lambda: self.visible_text("#description"), self.timeout)
        if not self.finds("#description code"):
            raise CheckFailed(f"the description shows no code spans from its Markdown: {description!r}")
        hints = self.finds("#hints li")
        if len(hints) != 2 or not self.finds("#hints button.unlock"):
            raise CheckFailed(f"expected 2 hints, one locked with an Unlock button; got {[hint.text for hint in hints]}")
        start = wait_for("the Start button", lambda: (lambda b: b if b.is_displayed() and b.is_enabled() else None)(self.find("#start")), self.timeout)
        start.click()
        self.wait_running()
        countdown = wait_for("the countdown", lambda: self.visible_text("#instance-countdown"), self.timeout)
        if not re.fullmatch(r"expires in \d+:\d\d(:\d\d)?", countdown):
            raise CheckFailed(f"the countdown reads {countdown!r}, not 'expires in M:SS'")
        if self.find("#renew").is_displayed():
            raise CheckFailed("Renew shows on a fresh instance, before half of its TTL has passed")
        self.passed.append("environment page: Start runs an instance, with a countdown and the terminal iframe; Renew waits for half the TTL")
        log(f"instance {self.instance_id} is running; {countdown}")

    def read_flag(self) -> str:
        from selenium.common.exceptions import ElementNotInteractableException
        from selenium.webdriver.common.action_chains import ActionChains
        from selenium.webdriver.common.keys import Keys

        driver = self.driver
        driver.switch_to.frame(self.find("#terminal-frame"))
        try:
            def connected():
                status = self.find("#status")
                state = status.get_attribute("data-state")
                if state in ("expired", "signed-out", "exited"):
                    raise CheckFailed(f"the terminal in the iframe says {state!r}: {status.text!r}")
                return state == "connected"

            wait_for("the terminal in the iframe to connect", connected, self.timeout)
            hidden = [name for name in ("renew", "reset", "stop") if not self.find("#" + name).is_displayed()]
            if len(hidden) != 3:
                raise CheckFailed(f"inside the iframe the terminal's own Renew/Reset/Stop should be hidden; hidden: {hidden}")

            def prompt():
                lines = [line for line in self.screen_lines() if line.strip()]
                return lines[-1] if lines and PROMPT.search(lines[-1]) else None

            shown = wait_for("a shell prompt in the terminal iframe", prompt, self.timeout)
            log(f"prompt in the iframe ({self.screen_source}): {shown!r}")
            textarea = self.find(".xterm-helper-textarea")
            driver.execute_script("arguments[0].focus()", textarea)
            for key in [*FLAG_COMMAND, Keys.ENTER]:
                try:
                    textarea.send_keys(key)
                except ElementNotInteractableException:
                    ActionChains(driver).send_keys(key).perform()
                time.sleep(KEY_INTERVAL)

            def flag():
                return next((line.strip() for line in self.screen_lines() if FLAG.match(line.strip())), None)

            found = wait_for("the flag on the terminal screen", flag, self.timeout)
            wait_for("the prompt after the flag", prompt, self.timeout)
        finally:
            driver.switch_to.default_content()
        self.passed.append("terminal iframe: a prompt, the terminal's own buttons hidden, and the flag read with cat")
        log(f"read the flag from the screen: {found!r}")
        return found

    def submit_flag(self, flag: str) -> None:
        self.fill("#flag-input", flag)
        self.find("#flag-form button").click()

        def result():
            box = self.finds("#flag-result")
            if not box or not box[0].is_displayed():
                return None
            outcome = box[0].get_attribute("data-outcome")
            if outcome != "correct":
                raise CheckFailed(f"the flag form says {outcome!r}: {box[0].text!r}")
            return box[0].text

        text = wait_for("the flag form's success message", result, self.timeout)
        points = self.find("#flag-result").get_attribute("data-points")
        if not points or not re.search(rf"\b{points} points\b", text):
            raise CheckFailed(f"the success message does not show the points ({points!r}): {text!r}")
        self.points = int(points)
        wait_for("the solved mark", lambda: self.find("#env-solved").is_displayed(), self.timeout)
        self.passed.append(f"flag form: the right flag says correct and shows the {self.points} points")
        log(f"flag form: {text!r}")
        self.shot(self.driver, "web-environment")

    def scoreboard(self) -> None:
        self.driver.get(self.player_url + "/scoreboard")

        def row():
            self.fail_on_notice()
            for candidate in self.finds("#scoreboard tr"):
                cells = [cell.text for cell in candidate.find_elements("css selector", "td")]
                if len(cells) >= 3 and cells[1] == self.player:
                    return cells
            return None

        cells = wait_for(f"{self.player} on the scoreboard", row, self.timeout)
        if cells[0] != "1" or cells[2] != str(self.points):
            raise CheckFailed(f"the scoreboard shows {cells}, not rank 1 with {self.points} points")
        self.passed.append(f"scoreboard: the player is at rank 1 with {self.points} points")
        log(f"scoreboard: {' | '.join(cells)}")
        self.shot(self.driver, "web-scoreboard")

    # -- 3. the admin console ------------------------------------------------------------

    def admin_tab(self, tab: str, css: str, what: str) -> list[str]:
        """Opens an admin tab, waits for rows matching `css` and answers their texts.

        The texts are read in one script: the console may draw a tab twice (the page's first load
        and the click's reload), and an element found a moment before a redraw is stale when read.
        """
        driver = self.admin_driver
        # Rows already drawn (by the page's first load or an earlier visit) are about to be
        # replaced, so only rows drawn since the click count.
        driver.execute_script(
            "for (const row of document.querySelectorAll(arguments[0])) if (row.tagName === 'TR') row.dataset.drawnBefore = '1'", css
        )
        self.find(f'.tabs [data-tab="{tab}"]', driver).click()

        def rows():
            self.fail_on_notice(driver)
            return self.texts(css, driver, fresh=True) or None

        return wait_for(what, rows, self.timeout)

    def texts(self, css: str, driver, fresh: bool = False) -> list[str]:
        """The visible text of every element matching `css`, read in one go (never stale)."""
        return driver.execute_script(
            "return [...document.querySelectorAll(arguments[0])]"
            ".filter((e) => !(arguments[1] && e.dataset.drawnBefore) && e.getClientRects().length > 0)"
            ".map((e) => e.innerText)", css, fresh
        )

    def admin(self) -> None:
        driver = self.admin_driver
        driver.get(self.admin_url + "/login")
        driver.execute_script("localStorage.setItem('berth.token', arguments[0])", self.admin_token)
        driver.get(self.admin_url + "/admin")
        wait_for("the admin console", lambda: self.find("#console", driver).is_displayed(), self.timeout)
        if "Admin" not in self.find("#nav", driver).text:
            raise CheckFailed("the navigation bar has no Admin link for an admin")

        row = self.admin_tab("environments", f'#admin-environments tr[data-slug="{ENVIRONMENT}"]', "the environments tab")[0]
        if "built" not in row:
            raise CheckFailed(f"the environments tab does not say {ENVIRONMENT}'s image is built: {row!r}")
        plain = driver.execute_script(
            "const row = document.querySelector(`#admin-environments tr[data-slug='${arguments[0]}']`);"
            "if (!row) return null;"
            "const badge = row.querySelector('[data-image-status]');"
            "return {text: row.innerText, status: badge && badge.dataset.imageStatus, badge: badge && badge.innerText,"
            " build: [...row.querySelectorAll('button.build')].some((b) => !b.hidden)}", NO_INSTANCE_SLUG
        )
        if not plain or plain["status"] != "none" or plain["badge"] != "no instance" or plain["build"]:
            raise CheckFailed(f"the environments tab shows {NO_INSTANCE_SLUG} as {plain!r}, not 'no instance' without a Build button")
        # Environments whose learners run containers (berth.containers: true) are marked.
        lab = self.texts(f'#admin-environments tr[data-slug="{CONTAINERS_SLUG}"]', driver)
        if not lab or "runs containers (rootless)" not in lab[0]:
            raise CheckFailed(f"the environments tab does not mark {CONTAINERS_SLUG} as running containers: {lab!r}")
        if "runs containers" in row:
            raise CheckFailed(f"the environments tab marks {ENVIRONMENT} as running containers: {row!r}")
        # Read in one go: the console redraws the list when it refreshes, which leaves elements found
        # a moment earlier stale.
        texts = wait_for("the catalog's problems under the environments table", lambda: driver.execute_script(
            "return [...document.querySelectorAll('#environment-problems:not([hidden]) #environment-problem-list li')].map((li) => li.innerText)"
        ) or None, self.timeout)
        if not any(f"{BROKEN_SLUG}/challenge.yml: value" in text and "{{easy}}" in text for text in texts):
            raise CheckFailed(f"the admin console does not list {BROKEN_SLUG}'s problem: {texts}")
        if not any(UNSAFE_HTML_FOR_PROBLEMS in text for text in texts) or self.finds("#environment-problem-list img", driver):
            raise CheckFailed(f"a problem's text must show as text, never as HTML: {texts}")
        rows = self.admin_tab("submissions", "#admin-submissions tr", "the submissions tab")
        if not any(self.player in row and "correct" in row for row in rows):
            raise CheckFailed(f"the submissions tab does not list the player's correct flag: {rows}")
        # The lab progress board: the admin opens the lab (progress starts on its first step) and
        # finds their own row, working on step 1 of 2, the step's HTML title shown as text.
        opened = driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "Berth.api('GET', '/api/v1/environments/" + LAB_SLUG + "/lab').then((p) => done(p.currentStep), (e) => done('error ' + e.status))"
        )
        if opened != "first":
            raise CheckFailed(f"opening {LAB_SLUG} answered {opened!r}, not its first step")
        board = self.admin_tab("labs", f'#admin-labs tr[data-environment="{LAB_SLUG}"]', "the lab progress board")[0]
        if "1/2" not in board or "<img src=x" not in board or "working" not in board:
            raise CheckFailed(f"the lab progress board shows {board!r}, not step 1/2 with its title as text and 'working'")
        if self.finds("#admin-labs img", driver) or driver.execute_script("return window.boardXSS === 1"):
            raise CheckFailed("a step title became HTML on the lab progress board")
        option = self.find(f'#labs-environment option[value="{LAB_SLUG}"]', driver)
        if "2 steps" not in option.text:
            raise CheckFailed(f"the board's lab filter offers {option.text!r}, not the lab with its 2 steps")
        self.passed.append("admin console: the lab progress board lists a learner's step and time on it, the lab filter offers the lab, titles are text")
        self.admin_tab("settings", "#setting-registrationOpen:checked", "the settings tab (registration open)")
        self.admin_tab("audit", "#admin-audit tr", "the audit tab")
        self.passed.append("admin console: environments (a no-instance challenge says so, with no Build button; a broken folder's problems, as text), submissions, settings and audit tabs load")

        self.admin_personal_pages()
        driver.get(self.admin_url + "/admin")
        wait_for("the admin console", lambda: self.find("#console", driver).is_displayed(), self.timeout)

        css = f'#admin-instances tr[data-instance-id="{self.instance_id}"]'
        self.admin_tab("instances", css, f"instance {self.instance_id} in the instances tab")

        def described():
            cells = self.texts(f"{css} td", driver)
            return cells if len(cells) > 6 and cells[2] == self.player and re.search(r"MiB .* CPU .* pids", cells[6]) and cells[4] else None

        cells = wait_for("the instance's owner, age and resources", described, self.timeout)
        self.passed.append("admin console: the player's instance with owner, age, expiry and resources")
        log(f"admin instances: {' | '.join(cells[:7])}")
        self.shot(driver, "web-admin")

        # The killed instance's terminal may ask for a ticket again before its iframe goes.
        self.expected_failures += [
            (f"/api/v1/instances/{self.instance_id}", "404"),
            (f"/api/v1/instances/{self.instance_id}/terminal/ticket", "409"),
            (f"/api/v1/instances/{self.instance_id}/terminal/ticket", "404"),
        ]
        self.find(f"{css} button.kill", driver).click()
        alert = wait_for("the kill confirmation", lambda: driver.switch_to.alert, self.timeout)
        log(f"confirm: {alert.text!r}")
        if self.instance_id not in alert.text:
            raise CheckFailed(f"the kill confirmation does not name the instance: {alert.text!r}")
        alert.accept()
        killed_at = time.monotonic()
        wait_for("the killed instance to leave the list", lambda: not self.finds(css, driver), self.timeout)
        self.instance_id = None
        self.passed.append("admin console: Kill (confirmed) removes the instance from the list")
        self.shot(driver, "web-admin-killed")

        def stopped():
            state = self.state()
            return state if state == "stopped" and not self.finds("#terminal-frame") else None

        wait_for(f"the player's page to say 'stopped' within {STOPPED_WITHIN:.0f}s", stopped, STOPPED_WITHIN)
        elapsed = time.monotonic() - killed_at
        self.passed.append(f"environment page: shows 'stopped' and drops the terminal {elapsed:.1f}s after the kill")
        log(f"player's page says stopped {elapsed:.1f}s after the kill")
        self.shot(self.driver, "web-environment-stopped")

    def admin_personal_pages(self) -> None:
        """An admin's catalog and environment page show the admin's own instances only (not the
        player's running one), with Start, and the admin can start the environment to test it."""
        driver = self.admin_driver
        driver.get(self.admin_url + "/")
        wait_for("the admin's catalog", lambda: self.finds(f'a.env-card[data-slug="{ENVIRONMENT}"]', driver), self.timeout)
        time.sleep(1)  # the instance list loads after the catalog
        if self.finds(f'#instances tr[data-instance-id="{self.instance_id}"]', driver) or self.find("#my-instances", driver).is_displayed():
            raise CheckFailed("the admin's catalog lists the player's instance under 'My instances'")
        driver.get(self.admin_url + f"/environments/{ENVIRONMENT}")
        start = wait_for(
            "the admin's Start button", lambda: (lambda b: b if b.is_displayed() and b.is_enabled() else None)(self.find("#start", driver)),
            self.timeout,
        )
        state = self.find("#instance-state", driver).text
        if state != "not started":
            raise CheckFailed(f"the admin's environment page shows someone's instance as {state!r}, not 'not started'")
        start.click()

        def running():
            self.fail_on_notice(driver)
            frames = self.finds("#terminal-frame", driver)
            return self.find("#instance-state", driver).text == "running" and frames and frames[0].is_displayed()

        wait_for("the admin's own instance to run", running, self.timeout)
        own = self.find("#instance-panel", driver).get_attribute("data-instance-id")
        # Its terminal iframe may ask for a ticket once more after the Stop.
        self.expected_failures += [(f"/api/v1/instances/{own}/terminal/ticket", "409"), (f"/api/v1/instances/{own}/terminal/ticket", "404")]
        if own == self.instance_id:
            raise CheckFailed("the admin's environment page shows the player's instance")
        self.shot(driver, "web-admin-own-instance")
        self.find("#stop", driver).click()
        wait_for("the Stop confirmation", lambda: driver.switch_to.alert, self.timeout).accept()
        wait_for("the admin's instance to stop", lambda: self.find("#instance-state", driver).text == "stopped", self.timeout)
        reason = wait_for("the end reason", lambda: self.visible_text("#instance-reason", driver), self.timeout)
        if "press Start" not in reason:
            raise CheckFailed(f"the end reason is not in plain words: {reason!r}")
        self.passed.append("admin: personal pages show only the admin's own instances, and Start runs one to test the environment")
        log(f"admin's own instance {own} ran and stopped ({reason!r})")

    def promoted_admin_recordings(self) -> None:
        """A player made admin reads recordings with their session cookie (no token)."""
        assert self.api
        _, users = self.api.call("GET", "/api/v1/users", self.admin_token)
        user = next(item for item in users["items"] if item["name"] == self.player)
        self.api.call("PATCH", f"/api/v1/users/{user['id']}", self.admin_token, {"role": "admin"})
        driver = self.driver
        driver.get(self.player_url + "/recordings")
        rows = wait_for("the recordings list for a session-cookie admin", lambda: self.finds("#recordings tr"), self.timeout)
        if not any(ENVIRONMENT in row.text for row in rows):
            raise CheckFailed(f"the recordings page lists no {ENVIRONMENT} recording: {[row.text for row in rows]}")
        owners = [cell.text for cell in self.finds("#recordings td.owner")]
        if self.player not in owners or any(owner.startswith("user usr") for owner in owners):
            raise CheckFailed(f"the recordings page shows owners as {owners}, not by name ({self.player})")
        started = self.finds("#recordings time.relative-time")
        if not started or not started[0].get_attribute("title") or not re.search(r"ago|just now", started[0].text):
            raise CheckFailed(f"the start time is not relative with the exact time on hover: {[t.text for t in started]}")
        self.passed.append("recordings page: an admin signed in with a password (cookie, no token) sees the recordings, by owner name")
        self.api.call("PATCH", f"/api/v1/users/{user['id']}", self.admin_token, {"role": "player"})

    # -- 4. phone width ------------------------------------------------------------------

    def phone(self) -> None:
        driver = self.driver
        self.set_viewport(driver, PHONE)
        driver.get(self.player_url + "/")
        wait_for("the catalog at phone width", lambda: self.finds(f'a.env-card[data-slug="{ENVIRONMENT}"]'), self.timeout)
        width = driver.execute_script("return window.innerWidth")
        log(f"phone viewport: {width} px wide")
        if width != PHONE[0]:
            raise CheckFailed(f"the phone viewport is {width} px wide, not {PHONE[0]}")
        self.no_overflow("catalog at phone width")
        self.shot(driver, "web-catalog-phone")

        driver.get(self.env_url())
        start = wait_for("the Start button at phone width", lambda: (lambda b: b if b.is_displayed() and b.is_enabled() else None)(self.find("#start")), self.timeout)
        start.click()
        self.wait_running()
        frame_width, main_width = driver.execute_script(
            "return [document.getElementById('terminal-frame').getBoundingClientRect().width,"
            " document.getElementById('instance-panel').getBoundingClientRect().width]"
        )
        if frame_width < main_width - 2:
            raise CheckFailed(f"the terminal iframe is {frame_width} px wide in a {main_width} px panel")
        self.no_overflow("environment page with the terminal at phone width")
        self.passed.append(f"environment page at phone width: the terminal iframe is full width ({frame_width:.0f} px)")
        driver.execute_script("document.getElementById('instance-panel').scrollIntoView()")
        self.shot(driver, "web-environment-phone")
        self.terminal_page_phone()
        driver.get(self.env_url())
        self.wait_running()
        # The admin's tables while the player's instance runs, so the instances tab has a row.
        self.admin_phone()

        self.find("#stop").click()
        alert = wait_for("the Stop confirmation", lambda: driver.switch_to.alert, self.timeout)
        alert.accept()
        wait_for("the player's Stop to stop the instance", lambda: self.state() == "stopped" and not self.finds("#terminal-frame"), self.timeout)
        self.instance_id = None
        self.passed.append("environment page: Stop (confirmed) stops the instance")
        self.set_viewport(driver, DESKTOP)

    def terminal_page_phone(self) -> None:
        """The standalone terminal page at 390x844: the header fits, the notice sits above the
        terminal, and after Stop it offers Start, which opens a fresh instance's terminal."""
        from selenium.webdriver.common.by import By

        driver = self.driver
        first = self.instance_id
        driver.get(f"{self.player_url}/instances/{first}/terminal")
        wait_for("the terminal page to connect", lambda: self.find("#status").get_attribute("data-state") == "connected", self.timeout)
        wait_for("the countdown in the header", lambda: self.find("#countdown").text.startswith("expires in"), self.timeout)
        self.no_overflow("terminal page header at phone width")
        for part in ("#status", "#countdown", "#reset", "#stop"):
            right = driver.execute_script("return document.querySelector(arguments[0]).getBoundingClientRect().right", part)
            if right > PHONE[0]:
                raise CheckFailed(f"the terminal page header's {part} ends at {right} px on a {PHONE[0]} px screen")
        header = driver.execute_script("const r = document.querySelector('header').getBoundingClientRect(); return [r.right, r.height]")
        if header[0] > PHONE[0]:
            raise CheckFailed(f"the terminal page header ends at {header[0]} px on a {PHONE[0]} px screen")
        # A notice (such as the expiry warning) shows above the terminal, not behind it.
        layout = driver.execute_script(
            """
            const notice = document.getElementById("notice");
            notice.textContent = "This instance expires in 0:59 unless renewed."; notice.hidden = false;
            const n = notice.getBoundingClientRect(), t = document.getElementById("terminal").getBoundingClientRect();
            const hit = document.elementFromPoint(n.left + 5, n.top + n.height / 2);
            return [n.bottom, t.top, hit === notice || notice.contains(hit)];
            """
        )
        if layout[0] > layout[1] + 0.5 or not layout[2]:
            raise CheckFailed(f"the notice is hidden behind the terminal: notice bottom {layout[0]}, terminal top {layout[1]}, on top: {layout[2]}")
        self.shot(driver, "web-terminal-phone")
        driver.execute_script('document.getElementById("notice").hidden = true')
        self.passed.append(f"terminal page at phone width: the header fits ({header[1]:.0f} px tall) and the notice shows above the terminal")

        self.expected_failures += [
            (f"/api/v1/instances/{first}/terminal/ticket", "409"),
            (f"/api/v1/instances/{first}/terminal/ticket", "404"),
        ]
        self.find("#stop").click()
        start = wait_for("Start on the terminal page once stopped",
                         lambda: (lambda b: b if b.is_displayed() and b.is_enabled() else None)(driver.find_element(By.ID, "start")), self.timeout)
        status = self.find("#status").text
        if "stopped" not in status:
            raise CheckFailed(f"the stopped terminal page says {status!r}")
        self.no_overflow("stopped terminal page at phone width")
        start.click()
        wait_for("a fresh instance's terminal page",
                 lambda: "/instances/" in driver.current_url and first not in driver.current_url, self.timeout)
        self.instance_id = driver.current_url.split("/instances/")[1].split("/")[0]
        wait_for("the fresh terminal to connect", lambda: self.find("#status").get_attribute("data-state") == "connected", self.timeout)
        self.passed.append(f"terminal page: Stop, then Start opens a fresh instance ({first} -> {self.instance_id})")
        log(f"terminal page Start: {first} -> {self.instance_id}")

    def admin_phone(self) -> None:
        """The admin console's tables at 390x844 fit the screen, with relative times that show
        the exact time on hover."""
        driver = self.admin_driver
        self.set_viewport(driver, PHONE)
        driver.get(self.admin_url + "/admin")
        wait_for("the admin console at phone width", lambda: self.find("#console", driver).is_displayed(), self.timeout)
        for tab, css in (("environments", "#admin-environments tr"), ("instances", "#admin-instances tr"), ("users", "#admin-users tr"),
                         ("submissions", "#admin-submissions tr"), ("labs", "#admin-labs tr"), ("audit", "#admin-audit tr")):
            self.admin_tab(tab, css, f"the {tab} tab at phone width")
            time.sleep(0.3)
            self.no_overflow(f"admin {tab} tab at phone width", driver)
            if tab in ("users", "instances"):
                self.shot(driver, f"web-admin-{tab}-phone")
        self.admin_tab("users", "#admin-users tr", "the users tab")

        # Opening the tab again shows the rows of the first visit until its reload redraws them,
        # so a row found just before the redraw may be gone when read: read again then.
        def first_time():
            times = self.finds("#admin-users time.relative-time", driver)
            return (times[0].text, times[0].get_attribute("title")) if times else None

        text, title = wait_for("a relative time in the users tab", first_time, self.timeout)
        if not re.fullmatch(r"just now|\d+ (minute|hour|day|month|year)s? ago", text) or not title or title == text:
            raise CheckFailed(f"a creation time reads {text!r} with hover {title!r}, not a relative time with the exact one")
        self.passed.append(f"admin console at phone width: every tab fits; times read {text!r} with {title!r} on hover")
        self.set_viewport(driver, DESKTOP)

    def expiry_warning(self) -> None:
        """On the terminal page of an instance about to expire, the warning shows above the
        terminal and counts down with the header's countdown."""
        driver = self.driver
        driver.get(self.env_url(SHORT_SLUG))
        start = wait_for("the Start button of short-lived",
                         lambda: (lambda b: b if b.is_displayed() and b.is_enabled() else None)(self.find("#start")), self.timeout)
        start.click()
        self.wait_running()
        short = self.instance_id
        # A terminal of its own: the hub warns each terminal once a minute, and the environment
        # page's iframe already had this minute's warning for `main`.
        driver.get(f"{self.player_url}/instances/{short}/terminal#terminal=second")

        def warned():
            notice, countdown, above, on_top = driver.execute_script(
                """
                const notice = document.getElementById("notice"), terminal = document.getElementById("terminal");
                if (notice.hidden) return ["", "", false, false];
                const n = notice.getBoundingClientRect(), t = terminal.getBoundingClientRect();
                const hit = document.elementFromPoint(n.left + 5, n.top + n.height / 2);
                return [notice.textContent, document.getElementById("countdown").textContent, n.bottom <= t.top + 0.5,
                        hit === notice || notice.contains(hit)];
                """
            )
            said = re.search(r"expires in (\d+:\d\d) unless renewed", notice)
            shown = re.fullmatch(r"expires in (\d+:\d\d)", countdown)
            return (notice, countdown, above, on_top) if said and shown and said.group(1) == shown.group(1) else None

        notice, countdown, above, on_top = wait_for("the expiry warning to match the countdown", warned, self.timeout)
        if not above or not on_top:
            raise CheckFailed(f"the expiry warning is hidden behind the terminal (above: {above}, on top: {on_top})")
        self.shot(driver, "web-terminal-expiring")
        self.passed.append(f"terminal page: the expiry warning shows above the terminal and matches the countdown ({notice!r} / {countdown!r})")
        self.expected_failures += [(f"/api/v1/instances/{short}/terminal/ticket", "409"), (f"/api/v1/instances/{short}/terminal/ticket", "404")]
        self.find("#stop").click()
        wait_for("Start after Stop", lambda: self.find("#start").is_displayed(), self.timeout)
        self.instance_id = None

    def disconnect_warning(self) -> None:
        """With its terminal and editor kept from connecting, the environment page warns before the
        instance stops for nobody being connected, then says why it stopped."""
        driver = self.driver
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": [f"*{path}*" for path in BLOCKED_ON_PURPOSE]})
        try:
            driver.get(self.env_url(LEFT_SLUG))
            start = wait_for("the Start button of left-alone",
                             lambda: (lambda b: b if b.is_displayed() and b.is_enabled() else None)(self.find("#start")), self.timeout)
            start.click()

            def shown(css):
                element = self.find(css)
                return element.text if element.is_displayed() and element.text else None

            banner = wait_for("the banner before the stop for nobody being connected", lambda: shown("#disconnect-warning"), self.timeout)
            if not re.fullmatch(r"Nobody is connected: this instance stops at \S.* \(in 0:0\d\) unless you open its terminal or editor\.", banner):
                raise CheckFailed(f"the disconnect banner reads {banner!r}")
            if self.find("#disconnect-warning").get_attribute("role") != "alert":
                raise CheckFailed("the disconnect banner is not an alert")
            self.shot(driver, "web-disconnect-warning")
            reason = wait_for("the reason the instance stopped", lambda: shown("#instance-reason"), self.timeout)
            if f"stopped because nobody was connected for {LEFT_SETTING_SECONDS} seconds" not in reason:
                raise CheckFailed(f"the stopped instance's reason reads {reason!r}")
            if self.find("#disconnect-warning").is_displayed():
                raise CheckFailed("the disconnect banner still shows after the stop")
            if self.state() != "stopped":
                raise CheckFailed(f"the instance shows {self.state()!r}, not stopped")
            self.passed.append(f"environment page: the banner before a stop for nobody being connected ({banner!r}), then the reason ({reason!r})")

            # The owner's own terminal page, its terminal not connected, warns the same way.
            stopped_id = self.find("#instance-panel").get_attribute("data-instance-id")
            wait_for("Start after the stop", lambda: self.find("#start").is_displayed() and self.find("#start").is_enabled(), self.timeout)
            self.find("#start").click()
            fresh = wait_for("the new instance's id", lambda: (lambda i: i if i and i != stopped_id else None)(
                self.find("#instance-panel").get_attribute("data-instance-id")), self.timeout)
            driver.get(f"{self.player_url}/instances/{fresh}/terminal")
            notice = wait_for("the terminal page's warning", lambda: shown("#notice"), self.timeout)
            if not re.fullmatch(r"Nobody is connected: this instance stops at \S.* \(in 0:0\d\) unless you open its terminal or editor\.", notice):
                raise CheckFailed(f"the terminal page's disconnect warning reads {notice!r}")
            status = wait_for("the terminal page to say why it stopped",
                              lambda: (lambda t: t if "nobody was connected" in t else None)(self.find("#status").text), self.timeout)
            self.passed.append(f"terminal page without its terminal: the same warning ({notice!r}), then {status!r}")
        finally:
            driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})

    def workspace_full(self) -> None:
        """A workspace at 95 % or more: the environment page shows its usage and the warning
        "Your workspace is full", and the admin console's Workspaces tab lists it in use."""
        import urllib.error
        import urllib.request

        driver = self.driver
        driver.get(self.env_url("workspace-notes"))
        start = wait_for("the Start button of workspace-notes",
                         lambda: (lambda b: b if b.is_displayed() and b.is_enabled() else None)(self.find("#start")), self.timeout)
        start.click()
        self.wait_running()
        instance = self.instance_id
        usage = wait_for("the workspace usage line", lambda: self.visible_text("#workspace-usage"), self.timeout)
        if "/home/player/work" not in usage or "64.0 MiB" not in usage:
            raise CheckFailed(f"the workspace usage line does not name the path and size: {usage!r}")
        # Fill it through the file API (8 MiB a file) until the file system refuses with 507.
        refused = None
        for index in range(12):
            request = urllib.request.Request(
                f"{self.base_url}/api/v1/instances/{instance}/files/content?path=/home/player/work/fill{index}.bin",
                data=b"\0" * (8 << 20), method="PUT",
                headers={"Authorization": f"Bearer {self.admin_token}", "Content-Type": "application/octet-stream"},
            )
            try:
                with urllib.request.urlopen(request, timeout=120) as answer:
                    answer.read()
            except urllib.error.HTTPError as error:
                refused = (error.code, error.read().decode("utf-8", "replace"))
                break
        if refused is None or refused[0] != 507 or "workspace_full" not in refused[1]:
            raise CheckFailed(f"filling the workspace did not end in 507 workspace_full: {refused}")
        warning = wait_for("the workspace-full warning", lambda: self.visible_text("#workspace-full"), self.timeout)
        if not warning.startswith("Your workspace is full: /home/player/work"):
            raise CheckFailed(f"the workspace warning is not in plain words: {warning!r}")
        self.shot(driver, "web-workspace-full")
        admin = self.admin_driver
        admin.get(self.admin_url + "/admin#workspaces")
        row = wait_for("the workspace in the admin console", lambda: (self.texts('#admin-workspaces tr[data-in-use="true"]', admin) or [None])[0], self.timeout)
        if "workspace-notes" not in row or self.player not in row:
            raise CheckFailed(f"the admin's Workspaces row does not name the owner and environment: {row!r}")
        self.expected_failures += [(f"/api/v1/instances/{instance}/terminal/ticket", "409"), (f"/api/v1/instances/{instance}/terminal/ticket", "404")]
        self.find("#stop").click()
        wait_for("the Stop confirmation", lambda: driver.switch_to.alert, self.timeout).accept()
        wait_for("the workspace instance to stop", lambda: self.state() == "stopped", self.timeout)
        self.instance_id = None
        self.passed.append(f"workspace: the page shows usage and, when full, the warning ({warning[:60]!r}…); the admin console lists it")

    def not_found_page(self) -> None:
        driver = self.driver
        self.expected_failures.append(("/no/such/page", "404"))
        driver.get(self.player_url + "/no/such/page")
        heading = wait_for("the 404 page", lambda: self.visible_text("h1"), self.timeout)
        if heading != "Page not found":
            raise CheckFailed(f"an unknown URL shows {heading!r}, not the 'Page not found' page")
        self.passed.append("an unknown URL shows the HTML 'Page not found' page")

    def signed_out_recordings(self) -> None:
        """Signed out, /recordings sends the visitor to sign in like every other page."""
        driver = self.driver
        driver.get(self.player_url + "/recordings")
        wait_for("/recordings to lead to sign-in when signed out", lambda: driver.current_url.startswith(self.player_url + "/login"), self.timeout)
        self.passed.append(f"recordings page: signed out, it leads to sign-in ({driver.current_url.replace(self.player_url, '')})")
        # Back to the plain sign-in page, so signing in lands on the catalog again.
        driver.get(self.player_url + "/login")
        wait_for("the sign-in form", lambda: self.find("#login-form").is_displayed(), self.timeout)

    # -- 5. sign-in errors ---------------------------------------------------------------

    def sign_in_errors(self) -> None:
        driver = self.driver
        driver.get(self.player_url + "/")
        wait_for("the Sign out button", lambda: self.find("#sign-out").is_displayed(), self.timeout)
        self.find("#sign-out").click()
        wait_for("the sign-in page after signing out", lambda: driver.current_url.startswith(self.player_url + "/login"), self.timeout)
        wait_for("the signed-out navigation bar", lambda: self.finds("#sign-in"), self.timeout)
        self.signed_out_recordings()

        self.expected_failures.append(("/api/v1/auth/login", "401"))
        self.fill("#login-name", self.player)
        self.fill("#login-password", self.password + "-wrong")
        self.find("#login-form button").click()
        text = wait_for("the wrong-password message", lambda: self.visible_text("#login-error"), self.timeout)
        if text != "Wrong name or password.":
            raise CheckFailed(f"a wrong password shows {text!r}, not 'Wrong name or password.'")
        self.passed.append("sign-in: a wrong password shows 'Wrong name or password.'")

        self.expected_failures.append(("/api/v1/auth/register", "409"))
        self.fill("#register-name", self.player)
        self.fill("#register-password", self.password)
        self.fill("#register-password-again", self.password)
        self.find("#register-form button").click()
        text = wait_for("the taken-name message", lambda: self.visible_text("#register-error"), self.timeout)
        if not re.search(r"taken|exists", text, re.IGNORECASE):
            raise CheckFailed(f"registering a taken name shows {text!r}")
        self.passed.append("register: a taken name shows the server's error")
        log(f"taken name: {text!r}")

        self.fill("#login-name", self.player)
        self.fill("#login-password", self.password)
        self.find("#login-form button").click()
        wait_for("the catalog after signing in", lambda: driver.current_url.rstrip("/") == self.player_url and self.finds("#sign-out"), self.timeout)
        self.passed.append("sign-in: the right password signs in again")

    # -- 6. markdown safety --------------------------------------------------------------

    def markdown_safety(self) -> None:
        from selenium.common.exceptions import NoAlertPresentException

        driver = self.driver
        driver.get(self.env_url(UNSAFE_SLUG))
        text = wait_for("the markdown-safety description", lambda: self.visible_text("#description"), self.timeout)
        if UNSAFE_HTML not in text or "<script>alert(2)</script>" not in text:
            raise CheckFailed(f"the raw HTML does not show as text: {text!r}")
        found = driver.execute_script(
            """
            return {
              images: document.querySelectorAll("#description img, #description script").length,
              handlers: Array.from(document.querySelectorAll("#description *")).filter((node) =>
                Array.from(node.attributes).some((attr) => attr.name.startsWith("on"))).length,
              scriptLinks: Array.from(document.querySelectorAll("a")).map((a) => a.getAttribute("href") || "")
                .filter((href) => /^\\s*javascript:/i.test(href)),
              click: Array.from(document.querySelectorAll("#description a")).filter((a) => a.textContent === "click").length,
              fine: Array.from(document.querySelectorAll("#description a")).filter((a) =>
                a.textContent === "Berth" && a.href === "https://example.org/" && a.target === "_blank"
                && a.rel === "noopener noreferrer").length,
            };
            """
        )
        if found["images"] or found["handlers"] or found["scriptLinks"] or found["click"]:
            raise CheckFailed(f"the description has unsafe nodes: {found}")
        if found["fine"] != 1:
            raise CheckFailed(f"the https link is not a link that opens in a new tab: {found}")
        try:
            alert = driver.switch_to.alert
            raise CheckFailed(f"an alert opened: {alert.text!r}")
        except NoAlertPresentException:
            pass
        self.passed.append("markdown: raw HTML shows as text, no javascript: link, no alert; https links open in a new tab")
        self.shot(driver, "web-markdown-safety")

    # -- 7. a challenge without an instance ----------------------------------------------

    def no_instance_challenge(self) -> None:
        import codecs

        driver = self.driver
        driver.get(self.player_url + "/")
        card = wait_for(f"the {NO_INSTANCE_SLUG} card", lambda: self.finds(f'a.env-card[data-slug="{NO_INSTANCE_SLUG}"]'), self.timeout)[0]
        if card.get_attribute("data-has-instance") != "false":
            raise CheckFailed(f"the {NO_INSTANCE_SLUG} card does not say it has no instance")
        driver.get(self.env_url(NO_INSTANCE_SLUG))
        link = wait_for("the attachment link", lambda: [a for a in self.finds("#files a.file-link") if a.is_displayed()], self.timeout)[0]
        if link.text != NO_INSTANCE_FILE:
            raise CheckFailed(f"the attachment link reads {link.text!r}, not {NO_INSTANCE_FILE!r}")
        expected_href = f"{self.player_url}/api/v1/environments/{NO_INSTANCE_SLUG}/files/{NO_INSTANCE_FILE}"
        if link.get_attribute("href") != expected_href or link.get_attribute("download") != NO_INSTANCE_FILE:
            raise CheckFailed(f"the attachment link is {link.get_attribute('href')!r} (download={link.get_attribute('download')!r})")
        if self.find("#start").is_displayed() or self.find("#instance-panel").is_displayed():
            raise CheckFailed("a challenge without an instance shows a Start button or an instance panel")
        shown = self.find("#files li .sha256").text.strip()
        size = self.find("#files li .size").text.strip()
        fetched = driver.execute_async_script(
            """
            const done = arguments[arguments.length - 1];
            fetch(arguments[0], { credentials: "same-origin" }).then(async (response) => {
              const bytes = await response.arrayBuffer();
              const digest = await crypto.subtle.digest("SHA-256", bytes);
              done({
                status: response.status, disposition: response.headers.get("Content-Disposition"),
                sha256: Array.from(new Uint8Array(digest)).map((b) => b.toString(16).padStart(2, "0")).join(""),
                text: new TextDecoder().decode(bytes), length: bytes.byteLength,
              });
            }).catch((error) => done({ error: String(error) }));
            """,
            link.get_attribute("href"),
        )
        if fetched.get("status") != 200 or not str(fetched.get("disposition", "")).startswith("attachment"):
            raise CheckFailed(f"downloading the attachment answered {fetched}")
        if fetched["sha256"] != shown or not re.fullmatch(r"[0-9a-f]{64}", shown):
            raise CheckFailed(f"the page shows SHA-256 {shown!r}, the bytes hash to {fetched['sha256']!r}")
        if size != f"{fetched['length']} B":
            raise CheckFailed(f"the page shows size {size!r} for {fetched['length']} bytes")
        found = re.search(r"berth\{[^}\s]+\}", codecs.decode(fetched["text"], "rot13"))
        if not found:
            raise CheckFailed(f"ROT13 of the attachment holds no flag: {fetched['text']!r}")
        self.fill("#flag-input", found.group(0))
        self.find("#flag-form button").click()
        outcome = wait_for("the flag result", lambda: self.find("#flag-result").is_displayed() and self.find("#flag-result").get_attribute("data-outcome"), self.timeout)
        if outcome != "correct":
            raise CheckFailed(f"the attachment's flag was answered {outcome!r}: {self.visible_text('#flag-message')!r}")
        self.passed.append("no-instance challenge: no Start button, attachment listed with size and SHA-256, bytes match, flag accepted")
        self.shot(driver, "web-no-instance")

    # -- console -------------------------------------------------------------------------

    def collect_console(self) -> list[dict]:
        for name, driver in (("player", self.driver), ("admin", self.admin_driver)):
            if driver is None:
                continue
            try:
                self.consoles[name].extend(driver.get_log("browser"))
            except Exception:  # noqa: BLE001 - diagnostics only
                pass
        return self.consoles["player"] + self.consoles["admin"]

    def expected(self, message: str) -> bool:
        if "/favicon.ico" in message:
            return True
        if "ERR_BLOCKED_BY_CLIENT" in message and any(path in message for path in BLOCKED_ON_PURPOSE):
            return True
        return any(path in message and f"status of {status}" in message for path, status in self.expected_failures)

    def check_console(self) -> None:
        self.collect_console()
        for name, entries in self.consoles.items():
            errors = [entry for entry in entries if entry.get("level") == "SEVERE" and not self.expected(entry.get("message", ""))]
            if errors:
                raise CheckFailed(
                    f"the {name}'s browser console has {len(errors)} error(s), first: {errors[0].get('message')}"
                )
        self.passed.append("no unexpected errors in either browser console")

    def print_browser_log(self) -> None:
        self.collect_console()
        for name, entries in self.consoles.items():
            if entries:
                print(f"browser-test: {name}'s browser console:", file=sys.stderr)
                for entry in entries[-30:]:
                    print(f"  {entry.get('level')}: {entry.get('message')}", file=sys.stderr)

    # -- clean-up and run ----------------------------------------------------------------

    def clean_up(self) -> None:
        if self.admin_driver is not None:
            try:
                self.admin_driver.quit()
            except Exception as error:  # noqa: BLE001 - clean-up goes on
                log(f"warning: closing the admin's browser: {error}")
        super().clean_up()

    def scenario(self) -> None:
        self.check_prerequisites()
        self.prepare_environments()
        self.start_server()
        self.open_browsers()
        self.register()
        self.catalog()
        self.start_instance()
        self.submit_flag(self.read_flag())
        self.scoreboard()
        self.driver.get(self.env_url())
        self.wait_running()
        self.admin()
        self.promoted_admin_recordings()
        self.phone()
        self.not_found_page()
        self.sign_in_errors()
        self.markdown_safety()
        self.no_instance_challenge()
        self.expiry_warning()
        self.disconnect_warning()
        self.workspace_full()
        self.check_console()

    def failure_screenshot(self) -> Path:
        return self.artifacts / "web-app-failure.png"

    def stale_screenshots(self) -> list[Path]:
        return list(self.artifacts.glob("web-*.png")) if self.artifacts.is_dir() else []

    # What print_diagnostics calls the two browsers, how many lines of each page it prints, and
    # how it names their screenshots; a subclass with other browsers names them here.
    diagnostic_browsers = ("player", "admin")
    diagnostic_lines = 25
    diagnostic_prefix = "web-app-failure"

    def print_diagnostics(self, failure_shot: Path) -> None:
        """What the browsers and the server show at a failure."""
        for name, driver in zip(self.diagnostic_browsers, (self.driver, self.admin_driver)):
            if driver is None:
                continue
            try:
                driver.switch_to.default_content()
                print(f"browser-test: the {name} browser's page at the failure: {driver.current_url}", file=sys.stderr)
                text = driver.execute_script("return document.body ? document.body.innerText : ''")
                for line in [line for line in text.splitlines() if line.strip()][: self.diagnostic_lines]:
                    print("  | " + line, file=sys.stderr)
                shot = failure_shot.with_name(f"{self.diagnostic_prefix}-{name}.png")
                shot.parent.mkdir(parents=True, exist_ok=True)
                driver.save_screenshot(str(shot))
                print(f"browser-test: screenshot at the failure: {shot}", file=sys.stderr)
            except Exception:  # noqa: BLE001 - diagnostics only
                pass
        self.print_browser_log()
        self.print_server_log()


def run_browser_test(test_class, description: str, screenshot: str, argv: list[str] | None = None) -> int:
    """Parses the arguments the web app and lab tests share and runs `test_class`; the base class
    names its failure screenshot `screenshot` in the artifacts folder."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--berth", default=str(REPO / ".build" / "debug" / "berth"), help="the berth binary (default: .build/debug/berth)")
    parser.add_argument("--environments", default=str(REPO / "examples" / "environments"), help="environments folder to copy")
    parser.add_argument("--artifacts", default=str(REPO / "test-artifacts"), help="where to save the screenshots")
    parser.add_argument("--timeout", type=float, default=float(os.environ.get("BROWSER_TEST_TIMEOUT", "30")), help="seconds for each wait (default 30)")
    parser.add_argument("--keep-artifacts", action="store_true", help="keep the temporary folder (server and driver logs) even on success")
    args = parser.parse_args(argv)
    args.screenshot = str(Path(args.artifacts) / screenshot)

    def interrupted(signum, frame):
        raise KeyboardInterrupt

    # `make` and CI end a run with SIGTERM: clean up as on Ctrl-C.
    signal.signal(signal.SIGTERM, interrupted)
    return test_class(args).run()


def main(argv: list[str] | None = None) -> int:
    return run_browser_test(WebAppTest, "Browser test of Berth's web app (headless Chromium).", "web-app.png", argv)


if __name__ == "__main__":
    sys.exit(main())
