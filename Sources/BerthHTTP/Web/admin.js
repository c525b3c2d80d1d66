// Berth admin console: environments (build with live progress, enable, disable), live instances
// (owner, age, expiry, resources; watch, kill, purge), users and teams, flag submissions (shared
// flags highlighted), the lab progress board (who is stuck), settings and the audit log. Every value from the server is shown with
// textContent only; container build output is hostile text too.
"use strict";

(() => {
  const { api, el, cell, say } = Berth;
  const $ = (id) => document.getElementById(id);
  const INSTANCES_REFRESH_MS = 5000;
  const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]/g;
  let current = "";
  let instancesLoadedAt = 0;
  const directory = { users: new Map(), teams: new Map() };
  const resources = new Map();

  // -- tabs -----------------------------------------------------------------------------

  const loaders = {
    environments: loadEnvironments,
    instances: loadInstances,
    users: loadUsers,
    submissions: loadSubmissions,
    labs: loadLabs,
    workspaces: loadWorkspaces,
    settings: loadSettings,
    audit: loadAudit,
  };

  function show(tab) {
    if (!loaders[tab]) tab = "environments";
    current = tab;
    for (const button of document.querySelectorAll(".tabs [role=tab]")) {
      button.setAttribute("aria-selected", String(button.dataset.tab === tab));
    }
    for (const name of Object.keys(loaders)) $("panel-" + name).hidden = name !== tab;
    Berth.clearNotice();
    reload(tab);
  }

  /** The last load of each tab: loads of one tab run one after the other, so an older answer never draws over a newer one. */
  const loading = {};

  /** Runs a tab's loader. API errors are in #notice already; anything else is a bug. */
  function reload(name) {
    loading[name] = (loading[name] || Promise.resolve()).then(() => loaders[name]()).catch((error) => {
      if (error && error.status !== undefined) return;
      Berth.notice("This page failed: " + (error && error.message));
      console.error(error);
    });
  }

  for (const button of document.querySelectorAll(".tabs [role=tab]")) {
    button.addEventListener("click", () => {
      if (location.hash === "#" + button.dataset.tab) show(button.dataset.tab);
      else location.hash = button.dataset.tab;
    });
  }
  window.addEventListener("hashchange", () => show(location.hash.slice(1)));
  for (const name of Object.keys(loaders)) {
    const refresh = $("panel-" + name).querySelector(".refresh");
    if (refresh) refresh.addEventListener("click", () => reload(name));
  }

  /** Users and teams by id, for owner names. */
  async function loadDirectory() {
    const [users, teams] = await Promise.all([
      api("GET", "/api/v1/users", undefined, { notice: false }).catch(() => null),
      api("GET", "/api/v1/teams", undefined, { notice: false }).catch(() => null),
    ]);
    if (users) directory.users = new Map((users.items || []).map((user) => [user.id, user]));
    if (teams) directory.teams = new Map((teams.items || []).map((team) => [team.id, team]));
  }

  function ownerName(owner) {
    if (!owner) return "";
    if (owner.kind === "team") {
      const team = directory.teams.get(owner.id);
      return "team " + (team ? team.name : owner.id);
    }
    const user = directory.users.get(owner.id);
    return user ? user.name : owner.id;
  }

  function userName(id) {
    const user = directory.users.get(id);
    return user ? user.name : id;
  }

  function actions(...children) {
    return el("span", { className: "actions" }, children);
  }

  // -- environments ---------------------------------------------------------------------

  /** Badge class and text per image status of /api/v1/admin/environments. */
  const IMAGE_STATUS = {
    none: ["", "no instance"],
    built: ["ok", "built"],
    not_built: ["bad", "not built"],
    image_not_found: ["bad", "image not found"],
  };

  async function loadEnvironments() {
    const answer = await api("GET", "/api/v1/admin/environments");
    const body = $("admin-environments");
    body.replaceChildren();
    for (const env of answer.items || []) {
      const row = el("tr", { dataset: { slug: env.slug } });
      cell(row, [el("a", { href: "/environments/" + encodeURIComponent(env.slug) }, env.name), el("br"), el("code", {}, env.slug)], "Environment");
      cell(row, env.category, "Category");
      cell(row, el("span", { className: "badge " + (env.enabled ? "ok" : "warn") }, env.enabled ? "enabled" : "disabled"), "Status");
      const image = IMAGE_STATUS[env.imageStatus] || (env.imageBuilt ? IMAGE_STATUS.built : IMAGE_STATUS.not_built);
      cell(row, [el("span", { className: "badge " + image[0], dataset: { imageStatus: env.imageStatus || "" } }, image[1]), " ", el("code", {}, env.image || "")], "Image");
      if (env.visibility === "hidden") row.cells[2].append(" ", el("span", { className: "badge warn" }, "hidden"));
      if (env.containers) {
        row.cells[2].append(" ", el("span", { className: "badge warn containers", title: "berth.containers: the learner builds and runs containers with rootless Podman (no --privileged)" }, "runs containers (rootless)"));
      }
      cell(row, String(env.activeInstances ?? 0), "Active", "num");
      cell(row, String(env.points ?? ""), "Points", "num");
      cell(row, String(env.solves ?? 0), "Solves", "num");
      const toggle = el("button", { type: "button", className: env.enabled ? "disable" : "enable" }, env.enabled ? "Disable" : "Enable");
      toggle.addEventListener("click", async () => {
        toggle.disabled = true;
        try {
          await api("POST", "/api/v1/admin/environments/" + encodeURIComponent(env.slug) + (env.enabled ? "/disable" : "/enable"));
          await loadEnvironments();
        } catch (error) {
          toggle.disabled = false;
        }
      });
      const build = el("button", { type: "button", className: "build" }, env.imageBuilt ? "Rebuild" : "Build");
      build.addEventListener("click", () => buildImage(env, build));
      // Nothing to build for a challenge without an instance or a prebuilt image.
      build.hidden = env.hasInstance === false || env.imageStatus === "image_not_found";
      cell(row, actions(toggle, build));
      body.append(row);
    }
    // Folders whose challenge.yml has errors are left out of the catalog; list why (text only: file contents are hostile).
    const problems = answer.problems || [];
    const list = $("environment-problem-list");
    list.replaceChildren(...problems.map((problem) => el("li", { className: problem.severity === "error" ? "bad" : "warn" },
      [el("code", {}, problem.file + ": " + problem.field), " ", (problem.severity === "warning" ? "warning: " : "") + problem.reason])));
    $("environment-problems").hidden = problems.length === 0;
  }

  function logLine(text, kind) {
    const log = $("build-log");
    const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 8;
    log.append(el("span", { className: kind || "" }, String(text).replace(ANSI, "") + "\n"));
    if (atBottom) log.scrollTop = log.scrollHeight;
  }

  /** Builds an environment's image, showing the server's NDJSON progress lines as they come. */
  async function buildImage(env, button) {
    $("build").hidden = false;
    $("build-title").textContent = "Building " + env.slug;
    $("build-log").replaceChildren();
    $("build").dataset.state = "running";
    button.disabled = true;
    let result = null;
    const handle = (line) => {
      if (!line.trim()) return;
      let message;
      try { message = JSON.parse(line); } catch (error) { logLine(line); return; }
      if (message.error) {
        result = "failed";
        logLine("Build failed: " + (message.error.message || "") + (message.error.code ? " (" + message.error.code + ")" : ""), "error");
      } else if (message.done) {
        result = "done";
        logLine("Build finished.", "done");
      } else if (message.progress !== undefined) {
        logLine(message.progress);
      }
    };
    try {
      // Progress comes as JSON lines; a failure before the build starts is a JSON error.
      const response = await api("POST", "/api/v1/admin/environments/" + encodeURIComponent(env.slug) + "/build", undefined, {
        raw: true, notice: false, headers: { "Accept": "application/x-ndjson, application/json" },
      });
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let pending = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        pending += decoder.decode(value, { stream: true });
        let newline;
        while ((newline = pending.indexOf("\n")) >= 0) {
          handle(pending.slice(0, newline));
          pending = pending.slice(newline + 1);
        }
      }
      handle(pending + decoder.decode());
      if (!result) {
        result = "failed";
        logLine("The build's progress stream ended without a result; see the server log.", "error");
      }
    } catch (error) {
      result = "failed";
      logLine("Build failed: " + error.message, "error");
    }
    $("build").dataset.state = result;
    button.disabled = false;
    reload("environments");
  }

  // -- instances ------------------------------------------------------------------------

  function formatBytes(bytes) {
    if (!(bytes > 0)) return "?";
    if (bytes >= 1024 ** 3) return +(bytes / 1024 ** 3).toFixed(1) + " GiB";
    return Math.round(bytes / 1024 ** 2) + " MiB";
  }

  /** "64 MiB · 0.5 CPU · 64 pids" from the environment's limits, fetched once per slug. */
  function resourcesOf(slug) {
    if (!resources.has(slug)) {
      resources.set(slug, api("GET", "/api/v1/environments/" + encodeURIComponent(slug), undefined, { notice: false })
        .then((env) => env.resources
          ? formatBytes(env.resources.memoryBytes) + " · " + env.resources.cpus + " CPU · " + env.resources.pids + " pids"
          : "")
        .catch(() => "?"));
    }
    return resources.get(slug);
  }

  function tickInstances() {
    for (const td of document.querySelectorAll("#admin-instances td[data-since]")) {
      td.textContent = Berth.duration(-Berth.secondsUntil(td.dataset.since));
    }
    for (const td of document.querySelectorAll("#admin-instances td[data-until]")) {
      td.textContent = Berth.clock(Berth.secondsUntil(td.dataset.until));
    }
  }

  async function loadInstances() {
    instancesLoadedAt = Date.now();
    const [answer] = await Promise.all([api("GET", "/api/v1/instances?active=true"), loadDirectory()]);
    const items = answer.items || [];
    $("instances-summary").textContent = items.length === 1 ? "1 active instance" : items.length + " active instances";
    $("purge").disabled = items.length === 0;
    $("purge").dataset.count = String(items.length);
    const body = $("admin-instances");
    body.replaceChildren();
    for (const instance of items) {
      const row = el("tr", { dataset: { instanceId: instance.id, owner: ownerName(instance.owner) } });
      cell(row, el("code", {}, instance.id), "Instance");
      cell(row, instance.environment, "Environment");
      cell(row, ownerName(instance.owner), "Owner", "owner");
      cell(row, instance.state, "State", "state");
      cell(row, "", "Age").dataset.since = instance.createdAt;
      cell(row, "", "Expires in").dataset.until = instance.expiresAt;
      const limits = cell(row, "…", "Resources");
      resourcesOf(instance.environment).then((text) => { limits.textContent = text; });
      const watch = el("a", { className: "watch", href: "/instances/" + encodeURIComponent(instance.id) + "/terminal", target: "_blank", rel: "noopener" }, "Watch");
      const kill = el("button", { type: "button", className: "kill danger" }, "Kill");
      kill.addEventListener("click", async () => {
        if (!confirm("Kill instance " + instance.id + " of " + instance.environment + " (" + ownerName(instance.owner) + ")? Its container is removed.")) return;
        kill.disabled = true;
        try {
          await api("DELETE", "/api/v1/instances/" + encodeURIComponent(instance.id));
          Berth.notice("Instance " + instance.id + " was killed.", null, "ok");
          await loadInstances();
        } catch (error) {
          kill.disabled = false;
        }
      });
      cell(row, actions(watch, kill));
      body.append(row);
    }
    tickInstances();
  }

  $("purge").addEventListener("click", async () => {
    const count = Number($("purge").dataset.count || 0);
    if (!confirm("Purge all " + count + " active instance" + (count === 1 ? "" : "s") + "? Every one is stopped and its container removed.")) return;
    try {
      const answer = await api("POST", "/api/v1/admin/purge");
      const purged = answer && (answer.purged ?? answer.stopped ?? answer.count);
      Berth.notice(purged === undefined ? "Purged." : "Purged " + purged + (purged === 1 ? " instance." : " instances."), null, "ok");
      await loadInstances();
    } catch (error) {
      // The notice says why.
    }
  });

  /** Every second: ages and countdowns; every few seconds: the list itself, while it is shown. */
  function everySecond() {
    tickInstances();
    if (current === "instances" && $("instances-auto").checked && Date.now() - instancesLoadedAt >= INSTANCES_REFRESH_MS) {
      reload("instances");
    }
  }

  // -- users and teams ------------------------------------------------------------------

  function showIssuedToken(user, issued) {
    $("issued-token-user").textContent = user.name;
    $("issued-token-secret").textContent = issued.token;
    $("issued-token-copy").replaceChildren(Berth.copyButton(issued.token, "Copy token"));
    $("issued-token").hidden = false;
  }

  $("issued-token-done").addEventListener("click", () => {
    $("issued-token-secret").textContent = "";
    $("issued-token").hidden = true;
  });

  async function issueToken(user, button) {
    button.disabled = true;
    try {
      const issued = await api("POST", "/api/v1/users/" + encodeURIComponent(user.id) + "/tokens", { name: "issued in the admin console" });
      showIssuedToken(user, issued);
    } catch (error) {
      // The notice says why.
    }
    button.disabled = false;
  }

  async function loadUsers() {
    await loadDirectory();
    const body = $("admin-users");
    body.replaceChildren();
    for (const user of directory.users.values()) {
      const row = el("tr", { dataset: { id: user.id } });
      cell(row, user.name, "Name");
      const role = el("select", { attrs: { "aria-label": "Role of " + user.name } },
        ["player", "admin"].map((name) => el("option", { value: name, selected: user.role === name }, name)));
      role.addEventListener("change", async () => {
        if (!confirm("Make " + user.name + " " + (role.value === "admin" ? "an admin" : "a player") + "?")) { role.value = user.role; return; }
        try {
          await api("PATCH", "/api/v1/users/" + encodeURIComponent(user.id), { role: role.value });
          await loadUsers();
        } catch (error) {
          role.value = user.role;
        }
      });
      cell(row, role, "Role");
      cell(row, Berth.when(user.createdAt), "Created");
      cell(row, el("code", {}, user.id), "Id");
      const issue = el("button", { type: "button" }, "Issue token");
      issue.addEventListener("click", () => issueToken(user, issue));
      cell(row, actions(issue));
      body.append(row);
    }
    const teams = $("admin-teams");
    teams.replaceChildren();
    for (const team of directory.teams.values()) {
      const row = el("tr", { dataset: { id: team.id } });
      cell(row, team.name, "Team");
      const members = (team.members || []).map((member) => typeof member === "string" ? userName(member) : member.name);
      cell(row, members.join(", "), "Members");
      cell(row, team.inviteCode ? el("code", {}, team.inviteCode) : "", "Invite code");
      cell(row, Berth.when(team.createdAt), "Created");
      teams.append(row);
    }
    $("no-teams").hidden = directory.teams.size > 0;
  }

  $("user-create-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    await Berth.busy(event.currentTarget, async () => {
      try {
        const user = await api("POST", "/api/v1/users", { name: $("user-create-name").value.trim(), role: $("user-create-role").value });
        $("user-create-name").value = "";
        Berth.notice("User " + user.name + " was created. They can sign in with a token: use Issue token.", null, "ok");
        await loadUsers();
      } catch (error) {
        // The notice says why.
      }
    });
  });

  // -- submissions ----------------------------------------------------------------------

  async function loadSubmissions() {
    const outcome = $("submissions-outcome").value;
    const [answer] = await Promise.all([
      api("GET", "/api/v1/admin/submissions" + (outcome ? "?outcome=" + encodeURIComponent(outcome) : "")),
      loadDirectory(),
    ]);
    const items = answer.items || [];
    const body = $("admin-submissions");
    body.replaceChildren();
    for (const item of items) {
      const shared = item.outcome === "shared";
      const row = el("tr", { className: shared ? "shared" : "", dataset: { id: item.id, outcome: item.outcome } });
      cell(row, Berth.when(item.time), "Time");
      cell(row, item.userName || userName(item.userId), "User");
      cell(row, ownerName(item.scorer), "Scorer");
      cell(row, item.environment, "Environment");
      cell(row, el("code", {}, item.submitted), "Submitted");
      const badge = { correct: "ok", shared: "bad", incorrect: "", already_solved: "", rate_limited: "warn" }[item.outcome] || "";
      cell(row, [el("span", { className: "badge " + badge }, item.outcome), shared ? el("div", { className: "muted" }, "likely flag sharing") : null], "Outcome");
      cell(row, shared ? [el("code", {}, item.sharedFromInstance || "?"), " of ", ownerName(item.sharedFromOwner)] : "", "Shared from");
      body.append(row);
    }
    $("no-submissions").hidden = items.length > 0;
  }

  $("submissions-outcome").addEventListener("change", () => reload("submissions"));

  // -- lab progress ---------------------------------------------------------------------

  /** Fills the lab filter with the catalog's labs, keeping the chosen one. */
  async function loadLabChoices() {
    const select = $("labs-environment");
    const chosen = select.value;
    const catalog = await api("GET", "/api/v1/environments");
    const labs = (catalog.items || []).filter((env) => env.lab);
    select.replaceChildren(el("option", { value: "" }, "all labs"));
    for (const env of labs) {
      select.append(el("option", { value: env.slug }, env.name + " (" + env.lab.stepCount + (env.lab.stepCount === 1 ? " step)" : " steps)")));
    }
    select.value = labs.some((env) => env.slug === chosen) ? chosen : "";
  }

  async function loadLabs() {
    await loadLabChoices();
    const minutes = Math.min(10080, Math.max(1, parseInt($("labs-stuck").value, 10) || 15));
    $("labs-stuck").value = String(minutes);
    const query = new URLSearchParams({ stuckAfterMinutes: String(minutes) });
    if ($("labs-environment").value) query.set("environment", $("labs-environment").value);
    const answer = await api("GET", "/api/v1/admin/labs/progress?" + query);
    const items = answer.items || [];
    const body = $("admin-labs");
    body.replaceChildren();
    for (const item of items) {
      const done = Boolean(item.completedAt);
      const row = el("tr", { className: item.stuck ? "stuck" : "", dataset: { owner: item.owner.kind + ":" + item.owner.id, environment: item.environment, stuck: String(item.stuck) } });
      cell(row, [item.owner.name, item.owner.kind === "team" ? el("span", { className: "muted" }, " (team)") : null], "Learner");
      cell(row, item.environment, "Lab");
      cell(row, done ? "all " + item.stepCount + " done" : [String(item.stepIndex + 1) + "/" + item.stepCount + " ", item.stepTitle || item.step || ""], "Step");
      cell(row, done ? "" : Berth.duration(item.timeOnStepSeconds), "Time on step", "num");
      cell(row, item.lastCheckAt ? Berth.when(item.lastCheckAt) : "never", "Last check");
      cell(row, item.lastFailure ? el("span", { className: "failure" }, item.lastFailure) : "", "Last failure");
      const status = done ? el("span", { className: "badge ok" }, "completed") : item.stuck ? el("span", { className: "badge bad" }, "stuck") : el("span", { className: "badge" }, "working");
      cell(row, status, "Status");
      body.append(row);
    }
    const stuck = items.filter((item) => item.stuck).length;
    $("labs-summary").textContent = items.length === 0 ? "" : items.length + (items.length === 1 ? " learner, " : " learners, ") + stuck + " stuck";
    $("no-labs").hidden = items.length > 0;
  }

  /** Mebibytes with one decimal. */
  function mebibytes(bytes) {
    return (Number(bytes || 0) / 1048576).toFixed(1) + " MiB";
  }

  // Every value is text (textContent through el/cell): owner names and errors come from users and remote servers.
  async function loadWorkspaces() {
    const answer = await api("GET", "/api/v1/admin/workspaces");
    const items = answer.items || [];
    const body = $("admin-workspaces");
    body.replaceChildren();
    for (const item of items) {
      const row = el("tr", { dataset: { id: item.id, inUse: String(item.inUse), sync: item.sync.state } });
      const owner = item.ownerName || item.owner.id;
      cell(row, [owner, item.owner.kind === "team" ? el("span", { className: "muted" }, " (team)") : null], "Owner");
      cell(row, item.environment, "Environment");
      cell(row, item.usedBytes === undefined || item.usedBytes === null ? "not measured" : mebibytes(item.usedBytes), "Used", "num");
      cell(row, mebibytes(item.sizeBytes), "Size", "num");
      cell(row, Berth.when(item.lastUsedAt), "Last used");
      cell(row, item.inUse ? el("span", { className: "badge ok" }, "in use") : "no", "In use");
      cell(row, item.sync.state.replace("_", " ") + (item.sync.syncedAt ? ", " + Berth.dateTime(item.sync.syncedAt) : ""), "Sync");
      cell(row, item.sync.lastError ? el("span", { className: "failure" }, item.sync.lastError) : "", "Last error");
      const remove = el("button", { type: "button", className: "danger delete-workspace", disabled: item.inUse }, "Delete");
      remove.addEventListener("click", async () => {
        if (!confirm("Delete the workspace of " + owner + " in " + item.environment + "? Its files are removed for good (also from object storage).")) return;
        remove.disabled = true;
        try {
          await api("DELETE", "/api/v1/admin/workspaces/" + encodeURIComponent(item.id));
          Berth.notice("Workspace " + item.id + " was deleted.", null, "ok");
          await loadWorkspaces();
        } catch (error) {
          remove.disabled = false;
        }
      });
      cell(row, remove);
      body.append(row);
    }
    $("no-workspaces").hidden = items.length > 0;
  }

  $("labs-environment").addEventListener("change", () => reload("labs"));
  $("labs-stuck").addEventListener("change", () => reload("labs"));

  // -- settings -------------------------------------------------------------------------

  const SETTINGS = {
    registrationOpen: "checkbox", publicHost: "text", defaultTTL: "text", renewalCap: "number",
    assignment: "select", ownerCap: "number", globalCap: "number",
  };
  let settings = {};

  function fillSettings(values) {
    settings = values || {};
    for (const [name, kind] of Object.entries(SETTINGS)) {
      const input = $("setting-" + name);
      const value = settings[name];
      if (kind === "checkbox") input.checked = Boolean(value);
      else input.value = value === null || value === undefined ? "" : String(value);
    }
  }

  function readSetting(name, kind) {
    const input = $("setting-" + name);
    if (kind === "checkbox") return input.checked;
    const text = input.value.trim();
    if (kind === "number") return text === "" ? null : Number(text);
    // Empty optional text (public host, default TTL) clears it.
    if (kind === "text") return text === "" ? null : text;
    return text;
  }

  async function loadSettings() {
    fillSettings(await api("GET", "/api/v1/admin/settings"));
  }

  $("settings-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const message = $("settings-message");
    say(message, "");
    const changes = {};
    for (const [name, kind] of Object.entries(SETTINGS)) {
      const value = readSetting(name, kind);
      if (value !== (settings[name] ?? null)) changes[name] = value;
    }
    if (Object.keys(changes).length === 0) {
      say(message, "Nothing changed.", "info");
      return;
    }
    await Berth.busy(event.currentTarget, async () => {
      try {
        fillSettings(await api("PUT", "/api/v1/admin/settings", changes, { notice: false }));
        say(message, "Saved: " + Object.keys(changes).join(", ") + ".", "ok");
      } catch (error) {
        say(message, error.message);
      }
    });
  });

  // -- audit ----------------------------------------------------------------------------

  async function loadAudit() {
    const action = $("audit-action").value.trim();
    const query = "?order=desc&limit=100" + (action ? "&action=" + encodeURIComponent(action) : "");
    const answer = await api("GET", "/api/v1/audit" + query);
    const body = $("admin-audit");
    body.replaceChildren();
    for (const entry of answer.items || []) {
      const row = el("tr", { className: entry.result && entry.result !== "ok" ? "failed" : "", dataset: { sequence: String(entry.sequence) } });
      cell(row, String(entry.sequence), "#", "num");
      cell(row, Berth.when(entry.time), "Time");
      cell(row, (entry.actorName || entry.actorId || "anonymous") + (entry.actorRole ? " (" + entry.actorRole + ")" : ""), "Actor");
      cell(row, entry.clientIp || "", "Client");
      cell(row, el("code", {}, entry.action), "Action");
      cell(row, entry.target ? el("code", {}, entry.target) : "", "Target");
      cell(row, String(entry.status), "Status", "num");
      cell(row, entry.result, "Result");
      body.append(row);
    }
  }

  $("audit-action").addEventListener("keydown", (event) => {
    if (event.key === "Enter") reload("audit");
  });

  async function main() {
    const session = await Berth.start({ requireUser: true });
    if (!Berth.isAdmin(session)) {
      $("admin-only").hidden = false;
      return;
    }
    $("console").hidden = false;
    show(location.hash.slice(1));
    setInterval(everySecond, 1000);
  }

  Berth.run(main);
})();
