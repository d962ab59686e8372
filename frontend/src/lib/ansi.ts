/**
 * ANSI colour codes in log text, turned into styled DOM text nodes.
 *
 * Log text is user data: it is only ever set through `textContent`, never parsed as HTML. The
 * SGR codes (`ESC[…m`) become CSS classes; every other escape sequence is dropped.
 */

export interface AnsiSegment {
  text: string;
  classes: string;
}

// eslint-disable-next-line no-control-regex
const ESCAPE = /\x1b\[([0-9;?]*)([A-Za-z])|\x1b[@-Z\\-_]/g;

interface Style {
  fg: number | null;
  bg: number | null;
  bold: boolean;
  dim: boolean;
  italic: boolean;
  underline: boolean;
}

const PLAIN: Style = { fg: null, bg: null, bold: false, dim: false, italic: false, underline: false };

function classesOf(s: Style): string {
  const out: string[] = [];
  if (s.fg !== null) out.push(`ansi-fg-${s.fg}`);
  if (s.bg !== null) out.push(`ansi-bg-${s.bg}`);
  if (s.bold) out.push("ansi-bold");
  if (s.dim) out.push("ansi-dim");
  if (s.italic) out.push("ansi-italic");
  if (s.underline) out.push("ansi-underline");
  return out.join(" ");
}

function apply(style: Style, params: string): Style {
  const codes = params === "" ? [0] : params.split(";").map((p) => Number.parseInt(p, 10) || 0);
  let s = { ...style };
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i];
    if (c === 0) s = { ...PLAIN };
    else if (c === 1) s.bold = true;
    else if (c === 2) s.dim = true;
    else if (c === 3) s.italic = true;
    else if (c === 4) s.underline = true;
    else if (c === 22) s.bold = s.dim = false;
    else if (c === 23) s.italic = false;
    else if (c === 24) s.underline = false;
    else if (c >= 30 && c <= 37) s.fg = c - 30;
    else if (c >= 90 && c <= 97) s.fg = c - 90 + 8;
    else if (c === 39) s.fg = null;
    else if (c >= 40 && c <= 47) s.bg = c - 40;
    else if (c >= 100 && c <= 107) s.bg = c - 100 + 8;
    else if (c === 49) s.bg = null;
    else if ((c === 38 || c === 48) && codes[i + 1] === 5) {
      // 256 colours: keep the 16 basic ones, skip the rest (no inline styles from log text).
      const n = codes[i + 2] ?? 0;
      if (n < 16) {
        if (c === 38) s.fg = n;
        else s.bg = n;
      }
      i += 2;
    } else if ((c === 38 || c === 48) && codes[i + 1] === 2) i += 4;
  }
  return s;
}

/** Split `text` into runs of equally styled text (no escape characters left). */
export function parseAnsi(text: string): AnsiSegment[] {
  if (!text.includes("\x1b")) return [{ text, classes: "" }];
  const out: AnsiSegment[] = [];
  let style = { ...PLAIN };
  let last = 0;
  for (const match of text.matchAll(ESCAPE)) {
    const index = match.index ?? 0;
    if (index > last) out.push({ text: text.slice(last, index), classes: classesOf(style) });
    if (match[2] === "m") style = apply(style, match[1] ?? "");
    last = index + match[0].length;
  }
  if (last < text.length) out.push({ text: text.slice(last), classes: classesOf(style) });
  return out.filter((s) => s.text);
}

/** Plain text with every escape sequence removed (for search and copying). */
export function stripAnsi(text: string): string {
  return text.includes("\x1b") ? text.replace(ESCAPE, "") : text;
}

/** Fill `el` with `text`, coloured: only text nodes and spans with fixed class names. */
export function renderAnsi(el: HTMLElement, text: string): void {
  const segments = parseAnsi(text);
  if (segments.length === 1 && !segments[0].classes) {
    el.textContent = segments[0].text;
    return;
  }
  el.replaceChildren(
    ...segments.map((s) => {
      if (!s.classes) return document.createTextNode(s.text);
      const span = document.createElement("span");
      span.className = s.classes;
      span.textContent = s.text;
      return span;
    }),
  );
}
