/**
 * Layout of the canvas: the structure becomes an ELK compound graph, laid out in a Web Worker
 * and cached by the structure's key, so panning, selecting or editing a property never re-runs
 * layout, and undoing returns instantly to a known picture. While a new layout computes, the
 * canvas keeps the previous positions (no jumping).
 */

import type { ElkNode } from "elkjs/lib/elk-api";

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface LayoutRequest {
  id: number;
  graph: ElkNode;
}

export interface Point {
  x: number;
  y: number;
}

/** Each edge's route as ELK drew it around the boxes (absolute: `elk.json.edgeCoords=ROOT`). */
export type Routes = Record<string, Point[]>;

export interface Laid {
  positions: Record<string, Box>;
  routes: Routes;
}

export interface LayoutResult extends Laid {
  id: number;
  error?: string;
}

/** Child positions relative to their parent, as React Flow's `parentId` expects. */
export function positionsOf(root: ElkNode): Record<string, Box> {
  const out: Record<string, Box> = {};
  const walk = (n: ElkNode) => {
    for (const c of n.children ?? []) {
      out[c.id] = { x: c.x ?? 0, y: c.y ?? 0, w: c.width ?? 0, h: c.height ?? 0 };
      walk(c);
    }
  };
  walk(root);
  return out;
}

/** The polyline of every routed edge: start, bends, end (one section per edge in `layered`). */
export function routesOf(root: ElkNode): Routes {
  const out: Routes = {};
  const walk = (n: ElkNode) => {
    for (const e of n.edges ?? []) {
      const s = e.sections?.[0];
      if (s) out[e.id] = [s.startPoint, ...(s.bendPoints ?? []), s.endPoint].map((p) => ({ x: p.x, y: p.y }));
    }
    for (const c of n.children ?? []) walk(c);
  };
  walk(root);
  return out;
}

const CACHE_SIZE = 30;
const cache = new Map<string, Laid>();
let worker: Worker | null = null;
let nextId = 0;
const pending = new Map<number, (r: LayoutResult) => void>();

function getWorker(): Worker {
  if (worker) return worker;
  worker = new Worker(new URL("./layout.worker.ts", import.meta.url), { type: "module", name: "weir-flow-layout" });
  worker.onmessage = (event: MessageEvent<LayoutResult>) => {
    const done = pending.get(event.data.id);
    pending.delete(event.data.id);
    done?.(event.data);
  };
  return worker;
}

export function cachedLayout(key: string): Laid | null {
  const hit = cache.get(key);
  if (!hit) return null;
  cache.delete(key);
  cache.set(key, hit); // most recently used last
  return hit;
}

export async function layout(key: string, graph: ElkNode): Promise<Laid> {
  const hit = cachedLayout(key);
  if (hit) return hit;
  const result = await new Promise<LayoutResult>((resolve) => {
    const id = ++nextId;
    pending.set(id, resolve);
    getWorker().postMessage({ id, graph } satisfies LayoutRequest);
  });
  if (result.error) throw new Error(result.error);
  const laid = { positions: result.positions, routes: result.routes };
  cache.set(key, laid);
  while (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  return laid;
}
