/**
 * Island `topology`: the read-only topology of a saved flow (flow page). The server renders the
 * graph JSON into the page, so no extra request is needed and the page works from cache.
 */

import { mountIslands } from "./lib/islands";
import { type FlowGraph, isFlowGraph } from "./topology/graph";
import { TopologyView } from "./topology/render";
import "./topology/topology.css";

interface TopologyProps {
  graph: FlowGraph | null;
  /** Why there is no graph (shown instead of it). */
  message?: string | null;
}

mountIslands<TopologyProps>("topology", (el, props) => {
  const view = new TopologyView(el, { sizing: "auto" });
  if (isFlowGraph(props.graph)) view.update(props.graph);
  else view.setNotice(props.message ?? "Topology unavailable.", "warn");
});
