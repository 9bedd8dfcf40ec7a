// The page's strings: one catalogue per language in i18n/<code>.json; a string missing from a
// catalogue is the English one.

let english = {};
let current = {};

async function catalogue(code) {
  const answer = await fetch(`i18n/${code}.json`);
  if (!answer.ok) throw new Error(`i18n/${code}.json: ${answer.status}`);
  return answer.json();
}

/** Load the catalogue of `code` (and English, once, for what it lacks). */
export async function useLanguage(code) {
  if (!Object.keys(english).length) english = await catalogue("en");
  current = code === "en" ? english : await catalogue(code).catch(() => english);
}

/** The string `key` in the current language, with `{name}` replaced by `values[name]`. */
export function t(key, values = {}) {
  const text = current[key] ?? english[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? values[name] : whole));
}

/** Put the current language's strings into the elements that name a key:
 * data-i18n (text), data-i18n-label (aria-label), data-i18n-alt (alt). */
export function translate(root) {
  for (const element of root.querySelectorAll("[data-i18n]")) {
    element.textContent = t(element.dataset.i18n);
  }
  for (const element of root.querySelectorAll("[data-i18n-label]")) {
    element.setAttribute("aria-label", t(element.dataset.i18nLabel));
  }
  for (const element of root.querySelectorAll("[data-i18n-alt]")) {
    element.alt = t(element.dataset.i18nAlt);
  }
}
