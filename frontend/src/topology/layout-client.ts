/**
 * Lays out graphs in a shared Web Worker, falling back to the main thread (loaded on demand)
 * when workers are unavailable or the worker fails to start.
 */

import type { FlowGraph } from "./graph";
import type { Direction, Layout } from "./layout";

interface Pending {
  resolve: (layout: Layout) => void;
  reject: (err: Error) => void;
}

let worker: Worker | null | undefined;
let nextId = 0;
const pending = new Map<number, Pending>();

function failAll(message: string): void {
  for (const [id, p] of pending) {
    pending.delete(id);
    p.reject(new Error(message));
  }
}

function layoutWorker(): Worker | null {
  if (worker !== undefined) return worker;
  try {
    worker = new Worker(new URL("./layout.worker.ts", import.meta.url), { type: "module", name: "weir-layout" });
    worker.onmessage = (event: MessageEvent<{ id: number; layout?: Layout; error?: string }>) => {
      const p = pending.get(event.data.id);
      if (!p) return;
      pending.delete(event.data.id);
      if (event.data.layout) p.resolve(event.data.layout);
      else p.reject(new Error(event.data.error ?? "layout failed"));
    };
    worker.onerror = () => {
      worker = null;
      failAll("the layout worker could not start");
    };
  } catch {
    worker = null;
  }
  return worker;
}

async function onMainThread(graph: FlowGraph, direction: Direction): Promise<Layout> {
  const { layoutGraph } = await import("./layout");
  return layoutGraph(graph, direction);
}

export async function computeLayout(graph: FlowGraph, direction: Direction): Promise<Layout> {
  const w = layoutWorker();
  if (!w) return onMainThread(graph, direction);
  try {
    return await new Promise<Layout>((resolve, reject) => {
      const id = ++nextId;
      pending.set(id, { resolve, reject });
      w.postMessage({ id, graph, direction });
    });
  } catch (err) {
    if (worker === null) return onMainThread(graph, direction);
    throw err;
  }
}
