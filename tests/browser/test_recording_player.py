#!/usr/bin/env python3
"""Browser test of Berth's recordings list (/recordings) and recording player (/recordings/<id>),
in headless Chromium driven by Selenium, against a real `berth serve`.

What it does, in one run:

1. checks the same prerequisites as tests/browser/test_terminal_page.py (Docker, the
   lab-starter image, xterm.js in vendor/xterm, Debian's Chromium and chromedriver, Selenium),
   starts `berth serve` the same way (free loopback port, temporary data directory, random
   admin token, BERTH_NAMESPACE=browser-test-...), and creates a user, its token and a
   `lab-starter` instance through the API;
2. as the user, in a first tab on http://localhost:<port> (a separate origin, so a separate
   localStorage 'berth.token'), opens the instance's terminal page, types
   `echo player-$((6*7))` and Enter into xterm, waits for `player-42`, then pastes a long
   `echo pasted-…` line with xterm's paste (what the page's Ctrl+Shift+V does) and Enter;
3. as the admin, in a second tab on http://127.0.0.1:<port>, opens /recordings and checks that
   the instance's recording is listed as live; opens the player from its Play link and checks:
   the Live badge, the "Open live terminal (read-only)" link, seeking to the end (End key on the
   slider) shows `player-42` on the replay screen, the markers list has a `connect` marker, the
   analysis lists the command `echo player-$((6*7))` and a paste, and clicking the command's
   `#t=` link seeks (the time display changes and the URL carries the fragment);
4. live follow: turns "Follow live" on, types `echo follow-$((5*5))` in the user's tab, and
   waits until the player's screen shows `follow-25`; saves test-artifacts/recording-player.png;
5. closes the user's tab, stops the instance (DELETE /api/v1/instances/<id>), reloads the
   player and waits for the Live badge to go; Verify then says "valid"; on /recordings, the
   row's Verify says "valid", Download saves <id>.cast with the same bytes as the API's
   /cast, a screenshot goes to test-artifacts/recordings-list.png, and Delete (confirmed)
   removes the row and the recording (the API answers 404 for it);
   The list and the player's title name the owner (`browser-test`), not their id; signed out
   (no token, no session), /recordings and the player lead to /login.
6. checks that the pages logged no error in the browser console (/favicon.ico aside), and
   always, even on failure, closes the browser, deletes the instance, stops the server and
   removes any container or network labelled with its namespace.

It reuses test_terminal_page.py's harness (prerequisites, server, API set-up, browser,
clean-up, diagnostics) by subclassing it. Every wait has a timeout (BROWSER_TEST_TIMEOUT
seconds, default 30). Exit status: 0 when every check passed, 1 when one failed, 2 when a
prerequisite is missing or the server did not start.

Usage: python3 tests/browser/test_recording_player.py [--berth PATH] [--environments DIR]
       [--screenshot PATH] [--list-screenshot PATH] [--timeout SECONDS] [--keep-artifacts]
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_terminal_page import (  # noqa: E402
    PROMPT, REPO, APIError, CheckFailed, TerminalPageTest, log, wait_for,
)

COMMAND = "echo player-$((6*7))"
EXPECTED = "player-42"
PASTED = "echo pasted-" + "abcdefghij" * 8
FOLLOW_COMMAND = "echo follow-$((5*5))"
FOLLOW_EXPECTED = "follow-25"
WINDOW = (1280, 800)
# Seconds between typed keys: slower than the analysis' paste rule (20 characters within 100 ms
# by default), so typed commands read as typing and only the pasted line as a paste.
KEY_INTERVAL = 0.15


class RecordingPlayerTest(TerminalPageTest):
    def __init__(self, args: argparse.Namespace):
        super().__init__(args)
        self.user_url = ""
        self.user_tab: str | None = None
        self.admin_tab: str | None = None
        self.recording_id: str | None = None
        self.downloads = self.workdir / "downloads"
        self.instance_stopped = False

    # -- browser -------------------------------------------------------------------------

    def open_browser(self) -> None:
        super().open_browser()
        self.driver.set_window_size(*WINDOW)
        # The user works on http://localhost:<port>, the admin on http://127.0.0.1:<port>: two
        # origins, so each keeps its own token in localStorage.
        self.user_url = self.base_url.replace("127.0.0.1", "localhost")
        self.user_tab = self.driver.current_window_handle

    def use_token(self, origin: str, token: str) -> None:
        self.driver.get(origin + "/")
        self.driver.execute_script("localStorage.setItem('berth.token', arguments[0])", token)

    def type_into_terminal(self, text: str, paste: bool = False) -> None:
        """Types `text` and Enter into the terminal page's xterm, one key every KEY_INTERVAL
        seconds; with `paste`, the text goes in at once through xterm's paste (what the page's
        Ctrl+Shift+V calls) and only Enter is typed."""
        from selenium.common.exceptions import ElementNotInteractableException
        from selenium.webdriver.common.action_chains import ActionChains
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.keys import Keys

        driver = self.driver
        textarea = driver.find_element(By.CSS_SELECTOR, ".xterm-helper-textarea")
        driver.execute_script("arguments[0].focus()", textarea)
        if paste:
            driver.execute_script("term.paste(arguments[0])", text)
            time.sleep(KEY_INTERVAL)
            keys = [Keys.ENTER]
        else:
            keys = [*text, Keys.ENTER]
        for key in keys:
            try:
                textarea.send_keys(key)
            except ElementNotInteractableException:
                # xterm keeps its textarea tiny and transparent; type into the focused element instead.
                ActionChains(driver).send_keys(key).perform()
            time.sleep(KEY_INTERVAL)

    def wait_for_line(self, what: str, wanted: str) -> str:
        def shown():
            return [line for line in self.screen_lines() if line.strip() == wanted]

        return wait_for(f"{wanted!r} on {what}", shown, self.timeout)[0]

    def wait_for_prompt(self, what: str) -> str:
        def prompt():
            lines = [line for line in self.screen_lines() if line.strip()]
            return lines[-1] if lines and PROMPT.search(lines[-1]) else None

        return wait_for(f"a shell prompt on {what}", prompt, self.timeout)

    # -- the user's terminal -------------------------------------------------------------

    def use_terminal(self) -> None:
        self.use_token(self.user_url, self.user_token)
        # open_terminal opens the page on base_url; the user's is the localhost origin.
        admin_url, self.base_url = self.base_url, self.user_url
        try:
            self.open_terminal()
        finally:
            self.base_url = admin_url
        self.wait_for_prompt("the terminal page")
        self.type_into_terminal(COMMAND)
        self.wait_for_line("the terminal page", EXPECTED)
        self.wait_for_prompt("the terminal page")
        self.type_into_terminal(PASTED, paste=True)
        self.wait_for_line("the terminal page", PASTED[len("echo "):])
        self.wait_for_prompt("the terminal page")
        self.passed.append(f"terminal page (user): typed {COMMAND!r} and pasted a {len(PASTED)}-character line")
        log(f"user typed {COMMAND!r} and pasted {len(PASTED)} characters on {self.user_url}")

    # -- the recordings list -------------------------------------------------------------

    def list_row(self):
        from selenium.webdriver.common.by import By

        def row():
            for candidate in self.driver.find_elements(By.CSS_SELECTOR, "#recordings tr"):
                if self.instance_id in candidate.text:
                    return candidate
            notice = self.driver.find_element(By.ID, "notice")
            if notice.is_displayed() and notice.text:
                raise CheckFailed(f"the recordings page says: {notice.text!r}")
            return None

        return wait_for(f"a row for instance {self.instance_id} on /recordings", row, self.timeout)

    def check_list_live(self) -> None:
        from selenium.webdriver.common.by import By

        self.driver.switch_to.new_window("tab")
        self.admin_tab = self.driver.current_window_handle
        self.use_token(self.base_url, self.admin_token)
        self.driver.get(self.base_url + "/recordings")
        row = self.list_row()
        self.recording_id = row.get_attribute("data-id")
        cells = [cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
        if "lab-starter" not in cells or "main" not in cells:
            raise CheckFailed(f"the recording's row does not show environment lab-starter and terminal main: {cells}")
        if not any(cell.strip().lower() == "live" for cell in cells):
            raise CheckFailed(f"the running instance's recording is not shown as live: {cells}")
        # create_user_and_instance names the user browser-test: the owner shows by name, not by id.
        owner = row.find_element(By.CSS_SELECTOR, "td.owner").text
        if owner != "browser-test":
            raise CheckFailed(f"the recording's owner shows as {owner!r}, not the user's name 'browser-test'")
        self.passed.append("recordings page: the instance's recording is listed as live, with its owner's name")
        log(f"recordings page: {self.recording_id}: {' | '.join(cells[:7])}")

        # The instance filter goes into the URL and the query.
        field = self.driver.find_element(By.ID, "filter-instance")
        field.clear()
        field.send_keys(self.instance_id)
        self.driver.find_element(By.CSS_SELECTOR, "#filters button:not([type=button])").click()
        wait_for("the instance filter in the URL", lambda: f"instance={self.instance_id}" in self.driver.current_url, self.timeout)
        wait_for(
            "the filtered list to hold just this recording",
            lambda: [r.get_attribute("data-id") for r in self.driver.find_elements(By.CSS_SELECTOR, "#recordings tr")] == [self.recording_id],
            self.timeout,
        )
        self.passed.append("recordings page: the instance filter updates the URL and the list")

    # -- the player ----------------------------------------------------------------------

    def signed_out_redirect(self) -> None:
        """Signed out (no token, no session), /recordings and the player lead to sign-in."""
        driver = self.driver
        for path in ("/recordings", f"/recordings/{self.recording_id}"):
            driver.execute_script("localStorage.removeItem('berth.token')")
            driver.get(self.base_url + path)
            wait_for(f"{path} to lead to sign-in when signed out", lambda: "/login" in driver.current_url, self.timeout)
        self.passed.append("recordings page and player: signed out, they lead to sign-in")
        self.use_token(self.base_url, self.admin_token)

    def time_text(self) -> str:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.ID, "time").text

    def open_player(self) -> None:
        from selenium.webdriver.common.by import By

        driver = self.driver
        self.list_row().find_element(By.CSS_SELECTOR, "a.play").click()
        wait_for("the player page", lambda: driver.current_url.split("#")[0].endswith(f"/recordings/{self.recording_id}"), self.timeout)
        wait_for("the player's clock", lambda: "/ 0:00.0" not in self.time_text() and self.time_text(), self.timeout)
        notice = driver.find_element(By.ID, "notice")
        if notice.is_displayed() and notice.text:
            raise CheckFailed(f"the player says: {notice.text!r}")
        title = driver.find_element(By.ID, "title").text
        log(f"player: {title!r}, clock {self.time_text()!r}")
        if "browser-test" not in title or "usr_" in title:
            raise CheckFailed(f"the player's title names the owner by id, not by name: {title!r}")

        wait_for("the Live badge", lambda: driver.find_element(By.ID, "live").is_displayed(), self.timeout)
        link = driver.find_element(By.ID, "live-terminal")
        expected = f"/instances/{self.instance_id}/terminal#terminal=main"
        if not (link.is_displayed() and (link.get_attribute("href") or "").endswith(expected)):
            raise CheckFailed(f"the live terminal link is {link.get_attribute('href')!r}, not …{expected}")
        self.passed.append("player: Live badge and the read-only live terminal link while the instance runs")

    def check_replay(self) -> None:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.keys import Keys

        driver = self.driver
        slider = driver.find_element(By.ID, "seek")
        slider.click()
        slider.send_keys(Keys.END)
        wait_for("the clock at the end", lambda: (lambda parts: parts[0] == parts[1].split(" (")[0])(self.time_text().split(" / ")), self.timeout)
        shown = self.wait_for_line("the replay screen after seeking to the end", EXPECTED)
        self.passed.append(f"player: the replay screen shows {EXPECTED} at the end")
        log(f"player: at {self.time_text()!r} the replay screen shows {shown!r}")

        markers = wait_for(
            "a 'connect' marker in the markers list",
            lambda: [item.text for item in driver.find_elements(By.CSS_SELECTOR, "#markers li") if "connect" in item.text],
            self.timeout,
        )
        self.passed.append("player: the markers list has a connect marker")
        log(f"player: marker {markers[0]!r}")

        def command_item():
            status = driver.find_element(By.ID, "analysis-status").text
            if status.startswith("The analysis is not available"):
                raise CheckFailed(f"the analysis panel says: {status!r}")
            for item in driver.find_elements(By.CSS_SELECTOR, "#commands li"):
                if COMMAND in item.text:
                    return item
            return None

        item = wait_for(f"the command {COMMAND!r} in the analysis", command_item, self.timeout)
        self.passed.append(f"player: the analysis lists the command {COMMAND!r}")
        pastes = wait_for(
            "the pasted line in the analysis' pastes",
            lambda: [code.text for code in driver.find_elements(By.CSS_SELECTOR, "#pastes li code") if code.text.startswith(PASTED[:20])],
            self.timeout,
        )
        self.passed.append("player: the analysis lists the pasted line as a paste")
        log(f"player: command {' '.join(item.text.split())!r}; paste {pastes[0][:40]!r}…")

        before = self.time_text()
        link = item.find_element(By.CSS_SELECTOR, "a.seek-link")
        fragment = link.get_attribute("href").split("#", 1)[1]
        link.click()
        wait_for("the clock to move after clicking the command's link", lambda: self.time_text() != before, self.timeout)
        if not driver.current_url.endswith("#" + fragment):
            raise CheckFailed(f"the URL {driver.current_url!r} does not end with #{fragment}")
        self.passed.append("player: a signal's #t= link seeks")
        log(f"player: clicked #{fragment}: clock {before!r} -> {self.time_text()!r}")

    def check_follow(self) -> None:
        from selenium.webdriver.common.by import By

        driver = self.driver
        follow = driver.find_element(By.ID, "follow")
        follow.click()
        wait_for("Follow live to be on", lambda: follow.get_attribute("aria-pressed") == "true", self.timeout)
        driver.switch_to.window(self.user_tab)
        self.type_into_terminal(FOLLOW_COMMAND)
        self.wait_for_line("the terminal page", FOLLOW_EXPECTED)
        driver.switch_to.window(self.admin_tab)
        shown = self.wait_for_line("the player while following live", FOLLOW_EXPECTED)
        self.passed.append(f"player: Follow live shows new output ({FOLLOW_EXPECTED}) as it is recorded")
        log(f"player: following live, the replay screen shows {shown!r} at {self.time_text()!r}")
        self.save_screenshot()

    def check_ended(self) -> None:
        from selenium.webdriver.common.by import By

        driver = self.driver
        # The user's page would log its failed reconnects once the instance is gone.
        driver.switch_to.window(self.user_tab)
        self.collect_console()
        driver.close()
        driver.switch_to.window(self.admin_tab)
        self.api.call("DELETE", f"/api/v1/instances/{self.instance_id}", self.admin_token)
        self.instance_stopped = True
        log(f"instance {self.instance_id} stopped")

        def ended():
            _, recording = self.api.call("GET", f"/api/v1/recordings/{self.recording_id}", self.admin_token)
            return recording.get("endedAt")

        wait_for("the recording's endedAt", ended, self.timeout)
        driver.refresh()
        wait_for("the player's clock", lambda: "/ 0:00.0" not in self.time_text() and self.time_text(), self.timeout)
        wait_for("the Live badge to go", lambda: not driver.find_element(By.ID, "live").is_displayed(), self.timeout)
        driver.find_element(By.ID, "verify").click()
        result = driver.find_element(By.ID, "verify-result")
        text = wait_for("the player's Verify result", lambda: result.get_attribute("data-valid") and result.text, self.timeout)
        if result.get_attribute("data-valid") != "true" or "valid" not in text or "invalid" in text:
            raise CheckFailed(f"Verify on the player says {text!r}")
        self.passed.append("player: after the instance stopped, no Live badge, and Verify says valid")
        log(f"player: {text!r}")

    def check_list_actions(self) -> None:
        from selenium.webdriver.common.by import By

        driver = self.driver
        driver.get(self.base_url + "/recordings")
        row = self.list_row()
        if "live" in row.text.lower().split():
            raise CheckFailed(f"the ended recording is still shown as live: {row.text!r}")
        row.find_element(By.XPATH, ".//button[normalize-space()='Verify']").click()
        result = row.find_element(By.CSS_SELECTOR, ".verify-result")
        text = wait_for("the row's Verify result", lambda: result.get_attribute("data-valid") and result.text, self.timeout)
        if result.get_attribute("data-valid") != "true":
            raise CheckFailed(f"Verify on the recordings page says {text!r}")
        self.passed.append("recordings page: Verify says valid")

        # Downloads land in the test's own folder, without asking. The setting goes with the tab
        # that sets it (it ends when that tab closes), so it is made here, in the admin's tab.
        self.downloads.mkdir(parents=True, exist_ok=True)
        driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(self.downloads)})
        row.find_element(By.XPATH, ".//button[normalize-space()='Download .cast']").click()
        saved = self.downloads / f"{self.recording_id}.cast"
        wait_for(f"the download {saved.name}", lambda: saved.is_file() and not list(self.downloads.glob("*.crdownload")), self.timeout)
        if saved.read_bytes() != self.cast_bytes():
            raise CheckFailed(f"the downloaded {saved.name} differs from GET /api/v1/recordings/{self.recording_id}/cast")
        self.passed.append(f"recordings page: Download saves {saved.name} with the recording's bytes")
        log(f"recordings page: Verify {text!r}; downloaded {saved.name} ({saved.stat().st_size} bytes)")
        self.save_list_screenshot()

        row.find_element(By.XPATH, ".//button[normalize-space()='Delete']").click()
        alert = wait_for("the confirm() dialog", lambda: driver.switch_to.alert, self.timeout)
        alert.accept()
        wait_for(
            "the row to go",
            lambda: self.recording_id not in [r.get_attribute("data-id") for r in driver.find_elements(By.CSS_SELECTOR, "#recordings tr")],
            self.timeout,
        )
        try:
            self.api.call("GET", f"/api/v1/recordings/{self.recording_id}", self.admin_token)
            raise CheckFailed(f"recording {self.recording_id} is still there after Delete")
        except APIError as error:
            if error.status != 404:
                raise
        self.passed.append("recordings page: Delete (confirmed) removes the row and the recording")

    def cast_bytes(self) -> bytes:
        request = urllib.request.Request(f"{self.base_url}/api/v1/recordings/{self.recording_id}/cast")
        request.add_header("Authorization", f"Bearer {self.admin_token}")
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            return response.read()

    def save_list_screenshot(self) -> None:
        path = Path(self.args.list_screenshot)
        path.parent.mkdir(parents=True, exist_ok=True)
        if not self.driver.save_screenshot(str(path)):
            raise CheckFailed(f"could not save a screenshot to {path}")
        log(f"screenshot saved to {path}")

    def clean_up(self) -> None:
        # An instance the test already stopped needs no second DELETE (it would answer 409).
        if self.instance_stopped:
            self.instance_id = None
        super().clean_up()

    # -- run -----------------------------------------------------------------------------

    kept_artifacts = "server log, chromedriver log and data directory"

    def scenario(self) -> None:
        self.check_prerequisites()
        self.start_server()
        self.create_user_and_instance()
        self.open_browser()
        self.use_terminal()
        self.check_list_live()
        self.open_player()
        self.check_replay()
        self.check_follow()
        self.check_ended()
        self.check_list_actions()
        self.signed_out_redirect()
        self.check_console()

    def failure_screenshot(self) -> Path:
        return Path(self.args.screenshot).with_name("recording-player-failure.png")

    def stale_screenshots(self) -> list[Path]:
        return [Path(self.args.screenshot), Path(self.args.list_screenshot), self.failure_screenshot()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Browser test of Berth's recordings list and recording player (headless Chromium).")
    parser.add_argument("--berth", default=str(REPO / ".build" / "debug" / "berth"), help="the berth binary (default: .build/debug/berth)")
    parser.add_argument("--environments", default=str(REPO / "examples" / "environments"), help="environments folder")
    parser.add_argument("--screenshot", default=str(REPO / "test-artifacts" / "recording-player.png"), help="where to save the player's screenshot")
    parser.add_argument("--list-screenshot", default=str(REPO / "test-artifacts" / "recordings-list.png"), help="where to save the list's screenshot")
    parser.add_argument("--timeout", type=float, default=float(os.environ.get("BROWSER_TEST_TIMEOUT", "30")), help="seconds for each wait (default 30)")
    parser.add_argument("--keep-artifacts", action="store_true", help="keep the temporary folder (logs, data directory) even on success")
    args = parser.parse_args(argv)

    def interrupted(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    return RecordingPlayerTest(args).run()


if __name__ == "__main__":
    sys.exit(main())
