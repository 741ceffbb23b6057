// Building the page without innerHTML: every value from the API goes in as text.

// h("td", {class: "num", onclick: fn, "aria-label": "..."}, child, "text", [more children])
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  setAttributes(element, attrs);
  append(element, children);
  return element;
}

export function setAttributes(element, attrs) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      element.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === "class") {
      element.className = Array.isArray(value) ? value.filter(Boolean).join(" ") : value;
    } else if (key === "text") {
      element.textContent = String(value);
    } else if (key === "value" && "value" in element) {
      element.value = value;
    } else if (key === "checked" || key === "selected" || key === "disabled") {
      element[key] = Boolean(value);
    } else {
      element.setAttribute(key, value === true ? "" : String(value));
    }
  }
}

export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

export function clear(element) {
  while (element.firstChild) element.firstChild.remove();
  return element;
}

export function replace(element, ...children) {
  clear(element);
  return append(element, children);
}

let uid = 0;
export function nextId(prefix = "f") {
  uid += 1;
  return `${prefix}-${uid}`;
}

// A labelled form field: field("Model", input) → <div class="field"><label for=…>…</label>input</div>
export function field(label, control, hint) {
  if (!control.id) control.id = nextId("field");
  const parts = [h("label", { for: control.id }, label), control];
  if (hint) {
    const hintId = nextId("hint");
    control.setAttribute("aria-describedby", hintId);
    parts.push(h("span", { id: hintId, class: "subtle" }, hint));
  }
  return h("div", { class: "field" }, parts);
}

export function select(options, { value, name, id, required, includeBlank } = {}) {
  const element = h("select", { name, id, required });
  if (includeBlank !== undefined) element.append(h("option", { value: "" }, includeBlank));
  for (const option of options) {
    const [optionValue, optionLabel] = Array.isArray(option) ? option : [option, option];
    element.append(h("option", { value: optionValue, selected: optionValue === value }, optionLabel));
  }
  return element;
}
