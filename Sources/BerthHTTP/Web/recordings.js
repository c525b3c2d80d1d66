// Berth recordings page (admin): lists terminal recordings with filters, and plays, downloads,
// verifies or deletes them. Recordings are hostile data: every value is shown with textContent,
// never as HTML, and every URL part goes through encodeURIComponent.
"use strict";

const summary = document.getElementById("summary");
const tableBody = document.getElementById("recordings");
const form = document.getElementById("filters");
// The list filters the API takes; the form shows all but `team`, which a URL may still carry.
const FILTERS = ["instance", "user", "team", "environment"];

function describe(error) {
  return error.code ? error.code + ": " + error.message : error.message;
}

// The API through app.js's client (session cookie, CSRF token, or a saved bearer token);
// errors are shown by this page, with their codes.
function api(method, path) {
  return Berth.api(method, path, undefined, { notice: false });
}

function recordingPath(id) { return "/api/v1/recordings/" + encodeURIComponent(id); }

function formatDuration(seconds) {
  const total = Math.max(0, Math.round(seconds));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const rest = String(total % 60).padStart(2, "0");
  return hours > 0 ? hours + ":" + String(minutes).padStart(2, "0") + ":" + rest : minutes + ":" + rest;
}

function formatBytes(bytes) {
  if (!(bytes >= 0)) return "?";
  if (bytes < 1024) return bytes + " B";
  if (bytes < 1024 * 1024) return (bytes / 1024).toFixed(1) + " KiB";
  return (bytes / 1024 / 1024).toFixed(1) + " MiB";
}

function download(id) {
  return Berth.download(recordingPath(id) + "/cast", id + ".cast", { notice: false });
}

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

// Each cell carries its column's name, which narrow screens show in place of the table head.
const COLUMNS = Array.from(document.querySelectorAll("thead th"), (th) => th.textContent);

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text;
  td.dataset.label = COLUMNS[row.children.length] || "";
  row.appendChild(td);
  return td;
}

function filterLink(name, value, text) {
  const anchor = document.createElement("a");
  anchor.href = "/recordings?" + new URLSearchParams({ [name]: value }).toString();
  anchor.textContent = text;
  return anchor;
}

function button(text, action) {
  const element = document.createElement("button");
  element.type = "button";
  element.textContent = text;
  element.addEventListener("click", async () => {
    element.disabled = true;
    try {
      await action();
    } catch (error) {
      Berth.notice(describe(error));
    } finally {
      element.disabled = false;
    }
  });
  return element;
}

function row(recording) {
  const tr = document.createElement("tr");
  tr.dataset.id = recording.id;
  cell(tr, recording.environment);
  const owner = recording.owner || {};
  const ownerCell = cell(tr, "");
  // The owner's name (the API adds it); the id stays on hover and in the filter link.
  const ownerText = recording.ownerName ? recording.ownerName + (owner.kind === "team" ? " (team)" : "") : (owner.kind || "?") + " " + (owner.id || "?");
  ownerCell.appendChild(owner.kind === "user" || owner.kind === "team" ? filterLink(owner.kind, owner.id, ownerText) : document.createTextNode(ownerText));
  ownerCell.title = (owner.kind || "?") + " " + (owner.id || "?");
  ownerCell.classList.add("owner");
  cell(tr, "").appendChild(filterLink("instance", recording.instanceId, recording.instanceId));
  cell(tr, recording.terminal);
  const started = new Date(recording.startedAt);
  cell(tr, "").appendChild(Berth.when(recording.startedAt));
  const live = recording.endedAt === null || recording.endedAt === undefined;
  if (live) {
    const live = document.createElement("span");
    live.className = "live-badge";
    live.textContent = "live";
    cell(tr, "").appendChild(live);
  } else {
    cell(tr, formatDuration((new Date(recording.endedAt) - started) / 1000));
  }
  cell(tr, formatBytes(recording.bytes));

  const actions = cell(tr, "");
  actions.className = "row-actions";
  const play = document.createElement("a");
  play.href = "/recordings/" + encodeURIComponent(recording.id);
  play.textContent = "Play";
  play.className = "play";
  const result = document.createElement("span");
  result.className = "verify-result";
  const verify = button("Verify", async () => {
    result.textContent = "verifying…";
    delete result.dataset.valid;
    try {
      const report = await api("GET", recordingPath(recording.id) + "/verify");
      result.dataset.valid = String(report.valid === true);
      result.textContent = verification(report);
    } catch (error) {
      result.textContent = "";
      throw error;
    }
  });
  const remove = button("Delete", async () => {
    if (!confirm("Delete recording " + recording.id + " (" + recording.environment + ", " + ownerText + ")? This cannot be undone.")) return;
    await api("DELETE", recordingPath(recording.id));
    tr.remove();
    summary.textContent = tableBody.children.length + " recording(s)";
  });
  // The server keeps a recording that is still being written (409 recording_live).
  if (live) {
    remove.disabled = true;
    remove.title = "Still being written: stop the instance first.";
  }
  actions.append(play, button("Download .cast", () => download(recording.id)), verify, remove, result);
  return tr;
}

function filtersFromURL() {
  const query = new URLSearchParams(location.search);
  const filters = {};
  for (const name of FILTERS) {
    const value = (query.get(name) || "").trim();
    if (value) filters[name] = value;
  }
  return filters;
}

async function load() {
  Berth.notice("");
  const filters = filtersFromURL();
  for (const name of FILTERS) {
    const input = document.getElementById("filter-" + name);
    if (input) input.value = filters[name] || "";
  }
  summary.textContent = "loading…";
  try {
    const query = new URLSearchParams(filters).toString();
    const list = await api("GET", "/api/v1/recordings" + (query ? "?" + query : ""));
    const items = Array.isArray(list.items) ? list.items : [];
    tableBody.replaceChildren(...items.map(row));
    const active = Object.entries(filters).map(([name, value]) => name + " " + value).join(", ");
    summary.textContent = items.length + " recording(s)" + (active ? " for " + active : "");
  } catch (error) {
    summary.textContent = "";
    tableBody.replaceChildren();
    if (error.status === 401 || error.status === 403) {
      Berth.notice(describe(error), { href: "/login", text: "Sign in as an admin." });
    } else {
      Berth.notice(describe(error));
    }
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const query = new URLSearchParams();
  for (const name of FILTERS) {
    const input = document.getElementById("filter-" + name);
    const value = input ? input.value.trim() : (filtersFromURL()[name] || "");
    if (value) query.set(name, value);
  }
  const search = query.toString();
  history.pushState(null, "", "/recordings" + (search ? "?" + search : ""));
  load();
});
document.getElementById("clear").addEventListener("click", () => {
  history.pushState(null, "", "/recordings");
  load();
});
window.addEventListener("popstate", load);
// Signed out, the page sends the visitor to sign in, like every other page.
Berth.start({ requireUser: true }).then(load);
