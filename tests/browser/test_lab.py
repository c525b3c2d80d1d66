#!/usr/bin/env python3
"""Browser test of a lab on the environment page: the lab panel and the file editor, in headless
Chromium driven by Selenium, against a real `berth serve` on the real Docker Engine.

What it does, in one run:

1. checks its prerequisites (those of tests/browser/test_web_app.py, plus the example lab images
   berth-env/lab-editor-basics:latest and berth-env/lab-shell-steps:latest and CodeMirror in
   vendor/codemirror); starts `berth serve` on examples/environments with a temporary data
   directory, a random admin token and a namespace of its own; creates a player and an API token
   through the admin API and puts the token in the browser (localStorage, as the sign-in page does);
2. `lab-editor-basics` at 1280x800: the lab panel lists the step as current with its text, and
   Check waits for an instance; Start runs one, and the editor shows beside the terminal with
   /home/player/work in its tree; New file creates greeting.txt, which opens in a tab with
   CodeMirror; wrong content typed in marks the tab unsaved, Ctrl-S saves it (the file API reads
   back exactly those bytes); Check shows "Checking…", then the failure's message with its hint,
   which names greeting.txt (lab-failed.png); the fixed content is saved with Ctrl-S and Check
   shows the pass, the step passed and the lab complete (lab-passed.png);
3. the editor's guards on the same instance: the file written behind the editor's back (through
   the API) makes Save show "this file changed in the container since you opened it" with
   Reload and Overwrite; Reload shows the container's text (lab-conflict.png); a Python file
   opens in CodeMirror's python mode; a binary file is offered as a download instead of opened;
   closing a tab with unsaved changes asks first, and dismissing keeps the tab;
4. `lab-shell-steps`: Start, the first step done in the terminal iframe, Check shows the pass and
   the second step unlocks without a reload (its state `current`, its title and text shown;
   lab-next-step.png); Hint gives a hint with its source;
5. at phone width (390x844), in a second browser with the same token: the lab page has no
   horizontal overflow, and the editor and the terminal are stacked (lab-phone.png);
6. the browser consoles hold no errors apart from /favicon.ico and the 412 the conflict causes;
7. always, even on failure: closes both browsers, deletes the instances, stops the server and
   removes any container or network labelled with its namespace.

The check round trip is measured by bench/lab-check-roundtrip.py (`make bench-labs`), not here.
Every wait has a timeout (BROWSER_TEST_TIMEOUT seconds, default 30; checks and starts get more).
Exit status: 0 when every check passed, 1 when one failed, 2 when a prerequisite is missing or the
server did not start.

Usage: python3 tests/browser/test_lab.py [--berth PATH] [--environments DIR]
       [--artifacts DIR] [--timeout SECONDS] [--keep-artifacts]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_terminal_page import PROMPT, REPO, CheckFailed, Prerequisite, log, wait_for  # noqa: E402
from test_web_app import DESKTOP, KEY_INTERVAL, PHONE, WebAppTest, run_browser_test  # noqa: E402

EDITOR_LAB = "lab-editor-basics"
SHELL_LAB = "lab-shell-steps"
WORKDIR = "/home/player/work"
GREETING = f"{WORKDIR}/greeting.txt"
WRONG = "hello world"
RIGHT = "hello, berth"
CODEMIRROR_FILES = ("codemirror.js", "codemirror.css", "mode-python.js", "mode-shell.js")
# What the first step of examples/environments/lab-shell-steps asks for, typed in its terminal.
SHELL_STEP_ONE = "mkdir -p ~/project && cd ~/project && echo done"
CONFLICT_TEXT = "this file changed in the container since you opened it"


class LabPageTest(WebAppTest):
    kept_artifacts = "server log and chromedriver logs"
    diagnostic_browsers = ("desktop", "phone")
    diagnostic_lines = 40
    diagnostic_prefix = "lab-failure"

    def __init__(self, args: argparse.Namespace):
        super().__init__(args)
        self.instances: list[str] = []
        # Checks run scripts in the container: give them (and starts) room on a loaded machine.
        self.slow = max(self.timeout, 60.0)

    # -- set-up --------------------------------------------------------------------------

    def required_images(self) -> list[str]:
        return ["berth/base:latest"]

    def check_prerequisites(self) -> None:
        super().check_prerequisites()
        # Berth starts from the build of the folder's content (berth-env/<slug>:<hash>), not from
        # :latest, which the next build of the slug on this engine moves: any build will do here.
        for slug in (EDITOR_LAB, SHELL_LAB):
            built = subprocess.run(["docker", "images", "-q", f"berth-env/{slug}"], capture_output=True, text=True).stdout.strip()
            if not built:
                raise Prerequisite(f"no image of {slug} is built; run {self.args.berth} env build --environments {self.args.environments}")
        missing = [name for name in CODEMIRROR_FILES if not (REPO / "vendor" / "codemirror" / name).is_file()]
        if missing:
            raise Prerequisite(f"CodeMirror files missing from vendor/codemirror ({', '.join(missing)}); run scripts/fetch-codemirror.sh")

    def create_player(self) -> None:
        assert self.api
        _, user = self.api.call("POST", "/api/v1/users", self.admin_token, {"name": self.player})
        _, token = self.api.call("POST", f"/api/v1/users/{user['id']}/tokens", self.admin_token, {"name": "lab-browser-test"})
        self.user_token = token["token"]
        log(f"player {self.player} ({user['id']}) and its token created")

    def open_as_player(self, driver, size) -> None:
        """Puts the player's token where the sign-in page keeps it."""
        driver.get(self.base_url + "/login")
        driver.execute_script("localStorage.setItem('berth.token', arguments[0])", self.user_token)
        self.set_viewport(driver, size)

    # -- the file API, for checking what the editor wrote ----------------------------------

    def file_request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        url = f"{self.base_url}/api/v1/instances/{self.instance_id}/files/content?path={urllib.parse.quote(path, safe='')}"
        request = urllib.request.Request(url, data=body, method=method)
        request.add_header("Authorization", f"Bearer {self.user_token}")
        request.add_header("Accept", "application/octet-stream, application/json")
        if body is not None:
            request.add_header("Content-Type", "application/octet-stream")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def read_file(self, path: str) -> bytes:
        status, data = self.file_request("GET", path)
        if status != 200:
            raise CheckFailed(f"GET files/content {path} answered {status}: {data[:200]!r}")
        return data

    def write_file(self, path: str, data: bytes) -> None:
        status, answer = self.file_request("PUT", path, data)
        if status != 200:
            raise CheckFailed(f"PUT files/content {path} answered {status}: {answer[:200]!r}")

    # -- the page ------------------------------------------------------------------------

    def open_lab(self, slug: str) -> None:
        self.driver.get(self.env_url(slug))

        def panel():
            self.fail_on_notice()
            steps = self.finds("#lab-steps .lab-step")
            return steps if self.find("#lab-panel").is_displayed() and steps else None

        steps = wait_for(f"the lab panel of {slug}", panel, self.timeout)
        log(f"{slug}: lab panel with steps {[step.get_attribute('data-step') + '=' + step.get_attribute('data-state') for step in steps]}")

    def step_states(self) -> list[tuple[str, str]]:
        return [(step.get_attribute("data-step"), step.get_attribute("data-state")) for step in self.finds("#lab-steps .lab-step")]

    def start_lab_instance(self) -> None:
        start = wait_for("the Start button", lambda: (lambda b: b if b.is_displayed() and b.is_enabled() else None)(self.find("#start")), self.timeout)
        if self.find("#lab-check").is_enabled() or not self.find("#lab-idle").is_displayed():
            raise CheckFailed("Check is enabled (or the 'start your instance' line hidden) before an instance runs")
        start.click()
        saved, self.timeout = self.timeout, self.slow
        try:
            self.wait_running()
        finally:
            self.timeout = saved
        self.instances.append(self.instance_id)
        wait_for("Check to be enabled once the instance runs", lambda: self.find("#lab-check").is_enabled(), self.timeout)
        log(f"instance {self.instance_id} is running")

    def wait_editor(self) -> None:
        def tree():
            self.fail_on_notice()
            editor = self.find("#editor")
            roots = [node.get_attribute("data-path") for node in self.finds("#editor-roots > .tree-folder")]
            return roots if editor.is_displayed() and roots else None

        roots = wait_for("the editor and its file tree", tree, self.timeout)
        if WORKDIR not in roots:
            raise CheckFailed(f"the editor's tree has roots {roots}, not {WORKDIR}")
        editor, terminal = self.find("#editor").rect, self.find("#terminal-frame").rect
        if not (editor["x"] + editor["width"] <= terminal["x"] + 1):
            raise CheckFailed(f"at {DESKTOP[0]} px the editor {editor} is not beside (left of) the terminal {terminal}")
        self.passed.append(f"editor: shown beside the terminal with the roots {roots}")
        # The editor (and the lab panel) tell the server someone is there, for lifetime.whenDisconnected.
        script = ("return performance.getEntriesByType('resource').filter((e) => e.name.endsWith('/"
                  + self.instance_id + "/presence')).map((e) => e.responseStatus || 0)")
        beats = wait_for("the page's presence heartbeat", lambda: self.driver.execute_script(script) or None, self.timeout)
        if any(status not in (0, 204) for status in beats):
            raise CheckFailed(f"the presence heartbeat was answered {beats}, not 204")
        self.passed.append(f"editor: the page sent its presence heartbeat ({len(beats)} so far, answered {sorted(set(beats))})")

    def code_mirror(self):
        return wait_for("CodeMirror", lambda: (lambda cm: cm if cm.is_displayed() else None)(self.find("#editor .CodeMirror")), self.timeout)

    def active_tab(self) -> dict:
        return self.driver.execute_script(
            """
            const tab = document.querySelector('#editor-tabs .editor-tab[data-active="true"]');
            const cm = document.querySelector('#editor .CodeMirror');
            return tab ? {path: tab.dataset.path, dirty: tab.dataset.dirty,
                          text: cm && cm.CodeMirror ? cm.CodeMirror.getValue() : null,
                          mode: cm && cm.CodeMirror ? cm.CodeMirror.getMode().name : null} : null;
            """
        )

    def wait_tab(self, path: str) -> dict:
        return wait_for(f"the tab of {path}", lambda: (lambda tab: tab if tab and tab["path"] == path else None)(self.active_tab()), self.timeout)

    def type_in_editor(self, text: str, replace: bool = True) -> None:
        """Types into CodeMirror as a learner does (keys into its textarea), replacing all when asked."""
        from selenium.webdriver.common.keys import Keys

        self.code_mirror().click()
        area = self.find("#editor .CodeMirror textarea")
        if replace:
            area.send_keys(Keys.CONTROL, "a")
            area.send_keys(Keys.DELETE)
        area.send_keys(text)

    def save_with_ctrl_s(self, path: str) -> None:
        from selenium.webdriver.common.keys import Keys

        if self.active_tab()["dirty"] != "true":
            raise CheckFailed(f"the tab of {path} is not marked unsaved after typing")
        self.find("#editor .CodeMirror textarea").send_keys(Keys.CONTROL, "s")

        def saved():
            status = self.find("#editor-status")
            if status.get_attribute("data-kind") == "error":
                raise CheckFailed(f"saving {path} failed: {status.text!r}")
            return status.text.startswith("Saved") and self.active_tab()["dirty"] == "false"

        wait_for(f"{path} to be saved (Ctrl-S)", saved, self.timeout)

    def press_check(self, expect: str) -> dict:
        button = self.find("#lab-check")
        button.click()
        seen = {"checking": False}

        def result():
            box = self.find("#lab-result")
            status = box.get_attribute("data-status")
            if status == "checking":
                seen["checking"] = seen["checking"] or "Checking…" in box.text
                return None
            return {"status": status, "text": box.text} if box.is_displayed() and status else None

        found = wait_for(f"the check's result ({expect})", result, self.slow, interval=0.05)
        if found["status"] != expect:
            raise CheckFailed(f"Check showed {found['status']!r}, not {expect!r}: {found['text']!r}")
        if not seen["checking"]:
            log("note: the check answered before the test saw 'Checking…'")
        return found

    # -- 2. lab-editor-basics ------------------------------------------------------------

    def editor_lab(self) -> None:
        self.open_lab(EDITOR_LAB)
        states = self.step_states()
        if not states or states[0][1] != "current":
            raise CheckFailed(f"a fresh lab's first step is not current: {states}")
        text = wait_for("the current step's text", lambda: self.visible_text("#lab-step-text"), self.timeout)
        if "greeting.txt" not in text:
            raise CheckFailed(f"the step's text does not name greeting.txt: {text!r}")
        if not self.find("#lab-time").text.startswith("Time on this step"):
            raise CheckFailed(f"no time on the step: {self.find('#lab-time').text!r}")
        self.passed.append("lab panel: the first step is current with its text and time; Check waits for an instance")
        self.start_lab_instance()
        self.wait_editor()

        # Open (and so select) the working directory's folder, then create greeting.txt with the New
        # file form, which starts with the selected folder.
        root = self.find(f'#editor-roots > .tree-folder[data-path="{WORKDIR}"] > .tree-item')
        if root.get_attribute("aria-expanded") == "true":
            root.click()
        root.click()
        wait_for(f"{WORKDIR} open in the tree", lambda: root.get_attribute("aria-expanded") == "true", self.timeout)
        self.find("#editor-new").click()
        field = wait_for("the new-file field", lambda: (lambda f: f if f.is_displayed() else None)(self.find("#editor-new-path")), self.timeout)
        if field.get_attribute("value") != WORKDIR + "/":
            raise CheckFailed(f"the new-file field starts with {field.get_attribute('value')!r}, not the selected folder {WORKDIR}/")
        field.send_keys("greeting.txt")
        self.find("#editor-new-form button:not([type=button])").click()
        self.wait_tab(GREETING)
        wait_for("greeting.txt in the tree", lambda: any(
            node.get_attribute("data-path") == GREETING for node in self.finds("#editor-tree .tree-file")), self.timeout)

        self.type_in_editor(WRONG)
        self.save_with_ctrl_s(GREETING)
        written = self.read_file(GREETING)
        if written != WRONG.encode():
            raise CheckFailed(f"after Ctrl-S the container's greeting.txt holds {written!r}, not {WRONG!r}")
        self.passed.append("editor: New file opens a tab, typing marks it unsaved, Ctrl-S writes exactly the typed bytes")

        failed = self.press_check("failed")
        failures = self.finds("#lab-failures .lab-failure")
        if not failures:
            raise CheckFailed(f"the failed check lists no failure: {failed['text']!r}")
        hints = [node.text for node in self.finds("#lab-failures .failure-hint")]
        if not hints or not any("greeting.txt" in hint for hint in hints):
            raise CheckFailed(f"the failure's hint does not name greeting.txt: messages {[f.text for f in failures]!r}")
        self.passed.append(f"Check: the failure shows its message and hint ({failures[0].text.splitlines()[0]!r})")
        self.driver.execute_script("document.getElementById('lab-result').scrollIntoView({block: 'center'})")
        self.shot(self.driver, "lab-failed")

        self.type_in_editor(RIGHT + "\n")
        self.save_with_ctrl_s(GREETING)
        passed = self.press_check("passed")
        states = self.step_states()
        if states[0][1] != "passed":
            raise CheckFailed(f"after the pass the step is {states[0][1]!r}: {states}")
        if len(states) == 1:
            wait_for("the lab complete line", lambda: self.visible_text("#lab-complete"), self.timeout)
        self.passed.append(f"Check: the fixed file passes ({passed['text'].splitlines()[0]!r}); the step reads passed")
        self.driver.execute_script("document.getElementById('lab-result').scrollIntoView({block: 'center'})")
        self.shot(self.driver, "lab-passed")

    # -- 3. the editor's guards ----------------------------------------------------------

    def editor_guards(self) -> None:
        from selenium.common.exceptions import NoAlertPresentException

        # A file changed in the container since it was opened: Save warns, Reload shows theirs.
        behind = b"written behind the editor's back\n"
        self.write_file(GREETING, behind)
        self.type_in_editor("mine\n")
        self.find("#editor-save").click()
        warning = wait_for("the conflict warning", lambda: self.visible_text("#editor-conflict"), self.timeout)
        if CONFLICT_TEXT not in warning.lower() or "Reload" not in warning or "Overwrite" not in warning:
            raise CheckFailed(f"the conflict warning reads {warning!r}")
        self.expected_failures.append(("/files/content", "412"))
        if self.read_file(GREETING) != behind:
            raise CheckFailed("a save that met a changed file still overwrote it")
        self.shot(self.driver, "lab-conflict")
        self.find("#editor-reload").click()
        wait_for("the container's text after Reload", lambda: self.active_tab()["text"] == behind.decode() and self.active_tab()["dirty"] == "false", self.timeout)
        if self.find("#editor-conflict").is_displayed():
            raise CheckFailed("the conflict warning stays after Reload")
        self.passed.append("editor: a file changed in the container is not overwritten; the warning offers Reload and Overwrite, and Reload shows it")

        # Modes by extension, binary as a download.
        self.write_file(f"{WORKDIR}/tool.py", b"def main():\n    return 42\n")
        self.write_file(f"{WORKDIR}/blob.bin", bytes(range(256)) * 4)
        self.find("#editor-refresh").click()

        def tree_file(path):
            return lambda: next((node for node in self.finds("#editor-tree .tree-file") if node.get_attribute("data-path") == path), None)

        wait_for("tool.py in the tree", tree_file(f"{WORKDIR}/tool.py"), self.timeout).find_element("css selector", "button").click()
        tab = self.wait_tab(f"{WORKDIR}/tool.py")
        if tab["mode"] != "python":
            raise CheckFailed(f"tool.py opened in CodeMirror mode {tab['mode']!r}, not python")
        wait_for("blob.bin in the tree", tree_file(f"{WORKDIR}/blob.bin"), self.timeout).find_element("css selector", "button").click()
        offer = wait_for("the download offer for blob.bin", lambda: self.visible_text("#editor-download"), self.timeout)
        if "binary" not in offer or self.find("#editor-code").is_displayed():
            raise CheckFailed(f"blob.bin is not offered as a download: {offer!r}")
        self.passed.append("editor: tool.py opens in python mode; a binary file is offered as a download")

        # Closing an unsaved tab asks first.
        self.find('#editor-tabs .editor-tab[data-path="' + f"{WORKDIR}/tool.py" + '"] .tab-name').click()
        self.type_in_editor("# unsaved\n", replace=False)
        self.find('#editor-tabs .editor-tab[data-active="true"] .tab-close').click()
        alert = wait_for("the unsaved-changes question", lambda: self.driver.switch_to.alert, self.timeout)
        question = alert.text
        alert.dismiss()
        if "unsaved" not in question:
            raise CheckFailed(f"closing an unsaved tab asked {question!r}")
        if not self.finds('#editor-tabs .editor-tab[data-path="' + f"{WORKDIR}/tool.py" + '"]'):
            raise CheckFailed("dismissing the question closed the tab anyway")
        try:
            self.driver.switch_to.alert.dismiss()
        except NoAlertPresentException:
            pass
        self.passed.append("editor: closing a tab with unsaved changes asks first")
        # Leave nothing unsaved: the page's beforeunload question would stop the next navigation.
        self.find("#editor-save").click()
        wait_for("tool.py saved", lambda: self.active_tab()["dirty"] == "false", self.timeout)

    # -- 4. lab-shell-steps: the next step unlocks ---------------------------------------

    def type_in_terminal(self, line: str) -> None:
        from selenium.common.exceptions import ElementNotInteractableException
        from selenium.webdriver.common.action_chains import ActionChains
        from selenium.webdriver.common.keys import Keys

        driver = self.driver
        driver.switch_to.frame(self.find("#terminal-frame"))
        try:
            wait_for("the terminal in the iframe to connect", lambda: self.find("#status").get_attribute("data-state") == "connected", self.timeout)

            def prompt():
                lines = [row for row in self.screen_lines() if row.strip()]
                return lines[-1] if lines and PROMPT.search(lines[-1]) else None

            wait_for("a shell prompt in the terminal iframe", prompt, self.slow)
            textarea = self.find(".xterm-helper-textarea")
            driver.execute_script("arguments[0].focus()", textarea)
            for key in [*line, Keys.ENTER]:
                try:
                    textarea.send_keys(key)
                except ElementNotInteractableException:
                    ActionChains(driver).send_keys(key).perform()
                time.sleep(KEY_INTERVAL)
            wait_for("the command's output", lambda: any(row.strip() == "done" for row in self.screen_lines()), self.timeout)
        finally:
            driver.switch_to.default_content()

    def shell_lab(self) -> None:
        self.open_lab(SHELL_LAB)
        states = self.step_states()
        if len(states) < 2 or states[0][1] != "current" or states[1][1] != "locked":
            raise CheckFailed(f"{SHELL_LAB} should start with step 1 current and step 2 locked: {states}")
        self.start_lab_instance()
        self.type_in_terminal(SHELL_STEP_ONE)
        url = self.driver.current_url
        marker = self.driver.execute_script("return (window.__labMarker = Math.random())")
        self.press_check("passed")
        wait_for("step 2 to become current", lambda: [state for _, state in self.step_states()][:2] == ["passed", "current"], self.timeout)
        if self.driver.execute_script("return window.__labMarker") != marker or self.driver.current_url != url:
            raise CheckFailed("the page reloaded to show the next step")
        second = self.step_states()[1][0]
        shown = wait_for("the second step's heading", lambda: self.visible_text("#lab-step-heading"), self.timeout)
        if self.find("#lab-current").get_attribute("data-step") != second or not self.visible_text("#lab-step-text"):
            raise CheckFailed(f"the panel shows {shown!r} ({self.find('#lab-current').get_attribute('data-step')}), not step {second} with its text")
        self.passed.append(f"{SHELL_LAB}: after the first step's pass, step {second!r} is current with its text, without a reload")
        self.driver.execute_script("document.getElementById('lab-panel').scrollIntoView()")
        self.shot(self.driver, "lab-next-step")

        self.find("#lab-hint").click()
        hint = wait_for("a hint", lambda: (lambda items: items[-1] if items else None)(self.finds("#lab-hints .lab-hint")), self.slow)
        source = hint.get_attribute("data-source")
        if source not in ("ai", "authored") or not hint.find_elements("css selector", ".hint-source"):
            raise CheckFailed(f"Hint gave {source!r}: {hint.text!r}")
        self.passed.append(f"Hint: a hint from source {source!r} with where it came from ({hint.text.splitlines()[0]!r})")

    # -- 5. phone ------------------------------------------------------------------------

    def phone(self) -> None:
        driver = self.admin_driver
        self.open_as_player(driver, PHONE)
        driver.get(self.env_url(SHELL_LAB))

        def ready():
            frames = self.finds("#terminal-frame", driver)
            editor = self.finds("#editor", driver)
            return frames and editor and editor[0].is_displayed() and self.finds("#editor-roots > .tree-folder", driver)

        wait_for("the lab page with the editor on a phone", ready, self.slow)
        editor, terminal = self.find("#editor", driver).rect, self.find("#terminal-frame", driver).rect
        if terminal["y"] < editor["y"] + editor["height"] - 1:
            raise CheckFailed(f"on a phone the terminal {terminal} is not below the editor {editor}")
        self.no_overflow(f"{SHELL_LAB} at {PHONE[0]}x{PHONE[1]}", driver)
        driver.execute_script("document.getElementById('editor').scrollIntoView()")
        self.shot(driver, "lab-phone")
        self.passed.append("phone: the lab panel, the editor and the terminal are stacked")

    # -- run -----------------------------------------------------------------------------

    def clean_up(self) -> None:
        if self.api and self.server and self.server.running:
            for instance in self.instances:
                if instance == self.instance_id:
                    continue
                try:
                    self.api.call("DELETE", f"/api/v1/instances/{instance}", self.admin_token)
                except Exception as error:  # noqa: BLE001 - clean-up goes on
                    log(f"warning: DELETE instance {instance}: {error}")
        super().clean_up()

    def scenario(self) -> None:
        self.check_prerequisites()
        self.start_server()
        self.create_player()
        self.player_url = self.base_url
        self.driver = self.new_driver("player", DESKTOP)
        self.admin_driver = self.new_driver("phone", PHONE)
        self.open_as_player(self.driver, DESKTOP)
        self.editor_lab()
        self.editor_guards()
        self.shell_lab()
        self.phone()
        self.check_console()

    def failure_screenshot(self) -> Path:
        return self.artifacts / "lab-failure.png"

    def stale_screenshots(self) -> list[Path]:
        return list(self.artifacts.glob("lab-*.png")) if self.artifacts.is_dir() else []


def main(argv: list[str] | None = None) -> int:
    return run_browser_test(LabPageTest, "Browser test of a lab: the lab panel and the file editor (headless Chromium).", "lab.png", argv)


if __name__ == "__main__":
    sys.exit(main())
