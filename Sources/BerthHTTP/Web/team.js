// Berth team page: the caller's team (name, invite code, members, leave), or forms to create or
// join one. Names and codes are shown with textContent only.
"use strict";

(() => {
  const { api, el, say } = Berth;
  const $ = (id) => document.getElementById(id);

  function render(team) {
    $("team").hidden = !team;
    $("no-team").hidden = Boolean(team);
    if (!team) return;
    $("team-name").textContent = team.name;
    $("invite-code").textContent = team.inviteCode || "";
    $("invite-copy").replaceChildren(team.inviteCode ? Berth.copyButton(team.inviteCode) : "");
    // Members are {id, name}; an older answer lists ids only.
    $("members").replaceChildren(...(team.members || []).map((member) =>
      el("li", { dataset: { id: typeof member === "string" ? member : member.id } }, typeof member === "string" ? member : member.name)));
  }

  async function load() {
    const answer = await api("GET", "/api/v1/me/team");
    render(answer && answer.team);
  }

  function teamForm(formId, errorId, submit) {
    $(formId).addEventListener("submit", async (event) => {
      event.preventDefault();
      say($(errorId), "");
      await Berth.busy(event.currentTarget, async () => {
        try {
          const team = await submit();
          render(team && team.team ? team.team : team);
          await load();
        } catch (error) {
          say($(errorId), error.message);
        }
      });
    });
  }

  teamForm("create-team-form", "create-team-error", () =>
    api("POST", "/api/v1/me/team", { name: $("create-team-name").value.trim() }, { notice: false }));
  teamForm("join-team-form", "join-team-error", () =>
    api("POST", "/api/v1/me/team/join", { inviteCode: $("join-team-code").value.trim() }, { notice: false }));
  $("leave").addEventListener("click", async () => {
    if (!confirm("Leave this team? You need an invite code to come back.")) return;
    try {
      await api("DELETE", "/api/v1/me/team");
      await load();
    } catch (error) {
      // The notice says why.
    }
  });

  async function main() {
    const session = await Berth.start({ requireUser: true });
    $("team-mode").textContent = session.scoring === "teams"
      ? "Points are scored per team: a solve by any member counts for everyone in it."
      : "Points are scored per player. A team can still share instances when the organisers choose per-team assignment.";
    await load();
  }

  Berth.run(main);
})();
