// Instance users (admins only): list, create, make admin, deactivate, set a new password.
import { api, el, formData, notify } from "./common.js";

const root = document.getElementById("users-page");
const me = root.dataset.me;
const rows = document.getElementById("user-rows");
const form = document.getElementById("user-form");

async function update(username, changes, what) {
  try {
    await api(`/api/users/${encodeURIComponent(username)}`, { method: "PATCH", body: changes });
    notify(`${username}: ${what}.`);
  } catch (error) {
    notify(error.message, "error");
  }
  load();
}

function toggle(user, key, label) {
  const self = user.username === me;
  return el("label", { class: "switch", title: self ? "You cannot change this for yourself here" : "" },
    el("input", {
      type: "checkbox", checked: user[key], disabled: self, "data-field": key, "aria-label": `${label} ${user.username}`,
      onchange: (event) => update(user.username, { [key]: event.target.checked }, `${event.target.checked ? "" : "not "}${label}`),
    }),
    el("span", { class: "switch-text" }, user[key] ? "yes" : "no"));
}

function passwordCell(user) {
  const input = el("input", { type: "password", minlength: "8", placeholder: "new password", autocomplete: "new-password", "aria-label": `New password for ${user.username}` });
  const username = el("input", { type: "text", name: "username", value: user.username, autocomplete: "username", hidden: true });
  const form = el("form", { class: "row", onsubmit: (event) => {
    event.preventDefault();
    if (input.value.length < 8) {
      notify("Passwords need at least 8 characters.", "error");
      return;
    }
    update(user.username, { password: input.value }, "password changed");
  } }, username, input, el("button", { type: "submit", class: "small" }, "Set"));
  return el("details", { class: "set-password" }, el("summary", {}, "change"), form);
}

async function load() {
  const users = await api("/api/users");
  rows.replaceChildren(...users.map((user) => el("tr", { "data-user": user.username, class: user.is_active ? "" : "inactive" },
    el("td", {}, el("b", {}, user.username), user.display_name ? el("span", { class: "muted" }, ` ${user.display_name}`) : null,
      user.username === me ? el("span", { class: "muted small" }, " (you)") : null),
    el("td", {}, toggle(user, "is_admin", "admin")),
    el("td", {}, toggle(user, "is_active", "active")),
    el("td", {}, passwordCell(user)))));
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const data = formData(form);
  const status = form.querySelector(".form-status");
  try {
    await api("/api/users", { method: "POST", body: {
      username: data.username.trim(), password: data.password, display_name: data.display_name.trim(), is_admin: Boolean(data.is_admin),
    } });
    status.classList.remove("error");
    status.textContent = `Created ${data.username.trim()} ✓`;
    form.reset();
    load();
  } catch (error) {
    status.classList.add("error");
    status.textContent = error.message;
  }
});

load().catch((error) => rows.replaceChildren(el("tr", {}, el("td", { colspan: "4", class: "error" }, error.message))));
