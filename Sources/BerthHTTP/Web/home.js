// Berth catalog (the start page): environments grouped by category, with points, solves and
// the caller's solved marks, and the caller's running instances. Text from the server goes in
// with textContent only (Berth.el), never as HTML.
"use strict";

(() => {
  const { api, el, cell } = Berth;
  const ENDED = new Set(["stopped", "expired", "failed"]);
  const REFRESH_MS = 15000;
  let instances = [];
  let names = new Map();

  function envPath(slug) {
    return "/environments/" + encodeURIComponent(slug);
  }

  function card(env) {
    const sandbox = env.hasFlag === false;
    const title = el("span", { className: "title" },
      el("span", { className: "name" }, env.name),
      el("span", { className: sandbox ? "muted" : "points" }, sandbox ? "sandbox" : (env.points ?? env.value ?? 0) + " pts"));
    const meta = el("span", { className: "meta" });
    if (env.solved) meta.append(el("span", { className: "solved-mark", attrs: { "aria-label": "solved" } }, "✓ solved"), " · ");
    const solves = Number(env.solves || 0);
    meta.append(solves === 1 ? "1 solve" : solves + " solves");
    if (env.enabled === false) meta.append(" ", el("span", { className: "badge warn" }, "disabled"));
    if (env.visibility === "hidden") meta.append(" ", el("span", { className: "badge warn" }, "hidden"));
    if (env.locked) {
      const names = env.lockedBy || [];
      const list = names.length < 2 ? names.join("") : names.slice(0, -1).join(", ") + " and " + names[names.length - 1];
      meta.append(" ", el("span", { className: "badge locked" }, "Locked: solve " + list + " first"));
    }
    const tags = el("ul", { className: "tags" }, (env.tags || []).map((tag) => el("li", { className: "tag" }, tag)));
    return el("a", {
      className: "env-card", href: envPath(env.slug),
      dataset: { slug: env.slug, solved: String(Boolean(env.solved)), locked: String(Boolean(env.locked)), hasInstance: String(env.hasInstance !== false) },
    }, title, meta, tags);
  }

  function renderCatalog(environments) {
    const catalog = document.getElementById("catalog");
    for (const old of catalog.querySelectorAll("section.category")) old.remove();
    const groups = new Map();
    for (const env of environments) {
      const category = env.category || "other";
      if (!groups.has(category)) groups.set(category, []);
      groups.get(category).push(env);
    }
    for (const category of Array.from(groups.keys()).sort((a, b) => a.localeCompare(b))) {
      const list = groups.get(category).sort((a, b) => (a.points ?? 0) - (b.points ?? 0) || a.name.localeCompare(b.name));
      catalog.append(el("section", { className: "category", dataset: { category } },
        el("h2", {}, category),
        el("div", { className: "cards" }, list.map(card))));
    }
    const solved = environments.filter((env) => env.solved).length;
    document.getElementById("catalog-summary").textContent = environments.length === 0
      ? "No environments are open yet."
      : environments.length + " environments, " + solved + " solved by you.";
    catalog.hidden = false;
  }

  function endpointList(instance) {
    const list = el("span", { className: "endpoints-inline" });
    for (const endpoint of instance.endpoints || []) {
      const address = endpoint.host + ":" + endpoint.hostPort;
      const target = endpoint.url && BerthMarkdown.safeURL(endpoint.url);
      if (list.childNodes.length) list.append(", ");
      if (target) list.append(el("a", { href: target.href, target: "_blank", rel: "noopener noreferrer" }, endpoint.url));
      else list.append(el("code", {}, address));
    }
    return list;
  }

  function renderInstances() {
    const body = document.getElementById("instances");
    body.replaceChildren();
    const active = instances.filter((instance) => !ENDED.has(instance.state));
    document.getElementById("my-instances").hidden = active.length === 0;
    for (const instance of active) {
      const row = el("tr", { dataset: { instanceId: instance.id } });
      cell(row, el("a", { href: envPath(instance.environment) }, names.get(instance.environment) || instance.environment), "Environment");
      cell(row, instance.state, "State");
      cell(row, "", "Expires in", "countdown").dataset.expiresAt = instance.expiresAt;
      cell(row, endpointList(instance), "Connection");
      cell(row, el("a", { href: envPath(instance.environment) }, "Open"));
      body.append(row);
    }
    tick();
  }

  function tick() {
    for (const td of document.querySelectorAll("#instances td.countdown")) {
      td.textContent = Berth.clock(Berth.secondsUntil(td.dataset.expiresAt));
    }
  }

  async function refreshInstances() {
    try {
      const answer = await api("GET", "/api/v1/instances?active=true&mine=true", undefined, { notice: false });
      instances = answer.items || [];
      renderInstances();
    } catch (error) {
      // The catalog stays useful without the list; the next refresh tries again.
    }
  }

  async function main() {
    const session = await Berth.start();
    if (!session.user) {
      document.getElementById("welcome").hidden = false;
      return;
    }
    document.getElementById("who").textContent = "Signed in as " + session.user.name + " (" + session.user.role + ").";
    const environments = (await api("GET", "/api/v1/environments")).items || [];
    names = new Map(environments.map((env) => [env.slug, env.name]));
    renderCatalog(environments);
    await refreshInstances();
    setInterval(tick, 1000);
    setInterval(refreshInstances, REFRESH_MS);
  }

  Berth.bindTokenForm(() => location.reload());
  Berth.run(main);
})();
