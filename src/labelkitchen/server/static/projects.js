// The projects list, and the form that creates a project (its creator becomes the owner).
import { api, el, formData, labelChip } from "./common.js";

const root = document.getElementById("projects-page");
const isAdmin = root.dataset.admin === "true";
const list = document.getElementById("project-list");
const form = document.getElementById("new-project");
const toggle = document.getElementById("new-project-toggle");
const ANNOTATING = new Set(["owner", "reviewer", "annotator"]);

function setOpen(open) {
  form.hidden = !open;
  toggle.setAttribute("aria-expanded", open ? "true" : "false");
  if (open) form.querySelector("[name=slug]").focus();
}
toggle.addEventListener("click", () => setOpen(form.hidden));
document.getElementById("new-project-cancel").addEventListener("click", () => setOpen(false));

function card(project) {
  const href = `/projects/${project.slug}`;
  const links = [
    ANNOTATING.has(project.role) ? el("a", { class: "button primary small", href: `${href}/annotate` }, "Annotate") : null,
    el("a", { class: "button small", href: `${href}/data` }, "Data"),
    project.role === "owner" || isAdmin ? el("a", { class: "button small ghost", href: `${href}/settings` }, "Settings") : null,
  ];
  const shown = project.labels.slice(0, 8);
  return el("article", { class: "card project-card", "data-slug": project.slug },
    el("header", {},
      el("h2", {}, el("a", { href }, project.name || project.slug)),
      el("span", { class: "badge task" }, project.task),
      el("span", { class: "badge role" }, project.role || "admin")),
    el("p", { class: "slug muted small" }, project.slug),
    project.description ? el("p", { class: "desc" }, project.description) : null,
    el("div", { class: "chips" }, shown.map((label) => labelChip(label)),
      project.labels.length > shown.length ? el("span", { class: "muted small" }, `+${project.labels.length - shown.length} more`) : null),
    el("footer", { class: "row" }, links));
}

async function load() {
  const projects = await api("/api/projects");
  list.removeAttribute("aria-busy");
  if (!projects.length) {
    list.replaceChildren(el("div", { class: "card empty-state" },
      el("h2", {}, "No projects yet"),
      el("p", {}, "Create one with “New project”, or ask a project owner to add you to theirs.")));
    return;
  }
  list.replaceChildren(...projects.map(card));
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const data = formData(form);
  const error = document.getElementById("new-project-error");
  error.textContent = "";
  const body = {
    slug: data.slug.trim(),
    name: data.name.trim(),
    task: data.task,
    labels: data.labels.split(",").map((name) => name.trim()).filter(Boolean),
    description: data.description.trim(),
  };
  try {
    const project = await api("/api/projects", { method: "POST", body });
    location.href = `/projects/${project.slug}`;
  } catch (failure) {
    error.textContent = failure.message;
  }
});

load().catch((error) => list.replaceChildren(el("p", { class: "error" }, `Could not load projects: ${error.message}`)));
