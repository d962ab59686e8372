/**
 * Schema-driven completion for flow YAML: `type:` values (task, trigger or condition types,
 * depending on where the cursor is), the properties of the task being edited, the flow's
 * top-level keys, and `{{ outputs.<taskId> }}`-style expression roots.
 *
 * It reads the whole-flow JSON Schema once (`/api/v1/plugins/schemas/flow`, where `Task` is an
 * anyOf of every task type whose `type` is an enum of its name) and works on indentation rather
 * than a full YAML parse, so it keeps working while the document is half-typed and invalid.
 */

import type { Completion, CompletionContext, CompletionResult, CompletionSource } from "@codemirror/autocomplete";
import type { Text } from "@codemirror/state";

import { api } from "../lib/api";

type Json = Record<string, unknown>;
export type TypeKind = "task" | "trigger" | "condition";

interface PropertyInfo {
  name: string;
  description: string;
  required: boolean;
}

interface TypeInfo {
  name: string;
  kind: TypeKind;
  title: string;
  properties: PropertyInfo[];
}

export interface Catalog {
  types: Map<string, TypeInfo>;
  byKind: Record<TypeKind, TypeInfo[]>;
  rootProperties: PropertyInfo[];
}

const FALLBACK_ROOT = [
  "id", "namespace", "description", "labels", "inputs", "variables", "tasks", "errors", "finally",
  "afterExecution", "triggers", "pluginDefaults", "concurrency", "outputs", "disabled", "retry", "sla",
];

function isObj(v: unknown): v is Json {
  return !!v && typeof v === "object" && !Array.isArray(v);
}

function resolve(schema: Json, node: unknown, seen = 0): Json | null {
  if (!isObj(node) || seen > 8) return null;
  const ref = node.$ref;
  if (typeof ref === "string") {
    const parts = ref.replace(/^#\//, "").split("/").map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
    let cur: unknown = schema;
    for (const p of parts) cur = isObj(cur) ? cur[p] : undefined;
    return resolve(schema, cur, seen + 1);
  }
  return node;
}

function text(v: unknown): string {
  return typeof v === "string" ? v : "";
}

function properties(schema: Json, def: Json): PropertyInfo[] {
  const required = new Set(Array.isArray(def.required) ? def.required.filter((r): r is string => typeof r === "string") : []);
  const out: PropertyInfo[] = [];
  const collect = (node: Json | null) => {
    if (!node) return;
    if (isObj(node.properties)) {
      for (const [name, prop] of Object.entries(node.properties)) {
        const p = resolve(schema, prop) ?? {};
        out.push({ name, description: text(p.title) || text(p.description) || text((prop as Json).description), required: required.has(name) });
      }
    }
    for (const key of ["allOf"]) {
      const list = node[key];
      if (Array.isArray(list)) for (const sub of list) collect(resolve(schema, sub));
    }
  };
  collect(def);
  return out;
}

function typeName(schema: Json, def: Json): string | null {
  const props = isObj(def.properties) ? def.properties : null;
  const type = props ? resolve(schema, props.type) : null;
  if (!type) return null;
  if (Array.isArray(type.enum) && typeof type.enum[0] === "string") return type.enum[0];
  if (typeof type.const === "string") return type.const;
  return null;
}

function findDefinition(defs: Json, wanted: string): unknown {
  if (wanted in defs) return defs[wanted];
  const key = Object.keys(defs).find((k) => k.toLowerCase() === wanted.toLowerCase());
  return key ? defs[key] : undefined;
}

/** Build the catalog from the whole-flow schema; tolerant of missing pieces. */
export function buildCatalog(schema: Json): Catalog {
  const defs = (isObj(schema.definitions) ? schema.definitions : isObj(schema.$defs) ? schema.$defs : {}) as Json;
  const types = new Map<string, TypeInfo>();
  const byKind: Record<TypeKind, TypeInfo[]> = { task: [], trigger: [], condition: [] };
  for (const kind of ["task", "trigger", "condition"] as TypeKind[]) {
    const union = resolve(schema, findDefinition(defs, kind));
    const members = union ? ((union.anyOf ?? union.oneOf) as unknown[] | undefined) ?? [union] : [];
    for (const member of members) {
      const def = resolve(schema, member);
      if (!def) continue;
      const name = typeName(schema, def);
      if (!name || types.has(name)) continue;
      const info: TypeInfo = { name, kind, title: text(def.title) || text(def.description), properties: properties(schema, def) };
      types.set(name, info);
      byKind[kind].push(info);
    }
  }
  const root = resolve(schema, schema) ?? {};
  let rootProperties = properties(schema, root);
  if (rootProperties.length === 0) rootProperties = FALLBACK_ROOT.map((name) => ({ name, description: "", required: false }));
  return { types, byKind, rootProperties };
}

let catalogPromise: Promise<Catalog | null> | null = null;

export function loadCatalog(url: string): Promise<Catalog | null> {
  catalogPromise ??= api
    .get<Json>(url)
    .then((r) => buildCatalog(r.data))
    .catch((err) => {
      console.warn("flow schema unavailable; completion limited", err);
      catalogPromise = null;
      return null;
    });
  return catalogPromise;
}

// --- indentation-based structure --------------------------------------------------------------

interface LineShape {
  /** Column where the key starts (after any `- ` list markers). */
  keyCol: number;
  /** Column of the `-` when the line starts a list item, else -1. */
  dashCol: number;
  key: string | null;
  value: string;
  blank: boolean;
}

function shape(line: string): LineShape {
  const m = /^(\s*)((?:-\s+)*)(.*)$/.exec(line) ?? ["", "", "", line];
  const indent = m[1].length;
  const rest = m[3];
  const blank = rest.trim() === "" || rest.trimStart().startsWith("#");
  const km = /^(["']?)([^"':#\s][^:#]*?)\1\s*:(?:\s+(.*)|\s*)$/.exec(rest);
  return {
    keyCol: indent + m[2].length,
    dashCol: m[2] ? indent : -1,
    key: km ? km[2] : null,
    value: km ? (km[3] ?? "").replace(/\s+#.*$/, "").replace(/^["']|["']$/g, "").trim() : "",
    blank: blank && !m[2],
  };
}

/** Keys (and the `type:` value) of the mapping whose keys start at `col`, around line `lineNo`. */
function mappingAt(doc: Text, lineNo: number, col: number): { keys: Set<string>; type: string | null } {
  const keys = new Set<string>();
  let type: string | null = null;
  const visit = (s: LineShape) => {
    if (s.key) keys.add(s.key);
    if (s.key === "type" && s.value) type = s.value;
  };
  for (let n = lineNo - 1; n >= 1; n--) {
    const s = shape(doc.line(n).text);
    if (s.blank) continue;
    if (s.keyCol === col) {
      visit(s);
      if (s.dashCol >= 0) break; // the list item starts here
      continue;
    }
    if (s.keyCol < col) break;
  }
  for (let n = lineNo + 1; n <= doc.lines; n++) {
    const s = shape(doc.line(n).text);
    if (s.blank) continue;
    if (s.keyCol === col && s.dashCol < 0) {
      visit(s);
      continue;
    }
    if (s.keyCol <= col) break;
  }
  return { keys, type };
}

/** Keys of the ancestors of a position at column `col` on line `lineNo`, innermost first. */
function ancestors(doc: Text, lineNo: number, col: number): string[] {
  const out: string[] = [];
  let limit = col;
  for (let n = lineNo - 1; n >= 1 && limit > 0; n--) {
    const s = shape(doc.line(n).text);
    if (s.blank) continue;
    const start = s.dashCol >= 0 ? s.dashCol : s.keyCol;
    if (start < limit) {
      if (s.key && s.dashCol < 0) out.push(s.key);
      limit = start;
    }
  }
  return out;
}

function sectionKind(doc: Text, lineNo: number, col: number): TypeKind {
  for (const key of ancestors(doc, lineNo, col)) {
    if (key === "conditions" || key === "preconditions") return "condition";
    if (key === "triggers") return "trigger";
    if (key === "tasks" || key === "errors" || key === "finally") return "task";
  }
  return "task";
}

// --- expression roots -----------------------------------------------------------------------

function idsUnder(doc: Text, section: string): string[] {
  const ids: string[] = [];
  let inside = false;
  for (let n = 1; n <= doc.lines; n++) {
    const line = doc.line(n).text;
    const root = /^([A-Za-z_][\w-]*)\s*:/.exec(line);
    if (root) inside = root[1] === section;
    if (!inside) continue;
    const m = /^\s*(?:-\s+)?id\s*:\s*["']?([\w-]+)["']?\s*$/.exec(line);
    if (m) ids.push(m[1]);
  }
  return ids;
}

/** Keys of the root mapping `section` (e.g. `variables:`), for `vars.<key>`. */
function keysUnder(doc: Text, section: string): string[] {
  const keys: string[] = [];
  let inside = false;
  let indent = -1;
  for (let n = 1; n <= doc.lines; n++) {
    const line = doc.line(n).text;
    const root = /^([A-Za-z_][\w-]*)\s*:/.exec(line);
    if (root) {
      inside = root[1] === section;
      indent = -1;
      continue;
    }
    if (!inside) continue;
    const m = /^(\s+)([\w-]+)\s*:/.exec(line);
    if (!m) continue;
    if (indent < 0) indent = m[1].length;
    if (m[1].length === indent) keys.push(m[2]);
  }
  return keys;
}

const FUNCTIONS = [
  "now()", "secret('')", "kv('')", "read('')", "fileURI('')", "fileSize('')", "fromJson('')", "yaml('')", "fromIon('')",
  "render('')", "renderOnce('')", "currentEachOutput()", "errorLogs()", "encrypt('', '')", "decrypt('', '')", "uuid()",
  "id()", "randomInt(0, 10)", "printContext()", "range(0, 10)", "max(1, 2)", "min(1, 2)",
];

/** Filters after `|` inside an expression (KESTRA.md §6.4; there is no `int` filter). */
export const FILTERS = [
  "date('iso')", "dateAdd(1, 'DAYS')", "timestamp", "timestampMicro", "timestampNano", "jq('.')", "toJson", "toIon", "yaml",
  "indent(2)", "nindent(2)", "chunk(10)", "flatten", "keys", "values", "className", "number('INT')", "numberFormat('#.##')",
  "escapeChar('shell')", "replace({'a': 'b'})", "slugify", "startsWith('')", "endsWith('')", "substringBefore('')",
  "substringBeforeLast('')", "substringAfter('')", "substringAfterLast('')", "urldecode", "urlencode", "sha1", "sha256",
  "sha512", "md5", "abbreviate(10)", "abs", "base64encode", "base64decode", "capitalize", "default('')", "first", "last",
  "join(',')", "length", "lower", "upper", "merge({})", "reverse", "rsort", "sort", "split(',')", "slice(0, 1)", "title",
  "trim",
];

function expressionOptions(doc: Text): Completion[] {
  const tasks = [...new Set([...idsUnder(doc, "tasks"), ...idsUnder(doc, "errors"), ...idsUnder(doc, "finally")])];
  const inputs = idsUnder(doc, "inputs");
  const vars = keysUnder(doc, "variables");
  return [
    ...tasks.map((id) => ({ label: `outputs.${id}`, type: "variable", detail: "task outputs", boost: 2 })),
    ...inputs.map((id) => ({ label: `inputs.${id}`, type: "variable", detail: "input", boost: 3 })),
    ...vars.map((key) => ({ label: `vars.${key}`, type: "variable", detail: "flow variable", boost: 3 })),
    ...["execution.id", "execution.startDate", "execution.state", "execution.originalId", "flow.id", "flow.namespace",
      "flow.revision", "taskrun.value", "taskrun.id", "taskrun.attemptsCount", "parent.taskrun.value", "task.id",
      "task.type", "trigger.date", "labels."].map((label) => ({ label, type: "variable" })),
    ...FUNCTIONS.map((label) => ({ label, type: "function" })),
  ];
}

// --- the completion source ------------------------------------------------------------------

function typeOptions(catalog: Catalog, preferred: TypeKind): Completion[] {
  const out: Completion[] = [];
  for (const kind of ["task", "trigger", "condition"] as TypeKind[]) {
    for (const t of catalog.byKind[kind]) {
      const short = t.name.slice(t.name.lastIndexOf(".") + 1);
      out.push({
        label: t.name,
        displayLabel: t.name,
        detail: kind === preferred ? short : `${kind} · ${short}`,
        info: t.title || undefined,
        type: "class",
        boost: kind === preferred ? 10 : -10,
      });
    }
  }
  return out;
}

export function flowCompletion(schemaUrl: string): CompletionSource {
  return async (ctx: CompletionContext): Promise<CompletionResult | null> => {
    const line = ctx.state.doc.lineAt(ctx.pos);
    const before = line.text.slice(0, ctx.pos - line.from);

    // A filter after `|` inside an open expression: `{{ inputs.name | up`
    const filter = /\{\{[^}]*\|\s*(\w*)$/.exec(before);
    if (filter) {
      return { from: ctx.pos - filter[1].length, options: FILTERS.map((label) => ({ label, type: "function", detail: "filter" })), validFor: /^\w*$/ };
    }

    // Expressions: `{{ outp|` (also after an operator or a parenthesis inside one)
    const expr = /\{\{(?:[^}]*[\s(,+\-*/?:])?\s*([\w.()']*)$/.exec(before);
    if (expr) {
      return { from: ctx.pos - expr[1].length, options: expressionOptions(ctx.state.doc), validFor: /^[\w.()']*$/ };
    }

    // A `type:` value.
    const typeMatch = /^(\s*)((?:-\s+)*)type\s*:\s*(["']?)([\w.$-]*)$/.exec(before);
    if (typeMatch) {
      const catalog = await loadCatalog(schemaUrl);
      if (!catalog || catalog.types.size === 0) return null;
      const col = typeMatch[1].length + typeMatch[2].length;
      const kind = sectionKind(ctx.state.doc, line.number, col);
      return { from: ctx.pos - typeMatch[4].length, options: typeOptions(catalog, kind), validFor: /^[\w.$-]*$/ };
    }

    // A key being typed on its own line: `  mess|` or `- |`.
    const keyMatch = /^(\s*)((?:-\s+)*)([\w-]*)$/.exec(before);
    if (keyMatch && (keyMatch[3] || ctx.explicit || keyMatch[2])) {
      const col = keyMatch[1].length + keyMatch[2].length;
      const catalog = await loadCatalog(schemaUrl);
      const here = mappingAt(ctx.state.doc, line.number, col);
      let props: PropertyInfo[] = [];
      if (col === 0 && !keyMatch[2]) {
        props = catalog?.rootProperties ?? FALLBACK_ROOT.map((name) => ({ name, description: "", required: false }));
      } else if (here.type && catalog?.types.has(here.type)) {
        props = catalog.types.get(here.type)?.properties ?? [];
      } else if (keyMatch[2] || here.keys.size === 0) {
        props = [{ name: "id", description: "", required: true }, { name: "type", description: "", required: true }];
      }
      const options: Completion[] = props
        .filter((p) => !here.keys.has(p.name))
        .map((p) => ({
          label: p.name,
          apply: `${p.name}: `,
          type: "property",
          detail: p.required ? "required" : undefined,
          info: p.description || undefined,
          boost: p.required ? 5 : p.name === "id" || p.name === "type" ? 4 : 0,
        }));
      if (options.length === 0) return null;
      return { from: ctx.pos - keyMatch[3].length, options, validFor: /^[\w-]*$/ };
    }
    return null;
  };
}
