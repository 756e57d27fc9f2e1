// Building DOM without HTML strings: every piece of text becomes a text node (on-chain data
// included), so nothing read from the chain can ever be parsed as markup.

/** el("p", {class: "x"}, "text", child) — attributes via setAttribute, children as nodes/text. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  append(node, children);
  return node;
}

export function append(node, children) {
  for (const c of [children].flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

/** Replaces the children of `node`. */
export function fill(node, ...children) {
  node.replaceChildren();
  return append(node, children);
}

/** A link only to http(s) URLs; anything else renders as plain text. */
export function link(href, text, attrs = {}) {
  if (typeof href === "string" && /^https?:\/\/[^\s"'<>]+$/i.test(href)) {
    return el("a", { href, rel: "noopener noreferrer", target: "_blank", ...attrs }, text);
  }
  return el("span", attrs, text);
}

export const shortHex = (h, head = 6, tail = 4) =>
  typeof h === "string" && h.length > head + tail + 2 ? `${h.slice(0, head + 2)}…${h.slice(-tail)}` : h;
