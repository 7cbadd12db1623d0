// Project settings (owners and admins): name and description, the label set, the queue, review
// (consensus rule, spot-check share), members.
import { api, boot, el, formData, notify, tint } from "./common.js";

const root = document.getElementById("settings-page");
let project = boot(root, "project");
const base = `/api/projects/${encodeURIComponent(project.slug)}`;
const me = root.dataset.me;
const ROLES = ["owner", "reviewer", "annotator", "viewer"];
let pending = []; // labels added here and not saved yet

function done(form, message = "Saved") {
  const status = form.querySelector(".form-status");
  status.textContent = `${message} ✓`;
  status.classList.remove("error");
  setTimeout(() => { status.textContent = ""; }, 3000);
}

function failed(form, error) {
  const status = form.querySelector(".form-status");
  status.textContent = error.message;
  status.classList.add("error");
}

async function patch(form, changes) {
  try {
    project = await api(base, { method: "PATCH", body: changes });
    fill();
    done(form);
  } catch (error) {
    failed(form, error);
  }
}

// ---- general and queue ---------------------------------------------------------------------

const general = document.getElementById("general-form");
const queue = document.getElementById("queue-form");
const reviewForm = document.getElementById("review-form");
const REVIEW_FIELDS = { consensus_rule: String, consensus_threshold: Number, consensus_min_answers: Number, spot_check_share: Number };

function fill() {
  general.elements.name.value = project.name || "";
  general.elements.description.value = project.description || "";
  const s = project.settings;
  queue.elements.overlap.value = s.overlap;
  queue.elements.queue_strategy.value = s.queue_strategy;
  queue.elements.reservation_minutes.value = s.reservation_minutes;
  queue.elements.queue_skips_gold.checked = s.queue_skips_gold;
  if (queue.elements.allow_overlapping_spans) queue.elements.allow_overlapping_spans.checked = s.allow_overlapping_spans;
  for (const name of Object.keys(REVIEW_FIELDS)) reviewForm.elements[name].value = s[name];
  renderLabels();
}

general.addEventListener("submit", (event) => {
  event.preventDefault();
  const data = formData(general);
  patch(general, { name: data.name.trim(), description: data.description.trim() });
});

queue.addEventListener("submit", (event) => {
  event.preventDefault();
  const settings = {
    overlap: Number(queue.elements.overlap.value),
    queue_strategy: queue.elements.queue_strategy.value,
    reservation_minutes: Number(queue.elements.reservation_minutes.value),
    queue_skips_gold: queue.elements.queue_skips_gold.checked,
  };
  if (queue.elements.allow_overlapping_spans) settings.allow_overlapping_spans = queue.elements.allow_overlapping_spans.checked;
  patch(queue, { settings });
});

reviewForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const settings = {};
  for (const [name, convert] of Object.entries(REVIEW_FIELDS)) settings[name] = convert(reviewForm.elements[name].value);
  patch(reviewForm, { settings });
});

// ---- labels ----------------------------------------------------------------------------------

const labelsForm = document.getElementById("labels-form");
const labelRows = document.getElementById("label-rows");

function labelRow(label, isNew) {
  const swatch = el("input", { type: "color", name: "color", value: label.color || "#888888", "aria-label": `Colour of ${label.name}` });
  return el("tr", { class: isNew ? "new-label" : "", "data-name": label.name },
    el("td", {}, swatch),
    el("td", {}, tint(el("span", { class: "chip" }, label.name), label.color), isNew ? el("span", { class: "muted small" }, " new") : null),
    el("td", {}, el("input", { name: "hotkey", value: label.hotkey || "", maxlength: "1", class: "hotkey-input", "aria-label": `Hotkey of ${label.name}` })),
    el("td", { class: "grow" }, el("input", { name: "description", value: label.description || "", class: "full", "aria-label": `Description of ${label.name}` })));
}

function renderLabels() {
  labelRows.replaceChildren(...project.labels.map((l) => labelRow(l, false)), ...pending.map((l) => labelRow(l, true)));
}

document.getElementById("add-label").addEventListener("click", () => {
  const f = labelsForm.elements;
  const name = f.new_name.value.trim();
  if (!name) {
    f.new_name.focus();
    return;
  }
  if ([...project.labels, ...pending].some((l) => l.name === name)) {
    notify(`There is a label “${name}” already.`, "error");
    return;
  }
  pending.push({ name, hotkey: f.new_hotkey.value.trim() || null, color: f.new_color.value, description: f.new_description.value.trim() });
  for (const key of ["new_name", "new_hotkey", "new_description"]) f[key].value = "";
  renderLabels();
  f.new_name.focus();
});

labelsForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const labels = [...labelRows.querySelectorAll("tr")].map((tr) => {
    const hotkey = tr.querySelector("[name=hotkey]").value.trim();
    const label = { name: tr.dataset.name, color: tr.querySelector("[name=color]").value, description: tr.querySelector("[name=description]").value.trim() };
    if (hotkey) label.hotkey = hotkey;
    return label;
  });
  const before = pending;
  pending = [];
  await patch(labelsForm, { labels });
  if (labelsForm.querySelector(".form-status").classList.contains("error")) {
    pending = before;
    renderLabels();
  }
});

// ---- members ---------------------------------------------------------------------------------

const memberRows = document.getElementById("member-rows");
const memberForm = document.getElementById("member-form");

async function loadMembers() {
  const members = await api(`${base}/members`);
  memberRows.replaceChildren(...members.map((m) => {
    const select = el("select", { "aria-label": `Role of ${m.username}`, onchange: () => setRole(m.username, select.value) },
      ROLES.map((r) => el("option", { value: r }, r)));
    select.value = m.role;
    return el("tr", { "data-user": m.username },
      el("td", {}, el("b", {}, m.username), m.display_name ? el("span", { class: "muted" }, ` ${m.display_name}`) : null,
        m.username === me ? el("span", { class: "muted small" }, " (you)") : null),
      el("td", {}, select),
      el("td", { class: "end" }, el("button", { type: "button", class: "ghost small", onclick: () => removeMember(m.username) }, "Remove")));
  }));
  if (!members.length) memberRows.replaceChildren(el("tr", {}, el("td", { colspan: "3", class: "muted" }, "No members yet.")));
}

async function setRole(username, role) {
  try {
    await api(`${base}/members/${encodeURIComponent(username)}`, { method: "PUT", body: { role } });
    notify(`${username} is now ${role === "owner" ? "an" : "a"} ${role}.`);
  } catch (error) {
    notify(error.message, "error");
  }
  loadMembers();
}

async function removeMember(username) {
  const warning = username === me ? "Remove yourself from this project? You may lose access to it." : `Remove ${username} from this project?`;
  if (!window.confirm(warning)) return;
  try {
    await api(`${base}/members/${encodeURIComponent(username)}`, { method: "DELETE" });
    notify(`${username} removed.`);
  } catch (error) {
    notify(error.message, "error");
  }
  loadMembers();
}

memberForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const data = formData(memberForm);
  try {
    await api(`${base}/members/${encodeURIComponent(data.username.trim())}`, { method: "PUT", body: { role: data.role } });
    memberForm.elements.username.value = "";
    done(memberForm, "Added");
    loadMembers();
  } catch (error) {
    failed(memberForm, error);
  }
});

async function loadKnownUsers() {
  if (root.dataset.admin !== "true") return;
  const users = await api("/api/users");
  document.getElementById("known-users").replaceChildren(...users.map((u) => el("option", { value: u.username }, u.display_name || u.username)));
}

// ---- delete ----------------------------------------------------------------------------------

const deleteForm = document.getElementById("delete-form");
deleteForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (deleteForm.elements.confirm.value.trim() !== project.slug) {
    notify(`Type ${project.slug} to confirm.`, "error");
    return;
  }
  try {
    await api(base, { method: "DELETE" });
    location.href = "/";
  } catch (error) {
    notify(error.message, "error");
  }
});

fill();
api(base).then((fresh) => { project = fresh; fill(); }).catch(() => {});
loadMembers().catch((error) => memberRows.replaceChildren(el("tr", {}, el("td", { colspan: "3", class: "error" }, error.message))));
loadKnownUsers().catch(() => {});
