// Berth account page: personal API tokens (list, create with the secret shown once, delete) and
// the password change.
"use strict";

(() => {
  const { api, el, cell, say } = Berth;
  const $ = (id) => document.getElementById(id);

  async function loadTokens() {
    const answer = await api("GET", "/api/v1/me/tokens");
    const items = (answer && answer.items) || [];
    const body = $("tokens");
    body.replaceChildren();
    for (const item of items) {
      const row = el("tr", { dataset: { id: item.id } });
      cell(row, item.name, "Name");
      cell(row, Berth.when(item.createdAt), "Created");
      const remove = el("button", { type: "button", className: "danger" }, "Delete");
      remove.addEventListener("click", async () => {
        if (!confirm("Delete the token '" + item.name + "'? Anything using it stops working.")) return;
        remove.disabled = true;
        try {
          await api("DELETE", "/api/v1/me/tokens/" + encodeURIComponent(item.id));
          await loadTokens();
        } catch (error) {
          remove.disabled = false;
        }
      });
      cell(row, remove);
      body.append(row);
    }
    $("no-tokens").hidden = items.length > 0;
  }

  $("token-create-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    await Berth.busy(event.currentTarget, async () => {
      try {
        const issued = await api("POST", "/api/v1/me/tokens", { name: $("token-name").value.trim() });
        $("token-name").value = "";
        $("new-token-name").textContent = issued.name;
        $("new-token-secret").textContent = issued.token;
        $("new-token-copy").replaceChildren(Berth.copyButton(issued.token, "Copy token"));
        $("new-token").hidden = false;
        await loadTokens();
      } catch (error) {
        // The notice says why.
      }
    });
  });
  $("new-token-done").addEventListener("click", () => {
    $("new-token-secret").textContent = "";
    $("new-token").hidden = true;
  });

  $("password-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const message = $("password-message");
    say(message, "");
    const fresh = $("password-new").value;
    if (fresh !== $("password-again").value) {
      say(message, "The two new passwords differ. Type the same password twice.");
      return;
    }
    await Berth.busy(event.currentTarget, async () => {
      try {
        await api("PUT", "/api/v1/me/password", { current: $("password-current").value, new: fresh }, { notice: false });
        event.target.reset();
        // A password change may end this browser's session too: then sign in again.
        const current = await Berth.refreshSession();
        if (!current.user) {
          location.href = "/login?changed=password&next=" + encodeURIComponent("/account");
          return;
        }
        say(message, "Your password was changed.", "ok");
      } catch (error) {
        say(message, error.message);
      }
    });
  });

  async function main() {
    const session = await Berth.start({ requireUser: true });
    const user = session.user;
    $("password-username").value = user.name;
    $("profile").textContent = "Signed in as " + user.name + " (" + user.role + ")" + (user.createdAt ? ", member since " + Berth.relativeTime(user.createdAt) : "") + ".";
    await loadTokens();
  }

  Berth.run(main);
})();
