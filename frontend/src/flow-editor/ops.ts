/**
 * Canvas operations as minimal YAML text edits: the only writer of canvas changes.
 *
 * Every operation parses the current text with eemeli `yaml`, finds the source ranges of the
 * nodes it touches and splices just those lines; everything else (comments, key order, quoting,
 * blank lines, block scalars) is left byte-for-byte. New content is serialised with `yaml`'s
 * stringify, indented to the file's own conventions (`detectStyle`). Each result is re-parsed, and
 * an edit that would leave invalid YAML is refused rather than written.
 */

import { isMap, isScalar, isSeq, type Node, type Pair, parseDocument, type Scalar, type YAMLMap, type YAMLSeq } from "yaml";

import { allIds, buildModel, type FlowModel, findSlot, type Path, type SlotInfo, type TaskInfo } from "./model";
import {
  columnOf, detectStyle, indentLines, isBlockCollection, lastContent, lineEndIncl, lineStart, scalarText, type Style,
  valueText,
} from "./text";

export class EditError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EditError";
  }
}

interface Splice {
  from: number;
  to: number;
  insert: string;
}

function apply(src: string, splices: Splice[]): string {
  const sorted = [...splices].sort((a, b) => b.from - a.from);
  let out = src;
  for (const s of sorted) out = out.slice(0, s.from) + s.insert + out.slice(s.to);
  return out;
}

function checked(before: string, after: string): string {
  const doc = parseDocument(after, { uniqueKeys: false });
  if (doc.errors.length) throw new EditError(`the edit would make the YAML invalid (${doc.errors[0].message.split("\n")[0]})`);
  void before;
  return after;
}

function model(src: string): FlowModel {
  const m = buildModel(src);
  if (!m.ok) throw new EditError(`fix the YAML first: ${m.error ?? "it does not parse"}`);
  return m;
}

function task(m: FlowModel, id: string): TaskInfo {
  const t = m.byId.get(id);
  if (!t) throw new EditError(`no task with id "${id}"`);
  return t;
}

function node(m: FlowModel, path: Path): Node | null {
  return (m.doc.getIn(path, true) as Node | undefined) ?? null;
}

function rangeOf(n: Node): [number, number, number] {
  if (!n.range) throw new EditError("the YAML node has no source position");
  return n.range as [number, number, number];
}

// --- list items ------------------------------------------------------------------------------

interface ItemSpan {
  /** Start of the first leading comment line (or of the dash line). */
  start: number;
  /** Start of the dash line. */
  dashLine: number;
  dashCol: number;
  /** Start of the item's content (after `- `). */
  content: number;
  contentCol: number;
  /** Just past the newline of the item's last line. */
  end: number;
}

function dashBefore(src: string, pos: number): number {
  let i = pos - 1;
  while (i >= 0 && /\s/.test(src[i])) i--;
  if (src[i] !== "-") throw new EditError("the task list is not a block list");
  return i;
}

function itemSpan(src: string, item: Node): ItemSpan {
  const [r0, r1] = rangeOf(item);
  const dash = dashBefore(src, r0);
  const dashLine = lineStart(src, dash);
  const dashCol = dash - dashLine;
  let start = dashLine;
  // Comment lines directly above the dash, at or right of it, belong to the item.
  while (start > 0) {
    const prev = lineStart(src, start - 1);
    const text = src.slice(prev, start - 1);
    const lead = text.length - text.trimStart().length;
    if (!text.trimStart().startsWith("#") || lead < dashCol) break;
    start = prev;
  }
  return { start, dashLine, dashCol, content: r0, contentCol: columnOf(src, r0), end: lineEndIncl(src, lastContent(src, r0, r1)) };
}

/** Whether the items of a block list are separated by blank lines (kept when inserting). */
function blankSeparated(src: string, seq: YAMLSeq): boolean {
  if (seq.items.length < 2) return false;
  const a = itemSpan(src, seq.items[0] as Node);
  const b = itemSpan(src, seq.items[1] as Node);
  const gap = src.slice(a.end, b.start);
  return gap.length > 0 && gap.trim() === "";
}

/** An item's text relative to its dash: leading comments and the body, first line after `- `. */
interface ItemText {
  lead: string;
  body: string;
}

function itemText(src: string, item: Node): ItemText {
  const s = itemSpan(src, item);
  const lead = indentLines(src.slice(s.start, s.dashLine), -s.dashCol);
  const raw = src.slice(s.content, s.end).replace(/\n$/, "");
  const [first, ...rest] = raw.split("\n");
  const body = [first, ...rest.map((l) => indentLines(l, -s.contentCol))].join("\n");
  return { lead, body };
}

/** Render an item at `dashCol`: `- ` + body, continuation lines under the body's first column. */
function renderItem(t: ItemText, dashCol: number): string {
  const [first, ...rest] = t.body.split("\n");
  const lines = [" ".repeat(dashCol) + "- " + first, ...rest.map((l) => indentLines(l, dashCol + 2))];
  return indentLines(t.lead, dashCol) + lines.join("\n") + "\n";
}

/** A task body wrapped as a Dag entry (`task:` + optional `dependsOn`). */
function asDagEntry(body: string, style: Style, dependsOn: string[] = []): string {
  const inner = indentLines(body, style.unit);
  const deps = dependsOn.length ? `\ndependsOn: [${dependsOn.map((d) => scalarText(d)).join(", ")}]` : "";
  return `task:\n${inner}${deps}`;
}

/** The `task:` body of a Dag entry, back at column 0. */
function fromDagEntry(src: string, entry: YAMLMap): string {
  const taskNode = entry.get("task", true) as Node;
  const [r0, r1] = rangeOf(taskNode);
  const col = columnOf(src, r0);
  const raw = src.slice(lineStart(src, r0), lineEndIncl(src, lastContent(src, r0, r1))).replace(/\n$/, "");
  return indentLines(raw, -col);
}

function insertItems(
  src: string, m: FlowModel, slotPath: Path, index: number, items: ItemText[], style: Style, spaced?: boolean,
): string {
  const seqNode = node(m, slotPath);
  if (isSeq(seqNode) && !seqNode.flow && seqNode.items.length) {
    const seq = seqNode as YAMLSeq;
    const first = itemSpan(src, seq.items[0] as Node);
    const blank = (spaced ?? blankSeparated(src, seq)) ? "\n" : "";
    const text = items.map((t) => renderItem(t, first.dashCol)).join(blank);
    if (index < seq.items.length) {
      const at = itemSpan(src, seq.items[index] as Node).start;
      return apply(src, [{ from: at, to: at, insert: text + blank }]);
    }
    const last = itemSpan(src, seq.items[seq.items.length - 1] as Node);
    const pre = src.slice(0, last.end).endsWith("\n") ? "" : "\n";
    return apply(src, [{ from: last.end, to: last.end, insert: pre + blank + text }]);
  }
  if (isSeq(seqNode) && seqNode.flow && seqNode.items.length) {
    // A flow list of tasks (`tasks: [ {…} ]`, Kestra #11236) is rewritten once as a block list.
    const values = (seqNode.toJSON() as unknown[]) ?? [];
    const added = items.map((t) => parseDocument(t.body).toJSON() as unknown);
    values.splice(index, 0, ...added);
    return setKeyRaw(src, m, slotPath.slice(0, -1), String(slotPath[slotPath.length - 1]), values, style);
  }
  // Empty (`[]`, null) or missing list: write a block list under the key.
  const ownerPath = slotPath.slice(0, -1);
  const key = String(slotPath[slotPath.length - 1]);
  const owner = node(m, ownerPath);
  if (!isMap(owner) && ownerPath.length) throw new EditError(`cannot add a task under ${key}: its parent is not a mapping`);
  const keyCol = keyColumn(src, m, ownerPath, key);
  const dashCol = keyCol + (style.indentSeq ? style.unit : 0);
  const text = items.map((t) => renderItem(t, dashCol)).join("").replace(/\n$/, "");
  return setKeyText(src, m, ownerPath, key, `\n${text}`, style);
}

function removeItemSplices(src: string, seq: YAMLSeq, index: number): Splice[] {
  const span = itemSpan(src, seq.items[index] as Node);
  let { start, end } = span;
  if (blankSeparated(src, seq)) {
    if (index < seq.items.length - 1) {
      while (end < src.length && src.slice(end, lineEndIncl(src, end)).trim() === "") end = lineEndIncl(src, end);
    } else {
      while (start > 0 && src.slice(lineStart(src, start - 1), start).trim() === "") start = lineStart(src, start - 1);
    }
  }
  return [{ from: start, to: end, insert: "" }];
}

function removeItem(src: string, m: FlowModel, itemPath: Path, style: Style): string {
  const seqPath = itemPath.slice(0, -1);
  const seq = node(m, seqPath);
  if (!isSeq(seq)) throw new EditError("not a list item");
  const index = Number(itemPath[itemPath.length - 1]);
  if (seq.flow) {
    const values = seq.toJSON() as unknown[];
    values.splice(index, 1);
    return setKeyRaw(src, m, seqPath.slice(0, -1), String(seqPath[seqPath.length - 1]), values, style);
  }
  if (seq.items.length === 1) {
    // The last task goes: the list stays a list, written `[]` (never a dangling `key:`).
    const span = itemSpan(src, seq.items[0] as Node);
    const ownerPath = seqPath.slice(0, -1);
    const key = String(seqPath[seqPath.length - 1]);
    const pair = pairOf(m, ownerPath, key);
    const colon = colonAfter(src, rangeOf(pair.key as Node)[1]);
    return apply(src, [
      { from: span.start, to: span.end, insert: "" },
      { from: colon + 1, to: colon + 1, insert: " []" },
    ]);
  }
  return apply(src, removeItemSplices(src, seq, index));
}

// --- mapping keys ----------------------------------------------------------------------------

function pairOf(m: FlowModel, mapPath: Path, key: string): Pair {
  const map = mapPath.length ? node(m, mapPath) : (m.doc.contents as Node | null);
  if (!isMap(map)) throw new EditError(`expected a mapping at ${mapPath.join(".") || "the root"}`);
  const pair = map.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
  if (!pair) throw new EditError(`no key ${key}`);
  return pair as Pair;
}

function colonAfter(src: string, pos: number): number {
  const colon = src.indexOf(":", pos);
  if (colon < 0) throw new EditError("malformed mapping key");
  return colon;
}

function keyColumn(src: string, m: FlowModel, mapPath: Path, key: string): number {
  const map = mapPath.length ? node(m, mapPath) : (m.doc.contents as Node | null);
  if (!isMap(map)) return 0;
  const pair = map.items.find((p) => isScalar(p.key) && String(p.key.value) === key) ?? map.items[0];
  return pair && isScalar(pair.key) ? columnOf(src, rangeOf(pair.key)[0]) : 0;
}

/** Replace (or add) `key`'s value in the block mapping at `mapPath` with raw text after the colon. */
function setKeyText(src: string, m: FlowModel, mapPath: Path, key: string, text: string, style: Style): string {
  const map = mapPath.length ? node(m, mapPath) : (m.doc.contents as Node | null);
  if (!isMap(map)) throw new EditError(`expected a mapping at ${mapPath.join(".") || "the root"}`);
  if ((map as YAMLMap).flow) {
    throw new EditError(`${mapPath.join(".")} is written as a flow mapping ({…}); edit it in the YAML`);
  }
  const pair = map.items.find((p) => isScalar(p.key) && String(p.key.value) === key) as Pair | undefined;
  if (!pair) {
    const [r0, r1] = rangeOf(map);
    const col = map.items.length ? columnOf(src, rangeOf(map.items[0].key as Node)[0]) : 0;
    const at = lineEndIncl(src, lastContent(src, r0, r1));
    const pre = src.slice(0, at).endsWith("\n") || at === 0 ? "" : "\n";
    void style;
    return apply(src, [{ from: at, to: at, insert: `${pre}${" ".repeat(col)}${key}:${text}\n` }]);
  }
  const keyEnd = rangeOf(pair.key as Node)[1];
  const colon = colonAfter(src, keyEnd);
  const keyLineEnd = lineEndIncl(src, colon) - (src[lineEndIncl(src, colon) - 1] === "\n" ? 1 : 0);
  const value = pair.value as Node | null;
  const emptyNull = !value || (isScalar(value) && value.value === null && !(value as Scalar).source);
  if (emptyNull) {
    const comment = src.slice(colon + 1, keyLineEnd).trim().startsWith("#");
    const at = text.startsWith("\n") && comment ? keyLineEnd : colon + 1;
    return apply(src, [{ from: at, to: at, insert: text }]);
  }
  const [v0, v1] = rangeOf(value);
  const onKeyLine = lineStart(src, v0) === lineStart(src, colon);
  const lastLineEnd = lineEndIncl(src, lastContent(src, v0, v1));
  const valueEnd = lastLineEnd - (src[lastLineEnd - 1] === "\n" ? 1 : 0);
  if (!text.startsWith("\n") && onKeyLine && !isBlockCollection(value) && !/^[|>]/.test(src.slice(v0, v0 + 1))) {
    return apply(src, [{ from: v0, to: v1, insert: text.replace(/^ /, "") }]);
  }
  if (text.startsWith("\n") && onKeyLine && !isBlockCollection(value)) {
    // `key: [] # note` becoming a block: the note stays on the key line, the block goes below.
    return apply(src, [{ from: colon + 1, to: v1, insert: "" }, { from: keyLineEnd, to: keyLineEnd, insert: text }]);
  }
  const from = text.startsWith("\n") && !onKeyLine ? keyLineEnd : colon + 1;
  const to = onKeyLine && !isBlockCollection(value) && !/^[|>]/.test(src.slice(v0, v0 + 1)) ? v1 : valueEnd;
  return apply(src, [{ from, to, insert: text }]);
}

function setKeyRaw(src: string, m: FlowModel, mapPath: Path, key: string, value: unknown, style: Style): string {
  const col = keyColumn(src, m, mapPath, key);
  let original: Node | null = null;
  try {
    original = pairOf(m, mapPath, key).value as Node | null;
  } catch {
    original = null;
  }
  return setKeyText(src, m, mapPath, key, valueText(value, col, style, original), style);
}

function removeKey(src: string, m: FlowModel, mapPath: Path, key: string): string {
  const map = node(m, mapPath);
  if (!isMap(map)) throw new EditError("expected a mapping");
  const index = map.items.findIndex((p) => isScalar(p.key) && String(p.key.value) === key);
  if (index < 0) return src;
  const pair = map.items[index] as Pair;
  const k0 = rangeOf(pair.key as Node)[0];
  const value = pair.value as Node | null;
  const endPos = value?.range ? lastContent(src, Math.min(k0, value.range[0]), value.range[1]) : rangeOf(pair.key as Node)[1];
  const end = lineEndIncl(src, Math.max(endPos, rangeOf(pair.key as Node)[1]));
  const onDashLine = /-\s*$/.test(src.slice(lineStart(src, k0), k0));
  if (onDashLine) {
    if (index + 1 >= map.items.length) throw new EditError(`cannot remove the only key ${key}`);
    const next = rangeOf(map.items[index + 1].key as Node)[0];
    return apply(src, [{ from: k0, to: next, insert: "" }]);
  }
  return apply(src, [{ from: lineStart(src, k0), to: end, insert: "" }]);
}

// --- ids -------------------------------------------------------------------------------------

export function uniqueId(base: string, used: Set<string>): string {
  const clean = base.replace(/[^A-Za-z0-9_-]/g, "_").replace(/^[^A-Za-z0-9]+/, "") || "task";
  if (!used.has(clean)) return clean;
  const stem = clean.replace(/_\d+$/, "");
  for (let n = 2; ; n++) if (!used.has(`${stem}_${n}`)) return `${stem}_${n}`;
}

export function idForType(type: string, used: Set<string>): string {
  const short = type.slice(type.lastIndexOf(".") + 1) || "task";
  return uniqueId(short.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase(), used);
}

/** Rename every task id inside `body` that collides with `used`; references inside follow. */
function renameCopies(body: string, used: Set<string>): string {
  const doc = parseDocument(body, { keepSourceTokens: true });
  const renames = new Map<string, string>();
  const idScalars: Scalar[] = [];
  const depScalars: Scalar[] = [];
  const visit = (n: unknown): void => {
    if (isMap(n)) {
      const id = n.get("id", true);
      if (n.has("type") && isScalar(id)) {
        const old = String(id.value);
        const fresh = uniqueId(old, used);
        used.add(fresh);
        if (fresh !== old) renames.set(old, fresh);
        idScalars.push(id);
      }
      const deps = n.get("dependsOn", true);
      if (isSeq(deps)) for (const d of deps.items) if (isScalar(d)) depScalars.push(d);
      for (const p of n.items) visit(p.value);
    } else if (isSeq(n)) {
      for (const i of n.items) visit(i);
    }
  };
  visit(doc.contents);
  const splices: Splice[] = [];
  for (const s of [...idScalars, ...depScalars]) {
    const fresh = renames.get(String(s.value));
    if (fresh && s.range) splices.push({ from: s.range[0], to: s.range[1], insert: scalarText(fresh, s) });
  }
  return apply(body, splices);
}

// --- public operations -----------------------------------------------------------------------

export interface NewTask {
  type: string;
  id?: string;
  /** Extra properties, written after `id` and `type`. */
  props?: Record<string, unknown>;
}

function newTaskBody(t: NewTask, id: string, style: Style): string {
  const lines = [`id: ${scalarText(id)}`, `type: ${scalarText(t.type)}`];
  for (const [k, v] of Object.entries(t.props ?? {})) lines.push(`${k}:${valueText(v, 0, style)}`);
  return lines.join("\n");
}

function slotOrThrow(m: FlowModel, slotPath: Path): SlotInfo | null {
  const slot = findSlot(m, slotPath);
  if (!slot && slotPath.length > 1) {
    const ownerPath = slotPath.slice(0, -1);
    if (!isMap(node(m, ownerPath))) throw new EditError(`no task list at ${slotPath.join(".")}`);
  }
  return slot;
}

/** Insert a new task of `type` at `index` of the list at `slotPath`; returns text and the new id. */
export function insertTask(src: string, slotPath: Path, index: number, t: NewTask): { text: string; id: string } {
  const m = model(src);
  const style = detectStyle(src);
  const slot = slotOrThrow(m, slotPath);
  const id = t.id && !allIds(m).has(t.id) ? t.id : idForType(t.id ?? t.type, allIds(m));
  let body = newTaskBody(t, id, style);
  if (slot?.kind === "dag") body = asDagEntry(body, style);
  const text = insertItems(src, m, slotPath, index, [{ lead: "", body }], style);
  return { text: checked(src, text), id };
}

/** Delete tasks by id; `dependsOn` entries naming them are removed too. */
export function deleteTasks(src: string, ids: string[]): string {
  let text = src;
  for (const id of ids) {
    const m = model(text);
    const t = m.byId.get(id);
    if (!t) continue;
    text = removeItem(text, m, t.itemPath, detectStyle(text));
    for (const other of buildModel(text).tasks.filter((o) => o.dependsOn.includes(id))) {
      text = removeDependsOn(text, other.id, id);
    }
  }
  return checked(src, text);
}

/** Move a task (with its comments) to `index` of the list at `slotPath` (same or another list). */
export function moveTask(src: string, id: string, slotPath: Path, index: number): string {
  const m = model(src);
  const style = detectStyle(src);
  const t = task(m, id);
  const target = slotOrThrow(m, slotPath);
  if (target && isInside(target, t)) throw new EditError("a task cannot be moved into itself");
  const item = node(m, t.itemPath) as Node;
  const piece = itemText(src, item);
  const sameSlot = target !== null && target === t.slot;
  let body = piece.body;
  if (t.slot.kind === "dag" && target?.kind !== "dag") body = fromDagEntry(src, item as YAMLMap);
  else if (t.slot.kind !== "dag" && target?.kind === "dag") body = asDagEntry(removeDependsOnText(body), style);
  if (sameSlot && (index === t.index || index === t.index + 1)) return src;
  let text = removeItem(src, m, t.itemPath, style);
  let at = index;
  if (sameSlot && t.index < index) at -= 1;
  // Dependencies on siblings do not survive a move to another list.
  if (!sameSlot) {
    for (const other of buildModel(text).tasks.filter((o) => o.slot.path.join() === t.slot.path.join() && o.dependsOn.includes(id))) {
      text = removeDependsOn(text, other.id, id);
    }
  }
  // Removing the task may shift list indexes in the target's path: re-find it through its owner.
  const m2 = model(text);
  text = insertItems(text, m2, rebase(m, m2, slotPath), at, [{ lead: piece.lead, body }], style);
  return checked(src, text);
}

function removeDependsOnText(body: string): string {
  if (!/^dependsOn\s*:/m.test(body)) return body;
  const wrapped = `tasks:\n${renderItem({ lead: "", body }, 2)}`;
  const m = buildModel(wrapped);
  const t = m.tasks[0];
  if (!t) return body;
  const text = removeKey(wrapped, m, t.path, "dependsOn");
  const mm = buildModel(text);
  return itemText(text, mm.doc.getIn(mm.tasks[0].itemPath, true) as Node).body;
}

/** `slotPath` (valid in `before`) in the document `after`, found again through its owner task's id. */
function rebase(before: FlowModel, after: FlowModel, slotPath: Path): Path {
  const owner = before.tasks
    .filter((t) => t.path.length < slotPath.length && t.path.every((p, i) => slotPath[i] === p))
    .sort((a, b) => b.path.length - a.path.length)[0];
  if (!owner) return slotPath;
  const now = after.byId.get(owner.id);
  return now ? [...now.path, ...slotPath.slice(owner.path.length)] : slotPath;
}

function isInside(slot: SlotInfo, t: TaskInfo): boolean {
  for (let owner = slot.owner; owner; owner = owner.slot.owner) if (owner === t) return true;
  return false;
}

/** Rename a task id; `dependsOn` entries and `outputs.<id>` references follow. */
export function renameTask(src: string, id: string, next: string): string {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_-]*$/.test(next)) {
    throw new EditError(`"${next}" is not a valid id (letters, digits, _ and -; starting with a letter or digit)`);
  }
  if (next === id) return src;
  const m = model(src);
  const t = task(m, id);
  if (allIds(m).has(next)) throw new EditError(`the id "${next}" is already used`);
  const splices: Splice[] = [];
  const idNode = node(m, [...t.path, "id"]);
  if (!isScalar(idNode)) throw new EditError("the task has no scalar id");
  const [i0, i1] = rangeOf(idNode);
  splices.push({ from: i0, to: i1, insert: scalarText(next, idNode) });
  for (const other of m.tasks) {
    const deps = node(m, [...other.dependsOnPath, "dependsOn"]);
    const items = isSeq(deps) ? deps.items : isScalar(deps) ? [deps] : [];
    for (const d of items) {
      if (isScalar(d) && String(d.value) === id && d.range) splices.push({ from: d.range[0], to: d.range[1], insert: scalarText(next, d) });
    }
  }
  let text = apply(src, splices);
  const escaped = id.replace(/[.*+?^${}()|[\]\\-]/g, "\\$&");
  text = text.replace(new RegExp(`(\\{\\{[^}]*?\\boutputs\\.)${escaped}(?![\\w-])`, "g"), `$1${next}`);
  return checked(src, text);
}

/**
 * Set (or with `undefined`, remove) property `key` of a task. `key` may be a dotted path into
 * nested mappings (`retry.maxAttempts`); missing intermediate mappings are created.
 */
export function setProperty(src: string, id: string, key: string, value: unknown): string {
  const m = model(src);
  const t = task(m, id);
  const style = detectStyle(src);
  const parts = key.split(".");
  if (parts[0] === "id") return renameTask(src, id, String(value));
  let mapPath = [...t.path];
  for (let i = 0; i < parts.length - 1; i++) {
    const child = node(m, [...mapPath, parts[i]]);
    if (!isMap(child) || (child as YAMLMap).flow) {
      // Write the whole nested object from here in one go.
      const current = (child && (isMap(child) ? child.toJSON() : null)) as Record<string, unknown> | null;
      const merged = setIn(current ?? {}, parts.slice(i + 1), value);
      if (value === undefined && !current) return src;
      return checked(src, setKeyRaw(src, m, mapPath, parts[i], merged, style));
    }
    mapPath = [...mapPath, parts[i]];
  }
  const last = parts[parts.length - 1];
  if (value === undefined || value === null || value === "") {
    return checked(src, removeKey(src, m, mapPath, last));
  }
  return checked(src, setKeyRaw(src, m, mapPath, last, value, style));
}

function setIn(obj: Record<string, unknown>, path: string[], value: unknown): Record<string, unknown> {
  const out = { ...obj };
  if (path.length === 1) {
    if (value === undefined) delete out[path[0]];
    else out[path[0]] = value;
    return out;
  }
  const inner = (out[path[0]] && typeof out[path[0]] === "object" ? out[path[0]] : {}) as Record<string, unknown>;
  out[path[0]] = setIn(inner, path.slice(1), value);
  return out;
}

/** Whether `from` can reach `to` through dependsOn edges of one list. */
function reaches(slot: SlotInfo, from: string, to: string): boolean {
  const deps = new Map(slot.tasks.map((t) => [t.id, t.dependsOn]));
  const seen = new Set<string>();
  const stack = [from];
  while (stack.length) {
    const cur = stack.pop() as string;
    if (cur === to) return true;
    if (seen.has(cur)) continue;
    seen.add(cur);
    stack.push(...(deps.get(cur) ?? []));
  }
  return false;
}

/** `id` waits for `dep` (both in one list). Refused if it would close a cycle. */
export function addDependsOn(src: string, id: string, dep: string): string {
  const m = model(src);
  const t = task(m, id);
  const d = task(m, dep);
  if (id === dep) throw new EditError("a task cannot depend on itself");
  if (d.slot !== t.slot) throw new EditError(`"${dep}" and "${id}" are not in the same task list`);
  if (t.dependsOn.includes(dep)) return src;
  if (reaches(t.slot, dep, id)) throw new EditError(`"${id}" → "${dep}" would close a cycle: "${dep}" already waits for "${id}"`);
  const style = detectStyle(src);
  const seq = node(m, [...t.dependsOnPath, "dependsOn"]);
  if (isSeq(seq) && !seq.flow && seq.items.length) {
    const lastItem = seq.items[seq.items.length - 1] as Node;
    const [r0] = rangeOf(lastItem);
    const dash = dashBefore(src, r0);
    const end = lineEndIncl(src, r0);
    const pre = src.slice(0, end).endsWith("\n") ? "" : "\n";
    return checked(src, apply(src, [{ from: end, to: end, insert: `${pre}${" ".repeat(columnOf(src, dash))}- ${scalarText(dep)}\n` }]));
  }
  return checked(src, setKeyRaw(src, m, t.dependsOnPath, "dependsOn", [...t.dependsOn, dep], style));
}

export function removeDependsOn(src: string, id: string, dep: string): string {
  const m = model(src);
  const t = task(m, id);
  if (!t.dependsOn.includes(dep)) return src;
  const rest = t.dependsOn.filter((x) => x !== dep);
  if (rest.length === 0) return checked(src, removeKey(src, m, t.dependsOnPath, "dependsOn"));
  const seq = node(m, [...t.dependsOnPath, "dependsOn"]);
  if (isSeq(seq) && !seq.flow) {
    const index = seq.items.findIndex((x) => isScalar(x) && String(x.value) === dep);
    const [r0] = rangeOf(seq.items[index] as Node);
    const dash = dashBefore(src, r0);
    return checked(src, apply(src, [{ from: lineStart(src, dash), to: lineEndIncl(src, r0), insert: "" }]));
  }
  return checked(src, setKeyRaw(src, m, t.dependsOnPath, "dependsOn", rest, detectStyle(src)));
}

/** Turn a sequential list into a DAG (each task waits for the previous one) or back. */
export function setDagMode(src: string, slotPath: Path, on: boolean): string {
  let text = src;
  const ids = findSlot(model(src), slotPath)?.tasks.map((t) => t.id) ?? [];
  if (findSlot(model(src), slotPath)?.kind === "dag") throw new EditError("a Dag task's list is always a DAG");
  for (let i = 0; i < ids.length; i++) {
    const t = task(model(text), ids[i]);
    if (on && i > 0 && t.dependsOn.length === 0) text = addDependsOn(text, ids[i], ids[i - 1]);
    if (!on) for (const d of t.dependsOn) text = removeDependsOn(text, ids[i], d);
  }
  return checked(src, text);
}

/** The YAML of tasks for the clipboard: each item's body, as a block list at column 0. */
export function copyTasks(src: string, ids: string[]): string {
  const m = model(src);
  const out: string[] = [];
  for (const id of ids) {
    const t = m.byId.get(id);
    if (!t) continue;
    const item = node(m, t.itemPath) as Node;
    const body = t.slot.kind === "dag" ? fromDagEntry(src, item as YAMLMap) : itemText(src, item).body;
    out.push(renderItem({ lead: "", body: removeDependsOnText(body) }, 0));
  }
  return out.join("");
}

/** Paste clipboard YAML (a task or a list of tasks) at `index` of a list; ids are made unique. */
export function pasteTasks(src: string, slotPath: Path, index: number, clip: string): { text: string; ids: string[] } {
  const m = model(src);
  const style = detectStyle(src);
  const used = allIds(m);
  const doc = parseDocument(clip, { keepSourceTokens: true });
  if (doc.errors.length) throw new EditError("the clipboard does not hold YAML");
  let pieces: string[];
  if (isSeq(doc.contents)) pieces = doc.contents.items.map((i) => itemText(clip, i as Node).body);
  else if (isMap(doc.contents) && doc.contents.has("type")) pieces = [clip.trim()];
  else throw new EditError("the clipboard does not hold tasks");
  const ids: string[] = [];
  const slot = slotOrThrow(m, slotPath);
  const items = pieces.map((p) => {
    let body = renameCopies(p, used);
    const idMatch = /^id:\s*["']?([\w-]+)/m.exec(body);
    if (idMatch) ids.push(idMatch[1]);
    if (slot?.kind === "dag") body = asDagEntry(body, style);
    return { lead: "", body };
  });
  return { text: checked(src, insertItems(src, m, slotPath, index, items, style)), ids };
}

export function duplicateTasks(src: string, ids: string[]): { text: string; ids: string[] } {
  const m = model(src);
  const last = ids.map((id) => task(m, id)).sort((a, b) => b.index - a.index)[0];
  if (!last) return { text: src, ids: [] };
  return pasteTasks(src, last.slot.path, last.index + 1, copyTasks(src, ids));
}

/** Wrap tasks of one list into a new flowable (`Parallel`, `Sequential`…) at the first's place. */
export function wrapTasks(src: string, ids: string[], type: string, slotKey = "tasks"): { text: string; id: string } {
  const m = model(src);
  const style = detectStyle(src);
  const tasks = ids.map((id) => task(m, id)).sort((a, b) => a.index - b.index);
  if (!tasks.length) throw new EditError("select tasks to wrap");
  const slot = tasks[0].slot;
  if (tasks.some((t) => t.slot !== slot)) throw new EditError("only tasks of one list can be wrapped together");
  if (slot.kind === "dag") throw new EditError("tasks of a Dag cannot be wrapped; move them out first");
  const pieces = tasks.map((t) => itemText(src, node(m, t.itemPath) as Node));
  const id = idForType(type, allIds(m));
  const childDash = style.indentSeq ? style.unit : 0;
  const children = pieces.map((p) => renderItem(p, childDash)).join("").replace(/\n$/, "");
  const body = `id: ${scalarText(id)}\ntype: ${scalarText(type)}\n${slotKey}:\n${children}`;
  const seq = node(m, slot.path);
  const spaced = isSeq(seq) && !seq.flow && blankSeparated(src, seq);
  let text = src;
  for (const t of [...tasks].reverse()) text = removeItem(text, model(text), t.itemPath, style);
  text = insertItems(text, model(text), slot.path, tasks[0].index, [{ lead: "", body }], style, spaced);
  return { text: checked(src, text), id };
}

/** A minimal change between two texts (common prefix and suffix), for the code editor. */
export function minimalChange(a: string, b: string): { from: number; to: number; insert: string } | null {
  if (a === b) return null;
  let start = 0;
  const max = Math.min(a.length, b.length);
  while (start < max && a.charCodeAt(start) === b.charCodeAt(start)) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a.charCodeAt(endA - 1) === b.charCodeAt(endB - 1)) {
    endA--;
    endB--;
  }
  return { from: start, to: endA, insert: b.slice(start, endB) };
}
