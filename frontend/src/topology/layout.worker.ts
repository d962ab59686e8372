/**
 * Web Worker that runs the dagre layout off the main thread: a compound layout costs ~75 ms for
 * a 20-node flow and close to a second at ~300 nodes, which would freeze typing in the editor.
 */

import type { FlowGraph } from "./graph";
import { type Direction, layoutGraph } from "./layout";

interface LayoutRequest {
  id: number;
  graph: FlowGraph;
  direction: Direction;
}

self.onmessage = (event: MessageEvent<LayoutRequest>) => {
  const { id, graph, direction } = event.data;
  try {
    self.postMessage({ id, layout: layoutGraph(graph, direction) });
  } catch (err) {
    self.postMessage({ id, error: err instanceof Error ? err.message : String(err) });
  }
};
