/**
 * The YAML side: a CodeMirror 6 view that owns the flow text and its undo history.
 *
 * Canvas edits arrive as whole new texts; they are applied as the minimal changed span, as one
 * isolated history event, so the cursor elsewhere, the scroll position and the user's own undo
 * all survive, and Ctrl+Z on the canvas and in the code undo the same single history.
 */

import { indentWithTab, isolateHistory, redo, undo } from "@codemirror/commands";
import { yaml, yamlLanguage } from "@codemirror/lang-yaml";
import { HighlightStyle, indentUnit, syntaxHighlighting } from "@codemirror/language";
import { type Diagnostic, lintGutter, setDiagnostics } from "@codemirror/lint";
import { EditorSelection, EditorState, Prec, type Text } from "@codemirror/state";
import { EditorView, keymap } from "@codemirror/view";
import { tags } from "@lezer/highlight";
import { basicSetup } from "codemirror";

import { flowCompletion } from "../editor/completion";
import type { SourceProblem } from "../lib/api";
import { minimalChange } from "./ops";

export interface Problem extends SourceProblem {
  severity: "error" | "warning" | "info";
}

export interface CodeOptions {
  parent: HTMLElement;
  doc: string;
  schemaUrl: string;
  onChange: (text: string, fromCanvas: boolean) => void;
  onSave: () => void;
}

export const CANVAS_EVENT = "input.canvas";

/** YAML colours from CSS variables, so the light and dark themes both stay readable. */
const yamlColours = HighlightStyle.define([
  { tag: [tags.propertyName, tags.definition(tags.propertyName)], color: "var(--fe-hl-key)" },
  { tag: [tags.string, tags.special(tags.string), tags.content], color: "var(--fe-hl-string)" },
  { tag: [tags.number, tags.bool, tags.null, tags.atom], color: "var(--fe-hl-atom)" },
  { tag: [tags.comment, tags.lineComment], color: "var(--fe-hl-comment)", fontStyle: "italic" },
  { tag: [tags.keyword, tags.meta, tags.processingInstruction, tags.labelName, tags.typeName], color: "var(--fe-hl-meta)" },
  { tag: [tags.punctuation, tags.separator, tags.squareBracket, tags.brace], color: "var(--fe-muted)" },
]);

export function createCodeView(o: CodeOptions): EditorView {
  return new EditorView({
    parent: o.parent,
    state: EditorState.create({
      doc: o.doc,
      extensions: [
        Prec.highest(keymap.of([{ key: "Mod-s", preventDefault: true, run: () => (o.onSave(), true) }])),
        Prec.high(syntaxHighlighting(yamlColours)),
        basicSetup,
        keymap.of([indentWithTab]),
        indentUnit.of("  "),
        EditorState.tabSize.of(2),
        yaml(),
        yamlLanguage.data.of({ autocomplete: flowCompletion(o.schemaUrl) }),
        lintGutter(),
        EditorView.updateListener.of((u) => {
          if (!u.docChanged) return;
          const fromCanvas = u.transactions.some((t) => t.isUserEvent(CANVAS_EVENT));
          o.onChange(u.state.doc.toString(), fromCanvas);
        }),
        EditorView.contentAttributes.of({ "aria-label": "Flow YAML source" }),
      ],
    }),
  });
}

/** Replace the text with `next` as one undoable step touching only the changed span. */
export function applyText(view: EditorView, next: string): void {
  const change = minimalChange(view.state.doc.toString(), next);
  if (!change) return;
  view.dispatch({
    changes: change,
    annotations: isolateHistory.of("full"),
    userEvent: CANVAS_EVENT,
    scrollIntoView: false,
  });
}

export function undoCode(view: EditorView): boolean {
  return undo(view);
}

export function redoCode(view: EditorView): boolean {
  return redo(view);
}

function clamp(n: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, n));
}

function toDiagnostic(doc: Text, p: Problem): Diagnostic {
  if (p.line === null) {
    const first = doc.line(1);
    return { from: first.from, to: first.to, severity: p.severity, message: p.message };
  }
  const line = doc.line(clamp(p.line, 1, doc.lines));
  const offset = clamp((p.column ?? 1) - 1, 0, line.length);
  const from = line.from + offset;
  const token = /^[^\s:#,\]}]+/.exec(line.text.slice(offset));
  const to = token ? from + token[0].length : line.to;
  return { from, to: Math.max(to, from), severity: p.severity, message: p.path ? `${p.path}: ${p.message}` : p.message };
}

export function showProblems(view: EditorView, problems: Problem[]): void {
  const doc = view.state.doc;
  const diagnostics = problems.filter((p) => p.severity !== "info").map((p) => toDiagnostic(doc, p));
  view.dispatch(setDiagnostics(view.state, diagnostics));
}

/** Put the cursor on the line declaring task `id` (clicking a node reveals its YAML). */
export function revealId(view: EditorView, id: string): void {
  const escaped = id.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const re = new RegExp(`^\\s*(?:-\\s+)?id\\s*:\\s*["']?${escaped}["']?\\s*(?:#.*)?$`);
  const doc = view.state.doc;
  for (let n = 1; n <= doc.lines; n++) {
    const line = doc.line(n);
    if (re.test(line.text)) {
      const pos = line.from + line.text.indexOf("id");
      view.dispatch({ selection: EditorSelection.cursor(pos), effects: EditorView.scrollIntoView(pos, { y: "center" }) });
      return;
    }
  }
}

/** Put the cursor on a problem's line and column, scrolled into view, and focus the code. */
export function jumpTo(view: EditorView, p: Problem): void {
  const doc = view.state.doc;
  const line = doc.line(clamp(p.line ?? 1, 1, doc.lines));
  const pos = line.from + clamp((p.column ?? 1) - 1, 0, line.length);
  view.dispatch({ selection: EditorSelection.cursor(pos), effects: EditorView.scrollIntoView(pos, { y: "center" }) });
  view.focus();
}
