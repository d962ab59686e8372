/**
 * The layout of a flow without `dependsOn` edges, computed directly from its structure in one
 * pass: a list of tasks is a column, a Parallel's tasks and a flowable's lanes (then/else, cases…)
 * sit side by side, and a long top-level list wraps into several columns.
 *
 * Such a flow is a tree of lists, so its layout needs no graph algorithm: this is linear in the
 * number of boxes (a 1 000-task flow in a few milliseconds, where ELK needs seconds), gives the
 * same picture as before for the same structure, and routes every edge through the gaps between
 * boxes. Flows with `dependsOn` edges (DAGs) go to ELK (`layout.ts`), which orders layers.
 */

import { type Box as PictureBox, type Picture, TASK_H, TASK_W } from "./graph";
import type { Box, Laid, Point, Routes } from "./layout";

const GAP_Y = 36;
const GAP_X = 24;
const COLUMN_GAP = 56;
const PAD = { top: 34, left: 14, right: 14, bottom: 14 };
const MARGIN = 12;
/** Above this many top-level boxes the flow wraps into columns, aiming at this width/height. */
const WRAP_ABOVE = 12;
const ASPECT = 1.6;

const SIDE_BY_SIDE = /\.(Parallel|EachParallel)$/;

interface Sized {
  box: PictureBox;
  w: number;
  h: number;
}

/** True when the structured layout applies: no `dependsOn` edge and no Dag anywhere. */
export function isStructured(picture: Picture): boolean {
  return !picture.links.some((l) => l.dep) && !picture.boxes.some((b) => b.data.dag || b.data.dagKind);
}

export function structuredLayout(picture: Picture): Laid | null {
  if (!isStructured(picture)) return null;
  const children = new Map<string | null, PictureBox[]>();
  for (const b of picture.boxes) {
    const list = children.get(b.parent) ?? [];
    list.push(b);
    children.set(b.parent, list);
  }
  const positions: Record<string, Box> = {};

  // Sizes bottom-up, placing each container's children relative to it.
  const size = (b: PictureBox): Sized => {
    const kids = children.get(b.id) ?? [];
    if (b.data.kind === "task") return { box: b, w: TASK_W, h: TASK_H };
    const sized = kids.map(size);
    const row = b.data.kind === "group" && (!b.data.slotPath || (SIDE_BY_SIDE.test(b.data.type ?? "") && b.data.slotPath.at(-1) === "tasks"));
    const inner = row ? placeRow(sized, PAD.left, PAD.top, positions) : placeColumn(sized, PAD.left, PAD.top, positions);
    return { box: b, w: Math.max(TASK_W, inner.w + PAD.left + PAD.right), h: Math.max(TASK_H, inner.h + PAD.top + PAD.bottom) };
  };

  const roots = (children.get(null) ?? []).map(size);
  const main = roots.filter((r) => r.box.data.kind !== "lane");
  const lanes = roots.filter((r) => r.box.data.kind === "lane");
  const columns = wrap(main);
  let x = MARGIN;
  let height = 0;
  for (const col of columns) {
    const placed = placeColumn(col, x, MARGIN, positions);
    x += placed.w + COLUMN_GAP;
    height = Math.max(height, placed.h);
  }
  placeRow(lanes, x, MARGIN, positions);
  return { positions, routes: routesFor(picture, positions, columns) };
}

/** Split the top-level list into columns of about equal height (one column when short). */
function wrap(items: Sized[]): Sized[][] {
  if (items.length <= WRAP_ABOVE) return [items];
  const total = items.reduce((s, i) => s + i.h + GAP_Y, 0);
  const width = items.reduce((s, i) => s + i.w, 0) / items.length + COLUMN_GAP;
  const count = Math.max(1, Math.round(Math.sqrt((ASPECT * total) / width)));
  const target = total / count;
  const out: Sized[][] = [[]];
  let used = 0;
  for (const item of items) {
    if (used > 0 && used + item.h > target && out.length < count) {
      out.push([]);
      used = 0;
    }
    out[out.length - 1].push(item);
    used += item.h + GAP_Y;
  }
  return out;
}

/** Stack `items` top to bottom, centred on the widest; returns the column's size. */
function placeColumn(items: Sized[], x: number, y: number, out: Record<string, Box>): { w: number; h: number } {
  const w = Math.max(0, ...items.map((i) => i.w));
  let cy = y;
  for (const i of items) {
    out[i.box.id] = { x: x + (w - i.w) / 2, y: cy, w: i.w, h: i.h };
    cy += i.h + GAP_Y;
  }
  return { w, h: items.length ? cy - GAP_Y - y : 0 };
}

/** Put `items` left to right, top-aligned; returns the row's size. */
function placeRow(items: Sized[], x: number, y: number, out: Record<string, Box>): { w: number; h: number } {
  let cx = x;
  for (const i of items) {
    out[i.box.id] = { x: cx, y, w: i.w, h: i.h };
    cx += i.w + GAP_X;
  }
  return { w: items.length ? cx - GAP_X - x : 0, h: Math.max(0, ...items.map((i) => i.h)) };
}

/** Absolute boxes (positions are relative to the parent box). */
function absolute(picture: Picture, positions: Record<string, Box>): Map<string, Box> {
  const abs = new Map<string, Box>();
  for (const b of picture.boxes) {
    const p = positions[b.id];
    if (!p) continue;
    const parent = b.parent ? abs.get(b.parent) : undefined;
    abs.set(b.id, { x: p.x + (parent?.x ?? 0), y: p.y + (parent?.y ?? 0), w: p.w, h: p.h });
  }
  return abs;
}

/**
 * Each edge joins consecutive boxes of one list: straight down within a column; from the foot
 * of one column to the head of the next through the gap between them when the list wraps.
 */
function routesFor(picture: Picture, positions: Record<string, Box>, columns: Sized[][]): Routes {
  const abs = absolute(picture, positions);
  const columnOf = new Map<string, number>();
  columns.forEach((col, i) => col.forEach((s) => columnOf.set(s.box.id, i)));
  const routes: Routes = {};
  for (const l of picture.links) {
    const a = abs.get(l.source);
    const b = abs.get(l.target);
    if (!a || !b) continue;
    const start: Point = { x: a.x + a.w / 2, y: a.y + a.h };
    const end: Point = { x: b.x + b.w / 2, y: b.y };
    const ca = columnOf.get(l.source);
    const cb = columnOf.get(l.target);
    if (ca !== undefined && cb !== undefined && ca !== cb) {
      const gapX = a.x + a.w + COLUMN_GAP / 2 + (Math.max(...columns[ca].map((s) => s.w)) - a.w) / 2;
      const below = start.y + GAP_Y / 2;
      const above = end.y - MARGIN / 2;
      routes[l.id] = [start, { x: start.x, y: below }, { x: gapX, y: below }, { x: gapX, y: above }, { x: end.x, y: above }, end];
    } else if (Math.abs(start.x - end.x) < 0.5) {
      routes[l.id] = [start, end];
    } else {
      const mid = (start.y + end.y) / 2;
      routes[l.id] = [start, { x: start.x, y: mid }, { x: end.x, y: mid }, end];
    }
  }
  return routes;
}
