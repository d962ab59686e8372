/**
 * Island mounting: Django renders `<div data-island="name" data-props="element-id">` plus
 * `{{ props|json_script:"element-id" }}`; each entry script calls `mountIslands` for its name.
 *
 * Props come from `json_script`, never from attributes or inline JS, so flow text (user data)
 * is never interpreted as markup or code.
 */

export function readProps<T>(el: HTMLElement): T | null {
  const id = el.dataset.props;
  const script = id ? document.getElementById(id) : el.querySelector<HTMLScriptElement>("script[type='application/json']");
  if (!script?.textContent) return null;
  try {
    return JSON.parse(script.textContent) as T;
  } catch {
    return null;
  }
}

export function mountIslands<T>(name: string, mount: (el: HTMLElement, props: T) => void): void {
  const run = () => {
    for (const el of document.querySelectorAll<HTMLElement>(`[data-island="${name}"]`)) {
      if (el.dataset.mounted) continue;
      const props = readProps<T>(el);
      if (props === null) {
        el.dataset.mounted = "error";
        console.error(`island ${name}: missing or invalid props`);
        continue;
      }
      el.dataset.mounted = "true";
      try {
        mount(el, props);
      } catch (err) {
        el.dataset.mounted = "error";
        console.error(`island ${name} failed to mount`, err);
      }
    }
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", run, { once: true });
  else run();
}

/** `h("div", {class: "x"}, child…)`: tiny DOM builder so islands stay framework-free. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | boolean | number | undefined | null> = {},
  ...children: (Node | string | null | undefined | false)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return el;
}
