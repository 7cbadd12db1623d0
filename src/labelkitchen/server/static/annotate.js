// The annotation screen: fetch the next reserved record, hand it to the editor of the project's
// task type, send the answer with the time it took, and keep progress, undo, skip, flag and the
// keyboard help around it. Keyboard first: every action has a key, and buttons never take focus.
import { ClassifyEditor, MultilabelEditor } from "./annotate_choice.js";
import { SpanEditor } from "./annotate_spans.js";
import { api, boot, el, fill, fmt, isTyping, kbd, labelChip, notify } from "./common.js";

const $ = (id) => document.getElementById(id);
const root = $("annotate-page");
const project = boot(root, "project");
const base = `/api/projects/${encodeURIComponent(project.slug)}`;
const labels = new Map(project.labels.map((label) => [label.name, label]));
const Editor = { classify: ClassifyEditor, multilabel: MultilabelEditor, spans: SpanEditor }[project.task];

const recordCard = $("record");
const controls = $("editor-controls");
const actionBar = $("actions");
const helpDialog = $("help");
const flagDialog = $("flag-dialog");
const flagForm = $("flag-form");

// Action keys are letters no label uses; Ctrl+Z always undoes.
const taken = new Set(project.labels.map((label) => (label.hotkey || "").toLowerCase()));
const freeKey = (key) => (taken.has(key) ? null : key);
const KEYS = { skip: freeKey(" "), reject: freeKey("x"), flag: freeKey("f"), undo: freeKey("u") };

const state = {
  record: null, editor: null, busy: false, loaded: false,
  shownAt: 0, hiddenFor: 0, hiddenSince: null, count: 0, totalMs: 0,
};

// ---- time per record: from showing it to answering, minus time the tab was hidden ------------

document.addEventListener("visibilitychange", () => {
  if (document.hidden) state.hiddenSince = performance.now();
  else if (state.hiddenSince !== null) {
    state.hiddenFor += performance.now() - state.hiddenSince;
    state.hiddenSince = null;
  }
});
const elapsed = () => Math.min(86_400_000, Math.max(0, Math.round(performance.now() - state.shownAt - state.hiddenFor)));

// ---- showing a record -----------------------------------------------------------------------

function metaList(meta) {
  const entries = Object.entries(meta || {}).filter(([, v]) => v !== null && v !== "").slice(0, 8);
  if (!entries.length) return null;
  return el("dl", { class: "meta" }, entries.map(([key, value]) => [
    el("dt", {}, key),
    el("dd", {}, typeof value === "object" ? JSON.stringify(value).slice(0, 120) : String(value).slice(0, 120)),
  ]));
}

function show(record) {
  state.editor?.destroy?.();
  state.editor = null;
  state.record = record;
  state.loaded = true;
  recordCard.replaceChildren();
  controls.replaceChildren();
  recordCard.removeAttribute("aria-busy");
  recordCard.classList.toggle("empty", !record);
  if (!record) {
    recordCard.dataset.recordId = "";
    recordCard.append(
      el("div", { class: "done-mark", "aria-hidden": "true" }),
      el("h2", { id: "nothing-left" }, "Nothing left for you here"),
      el("p", {}, "Every record you may annotate in this project has the answers it needs, or you have answered it already. New records and skipped ones come back here when they are ready."),
      el("p", { class: "row center" },
        el("a", { class: "button", href: `/projects/${project.slug}` }, "Project overview"),
        el("a", { class: "button", href: `/projects/${project.slug}/data` }, "Browse the data")),
      el("p", { class: "muted small" }, "Made a mistake? ", kbd("u"), " or ", kbd("Ctrl"), "+", kbd("z"), " brings back your last answer."),
    );
    renderActions();
    return;
  }
  recordCard.dataset.recordId = String(record.id);
  const head = el("header", { class: "record-head" },
    el("span", { class: "record-id" }, `Record #${record.id}`),
    record.split ? el("span", { class: "badge" }, record.split) : null,
    record.external_id ? el("span", { class: "ext", title: "External id" }, record.external_id) : null,
    metaList(record.meta));
  const body = el("div", { class: "record-body" });
  recordCard.append(head, body);
  state.editor = new Editor({ project, labels, submit: (value) => answer("accept", value), notify });
  state.editor.mount(record, body, controls);
  state.shownAt = performance.now();
  state.hiddenFor = 0;
  renderActions();
}

function actionButton(action, text, key, handler, extra = "") {
  return el("button", {
    type: "button", class: `action action-${action} ${extra}`.trim(), "data-action": action,
    onmousedown: (event) => event.preventDefault(), onclick: handler,
  }, text, key ? kbd(key) : null);
}

function renderActions() {
  const has = Boolean(state.record);
  fill(actionBar,
    has ? actionButton("accept", state.editor.enterLabel(), "Enter", () => state.editor.accept(), "primary") : null,
    has ? actionButton("skip", "Skip", KEYS.skip, () => answer("skip")) : null,
    has ? actionButton("reject", "Reject", KEYS.reject, () => answer("reject")) : null,
    has ? actionButton("flag", "Flag…", KEYS.flag, openFlag) : null,
    el("span", { class: "spacer" }),
    actionButton("undo", "Undo", KEYS.undo || "Ctrl+z", undo),
  );
}

// ---- talking to the server -------------------------------------------------------------------

async function next() {
  show(await api(`${base}/queue/next`));
}

async function answer(kind, value = null, extra = {}) {
  if (state.busy || !state.record) return;
  const record = state.record;
  const duration = elapsed();
  const body = { answer: kind, duration_ms: duration, ...extra };
  if (value) body.value = value;
  state.busy = true;
  root.classList.add("busy");
  try {
    await api(`${base}/records/${record.id}/annotations`, { method: "POST", body });
    state.count += 1;
    state.totalMs += duration;
    remember(record, kind, value, duration);
    await next();
  } catch (error) {
    notify(error.message, "error");
  } finally {
    state.busy = false;
    root.classList.remove("busy");
  }
  refreshProgress();
}

async function undo() {
  if (state.busy) return;
  if (state.editor?.undoLocal?.()) return; // spans: the last edit on this record comes first
  state.busy = true;
  try {
    const record = await api(`${base}/undo`, { method: "POST" });
    show(record);
    notify(`Back to record #${record.id}: your next answer replaces the old one.`);
  } catch (error) {
    notify(error.status === 404 ? "Nothing to undo: you have not answered anything here yet." : error.message, error.status === 404 ? "info" : "error");
  } finally {
    state.busy = false;
  }
  refreshProgress();
}

function remember(record, kind, value, duration) {
  const names = value?.label ? [value.label] : value?.labels || null;
  fill($("last-answer"),
    el("span", {}, `#${record.id} `),
    kind === "accept" && names ? names.map((n) => labelChip(labels.get(n) || { name: n })) : null,
    kind === "accept" && value?.spans ? `${value.spans.length} span${value.spans.length === 1 ? "" : "s"}` : null,
    kind !== "accept" ? el("b", {}, kind) : null,
    el("span", { class: "muted" }, ` · ${(duration / 1000).toFixed(1)} s`));
  $("session-text").textContent = `This visit: ${state.count} answer${state.count === 1 ? "" : "s"} · ${(state.totalMs / state.count / 1000).toFixed(1)} s each`;
}

async function refreshProgress() {
  try {
    const progress = await api(`${base}/progress`);
    const total = progress.done + progress.open_slots;
    const share = total ? Math.round((100 * progress.done) / total) : 100;
    $("progress-fill").style.width = `${share}%`;
    document.querySelector(".progress").setAttribute("aria-valuenow", String(share));
    $("progress-text").textContent = `${fmt(progress.done)} done · ${fmt(progress.open_slots)} open in the queue`;
  } catch (error) {
    $("progress-text").textContent = "progress unavailable";
  }
}

// ---- flag and help dialogs --------------------------------------------------------------------

function openFlag() {
  if (!state.record || state.busy) return;
  const row = $("flag-label-row");
  const select = $("flag-label");
  row.hidden = !state.editor.needsGuess();
  if (!row.hidden) {
    select.replaceChildren(...project.labels.map((label) => el("option", { value: label.name }, label.name)));
    select.value = state.editor.value()?.label || project.labels[0].name;
  }
  $("flag-reason").value = "";
  flagDialog.showModal();
  $("flag-reason").focus();
}

flagForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const reason = $("flag-reason").value.trim();
  if (!reason) return;
  const value = state.editor.needsGuess() ? { label: $("flag-label").value } : state.editor.value();
  flagDialog.close();
  answer("flag", value, { flag_reason: reason });
});
$("flag-reason").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    flagForm.requestSubmit();
  }
});
$("flag-cancel").addEventListener("click", () => flagDialog.close());

function buildHelp() {
  const row = (keys, what) => el("tr", {}, el("td", {}, keys), el("td", {}, what));
  const k = (...keys) => keys.filter(Boolean).flatMap((key, i) => (i ? [" ", kbd(key)] : [kbd(key)]));
  const rows = [
    el("tr", { class: "group" }, el("th", { colspan: "2" }, "Labels")),
    ...project.labels.filter((l) => l.hotkey).map((label) => row(k(label.hotkey),
      [labelChip(label), project.task === "classify" ? " answers at once" : project.task === "multilabel" ? " toggles" : " labels the selection / relabels the picked span"])),
    el("tr", { class: "group" }, el("th", { colspan: "2" }, "Answer")),
    row(k("Enter"), project.task === "classify" ? "accept the suggestion (or repeat your earlier answer)" : "submit"),
    KEYS.skip ? row(k(KEYS.skip), "skip: someone else gets the record") : null,
    KEYS.reject ? row(k(KEYS.reject), "reject: no label fits / not for this task") : null,
    KEYS.flag ? row(k(KEYS.flag), "flag for a reviewer, with a reason") : null,
    row(k(KEYS.undo, "Ctrl+z"), project.task === "spans" ? "undo the last span edit here, else your last answer" : "undo: bring back your last answer"),
    row(k("?"), "this help"),
  ];
  if (project.task === "spans") {
    rows.push(
      el("tr", { class: "group" }, el("th", { colspan: "2" }, "Spans")),
      row("click, drag", "select words (selections snap to tokens); Shift+click extends"),
      row(k("ArrowLeft", "ArrowRight"), "move the cursor one token"),
      row([kbd("Shift"), "+", kbd("ArrowLeft"), kbd("ArrowRight")], "extend the selection"),
      row(k("Home", "End"), "start / end of the line"),
      row([kbd("Tab"), " ", kbd("Shift"), "+", kbd("Tab")], "pick the next / previous span"),
      row("click a span", "pick it (click again for overlapping spans)"),
      row(k("Delete"), "remove the picked span"),
      row(k("Escape"), "let go of the selection"),
    );
  }
  $("help-body").replaceChildren(el("table", { class: "keys" }, el("tbody", {}, rows)));
}

function openHelp() {
  if (helpDialog.open) helpDialog.close();
  else helpDialog.showModal();
}
$("help-button").addEventListener("click", openHelp);

function buildGuide() {
  $("label-guide").replaceChildren(...project.labels.map((label) => el("li", {},
    el("div", { class: "guide-head" }, label.hotkey ? kbd(label.hotkey) : null, labelChip(label)),
    label.description ? el("p", { class: "small" }, label.description) : el("p", { class: "small muted" }, "No description yet."))));
}

// ---- keyboard ---------------------------------------------------------------------------------

document.addEventListener("keydown", (event) => {
  if (flagDialog.open) return; // the dialog's own keys (Esc closes it)
  if (helpDialog.open) {
    if (event.key === "?") {
      event.preventDefault();
      helpDialog.close();
    }
    return;
  }
  if (isTyping(event.target)) return;
  if (event.target instanceof HTMLButtonElement) event.target.blur();
  const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
  if ((event.ctrlKey || event.metaKey) && !event.altKey && key === "z") {
    event.preventDefault();
    undo();
    return;
  }
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (key === "?") {
    event.preventDefault();
    openHelp();
    return;
  }
  if (state.busy || !state.loaded) {
    if (key === " " || key === "Enter") event.preventDefault();
    return;
  }
  if (state.record && state.editor.key(event)) {
    event.preventDefault();
    return;
  }
  if (state.record && key === KEYS.skip) {
    event.preventDefault();
    answer("skip");
  } else if (state.record && key === KEYS.reject) {
    answer("reject");
  } else if (state.record && key === KEYS.flag) {
    event.preventDefault();
    openFlag();
  } else if (key === KEYS.undo) {
    undo();
  }
});

// For tests and curious people: what the span editor holds right now.
window.labelkitchen = { editorStats: () => state.editor?.stats?.() ?? null };

buildGuide();
buildHelp();
refreshProgress();
next().catch((error) => {
  recordCard.replaceChildren(el("p", { class: "error" }, `Could not load a record: ${error.message}`));
});
