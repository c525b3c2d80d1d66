// Berth lab panel on the environment page: the lab's steps with their state (passed, current,
// locked), the current step's text (Markdown through markdown.js), the Check button with its
// result (the pass and the next step unlocked in place, or each failure's message with its hint,
// or "the check could not run"), the Hint button with the hint's text and where it came from, and
// the time spent on the step. Step titles and texts, failures and hints come from the lab's author
// or from the container: they reach the page only as text nodes and markdown.js's DOM.
"use strict";

const BerthLab = (() => {
  const { api, el } = Berth;
  const $ = (id) => document.getElementById(id);
  const STATE_LABELS = { passed: "passed", current: "current", locked: "locked" };
  const CHECK_ERROR_TEXT = "The check could not run — not your fault; try again or tell an organiser.";
  const HINT_SOURCES = {
    ai: "Suggested by the hint assistant for your last check.",
    authored: "A hint written by the lab's author.",
    none: "No more hints for this step.",
  };

  let slug = "";
  let progress = null;
  // The instance checks and hints go to (a running one), or null.
  let instance = null;
  // When `progress` was read, to count the current step's time on from its timeSpentSeconds.
  let progressReadAt = 0;
  let checking = false;
  let hintRetryAt = 0;
  // Asked before each check: whether files are unsaved in the editor (they are not checked).
  let unsavedFiles = () => 0;

  function progressPath() {
    return "/api/v1/environments/" + encodeURIComponent(slug) + "/lab";
  }

  function instancePath(suffix) {
    return "/api/v1/instances/" + encodeURIComponent(instance.id) + suffix;
  }

  function currentStep() {
    if (!progress) return null;
    return (progress.steps || []).find((step) => step.id === progress.currentStep) || null;
  }

  // -- rendering ------------------------------------------------------------------------

  function renderSteps() {
    const steps = progress.steps || [];
    $("lab-steps").replaceChildren(...steps.map((step, index) => {
      const state = STATE_LABELS[step.state] ? step.state : "locked";
      const mark = state === "passed" ? "✓" : state === "current" ? "▶" : "○";
      return el("li", { className: "lab-step", dataset: { step: step.id, state } },
        el("span", { className: "lab-step-mark", attrs: { "aria-hidden": "true" } }, mark),
        el("span", { className: "lab-step-title" }, (index + 1) + ". " + step.title),
        el("span", { className: "badge lab-step-state " + (state === "passed" ? "ok" : state === "current" ? "warn" : "locked") }, STATE_LABELS[state]));
    }));
    const passed = steps.filter((step) => step.state === "passed").length;
    $("lab-count").textContent = passed + " of " + steps.length + " steps passed";
  }

  function renderCurrent() {
    const step = currentStep();
    const done = Boolean(progress.completedAt) || !step;
    $("lab-complete").hidden = !done;
    $("lab-current").hidden = done;
    if (done) {
      $("lab-complete").textContent = progress.completedAt
        ? "Lab complete: every step passed (" + Berth.dateTime(progress.completedAt) + ")."
        : "Lab complete: every step passed.";
      return;
    }
    const current = $("lab-current");
    if (current.dataset.step !== step.id) {
      current.dataset.step = step.id;
      $("lab-step-heading").textContent = step.title;
      BerthMarkdown.renderInto($("lab-step-text"), step.text || "", { headingOffset: 3 });
      $("lab-hints").replaceChildren();
    }
    $("lab-check").textContent = step.hasCheck === false ? "Done, next step" : "Check";
    const hintsLeft = Number(step.hintsAvailable || 0) - Number(step.hintsGiven || 0);
    $("lab-hint").title = hintsLeft > 0 ? hintsLeft + " authored hint(s) left" : "";
    renderButtons();
    renderTime();
  }

  function renderButtons() {
    const running = instance !== null && instance.state === "running";
    $("lab-check").disabled = checking || !running;
    $("lab-hint").disabled = !running || Date.now() < hintRetryAt;
    $("lab-idle").hidden = running;
  }

  /** The current step's time: the server's count when progress was read, plus the time since. */
  function renderTime() {
    const step = currentStep();
    if (!step || !progress || progress.completedAt) { $("lab-time").textContent = ""; return; }
    const seconds = Number(step.timeSpentSeconds || 0) + (Date.now() - progressReadAt) / 1000;
    $("lab-time").textContent = "Time on this step: " + Berth.clock(seconds);
    if (hintRetryAt && Date.now() >= hintRetryAt) {
      hintRetryAt = 0;
      renderButtons();
    }
  }

  function show(fresh) {
    progress = fresh;
    progressReadAt = Date.now();
    $("lab-panel").hidden = false;
    $("lab-panel").dataset.completed = progress.completedAt ? "true" : "false";
    renderSteps();
    renderCurrent();
  }

  /** The Check result box: `status` is checking, passed, failed or check_error. */
  function showResult(status, title, failures, notes) {
    const box = $("lab-result");
    box.dataset.status = status;
    box.hidden = false;
    $("lab-result-title").textContent = title;
    $("lab-failures").replaceChildren(...(failures || []).map((failure) => {
      const item = el("li", { className: "lab-failure", dataset: { code: failure.code || "" } },
        el("div", { className: "failure-message" }, failure.message));
      if (failure.hint) item.append(el("div", { className: "failure-hint" }, el("strong", {}, "Hint: "), failure.hint));
      return item;
    }));
    $("lab-notes").replaceChildren(...(notes || []).map((note) => el("li", {}, note)));
  }

  // -- actions --------------------------------------------------------------------------

  async function check(event) {
    // The click's own time (same clock as performance.now()): the round trip starts at the press.
    const pressed = event && event.timeStamp ? event.timeStamp : performance.now();
    if (!instance || checking) return;
    const step = currentStep();
    checking = true;
    renderButtons();
    const unsaved = unsavedFiles();
    const before = unsaved > 0 ? " (" + unsaved + " unsaved file" + (unsaved === 1 ? "" : "s") + " in the editor: the check sees the saved version)" : "";
    showResult("checking", "Checking…" + before, []);
    try {
      const result = await api("POST", instancePath("/checks"), undefined, { notice: false });
      const title = step ? step.title : result.step;
      if (result.status === "passed") {
        const next = result.progress && (result.progress.steps || []).find((item) => item.id === result.progress.currentStep);
        const after = result.progress && result.progress.completedAt ? " The lab is complete." : next ? " Next step unlocked: " + next.title + "." : "";
        showResult("passed", "✓ Passed: " + title + "." + after, [], result.notes);
      } else if (result.status === "check_error") {
        showResult("check_error", CHECK_ERROR_TEXT, [], []);
      } else {
        const failures = result.failures && result.failures.length ? result.failures : [{ message: "The check did not pass, and it gave no reason." }];
        showResult("failed", "✗ Not yet: " + title, failures, result.notes);
      }
      if (result.progress) show(result.progress);
      shown(pressed);
    } catch (error) {
      if (error.code === "check_in_progress") showResult("check_error", "A check is already running for you; wait for it, then try again.", []);
      else if (error.code === "instance_not_running") showResult("check_error", "Your instance is not running: start it, then check again.", []);
      else showResult("check_error", CHECK_ERROR_TEXT + " (" + error.message + ")", []);
      shown(pressed);
    } finally {
      checking = false;
      renderButtons();
    }
  }

  let checksShown = 0;

  /**
   * Records on the result box how long Check took, pressed to result painted (the frame after the
   * one that lays it out), and how many results were shown: bench/lab-check-roundtrip.py reads both.
   */
  function shown(pressed) {
    requestAnimationFrame(() => requestAnimationFrame(() => {
      const box = $("lab-result");
      box.dataset.milliseconds = String(Math.round(performance.now() - pressed));
      box.dataset.shown = String(++checksShown);
    }));
  }

  async function hint() {
    if (!instance) return;
    $("lab-hint").disabled = true;
    try {
      const answer = await api("POST", instancePath("/hints"), undefined, { notice: false });
      const source = HINT_SOURCES[answer.source] ? answer.source : "none";
      let from = HINT_SOURCES[source];
      if (source === "authored" && answer.authoredIndex !== null && answer.authoredIndex !== undefined) {
        from = "Hint " + (answer.authoredIndex + 1) + " written by the lab's author" + (answer.hintsLeft > 0 ? " (" + answer.hintsLeft + " more)" : "") + ".";
      }
      const item = el("li", { className: "lab-hint", dataset: { source } }, el("div", { className: "hint-source muted" }, from));
      if (answer.text) item.append(BerthMarkdown.renderInto(el("div", { className: "hint-text markdown" }), answer.text, { headingOffset: 4 }));
      $("lab-hints").append(item);
      await refresh();
    } catch (error) {
      const wait = error.code === "too_many_hints" ? Math.max(1, Number(error.retryAfter || 60)) : 0;
      if (wait) hintRetryAt = Date.now() + wait * 1000;
      const text = wait ? "Too many hints for now: ask again in " + Berth.duration(wait) + "." : error.message;
      $("lab-hints").append(el("li", { className: "lab-hint", dataset: { source: "error" } }, el("div", { className: "hint-source" }, text)));
    } finally {
      renderButtons();
    }
  }

  async function refresh() {
    show(await api("GET", progressPath(), undefined, { notice: false }));
  }

  // -- wiring ---------------------------------------------------------------------------

  /**
   * Shows the panel for the lab `environmentSlug` (an environment whose `lab` is not null).
   * `options.unsavedFiles` answers how many files the editor has not saved.
   */
  async function mount(environmentSlug, options = {}) {
    slug = environmentSlug;
    if (options.unsavedFiles) unsavedFiles = options.unsavedFiles;
    $("lab-check").addEventListener("click", check);
    $("lab-hint").addEventListener("click", hint);
    setInterval(renderTime, 1000);
    try {
      await refresh();
    } catch (error) {
      $("lab-panel").hidden = false;
      $("lab-complete").hidden = true;
      $("lab-current").hidden = true;
      showResult("check_error", "The lab's progress could not be read: " + error.message, []);
    }
  }

  /** The page's instance changed (started, running, stopped, reset): checks follow it. */
  function instanceChanged(next) {
    const wasRunning = instance && instance.state === "running";
    instance = next || null;
    // The lab panel is a place to work, like the editor: it keeps a running instance attended.
    if (typeof BerthEditor !== "undefined") BerthEditor.attend("lab", instance && instance.state === "running" ? instance.id : null);
    renderButtons();
    // Progress survives resets and restarts: re-read it when an instance comes up.
    if (progress && !wasRunning && instance && instance.state === "running") refresh().catch(() => {});
  }

  return { mount, instanceChanged };
})();
