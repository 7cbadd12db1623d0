// Shared helpers: the API client (CSRF header on every state-changing call), safe DOM building,
// notices, and the boot data pages carry in data-* attributes. Nothing here ever turns data into
// markup: text goes in as text nodes, colours through the CSSOM (the CSP forbids inline styles).
const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

function explain(detail, fallback) {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail.map((item) => `${(item.loc || []).slice(1).join(".") || "input"}: ${item.msg}`).join("; ");
  }
  return fallback;
}

export async function api(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRF-Token"] = csrf();
  const response = await fetch(path, {
    method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) {
    location.href = `/login?next=${encodeURIComponent(location.pathname + location.search)}`;
    throw new ApiError("not logged in", 401);
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(explain(data.detail, response.statusText), response.status);
  return data;
}

// Build elements with text only: record text never becomes markup.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value === true) node.setAttribute(key, "");
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// Replace a node's children, skipping null/false and flattening arrays (unlike replaceChildren,
// which would print "null").
export function fill(node, ...children) {
  const nodes = children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false);
  node.replaceChildren(...nodes.map((c) => (c instanceof Node ? c : document.createTextNode(String(c)))));
  return node;
}

export const svg = (tag, attrs = {}, ...children) => {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
};

// A keyboard key as shown to people.
export function kbd(key) {
  const names = { " ": "Space", Enter: "↵ Enter", Escape: "Esc", Delete: "Del", ArrowLeft: "←", ArrowRight: "→" };
  return el("kbd", {}, names[key] || key);
}

// Colour a node from a label colour (#rrggbb) through a CSS custom property.
export function tint(node, color) {
  if (color) node.style.setProperty("--c", color);
  return node;
}

export function labelChip(label, extra = "") {
  return tint(el("span", { class: `chip ${extra}`.trim() }, label.name ?? label), label.color);
}

export function sourceBadge(source) {
  const version = source.version ? ` ${source.version}` : "";
  return el("span", { class: `source source-${source.kind}`, title: `${source.kind} source` },
    el("b", {}, source.kind), ` ${source.name}${version}`);
}

export const fmt = (n) => (typeof n === "number" ? n.toLocaleString("en") : String(n ?? "–"));

export function when(iso) {
  if (!iso) return "";
  const date = new Date(String(iso).replace(" ", "T") + (/[zZ+]/.test(String(iso).slice(10)) ? "" : "Z"));
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleString();
}

// Short-lived notices in the corner; errors stay a little longer.
export function notify(message, kind = "info") {
  let box = document.getElementById("toasts");
  if (!box) {
    box = el("div", { id: "toasts", "aria-live": "polite" });
    document.body.append(box);
  }
  const toast = el("div", { class: `toast toast-${kind}`, role: kind === "error" ? "alert" : "status" }, message);
  box.append(toast);
  setTimeout(() => toast.remove(), kind === "error" ? 6000 : 2500);
}

// JSON the server put into a data-* attribute (Jinja's tojson, safe in attributes).
export function boot(node, key) {
  const raw = node?.dataset[key];
  return raw ? JSON.parse(raw) : null;
}

export function formData(form) {
  return Object.fromEntries(new FormData(form).entries());
}

export const isTyping = (target) =>
  target instanceof HTMLElement && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));

document.getElementById("logout")?.addEventListener("click", async () => {
  await api("/api/auth/logout", { method: "POST" });
  location.href = "/login";
});
