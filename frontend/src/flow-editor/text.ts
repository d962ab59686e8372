/**
 * Text-level helpers for the canvas writer: locating a node's lines from eemeli `yaml` source
 * ranges, the file's indentation conventions, and scalar/collection serialisation.
 *
 * Edits splice only the lines a change touches (a CST-style edit), so comments, key order, quoting
 * and spacing elsewhere stay byte-for-byte (EDITOR.md §3e: a Document re-serialisation would
 * rewrite comment spacing, flow padding and folded scalars across the file).
 */

import { isMap, isScalar, isSeq, type Node, type Scalar, stringify } from "yaml";

export interface Style {
  /** Spaces per nesting level. */
  unit: number;
  /** Whether a block list is indented under its key (`key:\n  - a`) or not (`key:\n- a`). */
  indentSeq: boolean;
  eol: string;
}

export function lineStart(src: string, pos: number): number {
  return src.lastIndexOf("\n", pos - 1) + 1;
}

/** Index just past the newline ending the line that contains `pos` (or the text length). */
export function lineEndIncl(src: string, pos: number): number {
  const nl = src.indexOf("\n", pos);
  return nl < 0 ? src.length : nl + 1;
}

export function columnOf(src: string, pos: number): number {
  return pos - lineStart(src, pos);
}

/** Last non-blank character position in [from, to). */
export function lastContent(src: string, from: number, to: number): number {
  let i = to - 1;
  while (i > from && /\s/.test(src[i])) i--;
  return i;
}

export function detectStyle(src: string): Style {
  const lines = src.split("\n");
  let unit = 0;
  let indentSeq: boolean | null = null;
  for (let i = 0; i < lines.length - 1; i++) {
    const key = /^(\s*)(?:-\s+)?[\w"'.-]+\s*:\s*(#.*)?$/.exec(lines[i]);
    if (!key) continue;
    const lead = lines[i].length - lines[i].trimStart().length;
    const baseCol = lead + (/^\s*(-\s+)/.exec(lines[i])?.[1].length ?? 0);
    let j = i + 1;
    while (j < lines.length && (!lines[j].trim() || lines[j].trimStart().startsWith("#"))) j++;
    if (j >= lines.length) break;
    const next = lines[j];
    const nextCol = next.length - next.trimStart().length;
    if (next.trimStart().startsWith("- ") || next.trim() === "-") {
      if (indentSeq === null) indentSeq = nextCol > baseCol;
      if (!unit && nextCol > baseCol) unit = nextCol - baseCol;
    } else if (!unit && nextCol > baseCol) {
      unit = nextCol - baseCol;
    }
    if (unit && indentSeq !== null) break;
  }
  return { unit: unit || 2, indentSeq: indentSeq ?? true, eol: src.includes("\r\n") ? "\r\n" : "\n" };
}

export function indentLines(text: string, delta: number): string {
  if (delta === 0) return text;
  return text
    .split("\n")
    .map((line) => {
      if (!line.trim()) return line;
      if (delta > 0) return " ".repeat(delta) + line;
      const lead = line.length - line.trimStart().length;
      return line.slice(Math.min(lead, -delta));
    })
    .join("\n");
}

/** A plain or quoted scalar for `value`, keeping the original quoting when there was one. */
export function scalarText(value: unknown, original?: Scalar): string {
  if (typeof value === "string" && original) {
    if (original.type === "QUOTE_DOUBLE") return JSON.stringify(value);
    if (original.type === "QUOTE_SINGLE" && !value.includes("\n")) return `'${value.replace(/'/g, "''")}'`;
  }
  return stringify(value, { lineWidth: 0, flowCollectionPadding: false }).replace(/\n$/, "");
}

/** A literal block scalar (`|`, `|-`, `|+`) for a multi-line string, indented at `col`. */
export function blockLiteral(value: string, col: number): string {
  const trailing = /\n*$/.exec(value)?.[0].length ?? 0;
  const chomp = trailing === 0 ? "-" : trailing === 1 ? "" : "+";
  const body = value.replace(/\n+$/, "");
  const leadSpace = /^\s/.test(body) ? String(2) : "";
  const pad = " ".repeat(col);
  const lines = body.split("\n").map((l) => (l ? pad + l : ""));
  const extra = trailing > 1 ? "\n".repeat(trailing - 1) : "";
  return `|${leadSpace}${chomp}\n${lines.join("\n")}${extra}`;
}

/**
 * The text after `key:` for `value`: ` scalar` on the same line, or a newline and an indented
 * block collection whose lines start at `col + unit` (lists per the file's `indentSeq`).
 */
export function valueText(value: unknown, col: number, style: Style, original?: Node | null): string {
  if (typeof value === "string" && value.includes("\n")) return ` ${blockLiteral(value, col + style.unit)}`;
  const isCollection = value !== null && typeof value === "object";
  if (!isCollection) return ` ${scalarText(value, isScalar(original) ? original : undefined)}`;
  const empty = Array.isArray(value) ? value.length === 0 : Object.keys(value as object).length === 0;
  if (empty) return Array.isArray(value) ? " []" : " {}";
  // Keep a flow list flow (`dependsOn: [a, b]`) when that is how it was written.
  if (Array.isArray(value) && isSeq(original) && original.flow && value.every((v) => v === null || typeof v !== "object")) {
    return ` [${value.map((v) => scalarText(v)).join(", ")}]`;
  }
  const body = stringify(value, { lineWidth: 0, flowCollectionPadding: false, indentSeq: style.indentSeq, indent: style.unit })
    .replace(/\n$/, "");
  const shift = Array.isArray(value) ? col + (style.indentSeq ? style.unit : 0) : col + style.unit;
  return `\n${indentLines(body, shift)}`;
}

export function isBlockCollection(node: unknown): boolean {
  return (isMap(node) || isSeq(node)) && !(node as { flow?: boolean }).flow;
}
