/**
 * The flow editor: YAML and canvas over one text.
 *
 * The CodeMirror document is the single source of truth. Typing re-derives the model and the
 * canvas (debounced); a canvas gesture runs one operation from `ops.ts` on the current text and
 * applies the result to CodeMirror as a minimal change. Undo/redo is CodeMirror's history, shared
 * by both sides. The server judges validity (`/flows/validate`); its problems mark the gutter and
 * the nodes.
 */

import { type ReactFlowInstance, ReactFlowProvider } from "@xyflow/react";
import type { EditorView } from "@codemirror/view";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { isMap } from "yaml";

import { ApiError, api, isAbort } from "../lib/api";
import { Canvas, type DropTarget, fitOptions } from "./Canvas";
import { applyText, createCodeView, jumpTo, type Problem, redoCode, revealId, showProblems, undoCode } from "./code";
import { ConflictPanel, type Conflict } from "./Conflict";
import { structuredLayout } from "./flowlayout";
import { bigGroups, buildPicture, taskNodeId } from "./graph";
import { type Box, cachedLayout, layout, type Routes } from "./layout";
import { buildModel, isTriggerPath, type Path, TRIGGERS, taskForProblemPath } from "./model";
import * as ops from "./ops";
import { Palette } from "./Palette";
import { ProblemList } from "./ProblemList";
import { PropertyForm } from "./PropertyForm";
import { SCHEDULE, SchedulePreview } from "./SchedulePreview";
import { type Catalog, emptySlots, loadCatalog } from "./schema";

export interface EditorProps {
  mode: "create" | "edit";
  namespace: string | null;
  id: string | null;
  revision: number | null;
  source: string;
  /** An invalid draft pending for this flow: `source` is the draft's (docs/adr/0026). */
  draft?: { updated: string; updatedBy: string | null; problems: number } | null;
  urls: {
    api: string;
    schema: string;
    flowPage: string;
    editPage: string;
    revisionsPage?: string;
    executePage?: string;
    flowsPage?: string;
  };
}

interface ValidationResult {
  errors: { path: string; line: number | null; column: number | null; message: string }[];
  warnings: string[];
  infos: string[];
}

interface SavedDraft {
  namespace: string;
  id: string;
  errors: unknown[];
}

interface SavedFlow {
  id: string;
  namespace: string;
  revision: number;
  source?: string;
}

type View = "split" | "code" | "canvas";
type Status = { kind: "pending" | "valid" | "invalid" | "unknown" | "saving" | "saved"; text: string };

const VALIDATE_DELAY_MS = 400;
const MODEL_DELAY_MS = 120;
/** What a new trigger starts with, so that it validates at once. */
const TRIGGER_STARTERS: Record<string, Record<string, unknown>> = {
  [SCHEDULE]: { cron: "0 9 * * *" },
  "io.kestra.plugin.core.trigger.ScheduleOnDates": { dates: [new Date(Date.now() + 86_400_000).toISOString().slice(0, 19) + "Z"] },
  "io.kestra.plugin.core.trigger.Webhook": { key: Math.random().toString(36).slice(2, 14) + Math.random().toString(36).slice(2, 14) },
};
const WRAP_TYPES = ["Parallel", "Sequential", "ForEach", "AllowFailure", "WorkingDirectory"].map((n) => `io.kestra.plugin.core.flow.${n}`);

function fill(template: string, ns: string, id: string): string {
  return template.replace("__NS__", encodeURIComponent(ns)).replace("__ID__", encodeURIComponent(id));
}

/**
 * Blur the property-form field that has focus, so its pending value is written to the YAML (the
 * form commits on blur), and return how to put the caret back in the field the form re-renders.
 */
function commitFocusedField(): () => void {
  const active = document.activeElement;
  if (!(active instanceof HTMLInputElement || active instanceof HTMLTextAreaElement || active instanceof HTMLSelectElement)) return () => {};
  if (!active.closest(".fe-form")) return () => {};
  const id = active.id;
  active.blur();
  // After React re-rendered the form with the committed value.
  return () =>
    requestAnimationFrame(() => {
      const again = id ? document.getElementById(id) : null;
      if (again instanceof HTMLElement && document.activeElement === document.body) again.focus();
    });
}

/** `?view=canvas|code|split` (the flow list's "visual designer" link), else the last one used. */
function initialView(): View {
  const asked = new URLSearchParams(window.location.search).get("view");
  if (asked === "canvas" || asked === "code" || asked === "split") return asked;
  return (localStorage.getItem("weir.editor.view") as View | null) ?? "split";
}

/** After the first save the page is the flow's edit page: the breadcrumb says so. */
function showBreadcrumb(urls: EditorProps["urls"], ns: string, id: string): void {
  const nav = document.querySelector("nav.breadcrumbs");
  if (!nav) return;
  const link = (href: string, text: string) => Object.assign(document.createElement("a"), { href, textContent: text });
  const sep = () => Object.assign(document.createElement("span"), { textContent: "/", ariaHidden: "true" });
  const here = Object.assign(document.createElement("span"), { textContent: "Edit" });
  here.setAttribute("aria-current", "page");
  nav.replaceChildren(
    link(urls.flowsPage ?? "/", "Flows"), sep(),
    link(`${urls.flowsPage ?? "/"}?namespace=${encodeURIComponent(ns)}`, ns), sep(),
    link(fill(urls.flowPage, ns, id), id), sep(),
    here,
  );
}

/** The site theme (static/js/theme.js puts it on <html data-theme>). */
function siteIsDark(): boolean {
  return document.documentElement.dataset.theme === "dark";
}

export function App({ props, host }: { props: EditorProps; host: HTMLElement }) {
  const codeHost = useRef<HTMLDivElement>(null);
  const visualRef = useRef<HTMLElement>(null);
  const viewRef = useRef<EditorView | null>(null);
  const rfRef = useRef<ReactFlowInstance | null>(null);
  const [text, setText] = useState(props.source);
  const [modelText, setModelText] = useState(props.source);
  const [ident, setIdent] = useState({ mode: props.mode, namespace: props.namespace, id: props.id, revision: props.revision });
  const [savedSource, setSavedSource] = useState(props.source);
  const [catalog, setCatalog] = useState<Catalog | null>(null);
  const [catalogError, setCatalogError] = useState<string | null>(null);
  const [problems, setProblems] = useState<Problem[]>([]);
  const [status, setStatus] = useState<Status>({ kind: "pending", text: "Checking…" });
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [selectedEdges, setSelectedEdges] = useState<string[]>([]);
  // The opening text is parsed once, for the first model and the groups that start collapsed.
  const [firstModel] = useState(() => buildModel(props.source));
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(() => bigGroups(firstModel));
  const [positions, setPositions] = useState<Record<string, Box> | null>(null);
  const [routes, setRoutes] = useState<Routes>({});
  const [view, setView] = useState<View>(initialView);
  const [dark, setDark] = useState(siteIsDark);
  useEffect(() => {
    const follow = () => setDark(siteIsDark());
    window.addEventListener("weir:theme", follow);
    return () => window.removeEventListener("weir:theme", follow);
  }, []);
  const [notice, setNotice] = useState<{ tone: "error" | "info"; text: string } | null>(null);
  const [banner, setBanner] = useState<{ tone: "error" | "warn" | "success"; text: string } | null>(null);
  const [conflict, setConflict] = useState<Conflict | null>(null);
  const [saving, setSaving] = useState(false);
  // Whether the server holds an invalid draft of this flow (it refuses to run the flow meanwhile).
  const [draftPending, setDraftPending] = useState(!!props.draft);
  const [draftNote, setDraftNote] = useState<string | null>(() =>
    props.draft
      ? `This is the invalid draft saved ${new Date(props.draft.updated).toLocaleString()}${props.draft.updatedBy ? ` by ${props.draft.updatedBy}` : ""}, not a saved revision: the flow cannot be executed until it is fixed and saved, or the draft is discarded.`
      : null,
  );
  const clipboard = useRef<string>("");
  const textRef = useRef(text);
  textRef.current = text;

  // --- code editor --------------------------------------------------------------------------
  const saveRef = useRef<() => void>(() => {});
  useEffect(() => {
    if (!codeHost.current) return;
    let modelTimer: number | undefined;
    const v = createCodeView({
      parent: codeHost.current,
      doc: props.source,
      schemaUrl: props.urls.schema,
      onSave: () => saveRef.current(),
      onChange: (next, fromCanvas) => {
        setText(next);
        window.clearTimeout(modelTimer);
        if (fromCanvas) setModelText(next);
        else modelTimer = window.setTimeout(() => setModelText(next), MODEL_DELAY_MS);
      },
    });
    viewRef.current = v;
    Object.defineProperty(host, "editorView", { value: v, configurable: true });
    return () => {
      v.destroy();
      viewRef.current = null;
    };
  }, [host, props.source, props.urls.schema]);

  // The palette's catalog (a large schema) loads once the canvas is drawn: it is not needed to
  // see or edit the flow, and parsing it would only delay the first picture.
  const [drawn, setDrawn] = useState(false);
  useEffect(() => {
    if (!drawn) return;
    loadCatalog(props.urls.schema).then(setCatalog, (err: unknown) => setCatalogError(err instanceof Error ? err.message : String(err)));
  }, [props.urls.schema, drawn]);

  // --- model, picture, layout -----------------------------------------------------------------
  const model = useMemo(() => (modelText === props.source ? firstModel : buildModel(modelText)), [modelText, props.source, firstModel]);
  const problemsByTask = useMemo(() => {
    const out = new Map<string, string[]>();
    for (const p of problems) {
      if (p.severity !== "error") continue;
      const t = taskForProblemPath(model, p.path);
      if (!t) continue;
      out.set(t.id, [...(out.get(t.id) ?? []), `${p.path}: ${p.message}`]);
    }
    return out;
  }, [problems, model]);
  const picture = useMemo(() => buildPicture(model, collapsed, problemsByTask), [model, collapsed, problemsByTask]);
  const layoutKey = useRef("");
  // For tests and debugging: what the canvas should show right now.
  useEffect(() => {
    Object.defineProperty(host, "flowState", { value: { picture, positions, selected: [...selected] }, configurable: true });
  }, [host, picture, positions, selected]);

  useEffect(() => {
    const key = picture.key;
    layoutKey.current = key;
    // A flow without dependsOn edges is laid out from its structure at once; DAGs go to ELK.
    const hit = structuredLayout(picture) ?? cachedLayout(key);
    if (hit) {
      setPositions(hit.positions);
      setRoutes(hit.routes);
      host.dataset.layout = "ready";
      window.setTimeout(() => setDrawn(true), 0);
      return;
    }
    host.dataset.layout = "pending";
    layout(key, picture.elk).then(
      (laid) => {
        if (layoutKey.current !== key) return;
        setPositions(laid.positions);
        setRoutes(laid.routes);
        host.dataset.layout = "ready";
        window.setTimeout(() => setDrawn(true), 0);
      },
      (err: unknown) => setNotice({ tone: "error", text: `Layout failed: ${String(err)}` }),
    );
  }, [picture, host]);

  // --- validation ---------------------------------------------------------------------------
  useEffect(() => {
    const abort = new AbortController();
    setStatus({ kind: "pending", text: "Checking…" });
    // The first check waits for the first picture (it competes for the CPU on a busy machine).
    if (!drawn && text === props.source) return () => abort.abort();
    const timer = window.setTimeout(async () => {
      if (!text.trim()) {
        setProblems([]);
        setStatus({ kind: "invalid", text: "Empty" });
        return;
      }
      try {
        const { data } = await api.postYaml<ValidationResult[]>(`${props.urls.api}/flows/validate`, text, abort.signal);
        const list: Problem[] = [];
        for (const r of data) {
          for (const e of r.errors) list.push({ severity: "error", ...e });
          for (const w of r.warnings ?? []) list.push({ severity: "warning", message: w, path: "", line: null, column: null });
        }
        setProblems(list);
        const errors = list.filter((p) => p.severity === "error").length;
        setStatus(errors ? { kind: "invalid", text: `${errors} problem${errors > 1 ? "s" : ""}` } : { kind: "valid", text: "Valid" });
      } catch (err) {
        if (isAbort(err)) return;
        if (err instanceof ApiError && err.errors.length) {
          setProblems(err.errors.map((e) => ({ severity: "error" as const, ...e })));
          setStatus({ kind: "invalid", text: `${err.errors.length} problem${err.errors.length > 1 ? "s" : ""}` });
        } else {
          setStatus({ kind: "unknown", text: "Not checked" });
        }
      }
    }, VALIDATE_DELAY_MS);
    return () => {
      abort.abort();
      window.clearTimeout(timer);
    };
  }, [text, props.urls.api, props.source, drawn]);

  useEffect(() => {
    if (viewRef.current) showProblems(viewRef.current, problems);
  }, [problems]);

  // --- editing ------------------------------------------------------------------------------
  const edit = useCallback((fn: (src: string) => string): boolean => {
    const v = viewRef.current;
    if (!v) return false;
    try {
      const next = fn(v.state.doc.toString());
      applyText(v, next);
      setNotice(null);
      return true;
    } catch (err) {
      setNotice({ tone: "error", text: err instanceof Error ? err.message : String(err) });
      return false;
    }
  }, []);

  const select = useCallback((ids: string[]) => setSelected(new Set(ids)), []);

  const isTriggerType = useCallback((type: string) => !!catalog?.byType.get(type)?.trigger, [catalog]);

  const insertAt = useCallback(
    (type: string, target: DropTarget) => {
      const trigger = isTriggerType(type);
      if (!trigger && isTriggerPath(target.slotPath)) {
        setNotice({ tone: "error", text: "Only triggers go in the triggers lane: drop tasks into the flow's task lists." });
        return;
      }
      let newId = "";
      if (edit((src) => {
        const r = trigger
          ? ops.insertTask(src, [TRIGGERS], buildModel(src).slots.find((sl) => isTriggerPath(sl.path))?.tasks.length ?? 0,
            { type, props: TRIGGER_STARTERS[type] })
          : ops.insertTask(src, target.slotPath, target.index, { type, props: emptySlots(catalog, type) });
        newId = r.id;
        return r.text;
      })) select([newId]);
    },
    [edit, select, isTriggerType, catalog],
  );

  const addAfterSelection = useCallback(
    (type: string) => {
      if (isTriggerType(type)) {
        insertAt(type, { slotPath: [TRIGGERS], index: 0 });
        return;
      }
      const m = buildModel(viewRef.current?.state.doc.toString() ?? "");
      const sel = [...selected].map((id) => m.byId.get(id)).filter((t) => !!t);
      const last = sel.sort((a, b) => b.index - a.index)[0];
      insertAt(type, last ? { slotPath: last.slot.path, index: last.index + 1 } : { slotPath: ["tasks"], index: m.slots[0]?.tasks.length ?? 0 });
    },
    [insertAt, selected, isTriggerType],
  );

  const actions = useMemo(
    () => ({
      toggleCollapse: (id: string) =>
        setCollapsed((c) => {
          const next = new Set(c);
          if (next.has(id)) next.delete(id);
          else next.add(id);
          return next;
        }),
      toggleDag: (slotPath: Path, on: boolean) => edit((src) => ops.setDagMode(src, slotPath, on)),
    }),
    [edit],
  );

  const deleteSelection = useCallback(() => {
    // The deleted node held the focus: keep it on the canvas so Ctrl+Z undoes at once.
    visualRef.current?.focus({ preventScroll: true });
    if (selected.size) {
      edit((src) => ops.deleteTasks(src, [...selected]));
      setSelected(new Set());
      return;
    }
    for (const e of selectedEdges) {
      const m = /^d:(.+)>(.+)$/.exec(e);
      if (m) edit((src) => ops.removeDependsOn(src, m[2], m[1]));
    }
  }, [edit, selected, selectedEdges]);

  const copy = useCallback(() => {
    if (!selected.size) return;
    clipboard.current = ops.copyTasks(textRef.current, [...selected]);
    void navigator.clipboard?.writeText(clipboard.current).catch(() => undefined);
  }, [selected]);

  const paste = useCallback(() => {
    if (!clipboard.current) return;
    const m = buildModel(textRef.current);
    const anchor = [...selected].map((id) => m.byId.get(id)).filter((t) => !!t).sort((a, b) => b.index - a.index)[0];
    const slotPath = anchor ? anchor.slot.path : ["tasks"];
    const index = anchor ? anchor.index + 1 : (m.slots[0]?.tasks.length ?? 0);
    let ids: string[] = [];
    if (edit((src) => {
      const r = ops.pasteTasks(src, slotPath, index, clipboard.current);
      ids = r.ids;
      return r.text;
    })) select(ids);
  }, [edit, select, selected]);

  const duplicate = useCallback(() => {
    if (!selected.size) return;
    let ids: string[] = [];
    if (edit((src) => {
      const r = ops.duplicateTasks(src, [...selected]);
      ids = r.ids;
      return r.text;
    })) select(ids);
  }, [edit, select, selected]);

  const wrap = useCallback(
    (type: string) => {
      if (!selected.size) return;
      let id = "";
      if (edit((src) => {
        const r = ops.wrapTasks(src, [...selected], type);
        id = r.id;
        return r.text;
      })) select([id]);
    },
    [edit, select, selected],
  );

  const onCanvasKey = (e: React.KeyboardEvent) => {
    const target = e.target as HTMLElement;
    if (target.closest("input, textarea, select, .cm-editor")) return;
    const mod = e.ctrlKey || e.metaKey;
    const key = e.key.toLowerCase();
    const v = viewRef.current;
    if (e.key === "Delete" || e.key === "Backspace") deleteSelection();
    else if (mod && key === "z" && !e.shiftKey) v && undoCode(v);
    else if (mod && (key === "y" || (key === "z" && e.shiftKey))) v && redoCode(v);
    else if (mod && key === "c") copy();
    else if (mod && key === "x") {
      copy();
      deleteSelection();
    } else if (mod && key === "v") paste();
    else if (mod && key === "d") duplicate();
    else if (mod && key === "a") setSelected(new Set(model.tasks.map((t) => t.id)));
    else if (e.key === "Escape") setSelected(new Set());
    else if (key === "f" && !mod) {
      // F fits the whole flow; Shift+F zooms to the selection.
      const nodes = e.shiftKey && selected.size ? [...selected].map((id) => ({ id: taskNodeId(id) })) : undefined;
      void rfRef.current?.fitView({ ...fitOptions(nodes), duration: 200 });
    }
    else return;
    e.preventDefault();
  };

  // --- saving -------------------------------------------------------------------------------
  const flowApi = (ns: string, id: string) => `${props.urls.api}/flows/${encodeURIComponent(ns)}/${encodeURIComponent(id)}`;

  const save = useCallback(
    async (overwrite = false) => {
      const v = viewRef.current;
      if (!v || saving) return;
      // A form field commits on blur: commit the one being typed in before reading the text.
      const refocus = commitFocusedField();
      const source = v.state.doc.toString();
      refocus();
      if (!source.trim()) {
        setBanner({ tone: "error", text: "Nothing to save: the flow is empty." });
        return;
      }
      setSaving(true);
      setStatus({ kind: "saving", text: "Saving…" });
      try {
        let result: SavedFlow;
        if (ident.mode === "create" || !ident.namespace || !ident.id) {
          result = (await api.postYaml<SavedFlow>(`${props.urls.api}/flows`, source)).data;
        } else {
          let base = ident.revision;
          if (overwrite) base = (await api.get<SavedFlow>(flowApi(ident.namespace, ident.id))).data.revision;
          const headers: Record<string, string> = base !== null ? { "If-Match": `"${base}"` } : {};
          result = (await api.putYaml<SavedFlow>(flowApi(ident.namespace, ident.id), source, headers)).data;
        }
        const unchanged = ident.mode === "edit" && result.revision === ident.revision && !draftPending;
        setIdent({ mode: "edit", namespace: result.namespace, id: result.id, revision: result.revision });
        setSavedSource(source);
        setConflict(null);
        setBanner(null);
        // A valid revision supersedes the draft (the server removed it).
        setDraftPending(false);
        setDraftNote(null);
        const editUrl = fill(props.urls.editPage, result.namespace, result.id);
        if (window.location.pathname !== editUrl) {
          window.history.replaceState(null, "", editUrl);
          showBreadcrumb(props.urls, result.namespace, result.id);
        }
        setStatus({ kind: "saved", text: unchanged ? "No changes to save" : `Saved · revision ${result.revision}` });
      } catch (err) {
        if (err instanceof ApiError && err.status === 409 && ident.mode === "edit" && ident.namespace && ident.id) {
          setStatus({ kind: "invalid", text: "Not saved: conflict" });
          try {
            const latest = (await api.get<SavedFlow & { source: string }>(flowApi(ident.namespace, ident.id))).data;
            setConflict({ mine: source, theirs: latest.source, theirRevision: latest.revision, baseRevision: ident.revision });
          } catch {
            setBanner({ tone: "warn", text: `Not saved: ${err.message}. Your text is still here.` });
          }
        } else if (err instanceof ApiError && err.errors.length) {
          setProblems(err.errors.map((e) => ({ severity: "error" as const, ...e })));
          setStatus({ kind: "invalid", text: "Not saved" });
          setBanner({ tone: "error", text: `Not saved: ${err.errors.length === 1 ? "1 problem" : `${err.errors.length} problems`} to fix (see the markers), or keep it with "Save as draft".` });
        } else {
          setStatus({ kind: "unknown", text: "Not saved" });
          setBanner({ tone: "error", text: `Not saved: ${err instanceof Error ? err.message : String(err)}. Your text is still here.` });
        }
      } finally {
        setSaving(false);
      }
    },
    [ident, saving, props.urls, draftPending],
  );
  saveRef.current = () => void save();

  /** Keep text that does not validate as the flow's draft, so that nothing typed or pasted is lost. */
  const saveDraft = useCallback(async () => {
    const v = viewRef.current;
    if (!v || saving) return;
    commitFocusedField()();
    const source = v.state.doc.toString();
    setSaving(true);
    try {
      const existing = ident.mode === "edit" && ident.namespace && ident.id;
      const { data } = existing
        ? await api.putYaml<SavedDraft>(`${flowApi(ident.namespace!, ident.id!)}/draft`, source)
        : await api.postYaml<SavedDraft>(`${props.urls.api}/flows/drafts`, source);
      setSavedSource(source);
      setDraftPending(true);
      setIdent((i) => ({ ...i, namespace: data.namespace, id: data.id }));
      setDraftNote(`Saved as a draft (${data.errors.length} problem${data.errors.length === 1 ? "" : "s"}): it reopens with the flow, but cannot be executed until it is fixed and saved.`);
      setBanner(null);
      setStatus({ kind: "invalid", text: "Draft saved · invalid" });
      const editUrl = fill(props.urls.editPage, data.namespace, data.id);
      if (window.location.pathname !== editUrl) window.history.replaceState(null, "", editUrl);
    } catch (err) {
      setBanner({ tone: "error", text: `Draft not saved: ${err instanceof Error ? err.message : String(err)}. Your text is still here.` });
    } finally {
      setSaving(false);
    }
  }, [ident, saving, props.urls]);

  const discardDraft = useCallback(async () => {
    const v = viewRef.current;
    if (!v || !ident.namespace || !ident.id) return;
    try {
      await api.delete(`${flowApi(ident.namespace, ident.id)}/draft`);
      setDraftPending(false);
      setDraftNote(null);
      if (ident.mode === "edit") {
        // Back to the latest saved revision; the draft's text stays reachable with Undo.
        const latest = (await api.get<SavedFlow & { source: string }>(flowApi(ident.namespace, ident.id))).data;
        applyText(v, latest.source);
        setIdent((i) => ({ ...i, revision: latest.revision }));
        setSavedSource(latest.source);
      } else {
        setSavedSource("");
      }
    } catch (err) {
      setBanner({ tone: "error", text: `Draft not discarded: ${err instanceof Error ? err.message : String(err)}` });
    }
  }, [ident, props.urls]);

  const loadTheirs = (c: Conflict) => {
    const v = viewRef.current;
    if (!v) return;
    applyText(v, c.theirs);
    setIdent((i) => ({ ...i, revision: c.theirRevision }));
    setSavedSource(c.theirs);
    // The panel stays open with "mine" so nothing is lost until the user closes it.
    setConflict({ ...c, loaded: true });
  };

  useEffect(() => {
    const onKey = (ev: KeyboardEvent) => {
      const mod = ev.ctrlKey || ev.metaKey;
      const key = ev.key.toLowerCase();
      if (mod && key === "s" && !viewRef.current?.hasFocus) {
        ev.preventDefault();
        saveRef.current();
      } else if (mod && (key === "z" || key === "y") && (document.activeElement === document.body || document.activeElement === null)) {
        // Focus fell out of the editor (a removed node had it): undo/redo still mean the flow.
        const v = viewRef.current;
        if (!v) return;
        ev.preventDefault();
        if (key === "y" || ev.shiftKey) redoCode(v);
        else undoCode(v);
      }
    };
    const onUnload = (ev: BeforeUnloadEvent) => {
      if (textRef.current !== savedSourceRef.current) ev.preventDefault();
    };
    document.addEventListener("keydown", onKey);
    window.addEventListener("beforeunload", onUnload);
    return () => {
      document.removeEventListener("keydown", onKey);
      window.removeEventListener("beforeunload", onUnload);
    };
  }, []);
  const savedSourceRef = useRef(savedSource);
  savedSourceRef.current = savedSource;

  const dirty = text !== savedSource;
  useEffect(() => {
    document.title = `${dirty ? "● " : ""}${ident.id ?? "New flow"} · Edit · Weir`;
  }, [dirty, ident.id]);
  useEffect(() => localStorage.setItem("weir.editor.view", view), [view]);

  // --- selection side panel -----------------------------------------------------------------
  const single = selected.size === 1 ? model.byId.get([...selected][0]) : undefined;
  const singleValue = useMemo(() => {
    if (!single) return {};
    const n = model.doc.getIn(single.path, true);
    return isMap(n) ? ((n.toJSON() as Record<string, unknown>) ?? {}) : {};
  }, [single, model]);

  const onSetProperty = useCallback(
    (key: string, value: unknown) => {
      if (single) edit((src) => ops.setProperty(src, single.id, key, value));
    },
    [edit, single],
  );
  const onRename = useCallback(
    (id: string): boolean => {
      if (!single || !edit((src) => ops.renameTask(src, single.id, id))) return false;
      select([id]);
      return true;
    },
    [edit, single, select],
  );

  const onSelectCanvas = useCallback((ids: string[], edges: string[]) => {
    setSelected((prev) => (prev.size === ids.length && ids.every((i) => prev.has(i)) ? prev : new Set(ids)));
    setSelectedEdges(edges);
  }, []);


  return (
    <div className={`fe-root${dark ? " fe-dark" : ""}`} data-view={view}>
      <div className="fe-bar" role="toolbar" aria-label="Editor toolbar">
        <div className="fe-bar-left">
          <span className="fe-identity">
            {ident.namespace && ident.id && (ident.mode === "edit" || draftPending) ? (
              <>
                <span className="fe-ns">{ident.namespace}</span>
                <span className="fe-sep">/</span>
                <strong>{ident.id}</strong>
              </>
            ) : (
              <strong>New flow</strong>
            )}
          </span>
          {ident.mode === "edit" ? <span className="badge badge-muted we-revision">revision {ident.revision}</span> : null}
          <span className="we-dirty" hidden={!dirty}>
            Unsaved changes
          </span>
        </div>
        <div className="fe-bar-mid">
          <div className="fe-seg" role="group" aria-label="Panes">
            {(["code", "split", "canvas"] as View[]).map((v) => (
              <button key={v} type="button" aria-pressed={view === v} onClick={() => setView(v)}>
                {v === "code" ? "YAML" : v === "split" ? "Both" : "Canvas"}
              </button>
            ))}
          </div>
          <button type="button" className="fe-btn" aria-label="Undo (Ctrl+Z)" title="Undo (Ctrl+Z)" onClick={() => viewRef.current && undoCode(viewRef.current)}>
            ↶
          </button>
          <button type="button" className="fe-btn" aria-label="Redo (Ctrl+Shift+Z)" title="Redo (Ctrl+Shift+Z)" onClick={() => viewRef.current && redoCode(viewRef.current)}>
            ↷
          </button>
          <button type="button" className="fe-btn" aria-label="Duplicate selection (Ctrl+D)" title="Duplicate (Ctrl+D)" disabled={!selected.size} onClick={duplicate}>
            Duplicate
          </button>
          <button type="button" className="fe-btn" aria-label="Delete selection (Delete)" title="Delete (Del)" disabled={!selected.size && !selectedEdges.length} onClick={deleteSelection}>
            Delete
          </button>
          <select
            className="fe-wrap"
            aria-label="Wrap the selection into a flowable"
            value=""
            disabled={!selected.size}
            onChange={(e) => e.currentTarget.value && wrap(e.currentTarget.value)}
          >
            <option value="">Wrap in…</option>
            {WRAP_TYPES.map((t) => (
              <option key={t} value={t}>
                {t.slice(t.lastIndexOf(".") + 1)}
              </option>
            ))}
          </select>
          <label
            className="fe-root-dag"
            title="Run the flow's top-level tasks as a DAG: draw edges between tasks to set dependsOn. Top-level dependsOn is a Weir extension: Kestra rejects it (use a Dag task to stay portable)."
          >
            <input
              type="checkbox"
              aria-label="Run the top-level tasks as a DAG"
              checked={!!model.slots[0]?.dag}
              disabled={!model.ok}
              onChange={(e) => actions.toggleDag(["tasks"], e.currentTarget.checked)}
            />
            DAG
          </label>
        </div>
        <div className="fe-bar-right">
          <span className="we-status" data-kind={status.kind} role="status" aria-live="polite">
            {status.text}
          </span>
          {ident.mode === "edit" && ident.namespace && ident.id ? (
            <>
              {props.urls.revisionsPage ? (
                <a className="btn btn-ghost btn-sm" href={`${fill(props.urls.revisionsPage, ident.namespace, ident.id)}#first-change`}>
                  Revisions
                </a>
              ) : null}
              <a className="btn btn-ghost btn-sm" href={fill(props.urls.flowPage, ident.namespace, ident.id)}>
                View flow
              </a>
            </>
          ) : null}
          {status.kind === "invalid" && (dirty || !draftPending) ? (
            <button type="button" className="btn btn-sm we-save-draft" disabled={saving} onClick={() => void saveDraft()}
              title="Keep this YAML as the flow's draft although it does not validate (not executable until fixed)">
              Save as draft
            </button>
          ) : null}
          <button type="button" className="btn btn-primary btn-sm we-save" title="Save (Ctrl+S)" disabled={saving} onClick={() => void save()}>
            {saving ? "Saving…" : "Save"}
          </button>
          {ident.mode === "edit" && ident.namespace && ident.id && props.urls.executePage ? (
            draftPending ? (
              <button type="button" className="btn btn-sm we-execute" disabled title="The latest version is an invalid draft: fix and save it (or discard the draft) first">
                Execute
              </button>
            ) : dirty ? (
              <button type="button" className="btn btn-sm we-execute" disabled title="Save the flow first: an execution runs the saved revision">
                Execute
              </button>
            ) : (
              <a className="btn btn-sm we-execute" href={fill(props.urls.executePage, ident.namespace, ident.id)} title="Run the saved revision">
                Execute
              </a>
            )
          ) : null}
        </div>
      </div>
      {banner ? (
        <div className="we-banner fe-banner" data-tone={banner.tone} role="alert">
          <span>{banner.text}</span>
          <button type="button" aria-label="Dismiss" onClick={() => setBanner(null)}>
            ×
          </button>
        </div>
      ) : null}
      {draftPending && draftNote ? (
        <div className="we-banner fe-banner we-draft" data-tone="warn" role="status">
          <span>{draftNote}</span>
          <button type="button" className="fe-discard-draft" onClick={() => void discardDraft()}>
            Discard draft
          </button>
        </div>
      ) : null}
      {conflict ? (
        <ConflictPanel
          conflict={conflict}
          onOverwrite={() => void save(true)}
          onLoadTheirs={() => loadTheirs(conflict)}
          onClose={() => setConflict(null)}
        />
      ) : null}
      <div className="fe-main">
        <section className="fe-code" aria-label="Flow YAML" hidden={view === "canvas"}>
          <div className="fe-code-host" ref={codeHost} />
          <ProblemList problems={problems} valid={status.kind === "valid"} onJump={(p) => viewRef.current && jumpTo(viewRef.current, p)} />
        </section>
        <section className="fe-visual" aria-label="Flow canvas" hidden={view === "code"} tabIndex={-1} onKeyDown={onCanvasKey} ref={visualRef}>
          <Palette catalog={catalog} error={catalogError} onAdd={addAfterSelection} />
          <div className="fe-canvas-wrap">
            {notice ? (
              <div className={`fe-notice fe-notice--${notice.tone}`} role="alert">
                {notice.text}
                <button type="button" aria-label="Dismiss message" onClick={() => setNotice(null)}>
                  ×
                </button>
              </div>
            ) : null}
            {!model.ok ? <div className="fe-stale" role="status">The YAML does not parse: the canvas shows the last valid structure.</div> : null}
            <ReactFlowProvider>
              <Canvas
                picture={picture}
                positions={positions}
                routes={routes}
                dark={dark}
                actions={actions}
                selected={selected}
                onSelect={onSelectCanvas}
                onDropType={insertAt}
                onMove={(id, target) => edit((src) => ops.moveTask(src, id, target.slotPath, target.index))}
                onConnect={(source, target) => {
                  const t = model.byId.get(target);
                  if (t && !t.slot.dag) {
                    setNotice({ tone: "error", text: `Turn on DAG for the list holding "${target}" first (its DAG switch), then draw the edge.` });
                    return;
                  }
                  edit((src) => ops.addDependsOn(src, target, source));
                }}
                onOpen={(id) => {
                  if (viewRef.current) revealId(viewRef.current, id);
                  if (view === "canvas") setView("split");
                }}
                onReady={(rf) => (rfRef.current = rf)}
              />
            </ReactFlowProvider>
            {single ? (
              <aside className="fe-side" aria-label="Task properties">
                <PropertyForm
                  catalog={catalog}
                  taskId={single.id}
                  type={single.type}
                  value={singleValue}
                  errors={problemsByTask.get(single.id) ?? []}
                  onSet={onSetProperty}
                  onRename={onRename}
                />
                {single.type === SCHEDULE ? <SchedulePreview api={props.urls.api} value={singleValue} /> : null}
              </aside>
            ) : selected.size > 1 ? (
              <aside className="fe-side fe-muted" aria-label="Selection">
                <p>{selected.size} tasks selected. Delete, duplicate, copy or wrap them from the toolbar.</p>
              </aside>
            ) : null}
          </div>
        </section>
      </div>
    </div>
  );
}
