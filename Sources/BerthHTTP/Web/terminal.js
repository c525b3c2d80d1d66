// Berth terminal page: xterm.js <-> WebSocket, with reconnect, flow control and lifetime controls.
// Everything from the server or the container is shown with textContent or written to xterm,
// never inserted as HTML.
"use strict";

const parts = location.pathname.split("/");
const instanceId = decodeURIComponent(parts[2] || "");
const hash = new URLSearchParams(location.hash.slice(1));
const share = hash.get("share");
const terminalName = hash.get("terminal") || "main";
const statusLine = document.getElementById("status");
const countdown = document.getElementById("countdown");
const notice = document.getElementById("notice");
const buttons = {
  renew: document.getElementById("renew"),
  reset: document.getElementById("reset"),
  stop: document.getElementById("stop"),
  newShell: document.getElementById("new-shell"),
  start: document.getElementById("start"),
};
// Output flow control: xterm.js is fed with write callbacks, and what it has parsed is
// acknowledged every ACK_EVERY bytes and whenever its write queue drains, so it never holds more
// than FLOW_WINDOW. A page that falls behind (a flood of `yes`) skips ahead on the server, and
// Ctrl-C brings the prompt back at once instead of after seconds of backlog.
const ACK_EVERY = 16 * 1024;
const FLOW_WINDOW = 128 * 1024;
// Input: sent in frames of INPUT_FRAME bytes (the server refuses frames over 64 KiB), with at
// most INPUT_WINDOW bytes on their way (sent and not yet written to the PTY, as the server's
// `written` messages say). Input over the server's rate waits here, visibly, never dropped.
const INPUT_FRAME = 16 * 1024;
const INPUT_WINDOW = 64 * 1024;
const PASTE_PROGRESS_FROM = 64 * 1024;
// Inside the environment page's iframe that page has Renew, Reset and Stop; keep only the status.
const embedded = window.self !== window.top;
if (embedded) {
  document.body.classList.add("embedded");
  for (const button of [buttons.renew, buttons.reset, buttons.stop]) button.hidden = true;
  document.querySelector("header a").target = "_top";
}

function token() {
  return localStorage.getItem("berth.token") || "";
}

let csrfToken = null;

/** The session's CSRF token (`GET /api/v1/session`, fetched once), or "" without a session. */
async function csrf() {
  if (csrfToken === null) {
    csrfToken = fetch("/api/v1/session", { credentials: "same-origin", cache: "no-store" })
      .then((response) => (response.ok ? response.json() : {}))
      .then((session) => (session && session.csrfToken) || "")
      .catch(() => "");
  }
  return csrfToken;
}

function setStatus(state, text) {
  statusLine.dataset.state = state;
  statusLine.textContent = text;
}

function showNotice(text) {
  notice.textContent = text;
  notice.hidden = !text;
}

// Works with the session cookie (and its CSRF token) and with an API token kept in localStorage.
async function api(method, path, body) {
  const headers = { "Accept": "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") {
    const value = await csrf();
    if (value) headers["X-CSRF-Token"] = value;
  }
  if (token()) headers["Authorization"] = "Bearer " + token();
  const response = await fetch(path, {
    method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error((data.error && data.error.message) || ("HTTP " + response.status));
    error.code = data.error && data.error.code;
    error.status = response.status;
    throw error;
  }
  return data;
}

const term = new Terminal({ cursorBlink: true, scrollback: 5000, fontFamily: "monospace", convertEol: false });
const fit = new FitAddon.FitAddon();
term.loadAddon(fit);
term.open(document.getElementById("terminal"));
fit.fit();
// The notice above the terminal comes and goes; the terminal refits to the room left.
if (typeof ResizeObserver === "function") new ResizeObserver(() => fit.fit()).observe(document.getElementById("terminal"));
term.focus();

// Ctrl+Shift+C copies the selection; Ctrl+Shift+V pastes (plain Ctrl+C stays an interrupt).
term.attachCustomKeyEventHandler((event) => {
  if (event.type !== "keydown" || !event.ctrlKey || !event.shiftKey) return true;
  if (event.code === "KeyC" && term.hasSelection()) {
    navigator.clipboard.writeText(term.getSelection()).catch(() => {});
    return false;
  }
  if (event.code === "KeyV") {
    navigator.clipboard.readText().then((text) => term.paste(text)).catch(() => {});
    return false;
  }
  return true;
});

let socket = null;
let retries = 0;
let finalState = false;
let readOnly = false;
let unacked = 0;
// Set by a resync: scroll to the bottom once the replay after it is rendered.
let followBottom = false;
let unrendered = 0;
let expiresAt = null;
const encoder = new TextEncoder();

// Input waiting to be sent, in order: frames of at most INPUT_FRAME bytes.
const inputQueue = [];
let inputQueued = 0;
let inputInFlight = 0;
let inputTotal = 0;
let inputWritten = 0;
let inputTimer = null;

function send(data) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(data);
}

function kib(bytes) {
  return Math.round(bytes / 1024);
}

/** Queues input (keystrokes or a paste) and sends what the window allows. */
function input(bytes) {
  if (readOnly || bytes.length === 0) return;
  // Ctrl-C alone while a long paste is still queued cancels the rest of the paste, and says so.
  if (bytes.length === 1 && bytes[0] === 0x03 && inputQueued > 0) {
    showNotice("Paste cancelled: " + kib(inputQueued) + " KiB were not sent.");
    inputTotal -= inputQueued;
    inputQueue.length = 0;
    inputQueued = 0;
  }
  for (let offset = 0; offset < bytes.length; offset += INPUT_FRAME) {
    inputQueue.push(bytes.subarray(offset, Math.min(bytes.length, offset + INPUT_FRAME)));
  }
  inputQueued += bytes.length;
  inputTotal += bytes.length;
  pumpInput();
}

function pumpInput() {
  if (inputTimer !== null) { clearTimeout(inputTimer); inputTimer = null; }
  const ws = socket;
  if (!ws || ws.readyState !== WebSocket.OPEN) return;
  while (inputQueue.length > 0 && inputInFlight + inputQueue[0].length <= INPUT_WINDOW && ws.bufferedAmount < INPUT_WINDOW) {
    const frame = inputQueue.shift();
    inputQueued -= frame.length;
    inputInFlight += frame.length;
    ws.send(frame);
  }
  // `written` wakes the pump; the socket's own buffer has no event, so poll it while it is full.
  if (inputQueue.length > 0 && ws.bufferedAmount >= INPUT_WINDOW) inputTimer = setTimeout(pumpInput, 10);
  showInputProgress();
}

function inputWrittenByServer(bytes) {
  inputInFlight = Math.max(0, inputInFlight - bytes);
  inputWritten += bytes;
  pumpInput();
}

function showInputProgress() {
  const busy = inputQueued > 0 || inputInFlight > 0;
  if (inputTotal >= PASTE_PROGRESS_FROM) {
    showNotice(busy ? "Pasting… " + kib(inputWritten) + " of " + kib(inputTotal) + " KiB" : "");
  }
  if (!busy) { inputTotal = 0; inputWritten = 0; }
}

/** Input that can no longer be sent (the connection closed): said, never dropped silently. */
function abandonInput() {
  const lost = inputQueued + inputInFlight;
  if (lost > 0 && inputTotal >= PASTE_PROGRESS_FROM) {
    showNotice("The connection closed during a paste: up to " + kib(lost) + " KiB may not have reached the shell.");
  }
  inputQueue.length = 0;
  inputQueued = 0;
  inputInFlight = 0;
  inputTotal = 0;
  inputWritten = 0;
}

term.onData((data) => input(encoder.encode(data)));
// xterm.js 4.x before 4.9 has no onBinary and sends everything through onData.
if (typeof term.onBinary === "function") {
  term.onBinary((data) => {
    const bytes = new Uint8Array(data.length);
    for (let i = 0; i < data.length; i++) bytes[i] = data.charCodeAt(i) & 0xff;
    input(bytes);
  });
}
term.onResize(({ cols, rows }) => send(JSON.stringify({ type: "resize", cols, rows })));
window.addEventListener("resize", () => fit.fit());

function handleControl(message) {
  switch (message.type) {
    case "ready":
      retries = 0;
      readOnly = message.access === "read";
      setStatus("connected", readOnly ? "connected (watching, read-only)" : "connected");
      break;
    case "readonly":
      readOnly = true;
      setStatus("connected", "connected (watching, read-only)");
      break;
    case "resync":
      // Everything sent before was rendered (the server waits for our acknowledgements); the
      // end of the screen follows. Clear the screen in xterm's write order, before that replay is parsed.
      // Not term.reset(): it empties the scrollback, the browser clamps the viewport's scroll
      // position, and xterm can then stay scrolled to the top (seen in about one run in four),
      // still showing the flood after Ctrl-C. Instead, in write order: cancel any escape
      // sequence cut short, reset the colours, clear the screen; then follow the bottom once the
      // replay is shown.
      term.write("\x18\x1b[0m\x1b[H\x1b[2J", () => { followBottom = true; });
      showNotice("Output came faster than it could be shown: " + kib(message.skippedBytes || 0) +
        " KiB skipped (the recording has everything).");
      break;
    case "written":
      inputWrittenByServer(message.bytes || 0);
      break;
    case "expiring":
      // The warning counts down with the header's countdown, from the same expiry.
      if (!expiresAt && message.secondsLeft >= 0) expiresAt = new Date(Date.now() + message.secondsLeft * 1000);
      expiryWarning = true;
      tick();
      refreshInstance();
      break;
    case "exited":
      finalState = true;
      setStatus("exited", "the shell exited" + (message.code === null || message.code === undefined ? "" : " (code " + message.code + ")"));
      buttons.newShell.hidden = false;
      break;
    case "closed":
      finalState = true;
      setStatus("expired", "closed: " + message.reason);
      // The instance's own end reason, in plain words, and Start when it ended.
      refreshInstance();
      break;
    case "notice":
      showNotice(message.message);
      break;
    case "error":
      showNotice(message.message);
      break;
  }
}

async function connect() {
  setStatus("connecting", retries === 0 ? "connecting…" : "reconnecting…");
  let ticket;
  try {
    const body = { terminal: terminalName };
    if (share) body.share = share;
    ticket = await api("POST", "/api/v1/instances/" + encodeURIComponent(instanceId) + "/terminal/ticket", body);
  } catch (error) {
    if (error.status === 401) {
      finalState = true;
      setStatus("signed-out", "not signed in: sign in on the start page, then reload");
      return;
    }
    if (error.status === 409 || error.status === 404 || error.status === 403) {
      finalState = true;
      setStatus("expired", error.message);
      if (error.status === 409) refreshInstance();
      return;
    }
    return scheduleReconnect();
  }
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const url = scheme + "//" + location.host + ticket.url + "&cols=" + term.cols + "&rows=" + term.rows;
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  socket = ws;
  unacked = 0;
  unrendered = 0;
  let replaying = true;
  ws.onopen = () => {
    ws.send(JSON.stringify({ type: "flow", window: FLOW_WINDOW }));
    ws.send(JSON.stringify({ type: "acknowledgeInput" }));
    ws.send(JSON.stringify({ type: "resize", cols: term.cols, rows: term.rows }));
    pumpInput();
  };
  ws.onmessage = (event) => {
    if (typeof event.data === "string") {
      let message;
      try { message = JSON.parse(event.data); } catch { return; }
      if (message.type === "ready" && replaying) term.reset();
      replaying = false;
      handleControl(message);
      return;
    }
    const bytes = new Uint8Array(event.data);
    unrendered += bytes.length;
    term.write(bytes, () => {
      if (socket !== ws) return;
      unrendered -= bytes.length;
      unacked += bytes.length;
      if (followBottom && unrendered === 0) { term.scrollToBottom(); followBottom = false; }
      // Acknowledge in batches, and whenever xterm has caught up: a server that stopped
      // sending (this page skipped ahead) waits for exactly that to resync.
      if (unacked >= ACK_EVERY || unrendered === 0) {
        send(JSON.stringify({ type: "ack", bytes: unacked }));
        unacked = 0;
      }
    });
  };
  ws.onclose = () => {
    if (socket !== ws) return;
    socket = null;
    abandonInput();
    if (!finalState) scheduleReconnect();
  };
}

function scheduleReconnect() {
  const delay = Math.min(30000, 500 * Math.pow(2, retries));
  retries += 1;
  setStatus("reconnecting", "reconnecting in " + Math.round(delay / 1000) + " s…");
  setTimeout(connect, delay);
}

// The instance as last read: its environment (for Start), when Renew opens, whether it ended.
let environmentSlug = null;
let renewableAt = null;
let ended = false;
let expiryWarning = false;
// When the instance stops because nobody is connected (lifetime.whenDisconnected), and that
// setting in seconds (read once from its environment): the page warns while its own terminal is
// not connected, as the environment page does (app.js's disconnectWarning says the same).
let disconnectStopAt = null;
let whenDisconnectedSeconds = null;
let disconnectWarningShown = false;

async function refreshInstance() {
  try {
    const instance = await api("GET", "/api/v1/instances/" + encodeURIComponent(instanceId));
    environmentSlug = instance.environment;
    expiresAt = new Date(instance.expiresAt);
    renewableAt = instance.renewableAt ? new Date(instance.renewableAt) : null;
    disconnectStopAt = instance.disconnectStopAt ? new Date(instance.disconnectStopAt) : null;
    if (disconnectStopAt && whenDisconnectedSeconds === null && !share && !embedded) {
      const environment = await api("GET", "/api/v1/environments/" + encodeURIComponent(instance.environment));
      whenDisconnectedSeconds = Number((environment.lifetime || {}).whenDisconnectedSeconds) || 0;
    }
    buttons.renew.disabled = instance.renewalsLeft <= 0 || instance.state !== "running";
    buttons.renew.textContent = "Renew (" + instance.renewalsLeft + " left)";
    ended = instance.state !== "running" && instance.state !== "starting";
    if (ended) {
      finalState = true;
      expiresAt = null;
      renewableAt = null;
      if (expiryWarning) showNotice("");
      expiryWarning = false;
      setStatus("expired", "instance " + instance.state + (instance.reason ? ": " + instance.reason : ""));
      if (socket) socket.close();
    }
    tick();
  } catch (error) {
    if (share || embedded) {
      for (const button of [buttons.renew, buttons.reset, buttons.stop]) button.hidden = true;
    }
  }
}

/** Renew, Reset and Stop while it runs (Renew only once a renewal adds time); Start once it ended. */
function showControls() {
  if (embedded || share) return;
  // A spectator (read-only) has nothing to start here.
  buttons.start.hidden = !ended || !environmentSlug || readOnly;
  buttons.reset.hidden = ended;
  buttons.stop.hidden = ended;
  buttons.renew.hidden = ended || !renewableAt || Date.now() < renewableAt.getTime();
}

function tick() {
  showControls();
  if (!expiresAt) { countdown.textContent = ""; return; }
  const left = Math.max(0, Math.round((expiresAt - Date.now()) / 1000));
  const minutes = Math.floor(left / 60);
  const seconds = String(left % 60).padStart(2, "0");
  countdown.textContent = "expires in " + minutes + ":" + seconds;
  if (expiryWarning) showNotice("This instance expires in " + minutes + ":" + seconds + " unless renewed.");
  showDisconnectWarning();
}

/** The owner's page without a connected terminal: warn before the stop for nobody being connected. */
function showDisconnectWarning() {
  const connected = socket !== null && socket.readyState === WebSocket.OPEN;
  let text = "";
  if (!share && !embedded && !ended && !connected && disconnectStopAt && !isNaN(disconnectStopAt)) {
    const lead = whenDisconnectedSeconds > 0 ? Math.min(120, whenDisconnectedSeconds / 2) : 120;
    const left = Math.max(0, Math.round((disconnectStopAt - Date.now()) / 1000));
    if (left <= lead) {
      const at = disconnectStopAt.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: lead < 60 ? "2-digit" : undefined });
      text = "Nobody is connected: this instance stops at " + at + " (in " + Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0")
        + ") unless you open its terminal or editor.";
    }
  }
  if (text) showNotice(text);
  else if (disconnectWarningShown && !expiryWarning) showNotice("");
  disconnectWarningShown = Boolean(text);
}

/** Starts a fresh instance of the same environment and opens its terminal. */
async function startAgain() {
  buttons.start.disabled = true;
  showNotice("");
  try {
    let fresh;
    try {
      fresh = await api("POST", "/api/v1/instances", { environment: environmentSlug });
    } catch (error) {
      if (error.code !== "instance_exists") throw error;
      const mine = await api("GET", "/api/v1/instances?active=true&mine=true");
      fresh = (mine.items || []).find((item) => item.environment === environmentSlug);
      if (!fresh) throw error;
    }
    location.assign("/instances/" + encodeURIComponent(fresh.id) + "/terminal");
  } catch (error) {
    showNotice(error.message);
    buttons.start.disabled = false;
  }
}

async function act(method, suffix, after) {
  showNotice("");
  try {
    await api(method, "/api/v1/instances/" + encodeURIComponent(instanceId) + suffix);
    await after();
  } catch (error) {
    showNotice(error.message);
  }
}

buttons.renew.addEventListener("click", () => act("POST", "/renew", async () => {
  expiryWarning = false;
  await refreshInstance();
}));
buttons.start.addEventListener("click", startAgain);
buttons.reset.addEventListener("click", () => act("POST", "/reset", async () => {
  finalState = false;
  if (socket) socket.close();
  await refreshInstance();
  connect();
}));
buttons.stop.addEventListener("click", () => act("DELETE", "", async () => {
  finalState = true;
  if (socket) socket.close();
  await refreshInstance();
}));
buttons.newShell.addEventListener("click", () => {
  buttons.newShell.hidden = true;
  finalState = false;
  retries = 0;
  connect();
});

refreshInstance();
setInterval(tick, 1000);
setInterval(refreshInstance, 15000);
connect();
