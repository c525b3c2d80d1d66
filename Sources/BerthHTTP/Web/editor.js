// Berth file editor on the environment page, beside the terminal: a tree of the instance's
// writable folders (read folder by folder, when opened), tabs, and CodeMirror 5 (Debian's
// libjs-codemirror, served from /assets/codemirror/ and loaded only when the editor is shown) with
// the mode of the file's extension. Ctrl-S / Cmd-S and the Save button write the file with
// If-Match of the SHA-256 it was read with, so a file changed in the container since is never
// overwritten by surprise: the editor says so and offers Reload or Overwrite. Binary files and
// files over 2 MiB are offered as downloads instead. Names and paths from the container are shown
// as text nodes only; file content only through CodeMirror's own rendering.
"use strict";

const BerthEditor = (() => {
  const { api, el } = Berth;
  const $ = (id) => document.getElementById(id);
  // Larger files are offered as a download: the editor is for source files and notes.
  const MAX_OPEN_BYTES = 2 * 1024 * 1024;
  const ASSETS = "/assets/codemirror/";

  // CodeMirror modes: the MIME or mode spec, and the files to load first (dependencies first).
  const MODES = {
    shell: { label: "Shell", spec: "shell", files: ["mode-shell.js"] },
    python: { label: "Python", spec: "python", files: ["mode-python.js"] },
    javascript: { label: "JavaScript", spec: "javascript", files: ["mode-javascript.js"] },
    json: { label: "JSON", spec: { name: "javascript", json: true }, files: ["mode-javascript.js"] },
    css: { label: "CSS", spec: "css", files: ["mode-css.js"] },
    scss: { label: "SCSS", spec: "text/x-scss", files: ["mode-css.js"] },
    less: { label: "Less", spec: "text/x-less", files: ["mode-css.js"] },
    xml: { label: "XML", spec: "xml", files: ["mode-xml.js"] },
    html: { label: "HTML", spec: "htmlmixed", files: ["mode-xml.js", "mode-javascript.js", "mode-css.js", "mode-htmlmixed.js"] },
    markdown: { label: "Markdown", spec: "markdown", files: ["meta.js", "mode-xml.js", "mode-markdown.js"] },
    yaml: { label: "YAML", spec: "yaml", files: ["mode-yaml.js"] },
    c: { label: "C", spec: "text/x-csrc", files: ["mode-clike.js"] },
    cpp: { label: "C++", spec: "text/x-c++src", files: ["mode-clike.js"] },
    java: { label: "Java", spec: "text/x-java", files: ["mode-clike.js"] },
    go: { label: "Go", spec: "go", files: ["mode-go.js"] },
    rust: { label: "Rust", spec: "rust", files: ["simple.js", "mode-rust.js"] },
    sql: { label: "SQL", spec: "text/x-sql", files: ["mode-sql.js"] },
    dockerfile: { label: "Dockerfile", spec: "dockerfile", files: ["simple.js", "mode-dockerfile.js"] },
    text: { label: "Plain text", spec: null, files: [] },
  };
  const EXTENSIONS = {
    sh: "shell", bash: "shell", zsh: "shell", ksh: "shell", bashrc: "shell", profile: "shell", zshrc: "shell",
    py: "python", pyw: "python", js: "javascript", mjs: "javascript", cjs: "javascript", json: "json",
    css: "css", scss: "scss", less: "less", xml: "xml", svg: "xml", xsl: "xml", html: "html", htm: "html",
    md: "markdown", markdown: "markdown", yml: "yaml", yaml: "yaml", c: "c", h: "c",
    cpp: "cpp", cc: "cpp", cxx: "cpp", hpp: "cpp", hh: "cpp", hxx: "cpp", java: "java", go: "go", rs: "rust",
    sql: "sql", dockerfile: "dockerfile",
  };

  /** The mode for a file name: by extension, Dockerfile by name; plain text otherwise. */
  function modeFor(name) {
    const lower = String(name).toLowerCase();
    if (lower === "dockerfile" || lower.startsWith("dockerfile.") || lower === "containerfile") return MODES.dockerfile;
    const dot = lower.lastIndexOf(".");
    const extension = dot >= 0 ? lower.slice(dot + 1) : "";
    return MODES[EXTENSIONS[extension]] || MODES.text;
  }

  // -- loading CodeMirror ---------------------------------------------------------------

  const loaded = new Map();

  function loadScript(name) {
    if (!loaded.has(name)) {
      loaded.set(name, new Promise((resolve, reject) => {
        const script = el("script", { src: ASSETS + name });
        script.addEventListener("load", resolve);
        script.addEventListener("error", () => {
          loaded.delete(name);
          reject(new Error("CodeMirror's " + name + " did not load: is it installed (make setup, scripts/fetch-codemirror.sh)?"));
        });
        document.head.append(script);
      }));
    }
    return loaded.get(name);
  }

  async function loadCodeMirror() {
    if (!document.getElementById("codemirror-css")) {
      document.head.append(el("link", { id: "codemirror-css", rel: "stylesheet", href: ASSETS + "codemirror.css" }));
    }
    await loadScript("codemirror.js");
  }

  async function loadMode(mode) {
    await loadCodeMirror();
    for (const file of mode.files) await loadScript(file);
  }

  // -- presence -------------------------------------------------------------------------

  // The server counts an open editor (or lab panel) as someone connected, for the environment's
  // lifetime.whenDisconnected: while one is shown for a running instance and the page is visible,
  // it says so every 30 s (PUT .../presence; the server keeps each for 75 s). `attending` maps who
  // asks (editor, lab) to the instance id, so two panels on one page send one heartbeat.
  const HEARTBEAT_MS = 30 * 1000;
  const attending = new Map();
  let heartbeatTimer = null;

  function heartbeat() {
    if (document.visibilityState !== "visible") return;
    for (const id of new Set(attending.values())) {
      api("PUT", "/api/v1/instances/" + encodeURIComponent(id) + "/presence", undefined, { notice: false }).catch(() => {});
    }
  }

  /** `who` (editor, lab) shows instance `id` (null: no longer); heartbeats run while any does. */
  function attend(who, id) {
    // A heartbeat at once only for an instance nobody on the page attended yet.
    const already = id !== null && id !== undefined && [...attending.values()].includes(id);
    if (id) attending.set(who, id); else attending.delete(who);
    if (attending.size === 0) {
      if (heartbeatTimer) { clearInterval(heartbeatTimer); heartbeatTimer = null; }
      return;
    }
    if (!heartbeatTimer) heartbeatTimer = setInterval(heartbeat, HEARTBEAT_MS);
    if (id && !already) heartbeat();
  }

  document.addEventListener("visibilitychange", () => {
    if (attending.size > 0) heartbeat();
  });

  // -- state ----------------------------------------------------------------------------

  let instanceId = null;
  // The instance the editor is shown for; null while it is not (then show() mounts again).
  let mountedFor = null;
  let roots = [];
  let selectedFolder = "";
  let cm = null;
  // Open files: {path, name, kind: "text"|"download", doc, sha, clean, mode, size, reason, node}.
  let tabs = [];
  let active = null;
  let conflictTab = null;
  let wired = false;

  function filesPath(suffix, path, extra) {
    let url = "/api/v1/instances/" + encodeURIComponent(instanceId) + "/files" + suffix;
    if (path !== undefined) url += "?path=" + encodeURIComponent(path) + (extra || "");
    return url;
  }

  function baseName(path) {
    const parts = String(path).split("/").filter(Boolean);
    return parts.length ? parts[parts.length - 1] : path;
  }

  function parentOf(path) {
    const cut = path.lastIndexOf("/");
    return cut > 0 ? path.slice(0, cut) : "/";
  }

  function status(text, kind) {
    const line = $("editor-status");
    line.textContent = text || "";
    line.dataset.kind = kind || "info";
  }

  function isDirty(tab) {
    return tab.kind === "text" && tab.doc !== null && !tab.doc.isClean(tab.clean);
  }

  /** How many open files have unsaved changes. */
  function unsavedCount() {
    return tabs.filter(isDirty).length;
  }

  // -- the tree -------------------------------------------------------------------------

  function treeItem(entry) {
    const folder = entry.type === "directory";
    const item = el("li", { className: folder ? "tree-folder" : "tree-file", dataset: { path: entry.path, type: entry.type } });
    const icon = folder ? "▸" : entry.type === "symlink" ? "↪" : "·";
    const button = el("button", { type: "button", className: "tree-item", title: entry.path },
      el("span", { className: "tree-icon", attrs: { "aria-hidden": "true" } }, icon),
      el("span", { className: "tree-name" }, entry.name));
    item.append(button);
    if (folder) {
      button.setAttribute("aria-expanded", "false");
      item.append(el("ul", { className: "tree", hidden: true }));
      button.addEventListener("click", () => toggleFolder(item));
    } else {
      button.addEventListener("click", () => openFile(entry.path, Number(entry.size || 0)));
    }
    return item;
  }

  function selectFolder(path) {
    selectedFolder = path;
    for (const node of document.querySelectorAll("#editor-tree .tree-folder")) {
      node.classList.toggle("selected", node.dataset.path === path);
    }
  }

  async function listFolder(item) {
    const list = item.querySelector(":scope > ul");
    const answer = await api("GET", filesPath("", item.dataset.path), undefined, { notice: false });
    const entries = (answer.entries || []).slice().sort((a, b) =>
      (a.type === "directory" ? 0 : 1) - (b.type === "directory" ? 0 : 1) || String(a.name).localeCompare(String(b.name)));
    list.replaceChildren(...entries.map(treeItem));
    if (entries.length === 0) list.append(el("li", { className: "tree-empty muted" }, "(empty)"));
    item.dataset.loaded = "true";
  }

  async function toggleFolder(item, open) {
    const button = item.querySelector(":scope > .tree-item");
    const list = item.querySelector(":scope > ul");
    const opening = open === undefined ? list.hidden : open;
    selectFolder(item.dataset.path);
    if (opening && item.dataset.loaded !== "true") {
      try {
        await listFolder(item);
      } catch (error) {
        status(error.message, "error");
        return;
      }
    }
    list.hidden = !opening;
    button.setAttribute("aria-expanded", String(opening));
    item.querySelector(":scope > .tree-item .tree-icon").textContent = opening ? "▾" : "▸";
  }

  /** Lists `path` again if its folder is open in the tree. */
  async function relist(path) {
    const item = folderNode(path);
    if (item && item.dataset.loaded === "true") await listFolder(item).catch(() => {});
  }

  function folderNode(path) {
    return Array.from(document.querySelectorAll("#editor-tree .tree-folder")).find((node) => node.dataset.path === path) || null;
  }

  /** Lists the roots; opens the folders that were open (Refresh), or the first root. */
  async function loadRoots() {
    const open = Array.from(document.querySelectorAll("#editor-tree .tree-folder > .tree-item[aria-expanded='true']"))
      .map((button) => button.parentElement.dataset.path);
    const selected = selectedFolder;
    const answer = await api("GET", filesPath(""), undefined, { notice: false });
    roots = answer.roots || [];
    $("editor-roots").replaceChildren(...roots.map((root) => treeItem({ name: root, path: root, type: "directory" })));
    if (open.length === 0 && roots.length > 0) open.push(roots[0]);
    // Parents before children: a child's node exists once its parent is listed.
    for (const path of open.sort((a, b) => a.length - b.length)) {
      const node = folderNode(path);
      if (node) await toggleFolder(node, true);
    }
    if (selected && folderNode(selected)) selectFolder(selected);
  }

  // -- tabs -----------------------------------------------------------------------------

  function renderTabs() {
    $("editor-tabs").replaceChildren(...tabs.map((tab) => {
      const dirty = isDirty(tab);
      const name = el("button", {
        type: "button", className: "tab-name", title: tab.path,
        attrs: { role: "tab", "aria-selected": String(tab === active) },
      }, tab.name, dirty ? el("span", { className: "dirty-mark", title: "Unsaved changes" }, " ●") : null);
      name.addEventListener("click", () => activate(tab));
      const close = el("button", { type: "button", className: "tab-close", title: "Close " + tab.name, attrs: { "aria-label": "Close " + tab.name } }, "×");
      close.addEventListener("click", () => closeTab(tab));
      return el("div", { className: "editor-tab", dataset: { path: tab.path, dirty: String(dirty), active: String(tab === active) } }, name, close);
    }));
    $("editor-save").disabled = !active || active.kind !== "text";
    $("editor-empty").hidden = tabs.length > 0;
  }

  function activate(tab) {
    active = tab;
    const text = tab && tab.kind === "text";
    $("editor-code").hidden = !text;
    $("editor-download").hidden = !tab || text;
    showConflict(tab && tab === conflictTab);
    if (text) {
      cm.swapDoc(tab.doc);
      cm.refresh();
      cm.focus();
      status(tab.mode.label + " · " + tab.path);
    } else if (tab) {
      $("editor-download-text").textContent = tab.name + " " + tab.reason + ": it is offered as a download instead.";
      status(tab.path);
    } else {
      status("");
    }
    renderTabs();
  }

  function closeTab(tab) {
    if (isDirty(tab) && !confirm(tab.name + " has unsaved changes. Close it and lose them?")) return;
    const index = tabs.indexOf(tab);
    tabs.splice(index, 1);
    if (conflictTab === tab) conflictTab = null;
    if (active === tab) activate(tabs[Math.min(index, tabs.length - 1)] || null);
    else renderTabs();
  }

  function downloadTab(path, size, reason) {
    return { path, name: baseName(path), kind: "download", doc: null, sha: null, clean: 0, mode: MODES.text, size, reason };
  }

  function formatSize(bytes) {
    if (bytes < 1024) return bytes + " B";
    if (bytes < 1024 * 1024) return (bytes / 1024).toFixed(1) + " KiB";
    return (bytes / 1024 / 1024).toFixed(1) + " MiB";
  }

  /** The file's bytes and SHA-256 (hex), read from the container. */
  async function readFile(path) {
    const response = await api("GET", filesPath("/content", path), undefined, {
      raw: true, notice: false, headers: { "Accept": "application/octet-stream, application/json" },
    });
    const bytes = new Uint8Array(await response.arrayBuffer());
    const sha = response.headers.get("X-Content-SHA256") || (response.headers.get("ETag") || "").replace(/^W\//, "").replace(/"/g, "");
    return { bytes, sha };
  }

  /** The text of `bytes`, or null when they are not UTF-8 text (NUL bytes, invalid sequences). */
  function textOf(bytes) {
    if (bytes.includes(0)) return null;
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch (error) {
      return null;
    }
  }

  /** A CodeMirror document for `text`; a file written with CRLF keeps its CRLF when saved. */
  function documentFor(text, mode) {
    const separator = /\r\n/.test(text) && !/(^|[^\r])\n/.test(text) ? "\r\n" : null;
    return new CodeMirror.Doc(text, mode.spec, undefined, separator);
  }

  async function openFile(path, knownSize) {
    const open = tabs.find((tab) => tab.path === path);
    if (open) { activate(open); return; }
    selectFolder(parentOf(path));
    if (knownSize > MAX_OPEN_BYTES) {
      const tab = downloadTab(path, knownSize, "is larger than 2 MiB (" + formatSize(knownSize) + ")");
      tabs.push(tab);
      activate(tab);
      return;
    }
    status("Opening " + path + "…");
    try {
      const mode = modeFor(baseName(path));
      const [{ bytes, sha }] = await Promise.all([readFile(path), loadMode(mode).then(ensureEditor)]);
      if (tabs.find((tab) => tab.path === path)) return;
      const text = bytes.length > MAX_OPEN_BYTES ? null : textOf(bytes);
      let tab;
      if (text === null) {
        const reason = bytes.length > MAX_OPEN_BYTES ? "is larger than 2 MiB (" + formatSize(bytes.length) + ")" : "is binary (" + formatSize(bytes.length) + ")";
        tab = downloadTab(path, bytes.length, reason);
      } else {
        const doc = documentFor(text, mode);
        tab = { path, name: baseName(path), kind: "text", doc, sha, clean: doc.changeGeneration(), mode, size: bytes.length };
        doc.on("change", () => renderTabs());
      }
      tabs.push(tab);
      activate(tab);
    } catch (error) {
      status("Could not open " + path + ": " + error.message, "error");
    }
  }

  // -- saving ---------------------------------------------------------------------------

  async function save(tab = active, overwrite = false) {
    if (!tab || tab.kind !== "text" || tab.saving) return;
    tab.saving = true;
    const generation = tab.doc.changeGeneration();
    const body = new TextEncoder().encode(tab.doc.getValue());
    const headers = { "Content-Type": "application/octet-stream", "Accept": "application/json" };
    if (tab.sha && !overwrite) headers["If-Match"] = "\"" + tab.sha + "\"";
    status("Saving " + tab.path + "…");
    $("editor-save").disabled = true;
    try {
      const answer = await api("PUT", filesPath("/content", tab.path), body, { headers, notice: false });
      tab.sha = answer.sha256;
      tab.clean = generation;
      if (conflictTab === tab) conflictTab = null;
      if (active === tab) showConflict(false);
      status("Saved " + tab.path + " at " + new Date().toLocaleTimeString(), "ok");
      $("editor").dataset.lastSave = tab.sha || "";
    } catch (error) {
      if (error.code === "file_changed") {
        conflictTab = tab;
        if (active === tab) showConflict(true);
        status("Not saved: " + tab.path + " changed in the container.", "error");
      } else {
        status("Not saved: " + error.message, "error");
      }
    } finally {
      tab.saving = false;
      renderTabs();
    }
  }

  function showConflict(show) {
    $("editor-conflict").hidden = !show;
    if (show && conflictTab) {
      $("editor-conflict-text").textContent = "This file changed in the container since you opened it (" + conflictTab.name +
        "). Reload it to see the container's version (your changes are lost), or Overwrite it with yours.";
    }
  }

  async function reloadConflict() {
    const tab = conflictTab;
    if (!tab) return;
    try {
      const { bytes, sha } = await readFile(tab.path);
      const text = textOf(bytes);
      if (text === null) throw new Error("it is no longer a text file");
      tab.doc.setValue(text);
      tab.sha = sha;
      tab.clean = tab.doc.changeGeneration();
      conflictTab = null;
      showConflict(false);
      status("Reloaded " + tab.path + " from the container.", "ok");
    } catch (error) {
      status("Could not reload " + tab.path + ": " + error.message, "error");
    }
    renderTabs();
  }

  // -- new files ------------------------------------------------------------------------

  function showNewForm() {
    const folder = selectedFolder || roots[0] || "";
    $("editor-new-form").hidden = false;
    const input = $("editor-new-path");
    input.value = folder ? folder.replace(/\/$/, "") + "/" : "";
    input.focus();
  }

  async function createFile(event) {
    event.preventDefault();
    const path = $("editor-new-path").value.trim();
    if (!path || path.endsWith("/")) { status("Name the new file, for example " + (roots[0] || "/tmp") + "/notes.txt.", "error"); return; }
    const headers = { "Content-Type": "application/octet-stream", "Accept": "application/json", "If-None-Match": "*" };
    try {
      await api("PUT", filesPath("/content", path), new Uint8Array(0), { headers, notice: false });
    } catch (error) {
      // It exists already: open it as it is.
      if (error.code !== "file_changed" && error.status !== 412) {
        status("Could not create " + path + ": " + error.message, "error");
        return;
      }
    }
    $("editor-new-form").hidden = true;
    await relist(parentOf(path));
    await openFile(path, 0);
  }

  // -- mounting -------------------------------------------------------------------------

  function ensureEditor() {
    if (cm) return;
    cm = CodeMirror($("editor-code"), {
      value: "", lineNumbers: true, indentUnit: 4, tabSize: 4, lineWrapping: false,
      extraKeys: { "Ctrl-S": () => save(), "Cmd-S": () => save() },
    });
  }

  function wire() {
    if (wired) return;
    wired = true;
    $("editor-save").addEventListener("click", () => save());
    $("editor-new").addEventListener("click", showNewForm);
    $("editor-new-cancel").addEventListener("click", () => { $("editor-new-form").hidden = true; });
    $("editor-new-form").addEventListener("submit", createFile);
    $("editor-refresh").addEventListener("click", () => loadRoots().catch((error) => status(error.message, "error")));
    $("editor-reload").addEventListener("click", reloadConflict);
    $("editor-overwrite").addEventListener("click", () => save(conflictTab, true));
    $("editor-download-button").addEventListener("click", () => {
      if (active && active.kind === "download") Berth.download(filesPath("/content", active.path), active.name).catch(() => {});
    });
    // Ctrl-S anywhere in the editor (the tree, the tabs) saves instead of the browser's Save Page.
    $("editor").addEventListener("keydown", (event) => {
      // CodeMirror's own Ctrl-S (extraKeys) already saved and prevented the default.
      if (event.defaultPrevented) return;
      if ((event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === "s") {
        event.preventDefault();
        save();
      }
    });
    window.addEventListener("beforeunload", (event) => {
      if (unsavedCount() === 0) return;
      event.preventDefault();
      event.returnValue = "";
    });
  }

  function clear() {
    tabs = [];
    active = null;
    conflictTab = null;
    roots = [];
    selectedFolder = "";
    $("editor-roots").replaceChildren();
    $("editor-new-form").hidden = true;
    $("editor-code").hidden = true;
    $("editor-download").hidden = true;
    showConflict(false);
    renderTabs();
    status("");
  }

  /**
   * Shows the editor for `instance` when it is running and has file roots; hides it otherwise.
   * Called on every change of the page's instance. Answers whether the editor is shown.
   */
  async function show(instance) {
    wire();
    const running = instance && instance.state === "running";
    if (!running) {
      if (mountedFor !== null) hide();
      return false;
    }
    if (mountedFor === instance.id) return !$("editor").hidden;
    mountedFor = instance.id;
    instanceId = instance.id;
    clear();
    try {
      await loadRoots();
    } catch (error) {
      // Not ready yet (a reset, a start): the next poll tries again.
      if (error.code === "instance_not_running" || error.status === 0 || error.status >= 500) mountedFor = null;
      $("editor").hidden = true;
      attend("editor", null);
      return false;
    }
    $("editor").hidden = roots.length === 0;
    attend("editor", roots.length > 0 ? instance.id : null);
    return roots.length > 0;
  }

  /** Hides the editor and forgets its files (the instance stopped or was reset). */
  function hide() {
    attend("editor", null);
    mountedFor = null;
    clear();
    $("editor").hidden = true;
  }

  return { show, hide, unsavedCount, modeFor, attend };
})();
