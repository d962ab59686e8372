/**
 * Web Worker running the elkjs `layered` layout, so a 300-task flow never blocks typing or
 * panning (EDITOR.md §3b: ~0.5 s at 200–500 nodes on this class of machine).
 */

import ELK from "elkjs/lib/elk.bundled.js";

import type { LayoutRequest, LayoutResult } from "./layout";
import { positionsOf, routesOf } from "./layout";

const elk = new ELK();

self.onmessage = async (event: MessageEvent<LayoutRequest>) => {
  const { id, graph } = event.data;
  try {
    const laid = await elk.layout(graph);
    const result: LayoutResult = { id, positions: positionsOf(laid), routes: routesOf(laid) };
    self.postMessage(result);
  } catch (err) {
    self.postMessage({ id, positions: {}, routes: {}, error: err instanceof Error ? err.message : String(err) } satisfies LayoutResult);
  }
};
