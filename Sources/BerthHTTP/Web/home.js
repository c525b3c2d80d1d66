// Berth start page: lists environments and the caller's instances. All values are shown with
// textContent, never as HTML.
"use strict";

const message = document.getElementById("message");

function token() { return localStorage.getItem("berth.token") || ""; }

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: { "Authorization": "Bearer " + token(), "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error((data.error && data.error.message) || ("HTTP " + response.status));
  return data;
}

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text;
  row.appendChild(td);
  return td;
}

async function load() {
  message.textContent = "";
  const who = document.getElementById("who");
  if (!token()) { who.textContent = "No token yet."; return; }
  try {
    const me = await api("GET", "/api/v1/me");
    who.textContent = "Signed in as " + me.name + " (" + me.role + ").";
    const environments = await api("GET", "/api/v1/environments");
    const envBody = document.getElementById("environments");
    envBody.replaceChildren();
    for (const env of environments.items) {
      const row = document.createElement("tr");
      cell(row, env.name);
      cell(row, env.category);
      const button = document.createElement("button");
      button.textContent = "Start";
      button.addEventListener("click", async () => {
        button.disabled = true;
        try {
          const instance = await api("POST", "/api/v1/instances", { environment: env.slug });
          location.href = "/instances/" + encodeURIComponent(instance.id) + "/terminal";
        } catch (error) {
          message.textContent = error.message;
          button.disabled = false;
        }
      });
      cell(row, "").appendChild(button);
      envBody.appendChild(row);
    }
    const instances = await api("GET", "/api/v1/instances?active=true");
    const instBody = document.getElementById("instances");
    instBody.replaceChildren();
    for (const instance of instances.items) {
      const row = document.createElement("tr");
      cell(row, instance.id);
      cell(row, instance.environment);
      cell(row, instance.state);
      cell(row, new Date(instance.expiresAt).toLocaleTimeString());
      const endpoints = cell(row, "");
      for (const endpoint of instance.endpoints) {
        const link = document.createElement("a");
        link.textContent = endpoint.url || (endpoint.host + ":" + endpoint.hostPort);
        if (endpoint.url) link.href = endpoint.url;
        endpoints.appendChild(link);
      }
      const open = document.createElement("a");
      open.textContent = "Open terminal";
      open.href = "/instances/" + encodeURIComponent(instance.id) + "/terminal";
      cell(row, "").appendChild(open);
      instBody.appendChild(row);
    }
  } catch (error) {
    message.textContent = error.message;
  }
}

document.getElementById("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  localStorage.setItem("berth.token", document.getElementById("token").value.trim());
  document.getElementById("token").value = "";
  load();
});
document.getElementById("forget").addEventListener("click", () => {
  localStorage.removeItem("berth.token");
  load();
});
load();
