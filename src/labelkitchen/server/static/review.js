// The Review page (reviewers, owners, admins): the disagreement queue where a reviewer decides
// gold, agreement (overall, per label, the annotator-pair heat map, over time), annotator
// statistics, spot checks and, where the server has them, suspected label errors. Record text and
// every answer arrive through the JSON API and are shown as text only.
import { SpanEditor } from "./annotate_spans.js";
import { api, boot, el, fill, fmt, isTyping, kbd, labelChip, notify, svg, tint, when } from "./common.js";
import { codePointMap } from "./text.js";

const $ = (id) => document.getElementById(id);
const root = $("review-page");
const project = boot(root, "project");
const base = `/api/projects/${encodeURIComponent(project.slug)}`;
const labels = new Map(project.labels.map((label) => [label.name, label]));
const QUEUE_LIMIT = 200;

const NAMES = {
  krippendorff_alpha: "Krippendorff's α",
  fleiss_kappa: "Fleiss' κ",
  percent_agreement: "Percent agreement",
  gwet_ac1: "Gwet's AC1",
  span_f1_exact: "Span F1, exact",
  span_f1_token: "Span F1, overlap",
  cohen_kappa: "Cohen's κ",
};

const state = {
  tab: null,
  loaded: new Set(),
  items: [], // the review queue
  current: 0,
  editing: false,
  choices: new Map(), // record id -> { annotationId, value, from }
  showResolved: false,
  busy: false,
};

// ---- small formatting helpers ----------------------------------------------------------------

const pct = (x) => (x === null || x === undefined ? "–" : `${(100 * x).toFixed((x > 0.995 && x < 1) || (x > 0 && x < 0.005) ? 1 : 0)}%`);
const num = (x, digits = 3) => (x === null || x === undefined ? "–" : Number(x).toFixed(digits));
const plural = (n, word) => `${fmt(n)} ${word}${n === 1 ? "" : "s"}`;

function undefinedMark(reason) {
  return el("span", { class: "undefined", title: reason || "undefined" }, "undefined");
}

function figure(value, reason) {
  return value === null || value === undefined ? undefinedMark(reason) : el("span", { class: "figure" }, num(value));
}

function labelsOf(value) {
  if (!value) return [];
  if (typeof value.label === "string") return [value.label];
  return Array.isArray(value.labels) ? value.labels : [];
}

function sameValue(a, b) {
  if (!a || !b) return false;
  if (project.task === "spans") {
    const key = (v) => JSON.stringify((v.spans || []).map((s) => [s.start, s.end, s.label]).sort());
    return key(a) === key(b);
  }
  return JSON.stringify([...labelsOf(a)].sort()) === JSON.stringify([...labelsOf(b)].sort());
}

// A value as people read it: label chips, or the spans with the text they cover.
function showValue(value, text) {
  if (project.task === "spans") {
    const spans = value?.spans || [];
    if (!spans.length) return el("span", { class: "muted" }, "no spans");
    const map = text ? codePointMap(text) : null;
    const at = (i) => map[Math.min(i, map.length - 1)];
    return el("ul", { class: "span-answers" }, spans.map((s) => el("li", {},
      labelChip(labels.get(s.label) || { name: s.label }),
      map ? el("span", { class: "quoted" }, `“${text.slice(at(s.start), at(s.end))}”`) : null,
      el("span", { class: "muted small" }, ` ${s.start}–${s.end}`))));
  }
  const names = labelsOf(value);
  if (!names.length) return el("span", { class: "muted" }, project.task === "multilabel" ? "no labels" : "no label");
  return el("span", { class: "chips" }, names.map((name) => labelChip(labels.get(name) || { name })));
}

// ---- tabs ------------------------------------------------------------------------------------

const tabButtons = [...root.querySelectorAll("[role=tab]")];
const LOADERS = {
  disagreements: loadQueue,
  agreement: loadAgreement,
  annotators: loadAnnotators,
  "spot-checks": loadSpotChecks,
  suspected: loadSuspected,
};

function selectTab(tab, { focus = false } = {}) {
  if (!LOADERS[tab] || !tabButtons.some((b) => b.dataset.tab === tab)) tab = "disagreements";
  for (const button of tabButtons) {
    const on = button.dataset.tab === tab;
    button.setAttribute("aria-selected", on ? "true" : "false");
    button.tabIndex = on ? 0 : -1;
    $(button.getAttribute("aria-controls")).hidden = !on;
    if (on && focus) button.focus();
  }
  state.tab = tab;
  state.editing = false;
  if (location.hash !== `#${tab}`) history.replaceState(null, "", `#${tab}`);
  if (!state.loaded.has(tab)) {
    state.loaded.add(tab);
    LOADERS[tab]().catch((error) => notify(error.message, "error"));
  }
}

for (const button of tabButtons) {
  button.addEventListener("click", () => selectTab(button.dataset.tab));
  button.addEventListener("keydown", (event) => {
    const i = tabButtons.indexOf(button);
    const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabButtons.length - 1 }[event.key];
    if (to === undefined) return;
    event.preventDefault();
    event.stopPropagation();
    selectTab(tabButtons[(to + tabButtons.length) % tabButtons.length].dataset.tab, { focus: true });
  });
}

// ---- disagreements ---------------------------------------------------------------------------

const queueBox = $("queue");

async function loadQueue() {
  const params = new URLSearchParams({ limit: String(QUEUE_LIMIT) });
  if (state.showResolved) params.set("include_resolved", "true");
  state.items = await api(`${base}/review/queue?${params}`);
  state.current = Math.min(state.current, Math.max(0, state.items.length - 1));
  renderQueue();
}

function updateCount() {
  const open = state.items.filter((item) => !item.gold).length;
  $("queue-count").textContent = `${open}${state.items.length >= QUEUE_LIMIT ? "+" : ""}`;
}

function renderQueue() {
  updateCount();
  if (!state.items.length) {
    fill(queueBox, el("div", { class: "card empty-state", id: "queue-empty" },
      el("h2", {}, "No disagreements to resolve"),
      el("p", { class: "muted" }, state.showResolved
        ? "No record has answers that disagree."
        : "Every record whose annotators disagree has gold. Tick “Show resolved” to see them again.")));
    return;
  }
  fill(queueBox, state.items.map((item, index) => itemCard(item, index)));
  markCurrent(false);
}

function pickable(item) {
  return item.answers.filter((a) => (a.answer === "accept" || a.answer === "flag") && a.value && Object.keys(a.value).length);
}

function itemCard(item, index) {
  const choice = state.choices.get(item.record_id);
  const options = pickable(item);
  const card = el("article", {
    class: `card queue-item${item.gold ? " resolved" : ""}`, "data-record-id": String(item.record_id),
    "aria-label": `Record ${item.record_id}`, onclick: () => setCurrent(index, false),
  });
  const head = el("header", { class: "record-head" },
    el("a", { class: "record-id", href: `/projects/${project.slug}/records/${item.record_id}` }, `Record #${item.record_id}`),
    item.external_id ? el("span", { class: "ext", title: "External id" }, item.external_id) : null,
    el("span", { class: "badge disagreement", title: "1 − share of the most frequent answer" }, `${pct(item.disagreement)} disagreement`),
    item.uncertainty !== null && item.uncertainty !== undefined
      ? el("span", { class: "badge uncertainty", title: "1 − the newest model's highest probability" }, `model uncertainty ${pct(item.uncertainty)}`)
      : null,
    item.gold ? el("span", { class: "badge gold-badge" }, "gold: ", showValue(item.gold.value, item.text), ` ${item.gold.method}`) : null);

  const rows = item.answers.map((answer) => {
    const n = options.indexOf(answer);
    const picked = choice && choice.annotationId === answer.annotation_id;
    return el("tr", { class: picked ? "picked" : "", "data-annotation-id": String(answer.annotation_id) },
      el("td", {}, n >= 0 && n < 9 ? kbd(String(n + 1)) : null),
      el("td", {}, el("b", {}, answer.annotator)),
      el("td", {}, answer.value && Object.keys(answer.value).length ? showValue(answer.value, item.text) : null,
        answer.answer !== "accept" ? el("span", { class: `answer answer-${answer.answer}` }, ` ${answer.answer}`) : null),
      el("td", { class: "small" }, when(answer.created_at)),
      el("td", { class: "small" }, answer.guidelines_version ?? el("span", { class: "muted" }, "–")),
      el("td", { class: "num small" }, answer.duration_ms ? `${(answer.duration_ms / 1000).toFixed(1)} s` : "–"),
      el("td", { class: "end" }, n >= 0 ? el("button", {
        type: "button", class: "small pick", "data-pick": String(n + 1), "aria-pressed": picked ? "true" : "false",
        onmousedown: (event) => event.preventDefault(),
        onclick: (event) => { event.stopPropagation(); setCurrent(index, false); pick(item, answer); },
      }, picked ? "Picked" : "Pick") : null));
  });
  const answers = el("table", { class: "table answers-table" },
    el("thead", {}, el("tr", {}, el("th", {}, ""), el("th", {}, "Annotator"), el("th", {}, "Answer"), el("th", {}, "When"),
      el("th", { title: "Guidelines version the answer was given under" }, "Guidelines"), el("th", { class: "num" }, "Time"), el("th", {}, ""))),
    el("tbody", {}, rows));

  const decide = el("div", { class: "decide" },
    el("div", { class: "edit-label" }, el("span", { class: "muted small" }, project.task === "spans" ? "Or edit the spans " : "Or set the label "), kbd("e"), editor(item, index, choice)),
    el("label", { class: "note-label" }, "Note (optional)",
      el("textarea", { class: "note", rows: "2", maxlength: "10000", placeholder: "Why this label? Kept with the gold version.",
        onfocus: () => setCurrent(index, false) })),
    el("div", { class: "row" },
      el("button", {
        type: "button", class: "primary save-gold", disabled: !choice,
        onmousedown: (event) => event.preventDefault(),
        onclick: (event) => { event.stopPropagation(); setCurrent(index, false); save(item); },
      }, item.gold ? "Save a new gold version" : "Save as gold", kbd("Enter")),
      el("span", { class: "choice-status small", "aria-live": "polite" }, choiceText(item, choice))));
  return fill(card, head,
    el("div", { class: "record-text review-text" }, item.text),
    answers,
    decide,
    item.gold_versions?.length ? versionList(item.gold_versions, item.text) : null);
}

function choiceText(item, choice) {
  if (!choice) return el("span", { class: "muted" }, "Nothing chosen yet.");
  return [el("span", {}, "Chosen: "), showValue(choice.value, item.text),
    el("span", { class: "muted" }, choice.from ? ` (answer of ${choice.from})` : " (your edit)")];
}

// The label editor of a card: buttons for classify, checkboxes for multilabel, and for spans
// the annotation screen's span editor in a dialog.
function editor(item, index, choice) {
  if (project.task === "spans") {
    return el("button", {
      type: "button", class: "small edit-spans", onmousedown: (event) => event.preventDefault(),
      onclick: (event) => { event.stopPropagation(); setCurrent(index, false); openSpanEditor(item); },
    }, choice ? "Edit the chosen spans…" : "Edit spans…");
  }
  const chosen = new Set(labelsOf(choice?.value));
  if (project.task === "classify") {
    return el("span", { class: "label-buttons small-buttons", role: "group", "aria-label": "Set the label" }, project.labels.map((label) => tint(el("button", {
      type: "button", class: `label-button${chosen.has(label.name) ? " on" : ""}`, "data-label": label.name,
      "aria-pressed": chosen.has(label.name) ? "true" : "false", title: label.description || label.name,
      onclick: (event) => { event.stopPropagation(); setCurrent(index, false); edit(item, { label: label.name }); },
    }, label.hotkey ? kbd(label.hotkey) : null, el("span", { class: "name" }, label.name)), label.color)));
  }
  return el("span", { class: "label-checks", role: "group", "aria-label": "Set the labels" }, project.labels.map((label) => {
    const box = el("input", {
      type: "checkbox", "data-label": label.name, checked: chosen.has(label.name),
      onchange: () => {
        setCurrent(index, false);
        const boxes = [...state.cards().get(item.record_id).querySelectorAll(".label-checks input")];
        edit(item, { labels: boxes.filter((b) => b.checked).map((b) => b.dataset.label).sort() });
      },
    });
    return el("label", { class: "check" }, box, tint(labelChip(label), label.color), label.hotkey ? kbd(label.hotkey) : null);
  }));
}

// Every gold version of a resolved record (the queue sends them; a save returns them), oldest
// first, the current one marked.
function versionList(versions, text) {
  return el("details", { class: "versions", open: true },
    el("summary", {}, `Gold versions (${versions.length}), oldest first`),
    el("ol", {}, versions.map((v) => el("li", { class: v.current ? "current" : "" },
      showValue(v.value, text), ` ${v.method}`, v.reviewer ? ` by ${v.reviewer}` : "", el("span", { class: "muted small" }, ` · ${when(v.created_at)}`),
      v.note ? el("span", { class: "small" }, " — ", el("q", {}, v.note)) : null,
      v.current ? [" ", el("span", { class: "badge" }, "current")] : null))));
}

state.cards = () => new Map([...queueBox.querySelectorAll(".queue-item")].map((card) => [Number(card.dataset.recordId), card]));

function repaint(item) {
  const index = state.items.indexOf(item);
  const old = state.cards().get(item.record_id);
  if (!old || index < 0) return;
  const note = old.querySelector(".note")?.value || "";
  const focused = old.contains(document.activeElement) ? document.activeElement : null;
  const card = itemCard(item, index);
  card.querySelector(".note").value = note;
  old.replaceWith(card);
  markCurrent(false);
  // Keep the focus in the note or on a checkbox; a label button lets go, so Enter then saves.
  if (focused?.classList.contains("note")) card.querySelector(".note").focus();
  else if (focused?.type === "checkbox") card.querySelector(`.label-checks input[data-label="${CSS.escape(focused.dataset.label)}"]`)?.focus();
}

function markCurrent(scroll = true) {
  const cards = [...queueBox.querySelectorAll(".queue-item")];
  cards.forEach((card, i) => {
    const on = i === state.current;
    card.classList.toggle("current", on);
    card.classList.toggle("editing", on && state.editing);
    if (on) card.setAttribute("aria-current", "true");
    else card.removeAttribute("aria-current");
  });
  if (scroll) cards[state.current]?.scrollIntoView({ block: "nearest", behavior: "auto" });
}

function setCurrent(index, scroll = true) {
  if (index < 0 || index >= state.items.length) return;
  if (index !== state.current) state.editing = false;
  state.current = index;
  markCurrent(scroll);
}

function pick(item, answer) {
  state.choices.set(item.record_id, { annotationId: answer.annotation_id, value: answer.value, from: answer.annotator });
  repaint(item);
}

function edit(item, value) {
  const same = pickable(item).find((a) => sameValue(a.value, value));
  const choice = state.choices.get(item.record_id);
  // Choosing exactly what the picked answer says keeps the pick; anything else is an edit.
  if (choice?.annotationId && same?.annotation_id === choice.annotationId) return;
  state.choices.set(item.record_id, { annotationId: null, value, from: null });
  repaint(item);
}

async function save(item) {
  const choice = state.choices.get(item.record_id);
  if (!choice) {
    notify("Pick an answer (1…9) or set the label first.");
    return;
  }
  if (state.busy) return;
  const card = state.cards().get(item.record_id);
  const note = card?.querySelector(".note")?.value.trim() || "";
  const body = { method: "adjudicated" };
  if (choice.annotationId) body.annotation_id = choice.annotationId;
  else body.value = choice.value;
  if (note) body.note = note;
  state.busy = true;
  root.classList.add("busy");
  try {
    const decision = await api(`${base}/records/${item.record_id}/gold`, { method: "POST", body });
    item.gold_versions = decision.versions;
    state.choices.delete(item.record_id);
    state.loaded.delete("agreement");
    state.loaded.delete("annotators");
    notify(`Record #${item.record_id}: gold saved (version ${decision.versions.length}).`);
    state.editing = false;
    if (state.showResolved) {
      item.gold = { value: decision.value, method: decision.method };
      repaint(item);
      setCurrent(Math.min(state.current + 1, state.items.length - 1));
    } else {
      const index = state.items.indexOf(item);
      state.items.splice(index, 1);
      if (state.current > index) state.current -= 1;
      state.current = Math.min(state.current, Math.max(0, state.items.length - 1));
      renderQueue();
      markCurrent(true);
    }
    updateCount();
  } catch (error) {
    notify(error.message, "error");
  } finally {
    state.busy = false;
    root.classList.remove("busy");
  }
}

$("show-resolved").addEventListener("change", (event) => {
  state.showResolved = event.target.checked;
  loadQueue().catch((error) => notify(error.message, "error"));
});

$("run-consensus").addEventListener("click", async () => {
  try {
    const report = await api(`${base}/review/consensus`, { method: "POST", body: {} });
    notify(`Consensus (${report.rule}${report.rule === "majority" ? `, ${pct(report.threshold)}` : ""}): ${plural(report.written, "record")} written, `
      + `${fmt(report.unchanged)} unchanged, ${fmt(report.reviewed)} already reviewed, ${fmt(report.not_agreeing)} not agreeing.`);
    state.loaded.delete("annotators");
    await loadQueue();
  } catch (error) {
    notify(error.message, "error");
  }
});

function queueKey(event, key) {
  const item = state.items[state.current];
  if (key === "j") setCurrent(state.current + 1);
  else if (key === "k") setCurrent(state.current - 1);
  else if (!item) return false;
  else if (state.editing && key === "Escape") {
    state.editing = false;
    markCurrent(false);
  } else if (state.editing && project.task !== "spans" && editKey(item, key)) {
    // a label hotkey while editing
  } else if (/^[1-9]$/.test(key)) {
    const answer = pickable(item)[Number(key) - 1];
    if (!answer) return false;
    pick(item, answer);
  } else if (key === "e" && project.task === "spans") {
    openSpanEditor(item);
  } else if (key === "e") {
    state.editing = true;
    markCurrent(false);
    state.cards().get(item.record_id)?.querySelector(".edit-label button, .edit-label input")?.focus();
  } else if (key === "n") {
    state.cards().get(item.record_id)?.querySelector(".note")?.focus();
  } else if (key === "Enter") {
    save(item);
  } else {
    return false;
  }
  return true;
}

// ---- editing spans: the annotation screen's editor, pre-filled with the chosen answer ----------

const spanDialog = $("span-dialog");
let spanEditor = null;

function openSpanEditor(item) {
  if (!spanDialog) return;
  const first = pickable(item)[0];
  const choice = state.choices.get(item.record_id) || (first ? { value: first.value, from: first.annotator } : null);
  const body = fill($("span-body"));
  const controls = fill($("span-controls"));
  spanEditor?.destroy();
  spanEditor = new SpanEditor({
    project, labels, notify,
    submit: (value) => {
      spanDialog.close();
      edit(item, value);
    },
  });
  const suggestions = choice ? [{ value: choice.value, source: { kind: "human", name: choice.from || "your edit", version: "" } }] : [];
  spanEditor.mount({ id: item.record_id, text: item.text, suggestions }, body, controls);
  $("span-dialog-title").textContent = `Edit the spans of record #${item.record_id}`;
  spanDialog.showModal();
  spanEditor.pane.focus();
}

spanDialog?.addEventListener("close", () => {
  spanEditor?.destroy();
  spanEditor = null;
});
$("span-use")?.addEventListener("click", () => spanEditor?.accept());
$("span-cancel")?.addEventListener("click", () => spanDialog.close());

function editKey(item, key) {
  const label = project.labels.find((l) => l.hotkey && l.hotkey.toLowerCase() === key);
  if (!label) return false;
  if (project.task === "classify") {
    edit(item, { label: label.name });
  } else {
    const now = new Set(labelsOf(state.choices.get(item.record_id)?.value));
    if (now.has(label.name)) now.delete(label.name);
    else now.add(label.name);
    edit(item, { labels: [...now].sort() });
  }
  state.editing = true;
  markCurrent(false);
  return true;
}

// ---- agreement -------------------------------------------------------------------------------

async function loadAgreement() {
  const report = await api(`${base}/agreement`);
  renderOverall(report);
  renderPerLabel(report);
  renderPairs(report);
  renderOverTime(report);
}

function renderOverall(report) {
  const box = $("agreement-overall");
  if (!report.n_records) {
    fill(box, el("p", { class: "muted" }, "No accepted answers yet."));
    return;
  }
  fill(box,
    el("table", { class: "table coefficients" },
      el("thead", {}, el("tr", {}, el("th", {}, "Coefficient"), el("th", { class: "num" }, "Value"), el("th", { class: "num" }, "95% interval"), el("th", { class: "num" }, "Units"))),
      el("tbody", {}, report.overall.map((c) => el("tr", { "data-name": c.name },
        el("td", {}, NAMES[c.name] || c.name),
        el("td", { class: "num" }, figure(c.value, c.reason)),
        el("td", { class: "num" }, c.ci_low === null || c.ci_low === undefined ? el("span", { class: "muted" }, "–") : `${num(c.ci_low)} – ${num(c.ci_high)}`),
        el("td", { class: "num" }, fmt(c.n_units)))))),
    el("p", { class: "muted small" }, `${plural(report.n_records, "record")}, ${plural(report.annotators.length, "annotator")}. `,
      "Intervals: percentile bootstrap over records. Undefined values say why when you point at them."));
}

function renderPerLabel(report) {
  const box = $("agreement-labels");
  const entries = Object.entries(report.per_label || {});
  if (!entries.length || !report.n_records) {
    fill(box, el("p", { class: "muted" }, "Nothing to compare yet."));
    return;
  }
  const names = entries[0][1].map((c) => c.name);
  fill(box, el("table", { class: "table per-label" },
    el("thead", {}, el("tr", {}, el("th", {}, "Label"), names.map((n) => el("th", { class: "num" }, NAMES[n] || n)))),
    el("tbody", {}, entries.map(([label, coefficients]) => el("tr", { "data-label": label },
      el("td", {}, labelChip(labels.get(label) || { name: label })),
      coefficients.map((c) => el("td", { class: "num" }, figure(c.value, c.reason))))))),
  el("p", { class: "muted small" }, project.task === "spans" ? "Span F1 between annotator pairs, per label." : "One label against the rest."));
}

// Colour of an agreement value: red below zero, white at zero, blue towards one.
function heat(value) {
  const v = Math.max(-1, Math.min(1, value));
  return v >= 0 ? `hsl(214 72% ${Math.round(97 - 52 * v)}%)` : `hsl(4 70% ${Math.round(97 + 35 * v)}%)`;
}

function heatCell(value, title) {
  const cell = el("td", { class: "heat num", title });
  if (value === null || value === undefined) {
    cell.classList.add("undefined-cell");
    cell.append(el("span", { class: "undefined" }, "undefined"));
  } else {
    cell.style.background = heat(value);
    if (value > 0.55) cell.classList.add("dark");
    cell.append(num(value, 2));
  }
  return cell;
}

function renderPairs(report) {
  const box = $("agreement-pairs");
  const names = report.annotators;
  if (names.length < 2) {
    fill(box, el("p", { class: "muted" }, "Pairs need at least two annotators."));
    return;
  }
  const pairs = new Map();
  for (const p of report.pairs) {
    pairs.set(`${p.a}\u0000${p.b}`, p);
    pairs.set(`${p.b}\u0000${p.a}`, p);
  }
  const measure = NAMES[report.pairs[0]?.measure] || report.pairs[0]?.measure || "";
  const table = el("table", { class: "heatmap", "aria-label": `${measure} per annotator pair` },
    el("thead", {}, el("tr", {}, el("th", {}, ""), names.map((n) => el("th", { scope: "col" }, n)))),
    el("tbody", {}, names.map((a) => el("tr", {}, el("th", { scope: "row" }, a), names.map((b) => {
      if (a === b) return el("td", { class: "diag", title: a }, "—");
      const p = pairs.get(`${a}\u0000${b}`);
      const title = p.value === null ? `${a} × ${b}: undefined — ${p.reason}` : `${a} × ${b}: ${measure} ${num(p.value)} over ${plural(p.n_units, "unit")}`;
      const cell = heatCell(p.value, title);
      cell.dataset.pair = `${a}|${b}`;
      return cell;
    })))));
  const legend = el("div", { class: "heat-legend", "aria-hidden": "true" },
    [-1, -0.5, 0, 0.25, 0.5, 0.75, 1].map((v) => {
      const swatch = el("span", { class: "heat-swatch" }, v.toFixed(v % 1 ? 2 : 0));
      swatch.style.background = heat(v);
      if (v > 0.55) swatch.classList.add("dark");
      return swatch;
    }),
    el("span", { class: "heat-swatch undefined-cell" }, "undefined"));
  fill(box, el("p", { class: "muted small" }, `${measure} between each pair of annotators over the records both answered. `,
    "Point at a cell for its details; “undefined” cells say why."), legend, el("div", { class: "heatmap-wrap" }, table));
}

function renderOverTime(report) {
  const periods = report.over_time;
  const card = $("agreement-time-card");
  if (!Array.isArray(periods) || !periods.length) {
    card.hidden = true;
    return;
  }
  card.hidden = false;
  const [width, height, left, right, top, bottom] = [640, 190, 42, 12, 12, 34];
  const values = periods.flatMap((p) => [p.value, p.low, p.high]).filter((v) => v !== null && v !== undefined);
  const lo = Math.min(0, ...values);
  const hi = Math.max(1, ...values);
  const x = (i) => left + (periods.length === 1 ? (width - left - right) / 2 : (i * (width - left - right)) / (periods.length - 1));
  const y = (v) => top + ((hi - v) * (height - top - bottom)) / (hi - lo || 1);
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "over-time", role: "img",
    "aria-label": `Agreement over time: ${periods.map((p) => `${String(p.start).slice(0, 10)} ${p.value === null ? "undefined" : num(p.value, 2)}`).join(", ")}` });
  for (const v of [lo, (lo + hi) / 2, hi]) {
    chart.append(svg("line", { x1: left, x2: width - right, y1: y(v), y2: y(v), class: "grid" }),
      svg("text", { x: left - 6, y: y(v) + 4, class: "axis", "text-anchor": "end" }, num(v, 1)));
  }
  // the interval band, drawn in runs of defined periods
  let run = [];
  const flush = () => {
    if (run.length > 1) {
      const upper = run.map(([i, p]) => `${x(i)},${y(p.high)}`);
      const lower = run.slice().reverse().map(([i, p]) => `${x(i)},${y(p.low)}`);
      chart.append(svg("polygon", { points: [...upper, ...lower].join(" "), class: "band" }));
    }
    run = [];
  };
  periods.forEach((p, i) => (p.low !== null && p.low !== undefined && p.high !== null && p.high !== undefined ? run.push([i, p]) : flush()));
  flush();
  const line = periods.map((p, i) => (p.value === null || p.value === undefined ? null : `${x(i)},${y(p.value)}`));
  let path = "";
  line.forEach((point, i) => { if (point) path += `${i && line[i - 1] ? "L" : "M"}${point} `; });
  if (path) chart.append(svg("path", { d: path.trim(), class: "line" }));
  periods.forEach((p, i) => {
    const text = `${when(p.start)} – ${when(p.end)}: ${p.value === null || p.value === undefined ? "undefined" : num(p.value)}`
      + `${p.low !== null && p.low !== undefined ? ` (95% ${num(p.low)} – ${num(p.high)})` : ""}, ${plural(p.units, "unit")}`;
    if (p.value === null || p.value === undefined) {
      chart.append(svg("text", { x: x(i), y: height - bottom - 4, class: "axis undefined-mark", "text-anchor": "middle" }, "?",
        svg("title", {}, `${text}${p.reason ? ` — ${p.reason}` : ""}`)));
    } else {
      chart.append(svg("circle", { cx: x(i), cy: y(p.value), r: 4, class: "point" }, svg("title", {}, text)));
    }
  });
  const first = String(periods[0].start).slice(0, 10);
  const last = String(periods[periods.length - 1].end).slice(0, 10);
  chart.append(svg("text", { x: left, y: height - 8, class: "axis" }, first),
    svg("text", { x: width - right, y: height - 8, class: "axis", "text-anchor": "end" }, last));
  const measure = NAMES[periods[0].measure] || periods[0].measure || "agreement";
  const caption = el("p", { class: "muted small" }, `${measure}${report.period_unit ? ` per ${report.period_unit}` : ""}, over the records completed in each period`,
    " (a record counts when its last answer came). The band is the 95% interval; “?” marks an undefined period.");
  fill($("agreement-time"), caption, chart, el("details", { class: "small" }, el("summary", {}, "As a table"),
    el("table", { class: "table over-time-table" },
      el("thead", {}, el("tr", {}, el("th", {}, "From"), el("th", {}, "To"), el("th", { class: "num" }, "Units"), el("th", { class: "num" }, "Value"), el("th", { class: "num" }, "95% interval"))),
      el("tbody", {}, periods.map((p) => el("tr", {}, el("td", {}, when(p.start)), el("td", {}, when(p.end)), el("td", { class: "num" }, fmt(p.units)),
        el("td", { class: "num" }, figure(p.value, p.reason || "undefined in this period")),
        el("td", { class: "num" }, p.low === null || p.low === undefined ? "–" : `${num(p.low)} – ${num(p.high)}`)))))));
}

// ---- annotators ------------------------------------------------------------------------------

function rateCell(rate, what) {
  if (!rate || !rate.n) return el("td", { class: "num muted", title: `no ${what} to compare with` }, "–");
  return el("td", { class: "num", title: `${rate.agreed} of ${rate.n}` }, pct(rate.value), el("span", { class: "muted small" }, ` ${rate.agreed}/${rate.n}`));
}

function sparkline(drift) {
  const points = drift.map((d) => d.agreement_with_consensus);
  const [width, height] = [110, 26];
  const x = (i) => (drift.length === 1 ? width / 2 : 3 + (i * (width - 6)) / (drift.length - 1));
  const y = (v) => 3 + (1 - v) * (height - 6);
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "sparkline", role: "img",
    "aria-label": `Agreement with consensus by period: ${points.map((v) => (v === null || v === undefined ? "none" : pct(v))).join(", ")}` });
  let path = "";
  points.forEach((v, i) => {
    if (v === null || v === undefined) return;
    path += `${path && points[i - 1] !== null && points[i - 1] !== undefined ? "L" : "M"}${x(i)},${y(v)} `;
  });
  if (path) chart.append(svg("path", { d: path.trim(), class: "line" }));
  drift.forEach((d, i) => {
    const v = d.agreement_with_consensus;
    const text = `${when(d.start)} – ${when(d.end)}: ${plural(d.answers, "answer")}, agreement with consensus ${pct(v)}, median ${d.median_ms ? `${(d.median_ms / 1000).toFixed(1)} s` : "–"}`;
    if (v !== null && v !== undefined) chart.append(svg("circle", { cx: x(i), cy: y(v), r: 2.2, class: "point" }, svg("title", {}, text)));
  });
  return chart;
}

async function loadAnnotators() {
  const report = await api(`${base}/annotators`);
  const box = $("annotator-stats");
  if (!report.annotators.length) {
    fill(box, el("p", { class: "muted pad" }, "No annotator has answered yet."));
    return;
  }
  const hasDrift = report.annotators.some((a) => Array.isArray(a.drift) && a.drift.length);
  fill(box, el("table", { class: "table annotator-table" },
    el("thead", {}, el("tr", {},
      el("th", {}, "Annotator"), el("th", { class: "num" }, "Answers"), el("th", { class: "num" }, "Accepted"),
      el("th", { class: "num", title: "answers per hour of active time" }, "Per hour"), el("th", { class: "num" }, "Median time"),
      el("th", { class: "num", title: "how often the answer equals the strict majority of the others" }, "With consensus"),
      el("th", { class: "num", title: "how often the answer equals the record's gold" }, "With gold"),
      el("th", { class: "num", title: report.model ? `estimated by ${report.model}` : report.model_note || "" }, "Est. accuracy"),
      el("th", { class: "num", title: "hourly rate × time on records with gold ÷ those records" }, "Cost / gold label"),
      hasDrift ? el("th", { title: "agreement with consensus per period" }, "Drift") : null)),
    el("tbody", {}, report.annotators.map((a) => el("tr", { "data-annotator": a.annotator },
      el("td", {}, el("b", {}, a.annotator)),
      el("td", { class: "num" }, fmt(a.answers)),
      el("td", { class: "num" }, fmt(a.accepted)),
      el("td", { class: "num" }, a.answers_per_hour === null ? "–" : a.answers_per_hour.toFixed(0)),
      el("td", { class: "num" }, a.median_ms === null ? "–" : `${(a.median_ms / 1000).toFixed(1)} s`),
      rateCell(a.consensus, "other annotators"),
      rateCell(a.gold, "gold"),
      el("td", { class: "num" }, a.estimated_accuracy === null || a.estimated_accuracy === undefined ? "–" : pct(a.estimated_accuracy)),
      el("td", { class: "num" }, a.cost_per_gold_label === null || a.cost_per_gold_label === undefined ? "–" : a.cost_per_gold_label.toFixed(2)),
      hasDrift ? el("td", { class: "drift-cell" }, Array.isArray(a.drift) && a.drift.length ? sparkline(a.drift) : "–", driftChange(a)) : null)))));
  const model = $("annotator-model");
  const notes = [
    report.model_note ? el("p", { class: "muted small" }, report.model_note) : null,
    report.majority_vs_gold?.n ? el("p", {}, `Majority vote agrees with gold on ${pct(report.majority_vs_gold.value)} (${report.majority_vs_gold.agreed}/${report.majority_vs_gold.n}).`) : null,
    report.model_vs_gold?.n ? el("p", {}, `Dawid-Skene agrees with gold on ${pct(report.model_vs_gold.value)} (${report.model_vs_gold.agreed}/${report.model_vs_gold.n}).`) : null,
    report.cost_per_gold_label !== null && report.cost_per_gold_label !== undefined ? el("p", {}, `Cost per gold label: ${report.cost_per_gold_label.toFixed(2)} (total ${report.cost_on_gold.toFixed(2)}).`) : null,
  ].filter(Boolean);
  if (report.cost_note) notes.push(el("p", { class: "muted small" }, report.cost_note));
  if (Array.isArray(report.reviewers) && report.reviewers.length) {
    notes.push(el("table", { class: "table reviewer-table" },
      el("thead", {}, el("tr", {}, el("th", {}, "Reviewer"), el("th", { class: "num" }, "Passes"), el("th", { class: "num" }, "Records"),
        el("th", { class: "num" }, "Active hours"), el("th", { class: "num" }, "Cost"))),
      el("tbody", {}, report.reviewers.map((r) => el("tr", {},
        el("td", {}, el("b", {}, r.reviewer)), el("td", { class: "num" }, fmt(r.passes)), el("td", { class: "num" }, fmt(r.records)),
        el("td", { class: "num" }, num(r.active_hours, 2)), el("td", { class: "num" }, r.cost === null || r.cost === undefined ? "–" : r.cost.toFixed(2)))))));
  }
  model.hidden = !notes.length;
  fill(model, el("h2", {}, `${plural(report.n_gold, "gold label")}`), notes);
}

// The earlier-vs-later change of an annotator's agreement with consensus, in percentage points.
function driftChange(a) {
  if (a.drift_change === null || a.drift_change === undefined) return null;
  const points = Math.round(100 * a.drift_change);
  const p = a.drift_p_value;
  const notable = p !== null && p !== undefined && p < 0.05;
  return el("span", { class: `drift-change small${notable ? " notable" : " muted"}`,
    title: `later half vs earlier half of the compared answers${p === null || p === undefined ? "" : `; p = ${p.toPrecision(2)}`}` },
  ` ${points > 0 ? "+" : ""}${points} pts`);
}

// ---- spot checks -----------------------------------------------------------------------------

async function loadSpotChecks() {
  const data = await api(`${base}/review/spot-checks`);
  fill($("spot-summary"), data.annotators.length
    ? el("table", { class: "table spot-summary" },
      el("thead", {}, el("tr", {}, el("th", {}, "Annotator"), el("th", { class: "num" }, "Open"), el("th", { class: "num" }, "Checked"),
        el("th", { class: "num" }, "Wrong"), el("th", { class: "num" }, "Error rate"), el("th", { class: "num" }, "95% interval (Wilson)"))),
      el("tbody", {}, data.annotators.map((s) => el("tr", { "data-annotator": s.annotator },
        el("td", {}, el("b", {}, s.annotator)),
        el("td", { class: "num" }, fmt(s.open)),
        el("td", { class: "num" }, fmt(s.error.checked)),
        el("td", { class: "num" }, fmt(s.error.errors)),
        el("td", { class: "num" }, s.error.rate === null ? el("span", { class: "muted", title: "nothing checked yet" }, "–") : pct(s.error.rate)),
        el("td", { class: "num" }, s.error.low === null ? "–" : `${pct(s.error.low)} – ${pct(s.error.high)}`)))))
    : el("p", { class: "muted pad" }, "No spot checks yet: draw a sample."));
  const open = data.checks.filter((c) => c.correct === null);
  const done = data.checks.filter((c) => c.correct !== null);
  fill($("spot-open"), open.length
    ? el("ul", { class: "spot-list" }, open.map((check) => {
      const note = el("input", { class: "grow", maxlength: "10000", placeholder: "Note (optional)", "aria-label": `Note on check ${check.id}` });
      const verdict = (correct) => async () => {
        try {
          await api(`${base}/review/spot-checks/verdicts`, { method: "POST", body: { check_id: check.id, correct, note: note.value.trim() || null } });
          await loadSpotChecks();
        } catch (error) {
          notify(error.message, "error");
        }
      };
      return el("li", { class: "spot-check", "data-check-id": String(check.id) },
        el("b", {}, check.annotator), " on ",
        el("a", { href: `/projects/${project.slug}/records/${check.record_id}` }, `record #${check.record_id}`), ": ",
        showValue(check.value), note,
        el("button", { type: "button", class: "small ok-button", onclick: verdict(true) }, "Correct"),
        el("button", { type: "button", class: "small wrong-button", onclick: verdict(false) }, "Wrong"));
    }))
    : el("p", { class: "muted" }, "No open checks."));
  fill($("spot-done"), done.length
    ? el("table", { class: "table" },
      el("thead", {}, el("tr", {}, el("th", {}, "Annotator"), el("th", {}, "Record"), el("th", {}, "Answer"), el("th", {}, "Verdict"), el("th", {}, "Note"))),
      el("tbody", {}, done.map((check) => el("tr", {},
        el("td", {}, check.annotator),
        el("td", {}, el("a", { href: `/projects/${project.slug}/records/${check.record_id}` }, `#${check.record_id}`)),
        el("td", {}, showValue(check.value)),
        el("td", {}, check.correct ? el("span", { class: "answer answer-accept" }, "correct") : el("span", { class: "answer answer-reject" }, "wrong")),
        el("td", { class: "small" }, check.note || "")))))
    : el("p", { class: "muted" }, "Nothing decided yet."));
}

$("sample-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const share = Number(event.target.elements.share.value);
  try {
    const sample = await api(`${base}/review/spot-checks`, { method: "POST", body: { share } });
    notify(sample.created ? `${plural(sample.created, "answer")} drawn for checking.` : "Nothing new to draw: every share is reached.");
    await loadSpotChecks();
  } catch (error) {
    notify(error.message, "error");
  }
});

// ---- suspected label errors (when the server has them) ---------------------------------------

let suspectedPoll = null;

async function loadSuspected() {
  const box = $("suspected");
  if (!box) return;
  clearTimeout(suspectedPoll);
  const data = await api(`${base}/review/suspected-errors?limit=200`);
  renderSuspected(box, data);
  if (data.status === "queued" || data.status === "running") {
    suspectedPoll = setTimeout(() => loadSuspected().catch((error) => notify(error.message, "error")), 2000);
  }
}

const asValue = (labelOrLabels) => (Array.isArray(labelOrLabels) ? { labels: labelOrLabels } : { label: labelOrLabels });
const REASONS = { confident_learning: "model disagrees", near_duplicate: "near-duplicate labelled otherwise" };

function suspectedStatus(data) {
  if (data.status === "queued" || data.status === "running") {
    return el("p", { class: "muted", role: "status" }, `Computing (${data.status})… this page updates by itself.`);
  }
  if (data.status === "failed") return el("p", { class: "error", role: "status" }, `The last run failed: ${data.error || "no reason given"}`);
  if (!data.computed_at) return el("p", { class: "muted", role: "status" }, "Not computed yet: press Recompute.");
  return el("p", { class: "muted small", role: "status" },
    `Computed ${when(data.computed_at)} over ${plural(data.n_records, "record")}${data.folds ? ` (${data.folds}-fold out-of-sample probabilities)` : ""}: `,
    `${plural(data.n_flagged, "record")} flagged.`);
}

function renderSuspected(box, data) {
  const items = data.items || [];
  if (!items.length) {
    fill(box, suspectedStatus(data), data.computed_at ? el("p", { class: "muted pad" }, "No suspected label errors.") : null);
    return;
  }
  const decide = (item, value, row, what) => async () => {
    try {
      await api(`${base}/records/${item.record_id}/gold`, { method: "POST", body: { value, method: "reviewed", note: `suspected label error: ${what}` } });
      row.classList.add("inactive");
      for (const button of row.querySelectorAll("button")) button.disabled = true;
      notify(`Record #${item.record_id}: gold saved (${what}).`);
    } catch (error) {
      notify(error.message, "error");
    }
  };
  fill(box, suspectedStatus(data), el("table", { class: "table suspected-table" },
    el("thead", {}, el("tr", {}, el("th", { class: "num" }, "Rank"), el("th", {}, "Record"), el("th", {}, "Text"), el("th", {}, "Given"),
      el("th", {}, "Suggested"), el("th", { class: "num", title: "the model's confidence in the given label; lower is more suspect" }, "Score"),
      el("th", {}, "Why"), el("th", {}, ""))),
    el("tbody", {}, items.map((item) => {
      const row = el("tr", { "data-record-id": String(item.record_id) });
      return fill(row,
        el("td", { class: "num" }, fmt(item.rank + 1)),
        el("td", {}, el("a", { href: `/projects/${project.slug}/records/${item.record_id}` }, `#${item.record_id}`),
          item.external_id ? el("div", { class: "ext" }, item.external_id) : null),
        el("td", { class: "text-cell" }, el("span", { class: "record-link" }, item.text ?? "")),
        el("td", {}, showValue(asValue(item.given)), el("div", { class: "muted small" }, item.given_source)),
        el("td", {}, showValue(asValue(item.suggested))),
        el("td", { class: "num" }, num(item.score)),
        el("td", { class: "small" }, (item.reasons || []).map((r) => el("span", { class: "badge" }, REASONS[r] || r)),
          item.neighbours?.length ? el("div", {}, "like ", item.neighbours.map((n, i) => [i ? ", " : "", el("a", { href: `/projects/${project.slug}/records/${n}` }, `#${n}`)])) : null),
        el("td", { class: "end" }, el("div", { class: "row end" },
          el("button", { type: "button", class: "small", onclick: decide(item, asValue(item.suggested), row, "took the suggestion") }, "Take suggested"),
          el("button", { type: "button", class: "small ghost", onclick: decide(item, asValue(item.given), row, "kept the given label") }, "Keep given"))));
    }))));
}

$("recompute-suspected")?.addEventListener("click", async () => {
  try {
    const started = await api(`${base}/review/suspected-errors`, { method: "POST", body: {} });
    notify(started.queued ? "Computing suspected label errors in the background…" : "A computation is already under way.");
    await loadSuspected();
  } catch (error) {
    notify(error.message, "error");
  }
});

// ---- keyboard --------------------------------------------------------------------------------

const help = $("review-help");
$("review-help-button").addEventListener("click", () => help.showModal());

document.addEventListener("keydown", (event) => {
  if (spanDialog?.open) {
    if (spanEditor && !(event.target instanceof HTMLButtonElement && event.key === " ") && spanEditor.key(event)) event.preventDefault();
    return; // Escape (with nothing selected) closes the dialog
  }
  if (help.open) {
    if (event.key === "?") {
      event.preventDefault();
      help.close();
    }
    return;
  }
  if (event.target instanceof HTMLTextAreaElement && event.target.classList.contains("note")) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      save(state.items[state.current]);
    } else if (event.key === "Escape") {
      event.target.blur();
    }
    return;
  }
  if (isTyping(event.target) && !(event.target instanceof HTMLInputElement && event.target.type === "checkbox")) return;
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.key === "?") {
    event.preventDefault();
    help.showModal();
    return;
  }
  if (state.tab !== "disagreements" || state.busy) return;
  // Enter and Space on a focused control do what the control does; keys otherwise drive the queue.
  const onControl = event.target instanceof HTMLButtonElement || event.target instanceof HTMLAnchorElement;
  if (onControl && (event.key === "Enter" || event.key === " ")) return;
  if (event.target instanceof HTMLInputElement && event.key === " ") return; // a checkbox toggles
  const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
  if (queueKey(event, key)) event.preventDefault();
});

selectTab(location.hash.slice(1) || "disagreements");
