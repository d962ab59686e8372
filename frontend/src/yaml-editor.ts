/**
 * Island `yaml-editor`: the flow source editor with live validation, save and a topology preview.
 *
 * The server stays the single judge of validity: every edit (debounced) goes through
 * `POST /api/v1/flows/validate`, and its line/column problems become lint markers, so the editor
 * can never disagree with what Save will accept. The user's text is never replaced behind their
 * back: a stale save (409) keeps it and offers explicit choices.
 */

import { indentWithTab } from "@codemirror/commands";
import { yaml, yamlLanguage } from "@codemirror/lang-yaml";
import { indentUnit } from "@codemirror/language";
import { type Diagnostic, lintGutter, setDiagnostics } from "@codemirror/lint";
import { EditorSelection, EditorState, Prec, type Text } from "@codemirror/state";
import { EditorView, keymap } from "@codemirror/view";
import { basicSetup } from "codemirror";

import { flowCompletion, loadCatalog } from "./editor/completion";
import "./editor/editor.css";
import { ApiError, type SourceProblem, api, isAbort } from "./lib/api";
import { h, mountIslands } from "./lib/islands";
import { type FlowGraph, type GraphNode, nodeTitle } from "./topology/graph";
import { TopologyView } from "./topology/render";
import "./topology/topology.css";

interface EditorProps {
  mode: "create" | "edit";
  namespace: string | null;
  id: string | null;
  revision: number | null;
  source: string;
  urls: {
    /** REST root, e.g. `/api/v1`. */
    api: string;
    schema: string;
    /** Page URL templates with `__NS__` and `__ID__` placeholders. */
    flowPage: string;
    editPage: string;
  };
}

interface ValidationResult {
  index: number;
  flow: string | null;
  namespace: string | null;
  errors: SourceProblem[];
  warnings: string[];
  infos: string[];
}

interface SavedFlow {
  id: string;
  namespace: string;
  revision: number;
}

type Severity = "error" | "warning" | "info";
interface Problem {
  severity: Severity;
  message: string;
  path: string;
  line: number | null;
  column: number | null;
}

const VALIDATE_DELAY_MS = 400;

function fill(template: string, ns: string, id: string): string {
  return template.replace("__NS__", encodeURIComponent(ns)).replace("__ID__", encodeURIComponent(id));
}

function clamp(n: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, n));
}

/** A server problem as a CodeMirror diagnostic spanning the token at its line/column. */
function toDiagnostic(doc: Text, p: Problem): Diagnostic {
  if (p.line === null) {
    const first = doc.line(1);
    return { from: first.from, to: first.to, severity: p.severity, message: p.message, source: p.path || undefined };
  }
  const line = doc.line(clamp(p.line, 1, doc.lines));
  const offset = clamp((p.column ?? 1) - 1, 0, line.length);
  const from = line.from + offset;
  const token = /^[^\s:#,\]}]+/.exec(line.text.slice(offset));
  let to = from + (token ? token[0].length : 0);
  if (to === from) to = line.to;
  return { from, to: Math.max(to, from), severity: p.severity, message: p.message, source: p.path || undefined };
}

/** The line that declares task/trigger `id` (for "click a node → jump to its YAML"). */
function findIdLine(doc: Text, id: string): number | null {
  const escaped = id.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const re = new RegExp(`^\\s*(?:-\\s+)?id\\s*:\\s*["']?${escaped}["']?\\s*(?:#.*)?$`);
  for (let n = 1; n <= doc.lines; n++) if (re.test(doc.line(n).text)) return n;
  return null;
}

class FlowEditor {
  private readonly props: EditorProps;
  private readonly root: HTMLElement;
  private view!: EditorView;
  private topology!: TopologyView;
  private mode: "create" | "edit";
  private namespace: string | null;
  private flowId: string | null;
  private revision: number | null;
  private savedSource: string;
  private saving = false;
  private validateTimer: number | undefined;
  private validateAbort: AbortController | null = null;
  private graphAbort: AbortController | null = null;
  private validateSeq = 0;
  private problems: Problem[] = [];
  private validity: "pending" | "valid" | "invalid" | "unknown" = "pending";

  // DOM
  private readonly el = {
    identity: h("span", { class: "we-identity" }),
    revision: h("span", { class: "badge badge-muted we-revision" }),
    dirty: h("span", { class: "we-dirty", hidden: true }, "Unsaved changes"),
    status: h("span", { class: "we-status", role: "status", "aria-live": "polite" }),
    viewLink: h("a", { class: "btn btn-ghost btn-sm", href: "#" }, "View flow"),
    save: h("button", { type: "button", class: "btn btn-primary btn-sm we-save", title: "Save (Ctrl+S / ⌘S)" }, "Save"),
    banner: h("div", { class: "we-banner", role: "alert", hidden: true }),
    code: h("div", { class: "we-code" }),
    problemsHead: h("button", { type: "button", class: "we-problems-head", "aria-expanded": "true" }),
    problemsList: h("ul", { class: "we-problems-list" }),
    problems: h("section", { class: "we-problems", "aria-label": "Problems" }),
    preview: h("div", { class: "we-topology" }),
    previewState: h("span", { class: "we-preview-state" }),
    split: h("div", { class: "we-split" }),
    divider: h("div", { class: "we-divider", role: "separator", "aria-orientation": "vertical", tabindex: "0", title: "Drag to resize" }),
  };

  constructor(root: HTMLElement, props: EditorProps) {
    this.root = root;
    this.props = props;
    this.mode = props.mode;
    this.namespace = props.namespace;
    this.flowId = props.id;
    this.revision = props.revision;
    // A new flow starts from the starter template: leaving it untouched loses nothing.
    this.savedSource = props.source;
    this.build();
    this.refreshHeader();
    this.scheduleValidate(0);
    // Warm the schema so the first `type:` completion is instant.
    window.setTimeout(() => void loadCatalog(props.urls.schema), 800);
  }

  // --- construction -----------------------------------------------------------------------

  private build(): void {
    const { el } = this;
    el.save.addEventListener("click", () => void this.save());
    el.problemsHead.addEventListener("click", () => {
      const open = el.problems.classList.toggle("we-problems--collapsed");
      el.problemsHead.setAttribute("aria-expanded", String(!open));
    });
    el.problems.append(el.problemsHead, el.problemsList);

    const bar = h(
      "div",
      { class: "we-bar" },
      h("div", { class: "we-bar-left" }, el.identity, el.revision, el.dirty),
      h("div", { class: "we-bar-right" }, el.status, el.viewLink, el.save),
    );
    const codePane = h("section", { class: "we-pane we-pane-code", "aria-label": "Flow source" }, el.code, el.problems);
    const previewPane = h(
      "section",
      { class: "we-pane we-pane-preview", "aria-label": "Topology preview" },
      h("header", { class: "we-pane-head" }, h("span", { class: "we-pane-title" }, "Topology"), el.previewState),
      el.preview,
    );
    el.split.append(codePane, el.divider, previewPane);
    this.root.replaceChildren(h("div", { class: "we-editor" }, bar, el.banner, el.split));

    this.view = new EditorView({
      parent: el.code,
      state: EditorState.create({
        doc: this.props.source,
        extensions: [
          Prec.highest(
            keymap.of([
              {
                key: "Mod-s",
                preventDefault: true,
                run: () => {
                  void this.save();
                  return true;
                },
              },
            ]),
          ),
          basicSetup,
          keymap.of([indentWithTab]),
          indentUnit.of("  "),
          EditorState.tabSize.of(2),
          yaml(),
          yamlLanguage.data.of({ autocomplete: flowCompletion(this.props.urls.schema) }),
          lintGutter(),
          EditorView.updateListener.of((update) => {
            if (update.docChanged) {
              this.refreshDirty();
              this.scheduleValidate(VALIDATE_DELAY_MS);
            }
          }),
          EditorView.contentAttributes.of({ "aria-label": "Flow YAML source" }),
        ],
      }),
    });

    // For tests and debugging: the island's element exposes its CodeMirror view.
    Object.defineProperty(this.root, "editorView", { value: this.view, configurable: true });

    this.topology = new TopologyView(el.preview, {
      sizing: "fill",
      defaultDirection: "TB",
      onNodeClick: (node) => this.revealNode(node),
      emptyMessage: "Add tasks to see the topology.",
    });
    this.bindDivider();

    // Ctrl/Cmd+S anywhere on the page (e.g. focus on the preview) saves too.
    document.addEventListener("keydown", (ev) => {
      if ((ev.ctrlKey || ev.metaKey) && ev.key.toLowerCase() === "s" && !this.view.hasFocus) {
        ev.preventDefault();
        void this.save();
      }
    });
    window.addEventListener("beforeunload", (ev) => {
      if (this.isDirty()) ev.preventDefault();
    });
    this.view.focus();
  }

  private bindDivider(): void {
    const { split, divider } = this.el;
    const stored = Number(localStorage.getItem("weir.editor.split"));
    if (stored > 20 && stored < 85) split.style.setProperty("--we-left", `${stored}%`);
    const setFrom = (clientX: number) => {
      const rect = split.getBoundingClientRect();
      const pct = clamp(((clientX - rect.left) / rect.width) * 100, 25, 80);
      split.style.setProperty("--we-left", `${pct}%`);
      localStorage.setItem("weir.editor.split", pct.toFixed(1));
    };
    divider.addEventListener("pointerdown", (ev) => {
      divider.setPointerCapture(ev.pointerId);
      split.classList.add("we-resizing");
      const move = (e: PointerEvent) => setFrom(e.clientX);
      const up = () => {
        split.classList.remove("we-resizing");
        divider.removeEventListener("pointermove", move);
        divider.removeEventListener("pointerup", up);
      };
      divider.addEventListener("pointermove", move);
      divider.addEventListener("pointerup", up);
    });
    divider.addEventListener("keydown", (ev) => {
      if (ev.key !== "ArrowLeft" && ev.key !== "ArrowRight") return;
      const current = parseFloat(split.style.getPropertyValue("--we-left")) || 58;
      const pct = clamp(current + (ev.key === "ArrowLeft" ? -3 : 3), 25, 80);
      split.style.setProperty("--we-left", `${pct}%`);
      localStorage.setItem("weir.editor.split", pct.toFixed(1));
    });
  }

  // --- state display ----------------------------------------------------------------------

  private source(): string {
    return this.view.state.doc.toString();
  }

  private isDirty(): boolean {
    return this.source() !== this.savedSource;
  }

  private refreshHeader(): void {
    const { el } = this;
    if (this.mode === "edit" && this.namespace && this.flowId) {
      el.identity.replaceChildren(h("span", { class: "we-ns" }, this.namespace), h("span", { class: "we-sep" }, "/"), h("strong", {}, this.flowId));
      el.revision.textContent = `revision ${this.revision ?? "?"}`;
      el.revision.hidden = false;
      el.viewLink.hidden = false;
      el.viewLink.href = fill(this.props.urls.flowPage, this.namespace, this.flowId);
    } else {
      el.identity.replaceChildren(h("strong", {}, "New flow"));
      el.revision.hidden = true;
      el.viewLink.hidden = true;
    }
    this.refreshDirty();
  }

  private refreshDirty(): void {
    const dirty = this.isDirty();
    this.el.dirty.hidden = !dirty;
    document.title = `${dirty ? "● " : ""}${this.flowId ?? "New flow"} · Edit · Weir`;
  }

  private setStatus(kind: "pending" | "valid" | "invalid" | "unknown" | "saving" | "saved", text: string): void {
    this.el.status.dataset.kind = kind;
    this.el.status.textContent = text;
  }

  private showBanner(tone: "error" | "warn" | "success", message: string, ...actions: HTMLElement[]): void {
    const { banner } = this.el;
    banner.dataset.tone = tone;
    const close = h("button", { type: "button", class: "we-banner-close", "aria-label": "Dismiss" }, "×");
    close.addEventListener("click", () => this.hideBanner());
    banner.replaceChildren(h("div", { class: "we-banner-text" }, message), h("div", { class: "we-banner-actions" }, ...actions), close);
    banner.hidden = false;
  }

  private hideBanner(): void {
    this.el.banner.hidden = true;
    this.el.banner.replaceChildren();
  }

  private renderProblems(): void {
    const { problemsHead, problemsList, problems } = this.el;
    const errors = this.problems.filter((p) => p.severity === "error").length;
    const others = this.problems.length - errors;
    problemsHead.replaceChildren(
      h("span", { class: "we-problems-title" }, "Problems"),
      h("span", { class: `badge ${errors ? "badge-danger" : "badge-muted"}` }, String(errors)),
      others ? h("span", { class: "badge badge-warn" }, `${others} note${others > 1 ? "s" : ""}`) : "",
    );
    problems.dataset.empty = String(this.problems.length === 0);
    if (this.problems.length === 0) {
      problemsList.replaceChildren(h("li", { class: "we-problem-none" }, this.validity === "valid" ? "No problems: the flow is valid." : "No problems found."));
      return;
    }
    problemsList.replaceChildren(
      ...this.problems.map((p) => {
        const where = p.line !== null ? `Ln ${p.line}${p.column !== null ? `, Col ${p.column}` : ""}` : "";
        const item = h(
          "li",
          { class: `we-problem we-problem--${p.severity}` },
          h("span", { class: "we-problem-icon", "aria-hidden": "true" }, p.severity === "error" ? "●" : "▲"),
          h(
            "span",
            { class: "we-problem-body" },
            h("span", { class: "we-problem-msg" }, p.message),
            p.path || where
              ? h("span", { class: "we-problem-meta" }, p.path ? h("code", {}, p.path) : "", where ? h("span", {}, where) : "")
              : "",
          ),
        );
        if (p.line !== null) {
          const button = h("button", { type: "button", class: "we-problem-jump" });
          button.append(...Array.from(item.childNodes));
          button.setAttribute("aria-label", `${p.message} (${where}): go to line`);
          button.addEventListener("click", () => this.jumpTo(p.line ?? 1, p.column ?? 1));
          item.replaceChildren(button);
        }
        return item;
      }),
    );
  }

  private applyProblems(problems: Problem[]): void {
    this.problems = problems;
    const doc = this.view.state.doc;
    const diagnostics = problems.filter((p) => p.severity !== "info").map((p) => toDiagnostic(doc, p));
    this.view.dispatch(setDiagnostics(this.view.state, diagnostics));
    this.renderProblems();
  }

  private jumpTo(line: number, column: number): void {
    const doc = this.view.state.doc;
    const l = doc.line(clamp(line, 1, doc.lines));
    const pos = l.from + clamp(column - 1, 0, l.length);
    this.view.dispatch({ selection: EditorSelection.cursor(pos), effects: EditorView.scrollIntoView(pos, { y: "center" }) });
    this.view.focus();
  }

  private revealNode(node: GraphNode): void {
    const line = findIdLine(this.view.state.doc, nodeTitle(node));
    if (line !== null) {
      const text = this.view.state.doc.line(line).text;
      this.jumpTo(line, text.indexOf("id") + 1);
    }
  }

  // --- validation and preview -------------------------------------------------------------

  private scheduleValidate(delay: number): void {
    window.clearTimeout(this.validateTimer);
    this.validity = "pending";
    this.setStatus("pending", "Checking…");
    this.validateTimer = window.setTimeout(() => void this.validate(), delay);
  }

  private async validate(): Promise<void> {
    const seq = ++this.validateSeq;
    this.validateAbort?.abort();
    const abort = new AbortController();
    this.validateAbort = abort;
    const text = this.source();
    if (!text.trim()) {
      this.validity = "invalid";
      this.applyProblems([{ severity: "error", message: "The flow is empty: it needs at least an id, a namespace and tasks.", path: "", line: null, column: null }]);
      this.setStatus("invalid", "Empty");
      this.topology.setNotice("Add tasks to see the topology.");
      return;
    }
    try {
      const { data } = await api.postYaml<ValidationResult[]>(`${this.props.urls.api}/flows/validate`, text, abort.signal);
      if (seq !== this.validateSeq) return;
      const problems: Problem[] = [];
      const results = Array.isArray(data) ? data : [];
      if (results.length > 1) {
        problems.push({ severity: "error", message: `The editor holds one flow, but the text has ${results.length} YAML documents (separated by ---).`, path: "", line: null, column: null });
      }
      for (const r of results) {
        for (const e of r.errors ?? []) problems.push({ severity: "error", ...e });
        for (const w of r.warnings ?? []) problems.push({ severity: "warning", message: w, path: "", line: null, column: null });
        for (const i of r.infos ?? []) problems.push({ severity: "info", message: i, path: "", line: null, column: null });
      }
      const errors = problems.filter((p) => p.severity === "error").length;
      this.validity = errors ? "invalid" : "valid";
      this.applyProblems(problems);
      this.setStatus(this.validity, errors ? `${errors} problem${errors > 1 ? "s" : ""}` : "Valid");
      if (errors) {
        this.graphAbort?.abort();
        this.el.previewState.textContent = "out of date";
        this.topology.setNotice("Fix the problems to refresh the topology", "warn");
      } else {
        void this.refreshGraph(text, seq);
      }
    } catch (err) {
      if (isAbort(err) || seq !== this.validateSeq) return;
      this.validity = "unknown";
      if (err instanceof ApiError && err.errors.length) {
        this.validity = "invalid";
        this.applyProblems(err.errors.map((e) => ({ severity: "error" as const, ...e })));
        this.setStatus("invalid", `${err.errors.length} problem${err.errors.length > 1 ? "s" : ""}`);
      } else {
        const message = err instanceof ApiError ? err.message : String(err);
        this.applyProblems([{ severity: "warning", message: `Could not validate: ${message}`, path: "", line: null, column: null }]);
        this.setStatus("unknown", "Not checked");
      }
    }
  }

  private async refreshGraph(text: string, seq: number): Promise<void> {
    this.graphAbort?.abort();
    const abort = new AbortController();
    this.graphAbort = abort;
    this.el.previewState.textContent = "updating…";
    try {
      const { data } = await api.postYaml<FlowGraph>(`${this.props.urls.api}/flows/graph`, text, abort.signal);
      if (seq !== this.validateSeq) return;
      this.topology.update(data);
      this.el.previewState.textContent = "live";
    } catch (err) {
      if (isAbort(err) || seq !== this.validateSeq) return;
      this.el.previewState.textContent = "unavailable";
      this.topology.setNotice(err instanceof ApiError ? `Topology unavailable: ${err.message}` : "Topology unavailable", "warn");
    }
  }

  // --- saving -----------------------------------------------------------------------------

  private flowApiUrl(ns: string, id: string): string {
    return `${this.props.urls.api}/flows/${encodeURIComponent(ns)}/${encodeURIComponent(id)}`;
  }

  async save(options: { overwrite?: boolean } = {}): Promise<void> {
    if (this.saving) return;
    const text = this.source();
    if (!text.trim()) {
      this.showBanner("error", "Nothing to save: the flow is empty.");
      return;
    }
    this.saving = true;
    this.el.save.disabled = true;
    this.el.save.textContent = "Saving…";
    this.setStatus("saving", "Saving…");
    try {
      let result: SavedFlow;
      if (this.mode === "create" || !this.namespace || !this.flowId) {
        result = (await api.postYaml<SavedFlow>(`${this.props.urls.api}/flows`, text)).data;
      } else {
        let base = this.revision;
        if (options.overwrite) base = (await api.get<SavedFlow>(this.flowApiUrl(this.namespace, this.flowId))).data.revision;
        const headers: Record<string, string> = base !== null ? { "If-Match": `"${base}"` } : {};
        result = (await api.putYaml<SavedFlow>(this.flowApiUrl(this.namespace, this.flowId), text, headers)).data;
      }
      const unchanged = this.mode === "edit" && result.revision === this.revision;
      const created = this.mode === "create";
      this.mode = "edit";
      this.namespace = result.namespace;
      this.flowId = result.id;
      this.revision = result.revision;
      this.savedSource = text;
      const editUrl = fill(this.props.urls.editPage, result.namespace, result.id);
      if (window.location.pathname !== editUrl) window.history.replaceState(null, "", editUrl);
      this.refreshHeader();
      this.hideBanner();
      this.setStatus("saved", unchanged ? "No changes to save" : created ? `Created · revision ${result.revision}` : `Saved · revision ${result.revision}`);
      window.setTimeout(() => {
        if (this.el.status.dataset.kind === "saved") this.setStatus(this.validity, this.validity === "valid" ? "Valid" : this.el.status.textContent ?? "");
      }, 4000);
    } catch (err) {
      this.handleSaveError(err);
    } finally {
      this.saving = false;
      this.el.save.disabled = false;
      this.el.save.textContent = "Save";
    }
  }

  private handleSaveError(err: unknown): void {
    if (!(err instanceof ApiError)) {
      this.setStatus("unknown", "Not saved");
      this.showBanner("error", `Not saved: ${String(err)}. Your text is still here.`);
      return;
    }
    if (err.status === 409 && this.mode === "edit" && this.namespace && this.flowId) {
      this.setStatus("invalid", "Not saved: conflict");
      const open = h("a", { class: "btn btn-sm", href: fill(this.props.urls.flowPage, this.namespace, this.flowId), target: "_blank", rel: "noopener" }, "Open latest in a new tab");
      const overwrite = h("button", { type: "button", class: "btn btn-sm btn-danger-outline" }, "Save mine anyway");
      overwrite.addEventListener("click", () => {
        if (window.confirm("Replace the latest revision with your version? The other change stays in the revision history.")) void this.save({ overwrite: true });
      });
      const reload = h("button", { type: "button", class: "btn btn-sm btn-ghost" }, "Discard mine and reload");
      reload.addEventListener("click", () => void this.reloadLatest());
      const latest = /latest is revision (\d+)/.exec(err.message)?.[1];
      this.showBanner(
        "warn",
        `This flow was changed since you opened it: you started from revision ${this.revision}${latest ? `, the latest is revision ${latest}` : ""}. Your text has not been saved and is still in the editor.`,
        open,
        overwrite,
        reload,
      );
      return;
    }
    if (err.errors.length) {
      this.applyProblems(err.errors.map((e) => ({ severity: "error" as const, ...e })));
      this.setStatus("invalid", "Not saved");
      this.showBanner("error", `Not saved: ${err.errors.length === 1 ? "1 problem" : `${err.errors.length} problems`} to fix (see the markers and the list below).`);
      return;
    }
    this.setStatus("unknown", "Not saved");
    const actions: HTMLElement[] = [];
    if (err.status === 409 && this.mode === "create") {
      const ident = /flow ([\w.-]+)\.([\w-]+) already exists/.exec(err.message);
      if (ident) actions.push(h("a", { class: "btn btn-sm", href: fill(this.props.urls.editPage, ident[1], ident[2]), target: "_blank", rel: "noopener" }, "Open the existing flow"));
    }
    this.showBanner("error", `Not saved: ${err.message}`, ...actions);
  }

  private async reloadLatest(): Promise<void> {
    if (!this.namespace || !this.flowId) return;
    if (this.isDirty() && !window.confirm("Discard your unsaved changes and load the latest revision?")) return;
    try {
      const { data } = await api.get<SavedFlow & { source: string }>(this.flowApiUrl(this.namespace, this.flowId));
      this.revision = data.revision;
      this.savedSource = data.source;
      this.view.dispatch({ changes: { from: 0, to: this.view.state.doc.length, insert: data.source } });
      this.hideBanner();
      this.refreshHeader();
      this.setStatus("saved", `Loaded revision ${data.revision}`);
    } catch (err) {
      this.showBanner("error", `Could not load the latest revision: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

mountIslands<EditorProps>("yaml-editor", (el, props) => {
  new FlowEditor(el, props);
});
