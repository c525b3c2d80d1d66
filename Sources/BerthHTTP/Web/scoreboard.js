// Berth scoreboard: players or teams by rank, refreshed every half minute. Names are shown with
// textContent only.
"use strict";

(() => {
  const { api, el, cell } = Berth;
  const REFRESH_MS = 30000;
  let mine = new Set();

  async function load() {
    const board = await api("GET", "/api/v1/scoreboard");
    const teams = board.mode === "teams";
    document.getElementById("scoreboard-mode").textContent = teams ? "Teams score together: a solve by any member counts for the team." : "Each player scores on their own.";
    document.getElementById("name-heading").textContent = teams ? "Team" : "Player";
    const body = document.getElementById("scoreboard");
    body.replaceChildren();
    for (const entry of board.entries || []) {
      const row = el("tr", { dataset: { id: entry.id, rank: String(entry.rank) } });
      if (mine.has(entry.id)) row.className = "me";
      cell(row, String(entry.rank), "Rank", "num rank");
      cell(row, entry.name, teams ? "Team" : "Player", "name");
      cell(row, String(entry.points), "Points", "num points-cell");
      cell(row, String(entry.solves), "Solves", "num");
      cell(row, Berth.when(entry.lastSolveAt), "Last solve");
      body.append(row);
    }
    document.getElementById("scoreboard-empty").hidden = (board.entries || []).length > 0;
  }

  async function main() {
    const session = await Berth.start();
    if (session.user) {
      mine.add(session.user.id);
      if (session.scoring === "teams") {
        const answer = await api("GET", "/api/v1/me/team", undefined, { notice: false }).catch(() => null);
        if (answer && answer.team) mine.add(answer.team.id);
      }
    }
    await load();
    setInterval(() => load().catch(() => {}), REFRESH_MS);
  }

  Berth.run(main);
})();
