// The span editor. Text is cut into tokens by the project tokenizer, so every selection snaps to
// token boundaries; spans live as token ranges [s, e) and become Python code-point offsets only
// when sent. Long records are cut into blocks (lines, or sentence runs of long lines) and only the
// blocks near the viewport hold DOM: a 100,000-character record with thousands of spans renders a
// few hundred token elements at a time.
import { suggestionSource } from "./annotate_choice.js";
import { el, kbd, labelChip, tint } from "./common.js";
import { lowerBound, tokenize } from "./text.js";

const BLOCK_SOFT = 120; // tokens after which a sentence end starts a new block
const BLOCK_HARD = 240; // tokens after which any gap does
const MARGIN = "800px 0px"; // render blocks this close to the visible part of the pane

const byPosition = (a, b) => a.s - b.s || a.e - b.e || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0);

export class SpanEditor {
  constructor({ project, labels, submit, notify }) {
    this.project = project;
    this.labels = labels;
    this.submit = submit;
    this.notify = notify;
    this.allowOverlap = Boolean(project.settings?.allow_overlapping_spans);
  }

  enterLabel() {
    return "Submit spans";
  }

  needsGuess() {
    return false;
  }

  // ---- setup --------------------------------------------------------------------------------

  mount(record, body, controls) {
    this.record = record;
    this.text = record.text;
    this.tok = tokenize(this.text);
    this.spans = [];
    this.history = []; // local edits on this record, for Ctrl+Z
    this.cursor = 0;
    this.anchor = null;
    this.active = false; // is there a selection to label?
    this.touched = false; // has the cursor been shown yet? (the first arrow key only shows it)
    this.picked = null;
    this.loadInitial(record, controls);
    this.pane = el("div", {
      class: "span-pane record-text", id: "record-text", tabindex: "0", role: "application",
      "aria-label": "Record text: select tokens and press a label key",
    });
    body.append(this.pane);
    this.buildBlocks();
    this.palette(controls);
    this.info = el("p", { class: "span-info", "aria-live": "polite" });
    controls.append(this.info);
    this.listen();
    this.describe();
  }

  loadInitial(record, controls) {
    let spans = null;
    let from = null;
    if (record.previous?.value?.spans) {
      spans = record.previous.value.spans;
      from = el("span", {}, "your earlier answer");
    } else {
      const suggestion = (record.suggestions || []).find((s) => Array.isArray(s.value?.spans));
      if (suggestion) {
        spans = suggestion.value.spans;
        from = suggestionSource(suggestion); // the trained model's: "model vN, 87%"
      }
    }
    if (!spans) return;
    for (const span of spans) {
      const s = lowerBound(this.tok.cpStart, span.start);
      const e = lowerBound(this.tok.cpEnd, span.end) + 1;
      if (s < e && e <= this.tok.n) this.spans.push({ s, e: Math.min(e, this.tok.n), label: span.label });
    }
    this.spans.sort(byPosition);
    controls.append(el("p", { class: "prefilled" }, `Pre-filled with ${spans.length} span${spans.length === 1 ? "" : "s"} from `, from,
      ": correct them, then press ", kbd("Enter"), "."));
  }

  buildBlocks() {
    const { tok, text } = this;
    const starts = [0];
    let count = 0;
    for (let t = 1; t < tok.n; t++) {
      count += 1;
      const gap = text.slice(tok.end[t - 1], tok.start[t]);
      const sentenceEnd = /[.!?;:]/.test(text.slice(tok.start[t - 1], tok.end[t - 1]));
      if (gap.includes("\n") || (count >= BLOCK_SOFT && gap && sentenceEnd) || count >= BLOCK_HARD) {
        starts.push(t);
        count = 0;
      }
    }
    this.blockStart = Int32Array.from(starts);
    this.blocks = [];
    const perLine = Math.max(20, Math.floor((this.pane.clientWidth || 700) / 8.5));
    for (let b = 0; b < starts.length; b++) {
      const t0 = starts[b];
      const t1 = b + 1 < starts.length ? starts[b + 1] : tok.n;
      const s16 = b === 0 ? 0 : tok.start[t0];
      const e16 = b + 1 < starts.length ? tok.start[t1] : text.length;
      const node = el("div", { class: "blk", "data-b": String(b) });
      const lines = Math.max(1, Math.ceil((e16 - s16) / perLine));
      node.style.height = `${lines * 1.95}em`;
      this.blocks.push({ t0, t1, s16, e16, node, live: false });
      this.pane.append(node);
    }
    this.observer = new IntersectionObserver((entries) => {
      for (const entry of entries) {
        const block = this.blocks[Number(entry.target.dataset.b)];
        if (entry.isIntersecting) this.render(block);
        else this.release(block);
      }
    }, { root: this.pane, rootMargin: MARGIN });
    for (const block of this.blocks) this.observer.observe(block.node);
  }

  palette(controls) {
    const grid = el("div", { class: "label-buttons", role: "group", "aria-label": "Labels" });
    for (const label of this.project.labels) {
      grid.append(tint(el("button", {
        type: "button", class: "label-button", "data-label": label.name, title: label.description || label.name,
        onmousedown: (event) => event.preventDefault(), // keep the text selection
        onclick: () => this.applyLabel(label.name),
      }, label.hotkey ? kbd(label.hotkey) : null, el("span", { class: "name" }, label.name)), label.color));
    }
    controls.append(grid);
  }

  destroy() {
    this.observer?.disconnect();
    window.removeEventListener("mouseup", this.onUp);
  }

  // ---- rendering ----------------------------------------------------------------------------

  blockOf(t) {
    return Math.max(0, lowerBound(this.blockStart, t + 1) - 1);
  }

  selection() {
    if (!this.active) return null;
    const a = this.anchor ?? this.cursor;
    return [Math.min(a, this.cursor), Math.max(a, this.cursor) + 1];
  }

  render(block) {
    const { tok, text } = this;
    const { t0, t1 } = block;
    const covers = new Array(t1 - t0);
    for (const span of this.spans) {
      if (span.e <= t0 || span.s >= t1) continue;
      for (let t = Math.max(span.s, t0); t < Math.min(span.e, t1); t++) (covers[t - t0] ||= []).push(span);
    }
    const sel = this.selection();
    block.toks = new Array(t1 - t0);
    block.gaps = new Array(t1 - t0); // gaps[i]: the gap before token t0 + i (none for i = 0)
    block.trail = null; // the gap after the block's last token, before the next block's first
    const frag = document.createDocumentFragment();
    let pos = block.s16;
    for (let t = t0; t < t1; t++) {
      const here = covers[t - t0];
      if (tok.start[t] > pos) {
        const gapText = text.slice(pos, tok.start[t]);
        if (t === t0) frag.append(gapText); // leading text of the record
        else frag.append((block.gaps[t - t0] = this.gap(gapText, covers[t - t0 - 1], here, sel, t)));
      }
      const node = document.createElement("span");
      node.className = "tok";
      node.dataset.i = String(t);
      node.textContent = text.slice(tok.start[t], tok.end[t]);
      if (here) this.paintCover(node, here);
      if (sel && t >= sel[0] && t < sel[1]) node.classList.add("sel");
      if (this.active && t === this.cursor) node.classList.add("cur");
      block.toks[t - t0] = node;
      frag.append(node);
      if (here) {
        for (const span of here) {
          if (span.e - 1 === t) {
            frag.append(tint(el("span", { class: span === this.picked ? "tag picked" : "tag", "data-s": String(span.s), "aria-hidden": "true" }, span.label),
              this.labels.get(span.label)?.color));
          }
        }
      }
      pos = tok.end[t];
    }
    if (block.e16 > pos) {
      const tail = text.slice(pos, block.e16);
      const across = t1 < tok.n ? this.spans.filter((span) => span.s < t1 && span.e > t1) : [];
      if (t1 < tok.n) frag.append((block.trail = this.gap(tail, across, across, sel, t1)));
      else frag.append(tail);
    }
    block.node.style.height = "";
    block.node.replaceChildren(frag);
    block.live = true;
  }

  gap(gapText, before, after, sel, t) {
    const shared = before && after ? after.filter((span) => before.includes(span)) : [];
    const node = el("span", { class: "gap" }, gapText);
    if (shared.length) this.paintCover(node, shared);
    if (sel && t > sel[0] && t < sel[1]) node.classList.add("sel");
    return node;
  }

  tokenNode(t) {
    const block = this.blocks[this.blockOf(t)];
    return block.live ? block.toks[t - block.t0] : null;
  }

  gapNode(t) {
    const b = this.blockOf(t);
    const block = this.blocks[b];
    if (t === block.t0) return b > 0 && this.blocks[b - 1].live ? this.blocks[b - 1].trail : null;
    return block.live ? block.gaps[t - block.t0] : null;
  }

  // Selection and cursor are classes on the nodes already there: no re-render under the mouse.
  paint(from, to) {
    const sel = this.selection();
    for (let t = Math.max(0, from); t <= Math.min(this.tok.n - 1, to); t++) {
      const node = this.tokenNode(t);
      if (node) {
        node.classList.toggle("sel", Boolean(sel) && t >= sel[0] && t < sel[1]);
        node.classList.toggle("cur", this.active && t === this.cursor);
      }
      const gap = this.gapNode(t);
      if (gap) gap.classList.toggle("sel", Boolean(sel) && t > sel[0] && t < sel[1]);
    }
  }

  paintCover(node, spans) {
    const sorted = spans.length > 1 ? [...spans].sort((a, b) => (a.e - a.s) - (b.e - b.s)) : spans;
    node.classList.add("ent");
    tint(node, this.labels.get(sorted[0].label)?.color || "#888888");
    if (sorted.length > 1) {
      node.classList.add("multi");
      node.style.boxShadow = sorted.slice(1).map((span, i) =>
        `inset 0 -${3 * (i + 1)}px 0 ${this.labels.get(span.label)?.color || "#888888"}`).join(", ");
    }
    if (this.picked && spans.includes(this.picked)) node.classList.add("picked");
  }

  release(block) {
    if (!block.live) return;
    const height = block.node.offsetHeight;
    block.live = false;
    block.node.replaceChildren();
    block.node.style.height = `${height}px`;
  }

  refresh(from, to) {
    if (from === null || from === undefined) return;
    const first = this.blockOf(Math.max(0, from));
    const last = this.blockOf(Math.min(this.tok.n - 1, Math.max(from, to - 1)));
    for (let b = first; b <= last; b++) if (this.blocks[b].live) this.render(this.blocks[b]);
  }

  // Re-render what changed between two states, each a list of [from, to) token ranges.
  repaint(...ranges) {
    const real = ranges.filter(Boolean);
    if (!real.length) return;
    this.refresh(Math.min(...real.map((r) => r[0])), Math.max(...real.map((r) => r[1])));
  }

  show(t) {
    const block = this.blocks[this.blockOf(t)];
    if (!block.live) this.render(block);
    block.node.querySelector(`[data-i="${t}"]`)?.scrollIntoView({ block: "nearest", inline: "nearest" });
  }

  describe() {
    const sel = this.selection();
    const parts = [el("b", {}, `${this.spans.length} span${this.spans.length === 1 ? "" : "s"}`)];
    if (this.picked) {
      parts.push(" · picked ", labelChip(this.labels.get(this.picked.label) || { name: this.picked.label }),
        ` “${this.excerpt(this.picked.s, this.picked.e)}” — `, kbd("Delete"), " removes, a label key relabels, ", kbd("Escape"), " lets go");
    } else if (sel) {
      parts.push(` · selected “${this.excerpt(sel[0], sel[1])}” — press a label key`);
    } else {
      parts.push(" · click or drag over words, or use ", kbd("ArrowLeft"), kbd("ArrowRight"), " (", kbd("Shift"), " extends)");
    }
    this.info.replaceChildren(...parts);
  }

  excerpt(s, e) {
    const text = this.text.slice(this.tok.start[s], this.tok.end[e - 1]);
    return text.length > 80 ? `${text.slice(0, 38)} … ${text.slice(-38)}` : text;
  }

  // ---- editing ------------------------------------------------------------------------------

  overlapping(s, e, except = null) {
    return this.spans.filter((span) => span !== except && span.s < e && s < span.e);
  }

  addSpan(span) {
    const clash = this.allowOverlap ? [] : this.overlapping(span.s, span.e);
    if (clash.length) {
      this.notify(`That overlaps the ${clash[0].label} span “${this.excerpt(clash[0].s, clash[0].e)}”; this project does not allow overlapping spans.`, "error");
      return false;
    }
    if (this.spans.some((x) => x.s === span.s && x.e === span.e && x.label === span.label)) return false;
    this.spans.push(span);
    this.spans.sort(byPosition);
    this.history.push({ undo: () => this.spans.splice(this.spans.indexOf(span), 1), range: [span.s, span.e] });
    return true;
  }

  applyLabel(name) {
    if (this.picked) {
      const span = this.picked;
      const old = span.label;
      if (old === name) return;
      span.label = name;
      this.spans.sort(byPosition);
      this.history.push({ undo: () => { span.label = old; }, range: [span.s, span.e] });
      this.repaint([span.s, span.e]);
      this.describe();
      return;
    }
    const sel = this.selection();
    if (!sel) {
      this.notify("Select some text first: click or drag over words, or move with the arrow keys.");
      return;
    }
    if (this.addSpan({ s: sel[0], e: sel[1], label: name })) {
      this.active = false;
      this.anchor = null;
      this.cursor = sel[1] - 1;
    }
    this.repaint(sel);
    this.describe();
  }

  removePicked() {
    const span = this.picked;
    if (!span) return false;
    const index = this.spans.indexOf(span);
    this.spans.splice(index, 1);
    this.history.push({ undo: () => { this.spans.push(span); this.spans.sort(byPosition); }, range: [span.s, span.e] });
    this.picked = null;
    this.repaint([span.s, span.e]);
    this.describe();
    return true;
  }

  undoLocal() {
    const last = this.history.pop();
    if (!last) return false;
    last.undo();
    this.picked = null;
    this.repaint(last.range);
    this.describe();
    return true;
  }

  pick(span) {
    const before = this.picked;
    const sel = this.selection();
    const cursor = this.cursor;
    this.picked = span;
    this.active = false;
    this.anchor = null;
    if (span) this.cursor = span.s;
    this.repaint(before && [before.s, before.e], span && [span.s, span.e]);
    if (sel) this.paint(sel[0], sel[1]);
    this.paint(cursor, cursor);
    this.describe();
  }

  select(cursor, anchor) {
    const before = this.selection() || [this.cursor, this.cursor + 1];
    const picked = this.picked;
    this.picked = null;
    this.cursor = Math.max(0, Math.min(this.tok.n - 1, cursor));
    this.anchor = anchor === null ? null : Math.max(0, Math.min(this.tok.n - 1, anchor));
    this.active = true;
    this.touched = true;
    if (picked) this.repaint([picked.s, picked.e]);
    const after = this.selection();
    this.paint(Math.min(before[0], after[0]), Math.max(before[1], after[1]));
    this.describe();
  }

  clear() {
    const before = this.selection();
    const picked = this.picked;
    this.active = false;
    this.anchor = null;
    this.picked = null;
    if (picked) this.repaint([picked.s, picked.e]);
    if (before) this.paint(before[0], before[1]);
    this.describe();
  }

  // ---- input --------------------------------------------------------------------------------

  listen() {
    const tokenAt = (target) => {
      const node = target instanceof Element ? target.closest(".tok, .tag") : null;
      if (!node) return null;
      return node.classList.contains("tag") ? { tag: Number(node.dataset.s) } : { t: Number(node.dataset.i) };
    };
    this.pane.addEventListener("mousedown", (event) => {
      if (event.button !== 0) return;
      const hit = tokenAt(event.target);
      if (!hit) return;
      event.preventDefault();
      this.pane.focus({ preventScroll: true });
      if (hit.tag !== undefined) {
        this.pickAt(hit.tag, true);
        return;
      }
      if (event.shiftKey && this.active) {
        this.select(hit.t, this.anchor ?? this.cursor);
        return;
      }
      this.drag = { from: hit.t, moved: false };
    });
    this.pane.addEventListener("mouseover", (event) => {
      if (!this.drag) return;
      const hit = tokenAt(event.target);
      if (!hit || hit.t === undefined || (this.drag.moved && hit.t === this.cursor)) return;
      if (hit.t !== this.drag.from || this.drag.moved) {
        this.drag.moved = true;
        this.select(hit.t, this.drag.from);
      }
    });
    this.onUp = () => {
      const drag = this.drag;
      this.drag = null;
      if (!drag || drag.moved) return;
      const covering = this.spans.filter((span) => span.s <= drag.from && drag.from < span.e);
      if (covering.length) this.pickAt(drag.from, false);
      else this.select(drag.from, null);
    };
    window.addEventListener("mouseup", this.onUp);
  }

  // Pick the span at token t (clicking again cycles through overlapping ones).
  pickAt(t, isTag) {
    const covering = this.spans.filter((span) => (isTag ? span.s === t : span.s <= t && t < span.e));
    if (!covering.length) return;
    covering.sort((a, b) => (a.e - a.s) - (b.e - b.s));
    const at = covering.indexOf(this.picked);
    this.pick(covering[(at + 1) % covering.length]);
  }

  key(event) {
    const key = event.key;
    if (!this.tok.n) return key === "Enter" ? (this.accept(), true) : false; // nothing to select
    if (key.length === 1 && !event.ctrlKey && !event.metaKey && !event.altKey) {
      const label = this.project.labels.find((l) => l.hotkey && l.hotkey.toLowerCase() === key.toLowerCase());
      if (label) {
        this.applyLabel(label.name);
        return true;
      }
    }
    switch (key) {
      case "ArrowRight":
      case "ArrowLeft": {
        const step = key === "ArrowRight" ? 1 : -1;
        const from = this.picked ? (step > 0 ? this.picked.e - 1 : this.picked.s) : this.cursor;
        const moves = this.active || this.picked || this.touched;
        if (event.shiftKey) {
          const anchor = this.active ? (this.anchor ?? this.cursor) : from;
          this.select(from + (this.active ? step : 0), anchor);
        } else {
          this.select(moves ? from + step : from, null);
        }
        this.show(this.cursor);
        return true;
      }
      case "Home":
      case "End": {
        const block = this.blocks[this.blockOf(this.cursor)];
        const target = key === "Home" ? block.t0 : block.t1 - 1;
        this.select(target, event.shiftKey ? (this.anchor ?? this.cursor) : null);
        this.show(this.cursor);
        return true;
      }
      case "Tab": {
        if (!this.spans.length) return false;
        const step = event.shiftKey ? -1 : 1;
        let index;
        if (this.picked) index = this.spans.indexOf(this.picked) + step;
        else index = step > 0 ? lowerBound(this.spans.map((s) => s.s), this.cursor) : lowerBound(this.spans.map((s) => s.s), this.cursor) - 1;
        index = (index + this.spans.length) % this.spans.length;
        this.pick(this.spans[index]);
        this.show(this.picked.s);
        return true;
      }
      case "Delete":
      case "Backspace":
        if (this.removePicked()) return true;
        if (this.picked === null && this.active) this.notify("Click a span (or press Tab) to pick it, then Delete.");
        return true;
      case "Escape":
        if (!this.active && !this.picked) return false;
        this.clear();
        return true;
      case "Enter":
        this.accept();
        return true;
      default:
        return false;
    }
  }

  accept() {
    this.submit(this.value());
  }

  value() {
    const { cpStart, cpEnd } = this.tok;
    return { spans: this.spans.map((span) => ({ start: cpStart[span.s], end: cpEnd[span.e - 1], label: span.label })) };
  }

  // For tests and debugging: how much DOM the text holds now.
  stats() {
    return { tokens: this.tok.n, blocks: this.blocks.length, live: this.blocks.filter((b) => b.live).length, spans: this.spans.length };
  }
}
