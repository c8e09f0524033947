// Building and patching the page's elements.
export const $ = (selector, root = document) => root.querySelector(selector);

export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else if (value !== false && value != null) element.setAttribute(key, value === true ? "" : value);
  }
  element.append(...children.flat().filter((c) => c != null && c !== false));
  return element;
}

// Brings `list`'s children in line with `items`, one element per key: an element that stays
// is updated in place (keeping focus and what it shows), new ones are made, gone ones removed.
export function patchList(list, items, keyOf, make, update) {
  const old = new Map([...list.children].map((element) => [element.dataset.key, element]));
  items.forEach((item, at) => {
    const key = String(keyOf(item));
    let element = old.get(key);
    if (element) old.delete(key);
    else { element = make(item); element.dataset.key = key; }
    update(element, item);
    if (list.children[at] !== element) list.insertBefore(element, list.children[at] || null);
  });
  for (const element of old.values()) element.remove();
}

export function say(message) {
  const notice = $("#notice");
  if (notice) notice.textContent = message;
}

// Two letters for an avatar: "ada_lovelace" is AL, "fan" is FA.
export function initials(handle) {
  if (!handle) return "?";
  const words = handle.split(/[_\d]+/).filter(Boolean);
  return (words.length > 1 ? words[0][0] + words[1][0] : handle.slice(0, 2)).toUpperCase();
}

// The same person has the same colour on every page.
export function hue(key) {
  let sum = 0;
  for (const c of String(key)) sum = (sum * 31 + c.charCodeAt(0)) % 360;
  return sum;
}

export function avatar(person, size = "") {
  const element = h("span", { class: `avatar ${size}`.trim(), "aria-hidden": "true" });
  setAvatar(element, person);
  return element;
}

export function setAvatar(element, person) {
  element.textContent = initials(person.handle);
  element.style.setProperty("--hue", hue(person.handle || person.id));
}
