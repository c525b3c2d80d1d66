// Berth web app, shared by every page: the session, the API client, the navigation bar, the
// notice line and small DOM helpers. Everything that comes from the server (names, container
// output, descriptions) is hostile text: it reaches the page only through textContent and
// createElement, never as HTML.
"use strict";

const Berth = (() => {
  const TOKEN_KEY = "berth.token";
  let sessionPromise = null;

  /** The API token kept in this browser (admins who sign in with a token), or "". */
  function token() {
    return localStorage.getItem(TOKEN_KEY) || "";
  }

  function setToken(value) {
    if (value) localStorage.setItem(TOKEN_KEY, value);
    else localStorage.removeItem(TOKEN_KEY);
  }

  /**
   * Creates an element. `props` sets properties (className, id, href, hidden, …), with two
   * special keys: `dataset` (an object) and `attrs` (attributes set with setAttribute).
   * Children are nodes or strings; strings become text nodes, so they are never parsed as HTML.
   */
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null) continue;
      if (key === "dataset") Object.assign(node.dataset, value);
      else if (key === "attrs") for (const [name, attr] of Object.entries(value)) node.setAttribute(name, attr);
      else node[key] = value;
    }
    append(node, children);
    return node;
  }

  function append(node, children) {
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  // -- notice ---------------------------------------------------------------------------

  /** Shows `text` in the page's notice line (#notice); `link` is an optional {href, text}. */
  function notice(text, link, kind) {
    const box = document.getElementById("notice");
    if (!box) return;
    box.replaceChildren();
    if (text) box.append(String(text));
    if (text && link) box.append(" ", el("a", { href: link.href }, link.text));
    box.dataset.kind = kind || "error";
    box.hidden = !text;
  }

  function clearNotice() { notice(""); }

  // -- API ------------------------------------------------------------------------------

  /** An Error from the API's `{"error":{"code","message"}}` envelope. */
  async function errorFrom(response) {
    const data = await response.json().catch(() => ({}));
    const envelope = (data && data.error) || {};
    const error = new Error(envelope.message || ("The server answered HTTP " + response.status + "."));
    error.code = envelope.code || "http_" + response.status;
    error.status = response.status;
    // Seconds to wait before asking again (429 answers say it); null when not given.
    const retryAfter = Number.parseInt(response.headers.get("Retry-After") || "", 10);
    error.retryAfter = Number.isFinite(retryAfter) ? retryAfter : null;
    return error;
  }

  function report(error, options) {
    if (options.notice === false) return;
    if (error.status === 401 && location.pathname !== "/login") {
      notice(error.message, { href: loginURL(), text: "Sign in" });
    } else {
      notice(error.message);
    }
  }

  /**
   * Calls the API. Sends the session cookie, the CSRF token on every request that changes
   * something, and the saved API token when there is one. Answers the parsed JSON (null for an
   * empty body); with `options.raw` the Response itself, for streamed bodies. Failures throw an
   * Error with .code, .status and .message, which is also shown in #notice unless
   * `options.notice` is false. `options.headers` adds request headers (a Range, say). A body that
   * is a Blob, an ArrayBuffer or a typed array is sent as it is (the caller names its type in
   * `options.headers`); any other body is sent as JSON.
   */
  async function api(method, path, body, options = {}) {
    const raw = body instanceof Blob || body instanceof ArrayBuffer || ArrayBuffer.isView(body);
    const headers = Object.assign({ "Accept": "application/json" }, options.headers || {});
    if (body !== undefined && !raw) headers["Content-Type"] = "application/json";
    if (method !== "GET" && method !== "HEAD") {
      const current = await session();
      if (current.csrfToken) headers["X-CSRF-Token"] = current.csrfToken;
    }
    if (token()) headers["Authorization"] = "Bearer " + token();
    let response;
    try {
      response = await fetch(path, {
        method, headers, credentials: "same-origin", cache: "no-store",
        body: body === undefined ? undefined : raw ? body : JSON.stringify(body),
      });
    } catch (cause) {
      const error = new Error("Berth did not answer (" + cause.message + "). Check the connection and try again.");
      error.code = "network";
      error.status = 0;
      report(error, options);
      throw error;
    }
    if (!response.ok) {
      const error = await errorFrom(response);
      report(error, options);
      throw error;
    }
    if (options.raw) return response;
    if (response.status === 204) return null;
    const text = await response.text();
    return text ? JSON.parse(text) : null;
  }

  /**
   * Saves the answer of GET `path` as the file `filename`. It goes through ``api`` (a plain link
   * could not send a saved bearer token); `options` are api's.
   */
  async function download(path, filename, options = {}) {
    const response = await api("GET", path, undefined, Object.assign({}, options, { raw: true }));
    const url = URL.createObjectURL(await response.blob());
    const anchor = el("a", { href: url, download: filename });
    document.body.appendChild(anchor);
    anchor.click();
    anchor.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  }

  // -- session --------------------------------------------------------------------------

  async function loadSession() {
    const current = { user: null, csrfToken: "", registrationOpen: false, githubLogin: false, scoring: "users", viaToken: false };
    try {
      const response = await fetch("/api/v1/session", { credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json" } });
      if (response.ok) Object.assign(current, await response.json());
    } catch (error) {
      // No session endpoint answer: the page still works with a saved token.
    }
    if (!current.user && token()) {
      try {
        current.user = await api("GET", "/api/v1/me", undefined, { notice: false });
        current.viaToken = true;
      } catch (error) {
        if (error.status === 401) {
          setToken("");
          notice("The API token saved in this browser was refused, so it was forgotten. Sign in again.", { href: loginURL(), text: "Sign in" });
        }
      }
    }
    return current;
  }

  /** The session (`GET /api/v1/session`, plus the token's user), fetched once per page. */
  function session() {
    if (!sessionPromise) sessionPromise = loadSession();
    return sessionPromise;
  }

  /** Forgets the cached session and fetches it again (after something that may end it). */
  function refreshSession() {
    sessionPromise = null;
    return session();
  }

  function isAdmin(current) {
    return Boolean(current.user && current.user.role === "admin");
  }

  /** /login, with the current page to come back to. */
  function loginURL() {
    const here = location.pathname + location.search + location.hash;
    return here === "/" || here.startsWith("/login") ? "/login" : "/login?next=" + encodeURIComponent(here);
  }

  /** A same-site path from `next`, or "/": never another origin (no open redirect). */
  function safeNext(next) {
    if (!next || next[0] !== "/" || next[1] === "/" || next[1] === "\\") return "/";
    return next;
  }

  async function signOut() {
    const current = await session();
    if (current.user && !current.viaToken) {
      await api("POST", "/api/v1/auth/logout", undefined, { notice: false }).catch(() => {});
    }
    setToken("");
    location.href = "/login";
  }

  // -- navigation -----------------------------------------------------------------------

  const LINKS = [
    { href: "/", text: "Catalog", match: (path) => path === "/" || path.startsWith("/environments/") },
    { href: "/scoreboard", text: "Scoreboard" },
    { href: "/team", text: "Team", signedIn: true },
    { href: "/account", text: "My account", signedIn: true },
    { href: "/admin", text: "Admin", admin: true, match: (path) => path === "/admin" || path.startsWith("/recordings") },
  ];

  function renderNav(current) {
    const header = document.getElementById("nav");
    if (!header) return;
    const links = el("nav", { attrs: { "aria-label": "Main" } });
    for (const link of LINKS) {
      if (link.signedIn && !current.user) continue;
      if (link.admin && !isAdmin(current)) continue;
      const anchor = el("a", { href: link.href }, link.text);
      const here = link.match ? link.match(location.pathname) : location.pathname === link.href;
      if (here) anchor.setAttribute("aria-current", "page");
      links.append(anchor);
    }
    const who = el("span", { className: "session" });
    if (current.user) {
      const role = current.user.role === "admin" ? " (admin)" : "";
      who.append(el("span", { id: "whoami", className: "muted" }, current.user.name + role));
      const button = el("button", { id: "sign-out", type: "button" }, "Sign out");
      button.addEventListener("click", signOut);
      who.append(button);
    } else {
      who.append(el("a", { id: "sign-in", href: loginURL() }, "Sign in"));
    }
    header.replaceChildren(el("a", { className: "brand", href: "/" }, "Berth"), links, who);
  }

  /**
   * Starts a page: fetches the session, draws the navigation bar, and sends signed-out visitors
   * to /login when `options.requireUser`. Resolves to the session (never for a redirect).
   */
  async function start(options = {}) {
    const current = await session();
    renderNav(current);
    if (options.requireUser && !current.user) {
      location.replace(loginURL());
      return new Promise(() => {});
    }
    return current;
  }

  // -- formatting -----------------------------------------------------------------------

  /** "M:SS" or "H:MM:SS" for a number of seconds. */
  function clock(seconds) {
    const total = Math.max(0, Math.floor(seconds));
    const hours = Math.floor(total / 3600);
    const minutes = Math.floor((total % 3600) / 60);
    const rest = String(total % 60).padStart(2, "0");
    return hours > 0 ? hours + ":" + String(minutes).padStart(2, "0") + ":" + rest : minutes + ":" + rest;
  }

  /** "45 s", "12 min", "3 h 5 min", "2 d 4 h" for a number of seconds. */
  function duration(seconds) {
    const total = Math.max(0, Math.floor(seconds));
    if (total < 60) return total + " s";
    if (total < 3600) return Math.floor(total / 60) + " min";
    if (total < 86400) return Math.floor(total / 3600) + " h " + Math.floor((total % 3600) / 60) + " min";
    return Math.floor(total / 86400) + " d " + Math.floor((total % 86400) / 3600) + " h";
  }

  /** A date from the API, in the reader's locale; "" for none. */
  function dateTime(value) {
    if (!value) return "";
    const date = new Date(value);
    return isNaN(date) ? String(value) : date.toLocaleString();
  }

  /** "just now", "3 minutes ago", "in 2 hours", "5 days ago": a date as people read it; "" for none. */
  function relativeTime(value, now = Date.now()) {
    if (!value) return "";
    const date = new Date(value);
    if (isNaN(date)) return String(value);
    const seconds = Math.round((date.getTime() - now) / 1000);
    const size = Math.abs(seconds);
    if (size < 45) return "just now";
    const units = [["minute", 60], ["hour", 3600], ["day", 86400], ["month", 2592000], ["year", 31536000]];
    let unit = units[0];
    for (const candidate of units) if (size >= candidate[1] * 0.95) unit = candidate;
    const count = Math.max(1, Math.round(size / unit[1]));
    const words = count + " " + unit[0] + (count === 1 ? "" : "s");
    return seconds < 0 ? words + " ago" : "in " + words;
  }

  /** A <time> element reading relativeTime(value), with the exact local time on hover. */
  function when(value) {
    if (!value) return "";
    const date = new Date(value);
    if (isNaN(date)) return String(value);
    return el("time", { className: "relative-time", title: date.toLocaleString(), attrs: { datetime: date.toISOString() } }, relativeTime(date));
  }

  /** Keeps every relative time on the page current. */
  function refreshRelativeTimes() {
    for (const node of document.querySelectorAll("time.relative-time[datetime]")) {
      node.textContent = relativeTime(node.getAttribute("datetime"));
    }
  }
  setInterval(refreshRelativeTimes, 30000);

  function secondsUntil(value) {
    return (new Date(value).getTime() - Date.now()) / 1000;
  }

  /**
   * The warning that `instance` stops because nobody is connected (its disconnectStopAt, for the
   * environment's lifetime.whenDisconnected of `settingSeconds`): shown from 2 minutes before, or
   * half the setting when that is shorter. "" before then, and when nothing is due.
   */
  function disconnectWarning(instance, settingSeconds) {
    const stopAt = instance && instance.disconnectStopAt ? new Date(instance.disconnectStopAt) : null;
    if (!stopAt || isNaN(stopAt)) return "";
    const setting = Number(settingSeconds);
    const lead = setting > 0 ? Math.min(120, setting / 2) : 120;
    const left = secondsUntil(stopAt);
    if (left > lead) return "";
    const at = stopAt.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: lead < 60 ? "2-digit" : undefined });
    return "Nobody is connected: this instance stops at " + at + " (in " + clock(left) + ") unless you open its terminal or editor.";
  }

  // -- widgets --------------------------------------------------------------------------

  async function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return;
    }
    // Plain-HTTP pages on another host have no Clipboard API.
    const area = el("textarea", { value: text, className: "offscreen", readOnly: true });
    document.body.append(area);
    area.select();
    const copied = document.execCommand("copy");
    area.remove();
    if (!copied) throw new Error("copy refused");
  }

  /** A button that copies `text` and says whether it worked. */
  function copyButton(text, label) {
    const name = label || "Copy";
    const button = el("button", { type: "button", className: "copy", title: "Copy " + text }, name);
    button.addEventListener("click", async () => {
      try {
        await copyText(text);
        button.textContent = "Copied";
      } catch (error) {
        button.textContent = "Copy failed: select it by hand";
      }
      setTimeout(() => { button.textContent = name; }, 1500);
    });
    return button;
  }

  /** A table cell with `content` (text or nodes); `label` names the column on phones. */
  function cell(row, content, label, className) {
    const td = el("td", { className, dataset: label ? { label } : undefined });
    append(td, [content]);
    row.append(td);
    return td;
  }

  /** Shows `text` in a form's message element, styled by `kind` (error, ok). */
  function say(element, text, kind) {
    element.textContent = text || "";
    element.dataset.kind = kind || "error";
    element.hidden = !text;
  }

  /**
   * Wires the page's API-token form (#token-form, #token, #forget, #token-error): a pasted token
   * is checked with GET /api/v1/me and kept in localStorage 'berth.token'; `accepted(user)`
   * runs after. Admins who have no password use this.
   */
  function bindTokenForm(accepted) {
    const form = document.getElementById("token-form");
    if (!form) return;
    const input = document.getElementById("token");
    const message = document.getElementById("token-error");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      say(message, "");
      const value = input.value.trim();
      if (!value) { say(message, "Paste a token first."); return; }
      setToken(value);
      input.value = "";
      try {
        const me = await api("GET", "/api/v1/me", undefined, { notice: false });
        sessionPromise = null;
        say(message, "Token accepted: signed in as " + me.name + ".", "ok");
        accepted(me);
      } catch (error) {
        setToken("");
        say(message, error.status === 401 ? "Berth refused this token. Check that it was copied whole." : error.message);
      }
    });
    const forget = document.getElementById("forget");
    if (forget) {
      forget.addEventListener("click", () => {
        setToken("");
        sessionPromise = null;
        say(message, "The token was removed from this browser.", "ok");
      });
    }
  }

  /** Disables a form's controls while `work` runs. */
  async function busy(form, work) {
    const controls = Array.from(form.querySelectorAll("button, input, select, textarea")).filter((c) => !c.disabled);
    for (const control of controls) control.disabled = true;
    try {
      return await work();
    } finally {
      for (const control of controls) control.disabled = false;
    }
  }

  /**
   * Runs a page's main function. API errors are already in #notice; anything else is a bug of
   * the page: it is shown and rethrown, so it also reaches the browser console.
   */
  function run(main) {
    main().catch((error) => {
      if (error && error.status !== undefined) return;
      notice("This page failed: " + (error && error.message));
      throw error;
    });
  }

  return {
    api, append, bindTokenForm, busy, cell, clearNotice, clock, copyButton, dateTime, disconnectWarning, download, duration, el, isAdmin, loginURL, notice, relativeTime, when,
    refreshSession, run, safeNext, say, secondsUntil, session, setToken, start, token,
  };
})();
