// Berth environment page: description and hints (Markdown, rendered as DOM nodes), the flag
// form, and the caller's instance of this environment: Start, Renew, Reset, Stop, a countdown,
// connection info with copy buttons and the terminal in an iframe, with the file editor beside
// it (editor.js) while the instance runs; for a lab, the lab panel (lab.js). The instance is
// polled so the page notices within seconds when an admin stops it or it expires, and warns
// before it stops because nobody is connected (lifetime.whenDisconnected).
"use strict";

(() => {
  const { api, el } = Berth;
  const slug = decodeURIComponent(location.pathname.split("/")[2] || "");
  // Every other state (requested, starting, running, stopping) is still live and polled.
  const ENDED = new Set(["stopped", "expired", "failed"]);
  const isActive = (state) => !ENDED.has(state);
  const POLL_MS = 2000;
  const $ = (id) => document.getElementById(id);
  const buttons = { start: $("start"), renew: $("renew"), reset: $("reset"), stop: $("stop") };
  let env = null;
  let session = null;
  let instance = null;
  let polling = null;
  let pollInFlight = false;

  function instancePath(id, suffix) {
    return "/api/v1/instances/" + encodeURIComponent(id) + (suffix || "");
  }

  // -- environment ----------------------------------------------------------------------

  function renderEnvironment() {
    document.title = env.name + " · Berth";
    $("env-name").textContent = env.name;
    $("env-points").textContent = env.hasFlag === false ? "" : (env.points ?? env.value ?? 0) + " points";
    $("env-solved").hidden = !env.solved;
    const meta = [env.category];
    if (env.author) meta.push("by " + env.author);
    const solves = Number(env.solves || 0);
    meta.push(solves === 1 ? "1 solve" : solves + " solves");
    if (env.enabled === false) meta.push("disabled: players do not see it");
    $("env-meta").textContent = meta.filter(Boolean).join(" · ");
    $("env-tags").replaceChildren(...(env.tags || []).map((tag) => el("li", { className: "tag" }, tag)));
    BerthMarkdown.renderInto($("description"), env.description, { headingOffset: 2 });
    renderConnectionInfo();
    renderHints();
    renderFiles();
    const locked = env.locked === true;
    $("env-locked").hidden = !locked;
    $("env-locked").textContent = locked ? "Locked: solve " + listNames(env.lockedBy || []) + " first." : "";
    const hasFlag = env.hasFlag !== false;
    $("flag-section").hidden = !hasFlag || locked;
    // A lab has its steps to do instead of a flag to find.
    $("no-flag").hidden = hasFlag || env.hasInstance === false || Boolean(env.lab);
    renderAttempts(env.attemptsLeft);
    // A challenge without an instance (or a locked one) has nothing to start.
    $("instance-panel").hidden = env.hasInstance === false || locked;
    document.querySelector(".env-layout").classList.toggle("without-instance", $("instance-panel").hidden);
  }

  /** "A", "A and B", "A, B and C". */
  function listNames(names) {
    return names.length < 2 ? names.join("") : names.slice(0, -1).join(", ") + " and " + names[names.length - 1];
  }

  /** connection_info: filled from the running instance when there is one, else as written. */
  function renderConnectionInfo() {
    const filled = instance && isActive(instance.state) && instance.connectionInfo;
    const text = filled || (env && env.connectionInfo) || "";
    $("connection-info-section").hidden = !text;
    $("connection-info").dataset.filled = filled ? "true" : "false";
    if (text) BerthMarkdown.renderInto($("connection-info"), text, { headingOffset: 2 });
    else $("connection-info").replaceChildren();
  }

  function renderAttempts(left) {
    const line = $("attempts-left");
    const limited = env.maxAttempts !== null && env.maxAttempts !== undefined && left !== null && left !== undefined;
    line.hidden = !limited || env.solved === true;
    line.textContent = !limited ? "" : left === 1 ? "1 attempt left." : left + " attempts left (of " + env.maxAttempts + ").";
    if (limited && left <= 0 && !env.solved) {
      line.textContent = "No attempts left: all " + env.maxAttempts + " were used.";
      for (const control of $("flag-form").elements) control.disabled = true;
    }
  }

  function formatSize(bytes) {
    if (bytes < 1024) return bytes + " B";
    if (bytes < 1024 * 1024) return (bytes / 1024).toFixed(1) + " KiB";
    return (bytes / 1024 / 1024).toFixed(1) + " MiB";
  }

  /** Attachments: name (a download link), size and SHA-256, all as text. */
  function renderFiles() {
    const files = env.files || [];
    $("files-section").hidden = files.length === 0;
    $("files").replaceChildren(...files.map((file) => {
      const link = el("a", { className: "file-link", href: file.url, download: file.name }, file.name);
      // A page signed in with an API token (no cookie) downloads through the API client.
      link.addEventListener("click", (event) => {
        if (!session || !session.viaToken) return;
        event.preventDefault();
        Berth.download(file.url, file.name);
      });
      return el("li", { dataset: { name: file.name } },
        link, " ", el("span", { className: "muted size" }, formatSize(Number(file.size || 0))), " ",
        el("code", { className: "sha256", title: "SHA-256" }, file.sha256), Berth.copyButton(file.sha256, "Copy SHA-256"));
    }));
  }

  async function loadEnvironment() {
    env = await api("GET", "/api/v1/environments/" + encodeURIComponent(slug));
    renderEnvironment();
  }

  function renderHints() {
    const hints = env.hints || [];
    $("hints-section").hidden = hints.length === 0;
    $("hints").replaceChildren(...hints.map((hint, position) => hintItem(hint, position)));
  }

  function hintItem(hint, position) {
    const index = hint.index ?? position;
    const cost = Number(hint.cost || 0);
    const item = el("li", { dataset: { index: String(index) } },
      el("div", { className: "hint-title" },
        el("strong", {}, "Hint " + (position + 1)),
        el("span", { className: "badge" }, cost === 0 ? "free" : cost + " points")));
    if (hint.content !== null && hint.content !== undefined) {
      item.append(BerthMarkdown.renderInto(el("div", { className: "hint-content" }), hint.content, { headingOffset: 3 }));
      return item;
    }
    const button = el("button", { type: "button", className: "unlock" }, cost === 0 ? "Show hint" : "Unlock for " + cost + " points");
    button.addEventListener("click", () => unlockHint(hint, index, cost, button));
    item.querySelector(".hint-title").append(button);
    return item;
  }

  async function unlockHint(hint, index, cost, button) {
    if (cost > 0 && !confirm("Unlock this hint for " + cost + " points? They are taken off your score.")) return;
    button.disabled = true;
    try {
      const answer = await api("POST", "/api/v1/environments/" + encodeURIComponent(slug) + "/hints/" + encodeURIComponent(index) + "/unlock");
      hint.unlocked = true;
      hint.content = answer && answer.content !== undefined ? answer.content : "";
      renderHints();
    } catch (error) {
      button.disabled = false;
    }
  }

  // -- flag -----------------------------------------------------------------------------

  const DEFAULT_MESSAGES = {
    correct: "Correct!",
    incorrect: "That is not the flag. Try again.",
    already_solved: "That flag is right, but you have already solved this environment.",
  };

  /** Shows a submission's outcome; for a solve, the points too unless the message has them. */
  function showFlagResult(outcome, message, points) {
    const box = $("flag-result");
    const scored = outcome === "correct" && points !== undefined && points !== null;
    box.dataset.outcome = outcome;
    box.dataset.points = scored ? String(points) : "";
    box.dataset.kind = outcome === "correct" ? "ok" : outcome === "already_solved" ? "info" : "error";
    $("flag-message").textContent = message;
    $("flag-points").textContent = scored && !message.includes(String(points)) ? "+" + points + " points" : "";
    box.hidden = false;
  }

  async function submitFlag(event) {
    event.preventDefault();
    const input = $("flag-input");
    const flag = input.value.trim();
    if (!flag) return;
    await Berth.busy(event.currentTarget, async () => {
      try {
        const answer = await api("POST", "/api/v1/environments/" + encodeURIComponent(slug) + "/submissions", { flag }, { notice: false });
        const outcome = answer.outcome || (answer.correct ? "correct" : "incorrect");
        showFlagResult(outcome, answer.message || DEFAULT_MESSAGES[outcome] || outcome, answer.points);
        if (answer.attemptsLeft !== undefined) renderAttempts(answer.attemptsLeft);
        if (outcome === "correct") {
          input.value = "";
          await loadEnvironment();
        }
      } catch (error) {
        showFlagResult(error.code === "too_many_submissions" ? "rate_limited" : "error", error.message);
        if (error.code === "attempts_exhausted") renderAttempts(0);
      }
    });
  }

  // -- instance -------------------------------------------------------------------------

  function endpointItem(endpoint) {
    const host = endpoint.host || location.hostname;
    const address = host + ":" + endpoint.hostPort;
    const item = el("li", {},
      el("span", { className: "muted" }, endpoint.port + "/" + (endpoint.protocol || "tcp")),
      el("code", { className: "address" }, address), Berth.copyButton(address));
    const target = endpoint.url && BerthMarkdown.safeURL(endpoint.url);
    if (target) {
      item.append(el("a", { className: "url", href: target.href, target: "_blank", rel: "noopener noreferrer" }, endpoint.url),
        Berth.copyButton(endpoint.url, "Copy URL"));
    }
    return item;
  }

  function showTerminal(show) {
    const box = $("terminal-box");
    const current = $("terminal-frame");
    if (!show) {
      if (current) current.remove();
      $("terminal-link").hidden = true;
      return;
    }
    if (current && current.dataset.instanceId === instance.id) return;
    const src = "/instances/" + encodeURIComponent(instance.id) + "/terminal";
    const frame = el("iframe", {
      id: "terminal-frame", className: "terminal-frame", src, title: "Terminal of " + env.name,
      dataset: { instanceId: instance.id }, attrs: { allow: "clipboard-read; clipboard-write" },
    });
    box.replaceChildren(frame);
    $("terminal-tab").href = src;
    $("terminal-link").hidden = false;
  }

  function showInstance() {
    const state = instance ? instance.state : "none";
    const active = instance !== null && isActive(state);
    const stateLine = $("instance-state");
    stateLine.dataset.state = state;
    stateLine.textContent = instance ? state : "not started";
    $("instance-panel").dataset.instanceId = instance ? instance.id : "";
    buttons.start.hidden = active;
    buttons.start.disabled = false;
    for (const name of ["renew", "reset", "stop"]) buttons[name].hidden = !active;
    showRenew();
    if (active) {
      const left = Number(instance.renewalsLeft || 0);
      buttons.renew.textContent = "Renew (" + left + " left)";
      buttons.renew.disabled = state !== "running" || left <= 0;
      buttons.reset.disabled = state === "stopping";
      buttons.stop.disabled = state === "stopping";
    }
    const reason = instance && !active && instance.reason ? instance.reason : "";
    $("instance-reason").textContent = reason;
    $("instance-reason").hidden = !reason;
    showWorkspace(active ? instance.workspace : null);
    $("endpoints").replaceChildren(...(active ? instance.endpoints || [] : []).map(endpointItem));
    if (env) renderConnectionInfo();
    showTerminal(state === "running");
    showEditor();
    if (env && env.lab) BerthLab.instanceChanged(instance);
    if (active && !polling) polling = setInterval(poll, POLL_MS);
    if (!active && polling) { clearInterval(polling); polling = null; }
    tick();
  }

  /** Mebibytes with one decimal, for workspace usage. */
  function mebibytes(bytes) {
    return (Number(bytes || 0) / 1048576).toFixed(1) + " MiB";
  }

  /** The workspace's usage and, at 95 % or more, a warning in words the learner can act on. */
  function showWorkspace(workspace) {
    const usage = $("workspace-usage");
    const full = $("workspace-full");
    usage.hidden = !workspace;
    full.hidden = true;
    if (!workspace) return;
    const ratio = workspace.sizeBytes > 0 ? workspace.usedBytes / workspace.sizeBytes : 0;
    usage.textContent = "Workspace " + workspace.path + ": " + mebibytes(workspace.usedBytes) + " of " + mebibytes(workspace.sizeBytes) +
      " used (" + Math.round(ratio * 100) + " %). It is kept when you stop, reset or start again.";
    if (ratio >= 0.95) {
      full.textContent = "Your workspace is full: " + workspace.path + " holds " + mebibytes(workspace.usedBytes) + " of its " +
        mebibytes(workspace.sizeBytes) + ", and writing more fails. Delete files you no longer need, or export it and reset with a clean workspace.";
      full.hidden = false;
    }
  }

  /** The editor beside the terminal while the instance runs (and has folders to edit). */
  function showEditor() {
    BerthEditor.show(instance).then((shown) => {
      document.querySelector(".env-layout").classList.toggle("with-editor", shown);
      $("workspace").classList.toggle("with-editor", shown);
    });
  }

  /** Renew shows only once a renewal adds time (the server's renewableAt: half of the TTL left). */
  function showRenew() {
    const opens = instance && isActive(instance.state) && instance.renewableAt ? new Date(instance.renewableAt).getTime() : NaN;
    buttons.renew.hidden = !(opens <= Date.now());
  }

  /** The banner before a stop for nobody being connected (lifetime.whenDisconnected), as text. */
  function showDisconnectWarning() {
    const active = instance !== null && isActive(instance.state);
    const text = active && env && env.lifetime ? Berth.disconnectWarning(instance, env.lifetime.whenDisconnectedSeconds) : "";
    const banner = $("disconnect-warning");
    banner.textContent = text;
    banner.hidden = !text;
  }

  function tick() {
    showRenew();
    showDisconnectWarning();
    const countdown = $("instance-countdown");
    if (!instance || !isActive(instance.state)) { countdown.textContent = ""; return; }
    countdown.textContent = "expires in " + Berth.clock(Berth.secondsUntil(instance.expiresAt));
  }

  async function poll() {
    if (!instance || pollInFlight) return;
    pollInFlight = true;
    const id = instance.id;
    try {
      const fresh = await api("GET", instancePath(id), undefined, { notice: false });
      if (instance && instance.id === id) instance = fresh;
    } catch (error) {
      // Gone from the store: it was stopped and removed.
      if (error.status === 404 && instance && instance.id === id) instance = { ...instance, state: "stopped", endpoints: [] };
    } finally {
      pollInFlight = false;
    }
    showInstance();
  }

  async function findInstance() {
    // Only the caller's own: an admin's personal page is not the console.
    const answer = await api("GET", "/api/v1/instances?active=true&mine=true");
    instance = (answer.items || []).find((item) => item.environment === slug && isActive(item.state)) || null;
    showInstance();
  }

  async function startInstance() {
    buttons.start.disabled = true;
    Berth.clearNotice();
    try {
      instance = await api("POST", "/api/v1/instances", { environment: slug }, { notice: false });
      showInstance();
    } catch (error) {
      if (error.code === "instance_exists") {
        await findInstance();
      } else {
        Berth.notice(error.message);
        buttons.start.disabled = false;
      }
    }
  }

  /** Runs an instance action; answers the instance it returns, or the instance re-read. */
  async function act(method, suffix, body) {
    if (!instance) return;
    const id = instance.id;
    Berth.clearNotice();
    for (const name of ["renew", "reset", "stop"]) buttons[name].disabled = true;
    try {
      const answer = await api(method, instancePath(id, suffix), body);
      if (answer && answer.id) instance = answer;
      else await poll();
    } catch (error) {
      // The notice says why.
    }
    showInstance();
  }

  buttons.start.addEventListener("click", startInstance);
  buttons.renew.addEventListener("click", () => act("POST", "/renew"));
  buttons.reset.addEventListener("click", () => {
    const workspace = instance && instance.workspace;
    const kept = workspace ? " Your workspace " + workspace.path + " is kept." : "";
    if (!confirm("Reset this instance to a fresh copy? Everything changed in it is lost." + kept)) return;
    const clean = workspace ? confirm("Also empty your workspace " + workspace.path + "? OK deletes its files; Cancel keeps them.") : false;
    showTerminal(false);
    BerthEditor.hide();
    act("POST", "/reset", clean ? { cleanWorkspace: true } : undefined);
  });
  buttons.stop.addEventListener("click", () => {
    const unsaved = BerthEditor.unsavedCount();
    const lost = unsaved > 0 ? " " + unsaved + " file(s) in the editor are not saved." : "";
    if (!confirm("Stop this instance? Its container and everything in it are removed." + lost)) return;
    act("DELETE", "");
  });
  $("flag-form").addEventListener("submit", submitFlag);

  async function main() {
    session = await Berth.start({ requireUser: true });
    try {
      await loadEnvironment();
    } catch (error) {
      if (error.status === 404) {
        $("env-name").textContent = "No such environment";
        for (const id of ["instance-panel", "flag-section"]) $(id).hidden = true;
      }
      throw error;
    }
    if (env.lab && !env.locked) await BerthLab.mount(slug, { unsavedFiles: BerthEditor.unsavedCount });
    if (env.hasInstance !== false && !env.locked) await findInstance();
    setInterval(tick, 1000);
  }

  Berth.run(main);
})();
