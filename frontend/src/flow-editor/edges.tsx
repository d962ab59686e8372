/**
 * The edge drawn along ELK's route. ELK routes edges around boxes and groups; React Flow's own
 * edge types join handle to handle in a straight or stepped line that can cut through the boxes
 * between them, which reads as links that do not exist.
 */

import { BaseEdge, type Edge, type EdgeProps } from "@xyflow/react";
import { memo } from "react";

import type { Point } from "./layout";

export type RoutedEdgeData = { points: Point[] } & Record<string, unknown>;

/** An SVG path through `points` with slightly rounded corners. */
export function routePath(points: Point[], radius = 6): string {
  if (points.length < 2) return "";
  let d = `M ${points[0].x} ${points[0].y}`;
  for (let i = 1; i < points.length - 1; i++) {
    const [a, b, c] = [points[i - 1], points[i], points[i + 1]];
    const r = Math.min(radius, Math.hypot(b.x - a.x, b.y - a.y) / 2, Math.hypot(c.x - b.x, c.y - b.y) / 2);
    const into = { x: b.x - (Math.sign(b.x - a.x) * r), y: b.y - (Math.sign(b.y - a.y) * r) };
    const out = { x: b.x + (Math.sign(c.x - b.x) * r), y: b.y + (Math.sign(c.y - b.y) * r) };
    d += ` L ${into.x} ${into.y} Q ${b.x} ${b.y} ${out.x} ${out.y}`;
  }
  const last = points[points.length - 1];
  return `${d} L ${last.x} ${last.y}`;
}

export const RoutedEdge = memo(function RoutedEdge({ id, data, markerEnd, style, interactionWidth }: EdgeProps<Edge<RoutedEdgeData>>) {
  return <BaseEdge id={id} path={routePath(data?.points ?? [])} markerEnd={markerEnd} style={style} interactionWidth={interactionWidth} />;
});

export const edgeTypes = { routed: RoutedEdge };
