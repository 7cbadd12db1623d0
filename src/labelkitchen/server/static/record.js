// One record with its gold label and every annotation the API lets the caller see.
// Span annotations are drawn over the text (choose which source's spans to show).
import { api, boot, el, fill, labelChip, sourceBadge, tint, when } from "./common.js";
import { segments } from "./text.js";

const root = document.getElementById("record-page");
const project = boot(root, "project");
const recordId = Number(root.dataset.record);
const labels = new Map(project.labels.map((label) => [label.name, label]));
const view = document.getElementById("record-view");
const list = document.getElementById("annotations");

if (document.referrer.includes(`/projects/${project.slug}/data`)) {
  document.getElementById("back-link").addEventListener("click", (event) => {
    event.preventDefault();
    history.back(); // keeps the filters and the page the reader came from
  });
}

const chip = (name) => labelChip(labels.get(name) || { name });

function valueView(value) {
  if (!value) return el("span", { class: "muted" }, "—");
  if (typeof value.label === "string") {
    const probs = value.probs && value.probs[value.label] !== undefined ? ` ${(100 * value.probs[value.label]).toFixed(0)}%` : "";
    return el("span", {}, chip(value.label), probs ? el("span", { class: "muted small" }, probs) : null);
  }
  if (Array.isArray(value.labels)) return value.labels.length ? el("span", { class: "chips" }, value.labels.map(chip)) : el("span", { class: "muted" }, "no labels");
  if (Array.isArray(value.spans)) return el("span", {}, `${value.spans.length} span${value.spans.length === 1 ? "" : "s"}`);
  return el("code", {}, JSON.stringify(value));
}

function highlighted(text, spans) {
  const box = el("div", { class: "record-text highlighted", id: "record-text" });
  for (const part of segments(text, spans)) {
    if (!part.labels.length) {
      box.append(part.text);
      continue;
    }
    const mark = tint(el("mark", { class: "ent" }, part.text), labels.get(part.labels[0])?.color || "#888888");
    if (part.labels.length > 1) mark.classList.add("multi");
    box.append(mark);
    for (const name of part.ends) box.append(tint(el("span", { class: "tag" }, name), labels.get(name)?.color));
  }
  return box;
}

function spanList(text, spans) {
  const chars = [...text];
  return el("ol", { class: "span-list" }, spans.map((span) => el("li", {}, chip(span.label), ` “${chars.slice(span.start, span.end).join("")}” `,
    el("span", { class: "muted small" }, `[${span.start}, ${span.end})`))));
}

function render(record) {
  const withSpans = [];
  if (record.gold?.value?.spans) withSpans.push({ name: `gold (${record.gold.method})`, spans: record.gold.value.spans });
  for (const a of record.annotations) {
    if (a.value?.spans) withSpans.push({ name: `${a.source.kind}: ${a.source.name}`, spans: a.value.spans });
  }
  const textBox = el("div", { class: "text-holder" });
  const showSpans = (index) => {
    const chosen = withSpans[index];
    fill(textBox, chosen ? highlighted(record.text, chosen.spans) : el("div", { class: "record-text", id: "record-text" }, record.text),
      chosen && chosen.spans.length ? el("details", { class: "spans-detail" }, el("summary", {}, `${chosen.spans.length} spans`), spanList(record.text, chosen.spans)) : null);
  };
  let picker = null;
  if (withSpans.length) {
    picker = el("label", { class: "inline" }, "Show spans of ",
      el("select", { id: "span-source", onchange: (event) => showSpans(Number(event.target.value)) },
        withSpans.map((w, i) => el("option", { value: String(i) }, w.name)),
        el("option", { value: "-1" }, "nobody (plain text)")));
  }
  showSpans(withSpans.length ? 0 : -1);
  const meta = Object.entries(record.meta || {}).filter(([, v]) => v !== null && v !== "");
  fill(view,
    el("header", { class: "record-head" },
      el("h1", { class: "record-id" }, `Record #${record.id}`),
      record.split ? el("span", { class: "badge" }, record.split) : null,
      record.external_id ? el("span", { class: "ext", title: "External id" }, record.external_id) : null),
    meta.length ? el("dl", { class: "meta" }, meta.map(([k, v]) => [el("dt", {}, k), el("dd", {}, typeof v === "object" ? JSON.stringify(v) : String(v))])) : null,
    record.gold ? el("p", { class: "gold" }, el("b", {}, "Gold "), valueView(record.gold.value), el("span", { class: "muted small" }, ` · ${record.gold.method}`)) : null,
    picker,
    textBox);
  view.removeAttribute("aria-busy");

  if (!record.annotations.length) {
    list.replaceChildren(el("p", { class: "muted" }, "No annotations you may see yet."));
    return;
  }
  list.replaceChildren(el("table", { class: "table" },
    el("thead", {}, el("tr", {}, ["Source", "Answer", "Value", "Note", "Time", "When"].map((h) => el("th", {}, h)))),
    el("tbody", {}, record.annotations.map((a) => el("tr", { class: "annotation-row" },
      el("td", {}, sourceBadge(a.source)),
      el("td", {}, el("span", { class: `answer answer-${a.answer}` }, a.answer)),
      el("td", {}, valueView(a.value)),
      el("td", { class: "small" }, a.flag_reason || ""),
      el("td", { class: "num small" }, a.duration_ms !== null && a.duration_ms !== undefined ? `${(a.duration_ms / 1000).toFixed(1)} s` : ""),
      el("td", { class: "small muted" }, when(a.created_at)))))));
}

api(`/api/projects/${encodeURIComponent(project.slug)}/records/${recordId}`)
  .then(render)
  .catch((error) => {
    view.removeAttribute("aria-busy");
    view.replaceChildren(el("h1", {}, error.status === 404 ? "Record not found" : "Could not load the record"), el("p", { class: "error" }, error.message));
    list.replaceChildren();
  });
