// "My resolved disagreements": how the records this annotator disagreed on were decided. Their
// answer beside the final label, the method, the reviewer and note, and how the answers split
// (counts, never names). Everything arrives through GET review/mine and is shown as text only.
import { api, boot, el, fill, fmt, labelChip, notify, when } from "./common.js";
import { codePointMap } from "./text.js";

const root = document.getElementById("decisions-page");
const project = boot(root, "project");
const base = `/api/projects/${encodeURIComponent(project.slug)}`;
const labels = new Map(project.labels.map((label) => [label.name, label]));
const LIMIT = 200;
const METHODS = {
  adjudicated: "decided by a reviewer",
  reviewed: "set by a reviewer",
  consensus: "consensus of the answers",
};

const box = document.getElementById("decisions");
const onlyOverruled = document.getElementById("only-overruled");
let items = [];

// A value as people read it: label chips, or the spans with the text they cover.
function showValue(value, text) {
  if (project.task === "spans") {
    const spans = value?.spans || [];
    if (!spans.length) return el("span", { class: "muted" }, "no spans");
    const map = codePointMap(text);
    const at = (i) => map[Math.min(i, map.length - 1)];
    return el("ul", { class: "span-answers" }, spans.map((s) => el("li", {},
      labelChip(labels.get(s.label) || { name: s.label }),
      el("span", { class: "quoted" }, `“${text.slice(at(s.start), at(s.end))}”`),
      el("span", { class: "muted small" }, ` ${s.start}–${s.end}`))));
  }
  const names = typeof value?.label === "string" ? [value.label] : value?.labels || [];
  if (!names.length) return el("span", { class: "muted" }, project.task === "multilabel" ? "no labels" : "no label");
  return el("span", { class: "chips" }, names.map((name) => labelChip(labels.get(name) || { name })));
}

function decisionCard(item) {
  const total = item.answers.reduce((n, a) => n + a.count, 0);
  return el("article", {
    class: `card decision${item.agreed ? " agreed" : " overruled"}`, "data-record-id": String(item.record_id),
    "aria-label": `Record ${item.record_id}`,
  },
  el("header", { class: "record-head" },
    el("b", { class: "record-id" }, `Record #${item.record_id}`),
    item.external_id ? el("span", { class: "ext", title: "External id" }, item.external_id) : null,
    item.agreed
      ? el("span", { class: "badge verdict verdict-agreed" }, "your answer stands")
      : el("span", { class: "badge verdict verdict-overruled" }, "final label differs from yours")),
  el("div", { class: "record-text review-text" }, item.text),
  el("div", { class: "compare" },
    el("div", { class: "side mine" }, el("h3", {}, "Your answer"), showValue(item.mine, item.text)),
    el("div", { class: "side final" }, el("h3", {}, "Final label"), showValue(item.final, item.text))),
  item.note
    ? el("blockquote", { class: "reviewer-note" }, el("span", { class: "muted small" }, "Note: "), el("span", { class: "note-text" }, item.note))
    : null,
  el("p", { class: "small muted how" },
    el("span", { class: "method" }, METHODS[item.method] || item.method),
    item.reviewer ? [" (", el("span", { class: "reviewer" }, item.reviewer), ")"] : null,
    item.decided_at ? ` · ${when(item.decided_at)}` : null),
  el("div", { class: "split small" },
    el("span", { class: "muted" }, `How the ${fmt(total)} answers split: `),
    el("ul", { class: "answer-split" }, item.answers.map((a) => el("li", {},
      showValue(a.value, item.text), el("span", { class: "count" }, ` × ${fmt(a.count)}`))))));
}

function render() {
  const shown = onlyOverruled.checked ? items.filter((item) => !item.agreed) : items;
  const overruled = items.filter((item) => !item.agreed).length;
  document.getElementById("decisions-summary").textContent = items.length
    ? `${fmt(items.length)}${items.length >= LIMIT ? "+" : ""} decided, ${fmt(overruled)} with a final label other than yours.`
    : "";
  if (!shown.length) {
    fill(box, el("div", { class: "card empty-state", id: "decisions-empty" },
      el("h2", {}, items.length ? "No decision went against your answer" : "Nothing resolved yet"),
      el("p", { class: "muted" }, items.length
        ? "Untick the box to see every resolved disagreement."
        : "When a record you answered has disagreeing answers and a final label is decided, it shows up here.")));
  } else {
    fill(box, shown.map(decisionCard));
  }
  box.removeAttribute("aria-busy");
}

onlyOverruled.addEventListener("change", render);

try {
  items = await api(`${base}/review/mine?limit=${LIMIT}`);
  render();
} catch (error) {
  fill(box, el("p", { class: "error" }, error.message));
  box.removeAttribute("aria-busy");
  notify(error.message, "error");
}
