// Editors for whole-record labels: classify (a label key answers at once) and multilabel (label
// keys toggle, Enter answers). Both show pre-annotations with their source; Enter accepts them.
// The newest trained model's prediction, when there is one, comes first, marked "model v3, 87%".
import { el, kbd, labelChip, sourceBadge, tint } from "./common.js";

const pct = (p) => `${(100 * p).toFixed(p > 0.995 || p < 0.005 ? 1 : 0)}%`;

// Where a suggestion comes from: the trained model's prediction ("model vN, 87%", with its
// confidence), else the source's kind, name and version.
export function suggestionSource(suggestion) {
  const { source, confidence } = suggestion;
  if (typeof confidence !== "number") return sourceBadge(source);
  return el("span", {
    class: "source source-model model-suggestion",
    title: `Prediction of ${source.name} version ${source.version}; confidence ${pct(confidence)}`,
  }, `model v${source.version}, ${pct(confidence)}`);
}

function labelsOf(value) {
  if (!value) return [];
  if (typeof value.label === "string") return [value.label];
  return Array.isArray(value.labels) ? value.labels : [];
}

function suggestionRow(suggestion, labels, index) {
  const names = labelsOf(suggestion.value);
  const probs = suggestion.value?.probs || {};
  return el("li", { class: index === 0 ? "suggestion first" : "suggestion" },
    names.length ? names.map((name) => labelChip(labels.get(name) || { name })) : el("span", { class: "muted" }, "no labels"),
    names.length === 1 && probs[names[0]] !== undefined && typeof suggestion.confidence !== "number"
      ? el("span", { class: "prob" }, pct(probs[names[0]])) : null,
    suggestionSource(suggestion),
    index === 0 ? el("span", { class: "hint" }, kbd("Enter"), " accepts") : null);
}

class ChoiceEditor {
  constructor({ project, labels, submit, notify }) {
    this.project = project;
    this.labels = labels; // name -> label
    this.submit = submit;
    this.notify = notify;
    this.buttons = new Map();
  }

  mount(record, body, controls) {
    this.record = record;
    body.append(el("div", { class: "record-text", id: "record-text" }, record.text));
    const suggestions = record.suggestions || [];
    if (suggestions.length) {
      controls.append(el("div", { class: "suggestions" },
        el("h3", {}, suggestions.length === 1 ? "Suggestion" : "Suggestions"),
        el("ul", {}, suggestions.map((s, i) => suggestionRow(s, this.labels, i)))));
    }
    if (record.previous) {
      const prev = labelsOf(record.previous.value);
      controls.append(el("p", { class: "previous" }, "Your earlier answer: ",
        prev.length ? prev.map((n) => labelChip(this.labels.get(n) || { name: n })) : el("b", {}, record.previous.answer),
        " — answer again to replace it."));
    }
    const suggested = new Set(labelsOf(suggestions[0]?.value));
    const grid = el("div", { class: "label-buttons", role: "group", "aria-label": "Labels" });
    for (const label of this.project.labels) {
      const button = tint(el("button", {
        type: "button", class: suggested.has(label.name) ? "label-button suggested" : "label-button",
        "data-label": label.name, title: label.description || label.name,
        onclick: () => this.choose(label.name),
      }, label.hotkey ? kbd(label.hotkey) : null, el("span", { class: "name" }, label.name)), label.color);
      this.buttons.set(label.name, button);
      grid.append(button);
    }
    controls.append(grid);
  }

  hotkey(event) {
    const key = event.key.length === 1 ? event.key.toLowerCase() : null;
    return key ? this.project.labels.find((l) => l.hotkey && l.hotkey.toLowerCase() === key) : undefined;
  }

  guess() {
    return labelsOf(this.record?.previous?.value)[0] || labelsOf(this.record?.suggestions?.[0]?.value)[0] || null;
  }

  // A label hotkey chooses that label; Enter accepts (each editor says what that means).
  key(event) {
    const label = this.hotkey(event);
    if (label) {
      this.choose(label.name);
      return true;
    }
    if (event.key === "Enter") {
      this.accept();
      return true;
    }
    return false;
  }
}

export class ClassifyEditor extends ChoiceEditor {
  enterLabel() {
    return this.record?.suggestions?.length ? "Accept suggestion" : "Repeat earlier answer";
  }

  choose(name) {
    this.buttons.get(name)?.classList.add("pressed");
    this.submit({ label: name });
  }

  accept() {
    const suggestion = labelsOf(this.record?.suggestions?.[0]?.value)[0];
    const earlier = labelsOf(this.record?.previous?.value)[0];
    if (suggestion) this.choose(suggestion);
    else if (earlier) this.choose(earlier);
    else this.notify("No suggestion for this record: press a label key.");
  }

  value() {
    const guess = this.guess();
    return guess ? { label: guess } : null;
  }

  needsGuess() {
    return true;
  }
}

export class MultilabelEditor extends ChoiceEditor {
  enterLabel() {
    return "Submit labels";
  }

  mount(record, body, controls) {
    super.mount(record, body, controls);
    const start = record.previous?.value ? labelsOf(record.previous.value) : labelsOf(record.suggestions?.[0]?.value);
    this.chosen = new Set(start.filter((n) => this.labels.has(n)));
    this.status = el("p", { class: "chosen-status", "aria-live": "polite" });
    controls.append(this.status);
    this.paint();
  }

  paint() {
    for (const [name, button] of this.buttons) {
      const on = this.chosen.has(name);
      button.classList.toggle("on", on);
      button.setAttribute("aria-pressed", on ? "true" : "false");
    }
    this.status.replaceChildren(
      this.chosen.size ? "Chosen: " : "No labels chosen — ",
      ...(this.chosen.size ? [...this.chosen].map((n) => labelChip(this.labels.get(n))) : ["Enter answers “none of these”."]),
    );
  }

  choose(name) {
    if (this.chosen.has(name)) this.chosen.delete(name);
    else this.chosen.add(name);
    this.paint();
  }

  accept() {
    this.submit(this.value());
  }

  value() {
    return { labels: [...this.chosen].sort() };
  }

  needsGuess() {
    return false;
  }
}
