// Project overview: counts, progress per annotator, and the label distribution as an SVG chart.
import { api, boot, el, fill, fmt, svg, tint } from "./common.js";

const root = document.getElementById("project-page");
const project = boot(root, "project");
const base = `/api/projects/${encodeURIComponent(project.slug)}`;
const canAnnotate = root.dataset.canAnnotate === "true";
// Annotators work blind: they see no counts of other people's labels.
const blind = root.dataset.canReview !== "true" && root.dataset.role === "annotator";

const KINDS = [
  ["gold", "gold", "#8a6d00"],
  ["human", "annotators", "#0072B2"],
  ["model", "models", "#CC79A7"],
  ["lf", "labelling functions", "#009E73"],
  ["import", "imports", "#9a9aa3"],
];

for (const chip of root.querySelectorAll(".chip[data-color]")) tint(chip, chip.dataset.color);

function stat(label, value, detail) {
  return el("div", { class: "stat card" }, el("div", { class: "stat-value" }, value), el("div", { class: "stat-label" }, label),
    detail ? el("div", { class: "stat-detail" }, detail) : null);
}

function renderCounts(stats, progress) {
  const human = stats.annotations.filter((a) => a.kind === "human");
  const answered = human.filter((a) => a.answer !== "skip").reduce((n, a) => n + a.count, 0);
  const flagged = human.filter((a) => a.answer === "flag").reduce((n, a) => n + a.count, 0);
  const machine = stats.annotations.filter((a) => a.kind !== "human").reduce((n, a) => n + a.count, 0);
  const splits = Object.entries(stats.records_by_split)
    .map(([name, n]) => `${name === "(none)" ? "no split" : name} ${fmt(n)}`).join(" · ");
  const box = document.getElementById("counts");
  fill(box,
    stat("records", fmt(stats.records), splits || null),
    stat("human answers", fmt(answered), flagged ? `${fmt(flagged)} flagged` : null),
    stat("pre-annotations", fmt(machine), "from imports, rules and models"),
    progress ? stat("open in the queue", fmt(progress.open_slots), canAnnotate ? `you answered ${fmt(progress.done)}` : null) : null,
  );
  box.removeAttribute("aria-busy");
}

function renderAnnotators(stats, members) {
  const rows = new Map();
  for (const member of members) {
    rows.set(member.username, { name: member.username, role: member.role, accept: 0, reject: 0, skip: 0, flag: 0 });
  }
  for (const a of stats.annotations.filter((x) => x.kind === "human")) {
    const row = rows.get(a.name) || { name: a.name, role: "former member", accept: 0, reject: 0, skip: 0, flag: 0 };
    row[a.answer] = (row[a.answer] || 0) + a.count;
    rows.set(a.name, row);
  }
  const list = [...rows.values()].filter((r) => r.role !== "viewer" || r.accept + r.reject + r.skip + r.flag > 0);
  for (const row of list) row.done = row.accept + row.reject + row.flag;
  list.sort((a, b) => b.done - a.done || a.name.localeCompare(b.name));
  const box = document.getElementById("annotators");
  if (!list.length) {
    box.replaceChildren(el("p", { class: "muted" }, "No annotators yet."));
    return;
  }
  const overlap = project.settings?.overlap || 1;
  const most = Math.max(1, ...list.map((r) => r.done));
  box.replaceChildren(el("table", { class: "table annotators" },
    el("thead", {}, el("tr", {}, el("th", {}, "Annotator"), el("th", {}, "Answered"), el("th", { class: "num" }, "Skipped"),
      el("th", { class: "num" }, "Flagged"), el("th", { class: "num", title: `share of the ${fmt(stats.records)} records × overlap ${overlap}` }, "Share"))),
    el("tbody", {}, list.map((row) => {
      const bar = el("span", { class: "bar-fill" });
      bar.style.width = `${(100 * row.done) / most}%`;
      const share = stats.records ? (100 * row.done) / (stats.records * overlap) : 0;
      return el("tr", {},
        el("td", {}, el("b", {}, row.name), " ", el("span", { class: "muted small" }, row.role)),
        el("td", { class: "bar-cell" }, el("span", { class: "bar" }, bar), el("span", { class: "num" }, fmt(row.done))),
        el("td", { class: "num" }, fmt(row.skip)),
        el("td", { class: "num" }, fmt(row.flag)),
        el("td", { class: "num" }, `${share < 10 && share > 0 ? share.toFixed(1) : Math.round(share)}%`));
    }))));
}

function renderChart(stats) {
  const box = document.getElementById("label-chart");
  const labels = project.labels.map((l) => l.name);
  for (const name of Object.keys(stats.labels)) if (!labels.includes(name)) labels.push(name);
  const kinds = KINDS.filter(([kind]) => !(blind && kind === "human") && labels.some((name) => stats.labels[name]?.[kind]));
  const totals = labels.map((name) => kinds.reduce((n, [kind]) => n + (stats.labels[name]?.[kind] || 0), 0));
  const max = Math.max(0, ...totals);
  if (!max) {
    box.replaceChildren(el("p", { class: "muted" }, "No labels given yet: annotate, import labels or run labelling functions."));
    return;
  }
  const colour = new Map(project.labels.map((l) => [l.name, l.color]));
  const [nameWidth, barWidth, rowHeight, width] = [130, 360, 30, 560];
  const chart = svg("svg", { viewBox: `0 0 ${width} ${labels.length * rowHeight + 6}`, class: "bars", role: "img",
    "aria-label": `Label counts by source: ${labels.map((n, i) => `${n} ${totals[i]}`).join(", ")}` });
  labels.forEach((name, i) => {
    const y = i * rowHeight + 4;
    chart.append(
      svg("rect", { x: 0, y: y + 8, width: 10, height: 10, rx: 2, fill: colour.get(name) || "#888" }),
      svg("text", { x: 16, y: y + 17, class: "bar-name" }, name.length > 16 ? `${name.slice(0, 15)}…` : name),
    );
    let x = nameWidth;
    for (const [kind, title, fill] of kinds) {
      const n = stats.labels[name]?.[kind] || 0;
      if (!n) continue;
      const w = Math.max(1.5, (barWidth * n) / max);
      chart.append(svg("rect", { x, y: y + 3, width: w, height: rowHeight - 10, fill, rx: 2 }, svg("title", {}, `${name}: ${fmt(n)} from ${title}`)));
      x += w;
    }
    chart.append(svg("text", { x: x + 6, y: y + 17, class: "bar-value" }, fmt(totals[i])));
  });
  const legend = el("ul", { class: "legend" }, kinds.map(([, title, fill]) => {
    const swatch = el("span", { class: "swatch" });
    swatch.style.background = fill;
    return el("li", {}, swatch, title);
  }));
  fill(box, legend, chart, blind ? el("p", { class: "muted small" }, "Annotators' labels are hidden while you annotate blind.") : null);
}

async function load() {
  try {
    const [stats, members, progress] = await Promise.all([
      api(`${base}/stats`),
      api(`${base}/members`),
      canAnnotate ? api(`${base}/progress`) : Promise.resolve(null),
    ]);
    renderCounts(stats, progress);
    renderAnnotators(stats, members);
    renderChart(stats);
  } catch (error) {
    document.getElementById("counts").replaceChildren(el("p", { class: "error" }, `Could not load the statistics: ${error.message}`));
  }
}

load();
