// Berth recording player: replays an asciicast v2 recording in xterm.js with seeking, speed,
// idle-time compression, markers, an analysis panel, and live follow of a recording in progress.
// Recordings are hostile data: their text reaches the page only through textContent and the
// terminal only through term.write; URLs are built with encodeURIComponent.
"use strict";

const recordingId = decodeURIComponent(location.pathname.split("/")[2] || "");
const recordingURL = "/api/v1/recordings/" + encodeURIComponent(recordingId);
// Seek writes go to xterm in pieces of at most this many characters, one after the other:
// xterm.js throws away writes once more than 50 MB wait to be parsed.
const WRITE_PIECE = 4 * 1024 * 1024;
const FOLLOW_POLL_MS = 1000;
const METADATA_POLL_MS = 5000;
// The input list shows this many events; the rest are counted.
const INPUT_LIST_LIMIT = 2000;
// A time inside a shortened idle gap maps this far before the event that ends the gap.
const GAP_EPSILON = 1e-6;

const element = (id) => document.getElementById(id);
const ui = {
  title: element("title"), live: element("live"), follow: element("follow"), liveTerminal: element("live-terminal"),
  download: element("download"), verify: element("verify"), screen: element("screen"),
  screenBox: element("screen-box"), play: element("play"), seek: element("seek"), time: element("time"),
  speed: element("speed"), maxIdle: element("max-idle"), scale: element("scale"), verifyResult: element("verify-result"),
  markers: element("markers"), analysisStatus: element("analysis-status"), analysisSummary: element("analysis-summary"),
  thresholds: element("thresholds"), pasteChars: element("paste-chars"), idleSeconds: element("idle-seconds"),
  commands: element("commands"), pastes: element("pastes"), idle: element("idle"), analysisMarkers: element("analysis-markers"),
  inputs: element("inputs"), inputSummary: element("input-summary"),
};

// -- API ---------------------------------------------------------------------------------

function describe(error) {
  return error.code ? error.code + ": " + error.message : error.message;
}

// The API through app.js's client (session cookie or a saved bearer token); errors are shown
// by this page, with their codes.
function api(path) {
  return Berth.api("GET", path, undefined, { notice: false });
}

// -- text helpers ------------------------------------------------------------------------

function formatTime(seconds) {
  const value = Math.max(0, seconds || 0);
  const hours = Math.floor(value / 3600);
  const minutes = Math.floor((value % 3600) / 60);
  const rest = (value % 60).toFixed(1).padStart(4, "0");
  return (hours > 0 ? hours + ":" + String(minutes).padStart(2, "0") : String(minutes)) + ":" + rest;
}

function formatNumber(value, unit) {
  return typeof value === "number" && Number.isFinite(value) ? (Math.round(value * 10) / 10) + (unit || "") : "n/a";
}

// Shows control characters and bidirectional overrides as escapes, so hostile text cannot
// disguise itself on the page.
function visible(text) {
  return String(text).replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (character) => {
    switch (character) {
      case "\r": return "\\r";
      case "\n": return "\\n";
      case "\t": return "\\t";
      case "\u001b": return "\\e";
      default: {
        const code = character.charCodeAt(0);
        return code < 0x100 ? "\\x" + code.toString(16).padStart(2, "0") : "\\u" + code.toString(16).padStart(4, "0");
      }
    }
  });
}

// A list item whose first child links to `#t=<time>` (real recording seconds).
function signal(list, time, ...texts) {
  const item = document.createElement("li");
  const link = document.createElement("a");
  const seconds = Number(time);
  link.href = "#t=" + encodeURIComponent(Number.isFinite(seconds) ? String(seconds) : "0");
  link.dataset.seek = String(Number.isFinite(seconds) ? seconds : 0);
  link.className = "seek-link";
  link.textContent = formatTime(seconds);
  item.appendChild(link);
  for (const text of texts) {
    const span = document.createElement("span");
    span.textContent = text;
    item.appendChild(span);
  }
  list.appendChild(item);
  return item;
}

function emptyNote(list, text) {
  if (list.children.length) return;
  const item = document.createElement("li");
  item.className = "empty";
  item.textContent = text;
  list.appendChild(item);
}

// -- the recording -----------------------------------------------------------------------

// The parsed recording: the header, the events with their real (`t`) and compressed (`ct`)
// times, and how many bytes of complete lines were read (where a live poll goes on from).
const cast = { header: null, events: [], bytes: 0, unreadable: 0 };
const decoder = new TextDecoder("utf-8");
let maxIdle = 2;

function parseSize(text) {
  const match = /^(\d{1,4})x(\d{1,4})$/.exec(String(text));
  if (!match) return null;
  const cols = Number(match[1]);
  const rows = Number(match[2]);
  return cols >= 1 && rows >= 1 ? { cols, rows } : null;
}

function parseLine(line) {
  if (!line.trim()) return;
  let value;
  try { value = JSON.parse(line); } catch { cast.unreadable += 1; return; }
  if (cast.header === null) {
    if (!value || typeof value !== "object" || Array.isArray(value) || value.version !== 2) {
      throw new Error("this file is not an asciicast v2 recording (its first line is not a version 2 header)");
    }
    cast.header = {
      width: Math.min(1000, Math.max(1, Math.floor(Number(value.width)) || 80)),
      height: Math.min(1000, Math.max(1, Math.floor(Number(value.height)) || 24)),
      timestamp: Number(value.timestamp) || null,
      title: typeof value.title === "string" ? value.title : "",
    };
    return;
  }
  if (!Array.isArray(value) || value.length < 3 || typeof value[0] !== "number" || !Number.isFinite(value[0]) ||
      typeof value[1] !== "string" || typeof value[2] !== "string") {
    cast.unreadable += 1;
    return;
  }
  const previous = cast.events.length ? cast.events[cast.events.length - 1].t : 0;
  // Times never run backwards on the timeline, even in a damaged file.
  cast.events.push({ t: Math.max(previous, value[0]), ct: 0, type: value[1], data: value[2] });
}

// Reads the complete lines of `bytes` (which start where the last read ended) and returns the
// index of the first new event. A trailing partial line is left for the next read, which starts
// at its first byte.
function ingest(bytes) {
  const first = cast.events.length;
  const end = bytes.lastIndexOf(10);
  if (end < 0) return first;
  cast.bytes += end + 1;
  for (const line of decoder.decode(bytes.subarray(0, end + 1)).split("\n")) parseLine(line);
  compress(first);
  return first;
}

function resetCast() {
  cast.header = null;
  cast.events = [];
  cast.bytes = 0;
  cast.unreadable = 0;
}

// -- idle compression: the compressed timeline (`ct`) the slider and the clock show ---------

function gap(seconds) {
  return maxIdle > 0 ? Math.min(seconds, maxIdle) : seconds;
}

function compress(from) {
  const events = cast.events;
  let realBefore = from > 0 ? events[from - 1].t : 0;
  let compressedBefore = from > 0 ? events[from - 1].ct : 0;
  for (let index = from; index < events.length; index++) {
    compressedBefore += gap(events[index].t - realBefore);
    realBefore = events[index].t;
    events[index].ct = compressedBefore;
  }
}

function totalTime() {
  return cast.events.length ? cast.events[cast.events.length - 1].ct : 0;
}

// The index of the last event whose `key` time is at most `time`, or -1.
function lastAtOrBefore(time, key) {
  const events = cast.events;
  let low = 0;
  let high = events.length - 1;
  let found = -1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if (events[middle][key] <= time) { found = middle; low = middle + 1; } else { high = middle - 1; }
  }
  return found;
}

function realToCompressed(real) {
  const events = cast.events;
  const index = lastAtOrBefore(real, "t");
  const base = index >= 0 ? events[index] : { t: 0, ct: 0 };
  let compressed = base.ct + gap(real - base.t);
  const next = events[index + 1];
  // Within a shortened gap, stay just before the event that ends it.
  if (next && compressed >= next.ct) compressed = next.ct - Math.min(GAP_EPSILON, (next.ct - base.ct) / 2);
  return Math.min(compressed, totalTime());
}

function compressedToReal(compressed) {
  const events = cast.events;
  const index = lastAtOrBefore(compressed, "ct");
  const base = index >= 0 ? events[index] : { t: 0, ct: 0 };
  const next = events[index + 1];
  const real = base.t + (compressed - base.ct);
  return next ? Math.min(real, next.t) : real;
}

// -- the terminal ------------------------------------------------------------------------

// The replay follows the recording's size (header and `r` events), never the window's: no
// fit(); the screen is scaled with CSS instead. Input is off: the keystrokes' echo is in `o`.
const term = new Terminal({ scrollback: 5000, fontFamily: "monospace", disableStdin: true, cursorBlink: false, convertEol: false });
term.open(element("replay"));

// Resizes the replay terminal. xterm measures its characters on screen, so the CSS scale is
// taken off first (or it would measure them scaled); it is put back once xterm has laid out.
function resizeTerminal(cols, rows) {
  element("replay").style.transform = "";
  term.resize(cols, rows);
  requestAnimationFrame(rescale);
}

// Terminal work runs in order through one queue, since xterm parses writes later but resizes
// and resets at once. A seek starts a new generation: queued work of the old one is dropped.
let generation = 0;
let queue = Promise.resolve();

function enqueue(work) {
  const mine = generation;
  queue = queue.then(() => (mine === generation ? work() : undefined)).catch((error) => Berth.notice(String(error)));
}

function writeOutput(text) {
  for (let start = 0; start < text.length; start += WRITE_PIECE) {
    const piece = text.slice(start, start + WRITE_PIECE);
    enqueue(() => new Promise((resolve) => term.write(piece, resolve)));
  }
}

// Sizes the screen to the recording's columns and rows, scaled down to the room there is
// when "Fit width" is on.
function rescale() {
  const replay = element("replay");
  const natural = replay.querySelector(".xterm-screen");
  const viewport = replay.querySelector(".xterm-viewport");
  if (!natural) return;
  // xterm's scrollbar lies over the screen's right edge: make room for it.
  const scrollbar = viewport ? viewport.offsetWidth - viewport.clientWidth : 0;
  const width = natural.offsetWidth + Math.max(0, scrollbar);
  const height = natural.offsetHeight;
  const style = getComputedStyle(ui.screen);
  const room = ui.screen.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  const factor = ui.scale.checked && width > room && room > 0 ? room / width : 1;
  replay.style.width = width + "px";
  replay.style.transform = factor === 1 ? "" : "scale(" + factor + ")";
  ui.screenBox.style.width = Math.ceil(width * factor) + "px";
  ui.screenBox.style.height = Math.ceil(height * factor) + "px";
}

// -- playback ----------------------------------------------------------------------------

let position = 0;   // compressed seconds shown on the screen
let nextEvent = 0;  // index of the first event not yet on the screen
let playing = false;
let playStartedAt = 0;
let playStartedFrom = 0;
let scrubbing = false;

// Puts the events after the screen's state up to `target` (compressed seconds) on the screen,
// output batched into one write between resizes. Input events are never written.
function advanceTo(target) {
  const events = cast.events;
  let output = "";
  while (nextEvent < events.length && events[nextEvent].ct <= target) {
    const event = events[nextEvent++];
    if (event.type === "o") {
      output += event.data;
    } else if (event.type === "r") {
      const size = parseSize(event.data);
      if (size) {
        writeOutput(output);
        output = "";
        enqueue(() => resizeTerminal(size.cols, size.rows));
      }
    }
  }
  writeOutput(output);
  position = Math.max(position, Math.min(target, totalTime()));
}

// Redraws the screen as it was at `target` (compressed seconds).
function seek(target) {
  generation += 1;
  nextEvent = 0;
  position = 0;
  const header = cast.header || { width: 80, height: 24 };
  enqueue(() => {
    term.reset();
    resizeTerminal(header.width, header.height);
  });
  advanceTo(Math.max(0, Math.min(target, totalTime())));
  if (playing) anchorPlayback();
  showTime();
}

function anchorPlayback() {
  playStartedAt = performance.now();
  playStartedFrom = position;
}

function speed() { return Number(ui.speed.value) || 1; }

function play() {
  if (!cast.events.length) return;
  setFollow(false);
  if (position >= totalTime()) seek(0);
  playing = true;
  anchorPlayback();
  showPlaying();
  requestAnimationFrame(frame);
}

function pause() {
  playing = false;
  showPlaying();
  showTime();
}

function frame() {
  if (!playing) return;
  const target = playStartedFrom + ((performance.now() - playStartedAt) / 1000) * speed();
  if (target >= totalTime()) {
    advanceTo(totalTime());
    pause();
    return;
  }
  advanceTo(target);
  showTime();
  requestAnimationFrame(frame);
}

function showPlaying() {
  ui.play.textContent = playing ? "❚❚" : "▶";
  ui.play.setAttribute("aria-label", playing ? "Pause" : "Play");
}

function showTime() {
  const total = totalTime();
  ui.seek.max = String(total);
  if (!scrubbing) ui.seek.value = String(position);
  let text = formatTime(position) + " / " + formatTime(total);
  const real = compressedToReal(position);
  if (Math.abs(real - position) > 0.05) text += " (recording time " + formatTime(real) + ")";
  ui.time.textContent = text;
}

// Shows the moment `real` seconds into the recording (the time a `#t=` link carries).
function jumpToReal(real) {
  if (!cast.header) return;
  setFollow(false);
  pause();
  seek(realToCompressed(real));
}

function hashTime() {
  const value = new URLSearchParams(location.hash.slice(1)).get("t");
  const seconds = value === null ? NaN : Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : null;
}

function setMaxIdle(value) {
  const real = compressedToReal(position);
  maxIdle = Number.isFinite(value) && value > 0 ? value : 0;
  compress(0);
  // The screen shows the same events; only the timeline around them changed.
  position = realToCompressed(real);
  if (nextEvent > 0 && cast.events[nextEvent - 1].ct > position) position = cast.events[nextEvent - 1].ct;
  if (playing) anchorPlayback();
  showTime();
}

// -- markers and input events from the recording ------------------------------------------

let inputCount = 0;

// Lists the markers and input events from event `from` on (0 lists them all again).
function listEvents(from) {
  if (from === 0) {
    ui.markers.replaceChildren();
    ui.inputs.replaceChildren();
    inputCount = 0;
  }
  for (const list of [ui.markers, ui.inputs]) {
    for (const note of list.querySelectorAll(":scope > .empty")) note.remove();
  }
  for (let index = from; index < cast.events.length; index++) {
    const event = cast.events[index];
    if (event.type === "m") signal(ui.markers, event.t, visible(event.data));
    if (event.type === "i") {
      inputCount += 1;
      if (inputCount <= INPUT_LIST_LIMIT) signal(ui.inputs, event.t, visible(event.data));
    }
  }
  if (inputCount > INPUT_LIST_LIMIT) {
    const more = document.createElement("li");
    more.className = "empty";
    more.textContent = "… and " + (inputCount - INPUT_LIST_LIMIT) + " more";
    ui.inputs.appendChild(more);
  }
  emptyNote(ui.markers, "no markers");
  emptyNote(ui.inputs, "no input events (input is not recorded, or nobody typed)");
  ui.inputSummary.textContent = "Input events (" + inputCount + ")";
}

// -- analysis ----------------------------------------------------------------------------

function definition(list, name, value) {
  const dt = document.createElement("dt");
  dt.textContent = name;
  const dd = document.createElement("dd");
  dd.textContent = value;
  list.append(dt, dd);
}

// The thresholds of the last analysis asked for (null: the server's defaults), and how many
// were asked for: only the latest answer is shown.
let analysisParameters = null;
let analysisRequests = 0;

async function loadAnalysis(parameters) {
  analysisParameters = parameters;
  const request = ++analysisRequests;
  ui.analysisStatus.textContent = "loading…";
  const query = parameters ? parameters.toString() : "";
  let analysis;
  try {
    analysis = await api(recordingURL + "/analysis" + (query ? "?" + query : ""));
  } catch (error) {
    if (request === analysisRequests) ui.analysisStatus.textContent = "The analysis is not available: " + describe(error);
    return;
  }
  if (request !== analysisRequests) return;
  ui.analysisStatus.textContent = "";
  const thresholds = analysis.thresholds || {};
  const cadence = analysis.cadence || {};
  const summary = ui.analysisSummary;
  summary.replaceChildren();
  definition(summary, "Duration", formatTime(analysis.duration));
  definition(summary, "Active time", formatTime(analysis.activeSeconds));
  definition(summary, "Input recorded", analysis.inputRecorded ? "yes" : "no");
  definition(summary, "Thresholds", "paste ≥ " + formatNumber(thresholds.pasteChars, " chars") + " within " +
    formatNumber(thresholds.pasteWindowMs, " ms") + "; idle ≥ " + formatNumber(thresholds.idleSeconds, " s"));
  definition(summary, "Keystrokes", formatNumber(cadence.keystrokes));
  definition(summary, "Median interval", formatNumber(cadence.medianIntervalMs, " ms"));
  definition(summary, "90th percentile interval", formatNumber(cadence.p90IntervalMs, " ms"));
  definition(summary, "Keys per minute", formatNumber(cadence.keysPerMinute));
  if (analysis.skippedLines > 0) definition(summary, "Unreadable lines skipped", formatNumber(analysis.skippedLines));
  if (typeof thresholds.pasteChars === "number") ui.pasteChars.value = String(thresholds.pasteChars);
  if (typeof thresholds.idleSeconds === "number") ui.idleSeconds.value = String(thresholds.idleSeconds);

  const list = (value) => (Array.isArray(value) ? value : []);
  ui.commands.replaceChildren();
  for (const command of list(analysis.commands)) {
    const item = signal(ui.commands, command.time, visible(command.text));
    // The line was edited with keys the rebuild cannot follow: the shell may have run something else.
    if (command.approximate === true) {
      const note = document.createElement("em");
      note.textContent = "approximate";
      note.title = "edited with arrows, history or Tab: the shell may have run something else";
      item.appendChild(note);
    }
  }
  emptyNote(ui.commands, "no commands");
  ui.pastes.replaceChildren();
  for (const paste of list(analysis.pastes)) {
    const item = signal(ui.pastes, paste.time, formatNumber(paste.chars, " chars") + ", " + visible(paste.kind || "?"));
    const text = document.createElement("code");
    text.textContent = visible(paste.text || "");
    item.appendChild(text);
  }
  emptyNote(ui.pastes, "no pastes");
  ui.idle.replaceChildren();
  for (const period of list(analysis.idle)) {
    signal(ui.idle, period.start, formatNumber(period.seconds, " s") + " idle, until " + formatTime(period.end));
  }
  emptyNote(ui.idle, "no idle periods");
  ui.analysisMarkers.replaceChildren();
  for (const marker of list(analysis.markers)) signal(ui.analysisMarkers, marker.time, visible(marker.label));
  emptyNote(ui.analysisMarkers, "no markers");
}

// -- verification and download -----------------------------------------------------------

// The verification report as one line: "valid (…)" or "invalid: <problems>".
function verification(report) {
  if (report.valid === true) {
    const segments = typeof report.segments === "number" ? report.segments + " segments" : "";
    const sealed = report.finalized === false ? "not finalized yet" : report.finalized === true ? "finalized" : "";
    const details = [segments, sealed].filter(Boolean).join(", ");
    return "valid" + (details ? " (" + details + ")" : "");
  }
  const problems = Array.isArray(report.problems) ? report.problems.map(String) : [];
  for (const key of ["problem", "message"]) if (typeof report[key] === "string") problems.push(report[key]);
  return "invalid" + (problems.length ? ": " + problems.join("; ") : "");
}

async function verify() {
  ui.verifyResult.textContent = "verifying…";
  delete ui.verifyResult.dataset.valid;
  try {
    const report = await api(recordingURL + "/verify");
    ui.verifyResult.dataset.valid = String(report.valid === true);
    ui.verifyResult.textContent = "Verification: " + verification(report);
  } catch (error) {
    ui.verifyResult.textContent = "";
    Berth.notice(describe(error));
  }
}

async function download() {
  try {
    await Berth.download(recordingURL + "/cast", recordingId + ".cast", { notice: false });
  } catch (error) {
    Berth.notice(describe(error));
  }
}

// -- loading and live follow -------------------------------------------------------------

let metadata = null;
let following = false;
let followTimer = null;
// Reads of the file's new bytes, one after the other: two at once would read the same bytes twice.
let reading = Promise.resolve();

// The `.cast` file from byte `from` on (206), or whole (200) when `from` is null or the server
// sends it all; 416 when the file has no byte `from`.
async function fetchCast(from) {
  const headers = from === null ? {} : { "Range": "bytes=" + from + "-" };
  let response;
  try {
    response = await Berth.api("GET", recordingURL + "/cast", undefined, { raw: true, notice: false, headers });
  } catch (error) {
    if (error.status === 416) return { status: 416 };
    throw error;
  }
  return { status: response.status, bytes: new Uint8Array(await response.arrayBuffer()), range: response.headers.get("Content-Range") };
}

function loadWhole(bytes) {
  resetCast();
  ingest(bytes);
  if (!cast.header) throw new Error("the recording is empty");
  listEvents(0);
  if (cast.unreadable) Berth.notice(cast.unreadable + " line(s) of the recording could not be read and are skipped.");
}

// Reads what the recording gained since the last read (readMore, queued by fetchMore).
//
// The range starts one byte early, on the newline that ends the last complete line read, so an
// answer is never empty: "nothing new" is a 206 of that one byte rather than a 416, which the
// browser would log as a failed request every second. The byte must still be a newline; when
// it is not, or the server answers otherwise (200, 416), the file changed and is read again whole.
function fetchMore() {
  reading = reading.catch(() => {}).then(readMore);
  return reading;
}

async function readMore() {
  const from = cast.bytes - 1;
  let answer = from >= 0 ? await fetchCast(from) : { status: 416 };
  const start = answer.range && /^bytes (\d+)-/.exec(answer.range);
  const continues = answer.status === 206 && (!start || Number(start[1]) === from) && answer.bytes[0] === 10;
  if (continues) {
    const first = ingest(answer.bytes.subarray(1));
    if (first < cast.events.length) listEvents(first);
  } else {
    if (answer.status !== 200) answer = await fetchCast(null);
    const shown = compressedToReal(position);
    loadWhole(answer.bytes);
    seek(following ? totalTime() : realToCompressed(shown));
  }
  if (following) advanceTo(totalTime());
  showTime();
}

function setFollow(on) {
  if (on === following) return;
  following = on;
  ui.follow.setAttribute("aria-pressed", String(on));
  ui.follow.textContent = on ? "Following live" : "Follow live";
  clearTimeout(followTimer);
  followTimer = null;
  if (!on) return;
  pause();
  advanceTo(totalTime());
  showTime();
  followTimer = setTimeout(pollLive, 0);
}

async function pollLive() {
  if (!following) return;
  try {
    await fetchMore();
  } catch (error) {
    Berth.notice(describe(error));
  }
  if (following) followTimer = setTimeout(pollLive, FOLLOW_POLL_MS);
}

function showMetadata() {
  const owner = metadata.owner || {};
  ui.title.textContent = metadata.environment + " · " + (metadata.ownerName || (owner.kind || "?") + " " + (owner.id || "?")) + " · " + metadata.terminal +
    " · " + new Date(metadata.startedAt).toLocaleString();
  document.title = "Berth recording " + metadata.id;
  const live = metadata.endedAt === null || metadata.endedAt === undefined;
  ui.live.hidden = !live;
  ui.follow.hidden = !live;
  ui.liveTerminal.hidden = !live;
  if (live) {
    ui.liveTerminal.href = "/instances/" + encodeURIComponent(metadata.instanceId) + "/terminal#terminal=" + encodeURIComponent(metadata.terminal);
  } else {
    ui.liveTerminal.removeAttribute("href");
  }
  return live;
}

async function watchMetadata() {
  try {
    metadata = await api(recordingURL);
  } catch (error) {
    Berth.notice(describe(error));
    setTimeout(watchMetadata, METADATA_POLL_MS);
    return;
  }
  if (showMetadata()) {
    setTimeout(watchMetadata, METADATA_POLL_MS);
    return;
  }
  // The session ended: read its last lines once, stop following, and analyse the whole of it.
  setFollow(false);
  try { await fetchMore(); } catch (error) { Berth.notice(describe(error)); }
  loadAnalysis(analysisParameters);
}

async function load() {
  try {
    metadata = await api(recordingURL);
    const live = showMetadata();
    const answer = await fetchCast(null);
    loadWhole(answer.bytes);
    const start = hashTime();
    seek(start === null ? 0 : realToCompressed(start));
    if (live) setTimeout(watchMetadata, METADATA_POLL_MS);
  } catch (error) {
    ui.title.textContent = "recording " + recordingId;
    const signIn = error.status === 401 || error.status === 403 ? { href: "/login", text: "Sign in as an admin." } : null;
    Berth.notice(describe(error), signIn);
    return;
  }
  loadAnalysis(null);
}

// -- controls ----------------------------------------------------------------------------

ui.play.addEventListener("click", () => (playing ? pause() : play()));
ui.speed.addEventListener("change", () => { if (playing) anchorPlayback(); });
ui.maxIdle.addEventListener("change", () => setMaxIdle(Number(ui.maxIdle.value)));
ui.scale.addEventListener("change", rescale);
ui.seek.addEventListener("pointerdown", () => { scrubbing = true; });
ui.seek.addEventListener("pointerup", () => { scrubbing = false; });
ui.seek.addEventListener("input", () => {
  setFollow(false);
  seek(Number(ui.seek.value));
});
ui.seek.addEventListener("change", () => { scrubbing = false; showTime(); });
ui.follow.addEventListener("click", () => setFollow(!following));
ui.download.addEventListener("click", download);
ui.verify.addEventListener("click", verify);
ui.thresholds.addEventListener("submit", (event) => {
  event.preventDefault();
  const parameters = new URLSearchParams();
  if (ui.pasteChars.value) parameters.set("pasteChars", ui.pasteChars.value);
  if (ui.idleSeconds.value) parameters.set("idleSeconds", ui.idleSeconds.value);
  loadAnalysis(parameters);
});

// A click on the link of the moment already in the URL changes no hash; seek anyway.
document.addEventListener("click", (event) => {
  const link = event.target.closest && event.target.closest("a.seek-link");
  if (!link || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
  if (link.hash === location.hash) {
    event.preventDefault();
    jumpToReal(Number(link.dataset.seek));
  }
});
window.addEventListener("hashchange", () => {
  const seconds = hashTime();
  if (seconds !== null) jumpToReal(seconds);
});
// Space plays and pauses unless the terminal or a control has the focus.
document.addEventListener("keydown", (event) => {
  if (event.code !== "Space" || event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  if (target && target.closest && target.closest("input, select, textarea, button, a, .xterm, [contenteditable]")) return;
  event.preventDefault();
  if (playing) pause(); else play();
});
window.addEventListener("resize", rescale);

// Signed out, the page sends the visitor to sign in, like every other page.
Berth.start({ requireUser: true }).then(load);
