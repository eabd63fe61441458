// A tiny element builder: user data always lands in text nodes or attributes, never in HTML.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "value" && "defaultValue" in el) {
      el.defaultValue = value; // for inputs and textareas alike, and what form.reset() returns to
    } else if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (name in el && typeof value !== "string") {
      el[name] = value;
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

/** Like Element.append, but skips null, undefined and false (conditional children). */
export function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

let fieldIds = 0;

/** A labelled form control; `control` is an element without an id. */
export function field(label, control, hint) {
  const id = `f${++fieldIds}`;
  control.id = id;
  const hintEl = hint ? h("small", { id: `${id}-hint`, class: "hint" }, hint) : null;
  if (hintEl) control.setAttribute("aria-describedby", hintEl.id);
  return h("div", { class: "field" }, h("label", { for: id }, label), control, hintEl);
}

/** The values of a form's named controls as a plain object of trimmed strings. */
export function values(form) {
  const out = {};
  for (const [name, value] of new FormData(form)) {
    out[name] = typeof value === "string" ? value.trim() : value;
  }
  return out;
}

export function formatDate(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? "" : date.toLocaleString();
}

export function formatDuration(seconds) {
  if (typeof seconds !== "number") return "";
  const total = Math.round(seconds);
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, "0")}`;
}

export function formatBytes(bytes) {
  const units = ["B", "KB", "MB", "GB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit ? 1 : 0)} ${units[unit]}`;
}

export function navigate(path) {
  location.hash = `#${path}`;
}

/** An initially empty alert region; `show(error)` puts the API's message in it. */
export function alertBox() {
  const box = h("p", { class: "error", role: "alert", hidden: true });
  box.show = (error) => {
    const text = error ? error.message || String(error) : "";
    // Services word their messages as clauses ("the code has expired"); show them as sentences.
    box.textContent = text && text[0].toUpperCase() + text.slice(1);
    box.hidden = !error;
  };
  return box;
}

/**
 * Disable `controls` while `action` runs. A disabled control loses focus (to the page's body),
 * so the one that had it gets it back after, unless the user or the action moved it meanwhile.
 */
export async function whileDisabled(controls, action) {
  const focused = document.activeElement;
  controls.forEach((c) => (c.disabled = true));
  try {
    return await action();
  } finally {
    controls.forEach((c) => (c.disabled = false));
    const lost = !document.activeElement || document.activeElement === document.body;
    if (lost && controls.includes(focused) && focused.isConnected) focused.focus();
  }
}

/** Disable a form while `action` runs, report its error in `box`. */
export async function busy(form, box, action) {
  // Only those enabled now are re-enabled after: some stay off for reasons of their own.
  const controls = [...form.querySelectorAll("button, input, select, textarea")].filter((c) => !c.disabled);
  form.setAttribute("aria-busy", "true");
  box.show(null);
  try {
    return await whileDisabled(controls, action);
  } catch (error) {
    box.show(error);
    return undefined;
  } finally {
    form.removeAttribute("aria-busy");
  }
}
