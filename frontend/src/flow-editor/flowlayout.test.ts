import { describe, expect, it } from "vitest";

import { structuredLayout } from "./flowlayout";
import { buildPicture } from "./graph";
import type { Box } from "./layout";
import { buildModel } from "./model";

function flow(body: string): string {
  return `id: f\nnamespace: t\ntasks:\n${body}`;
}

function chain(n: number): string {
  return flow(Array.from({ length: n }, (_, i) => `  - id: t${i + 1}\n    type: io.kestra.plugin.core.log.Log\n    message: m\n`).join(""));
}

function laid(src: string) {
  const picture = buildPicture(buildModel(src), new Set(), new Map());
  return { picture, laid: structuredLayout(picture) };
}

function absolute(picture: ReturnType<typeof buildPicture>, positions: Record<string, Box>): Map<string, Box> {
  const out = new Map<string, Box>();
  for (const b of picture.boxes) {
    const p = positions[b.id];
    const parent = b.parent ? out.get(b.parent) : undefined;
    out.set(b.id, { ...p, x: p.x + (parent?.x ?? 0), y: p.y + (parent?.y ?? 0) });
  }
  return out;
}

const overlaps = (a: Box, b: Box) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

describe("structuredLayout", () => {
  it("stacks a short list in one column", () => {
    const { laid: l } = laid(chain(5));
    const xs = new Set(Object.values(l!.positions).map((p) => p.x));
    expect(xs.size).toBe(1);
  });

  it("wraps a long list into columns, no two boxes overlapping, every edge routed", () => {
    const { picture, laid: l } = laid(chain(150));
    const boxes = [...absolute(picture, l!.positions).values()];
    const columns = new Set(boxes.map((b) => b.x));
    expect(columns.size).toBeGreaterThan(3);
    const w = Math.max(...boxes.map((b) => b.x + b.w));
    const h = Math.max(...boxes.map((b) => b.y + b.h));
    expect(h / w).toBeLessThan(2);
    for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) expect(overlaps(boxes[i], boxes[j])).toBe(false);
    expect(Object.keys(l!.routes).length).toBe(picture.links.length);
  });

  it("puts a Parallel's tasks side by side inside their group", () => {
    const src = flow(`  - id: p
    type: io.kestra.plugin.core.flow.Parallel
    tasks:
      - id: a
        type: io.kestra.plugin.core.log.Log
        message: a
      - id: b
        type: io.kestra.plugin.core.log.Log
        message: b
`);
    const { picture, laid: l } = laid(src);
    const abs = absolute(picture, l!.positions);
    const [g, a, b] = ["t:p", "t:a", "t:b"].map((id) => abs.get(id)!);
    expect(a.y).toBe(b.y);
    expect(b.x).toBeGreaterThanOrEqual(a.x + a.w);
    for (const c of [a, b]) expect(c.x >= g.x && c.x + c.w <= g.x + g.w && c.y >= g.y && c.y + c.h <= g.y + g.h).toBe(true);
  });

  it("leaves a flow with dependsOn to ELK", () => {
    const src = flow(`  - id: a
    type: io.kestra.plugin.core.log.Log
    message: a
  - id: b
    type: io.kestra.plugin.core.log.Log
    message: b
    dependsOn: [a]
`);
    expect(laid(src).laid).toBeNull();
  });
});
