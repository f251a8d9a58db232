// A small element builder. Text goes in as text nodes or textContent, never as
// HTML: run, tag and metric names come from the user's directories and logs.

/**
 * h("button", {class: "x", testid: "download-json", onclick: fn}, "JSON")
 *
 * attrs: class, text (textContent), testid (data-testid), style (object),
 * on<event> (listener), anything else as an attribute (false/null skipped).
 * children: nodes or strings (strings become text nodes).
 */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") element.className = value;
    else if (key === "text") element.textContent = String(value);
    else if (key === "testid") element.setAttribute("data-testid", value);
    else if (key === "style" && typeof value === "object") Object.assign(element.style, value);
    else if (key.startsWith("on") && typeof value === "function") {
      element.addEventListener(key.slice(2), value);
    } else element.setAttribute(key, value === true ? "" : String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(element, child);
    else if (child instanceof Node) element.append(child);
    else element.append(document.createTextNode(String(child)));
  }
}

/** A user's name (run, optimizer, metric) as a <bdi>: its bidi controls stay inside. */
export function isolated(text) {
  const element = document.createElement("bdi");
  element.textContent = String(text);
  return element;
}

/**
 * A name isolated in plain text, between U+2068 and U+2069 (where no element fits:
 * attributes, <option>, canvas).
 */
export function isolatedText(text) {
  return `\u2068${text}\u2069`;
}

/** The nodes of a label (model/label.js): our words as text, every name in a <bdi>. */
export function labelNodes(parts) {
  return parts.map((part) => (typeof part === "string" ? part : isolated(part.name)));
}

/** A label as plain text with every name isolated (for attributes). */
export function labelText(parts) {
  return parts.map((part) => (typeof part === "string" ? part : isolatedText(part.name))).join("");
}

/** Replaces an element's children. */
export function replaceChildren(element, ...children) {
  element.textContent = "";
  append(element, children);
}
