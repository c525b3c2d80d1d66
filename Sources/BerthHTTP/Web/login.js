// Berth sign-in page: sign in, register, GitHub sign-in, or an API token kept in localStorage.
"use strict";

(() => {
  const { api, say } = Berth;
  const next = Berth.safeNext(new URLSearchParams(location.search).get("next"));

  function field(id) { return document.getElementById(id); }

  /** The server's message, with a fallback for answers that carry none. */
  function explain(error) {
    if (error.code === "invalid_credentials" && !error.message) return "Wrong name or password.";
    return error.message;
  }

  async function signIn(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const message = field("login-error");
    say(message, "");
    await Berth.busy(form, async () => {
      try {
        await api("POST", "/api/v1/auth/login", { name: field("login-name").value.trim(), password: field("login-password").value }, { notice: false });
        Berth.setToken("");
        location.href = next;
      } catch (error) {
        say(message, explain(error));
        field("login-password").value = "";
      }
    });
  }

  async function register(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const message = field("register-error");
    say(message, "");
    const password = field("register-password").value;
    if (password !== field("register-password-again").value) {
      say(message, "The two passwords differ. Type the same password twice.");
      return;
    }
    await Berth.busy(form, async () => {
      try {
        await api("POST", "/api/v1/auth/register", { name: field("register-name").value.trim(), password }, { notice: false });
        Berth.setToken("");
        location.href = next;
      } catch (error) {
        say(message, explain(error));
      }
    });
  }

  async function main() {
    const session = await Berth.start();
    if (new URLSearchParams(location.search).get("changed") === "password" && !session.user) {
      say(field("login-error"), "Your password was changed. Sign in with the new one.", "ok");
    }
    if (session.user) {
      const text = "You are signed in as " + session.user.name + ". ";
      const box = field("signed-in");
      box.replaceChildren(text, Berth.el("a", { href: next }, "Continue"));
      box.hidden = false;
    }
    if (session.githubLogin) field("github").hidden = false;
    if (!session.registrationOpen) {
      field("register-form").hidden = true;
      field("registration-closed").hidden = false;
    }
    if (Berth.token()) field("token-signin").open = true;
  }

  // Listen before the session arrives: a form must never fall back to a native submit.
  field("login-form").addEventListener("submit", signIn);
  field("register-form").addEventListener("submit", register);
  Berth.bindTokenForm(() => { location.href = next; });
  Berth.run(main);
})();
