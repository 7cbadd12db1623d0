// The data browser: filters in the URL, keyset pages ("next page" passes the last id), and a
// click on a record opens it with every annotation the caller may see.
import { api, boot, el, formData } from "./common.js";

const root = document.getElementById("data-page");
const project = boot(root, "project");
const base = `/api/projects/${encodeURIComponent(project.slug)}`;
const FILTERS = ["q", "label", "source", "answer", "split"];
const PAGE = 50;
const form = document.getElementById("filters");
const rows = document.getElementById("rows");
const prev = document.getElementById("prev-page");
const next = document.getElementById("next-page");
const status = document.getElementById("page-status");

// The view: filters, the keyset position, and the positions of the pages before it.
let view = fromUrl();
let nextAfter = null;

function fromUrl() {
  const params = new URLSearchParams(location.search);
  const filters = Object.fromEntries(FILTERS.map((key) => [key, params.get(key) || ""]));
  return history.state?.view || { filters, after: Number(params.get("after")) || 0, trail: [] };
}

function toUrl(push) {
  const params = new URLSearchParams();
  for (const key of FILTERS) if (view.filters[key]) params.set(key, view.filters[key]);
  if (view.after) params.set("after", String(view.after));
  const query = params.toString();
  const url = `${location.pathname}${query ? `?${query}` : ""}`;
  if (push) history.pushState({ view }, "", url);
  else history.replaceState({ view }, "", url);
}

function fillForm() {
  for (const key of FILTERS) form.elements[key].value = view.filters[key];
}

function row(record) {
  const href = `/projects/${project.slug}/records/${record.id}`;
  const text = record.text.replace(/\s+/g, " ").trim();
  const tr = el("tr", { class: "clickable", "data-id": String(record.id) },
    el("td", { class: "num muted" }, String(record.id)),
    el("td", { class: "text-cell" }, el("a", { href, class: "record-link" }, text || "(empty)"), record.truncated ? el("span", { class: "muted" }, " …") : null),
    el("td", {}, record.split ? el("span", { class: "badge" }, record.split) : null));
  tr.addEventListener("click", (event) => {
    if (!(event.target instanceof HTMLAnchorElement)) location.href = href;
  });
  return tr;
}

async function load() {
  const params = new URLSearchParams({ limit: String(PAGE), after: String(view.after) });
  for (const key of FILTERS) if (view.filters[key]) params.set(key, view.filters[key]);
  rows.parentElement.setAttribute("aria-busy", "true");
  try {
    const page = await api(`${base}/records?${params}`);
    nextAfter = page.next_after;
    rows.replaceChildren(...(page.records.length
      ? page.records.map(row)
      : [el("tr", {}, el("td", { colspan: "3", class: "muted empty-row" }, view.after ? "No more records." : "No records match these filters."))]));
    const first = view.trail.length * PAGE + 1;
    status.textContent = page.records.length ? `Page ${view.trail.length + 1} · records ${first}–${first + page.records.length - 1} of the matches` : "";
  } catch (error) {
    rows.replaceChildren(el("tr", {}, el("td", { colspan: "3", class: "error" }, error.message)));
    nextAfter = null;
  }
  rows.parentElement.removeAttribute("aria-busy");
  prev.disabled = !view.after;
  next.disabled = nextAfter === null;
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const data = formData(form);
  view = { filters: Object.fromEntries(FILTERS.map((key) => [key, (data[key] || "").trim()])), after: 0, trail: [] };
  toUrl(true);
  load();
});
document.getElementById("clear-filters").addEventListener("click", () => {
  view = { filters: Object.fromEntries(FILTERS.map((key) => [key, ""])), after: 0, trail: [] };
  fillForm();
  toUrl(true);
  load();
});
next.addEventListener("click", () => {
  if (nextAfter === null) return;
  view = { ...view, trail: [...view.trail, view.after], after: nextAfter };
  toUrl(true);
  load();
  window.scrollTo({ top: 0 });
});
prev.addEventListener("click", () => {
  const trail = [...view.trail];
  view = { ...view, after: trail.pop() ?? 0, trail };
  toUrl(true);
  load();
});
window.addEventListener("popstate", () => {
  view = fromUrl();
  fillForm();
  load();
});

async function loadSplits() {
  const stats = await api(`${base}/stats`);
  const select = document.getElementById("split-select");
  for (const name of Object.keys(stats.records_by_split)) {
    if (name !== "(none)") select.append(el("option", { value: name }, name));
  }
  select.value = view.filters.split;
}

fillForm();
toUrl(false);
load();
loadSplits().catch(() => {});
