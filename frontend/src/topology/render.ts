/**
 * Draws a laid-out FlowGraph as SVG inside a pannable, zoomable viewport.
 *
 * SVG (not canvas) keeps text selectable and crisp and lets CSS theme everything; the gate on
 * very large graphs avoids the "graph view freezes the browser" failure every anchor hit
 * (EDITOR.md §2, items 10–13). The previous drawing stays on screen until a new layout is ready.
 */

import { type FlowGraph, type GraphNode, graphKey, nodeTitle, shortType } from "./graph";
import type { Direction, Layout, PlacedEdge, PlacedNode } from "./layout";
import { computeLayout } from "./layout-client";

const SVG_NS = "http://www.w3.org/2000/svg";
/** Above this many nodes the user clicks to render, rather than the page freezing on load. */
const RENDER_GATE = 600;
const DIRECTION_KEY = "weir.topology.direction";
/** Below this zoom, task names get hard to read: prefer panning. */
const MIN_READABLE = 0.6;
/** A graph that fits whole at this scale or more opens whole rather than at `MIN_READABLE`. */
const WHOLE_IF_AT_LEAST = 0.5;

type Attrs = Record<string, string | number | undefined | null>;

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Node | string)[]) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children) el.append(typeof c === "string" ? document.createTextNode(c) : c);
  return el;
}

function truncate(text: string, maxChars: number): string {
  return text.length > maxChars ? `${text.slice(0, Math.max(1, maxChars - 1))}…` : text;
}

/** d3's curveBasis: a smooth B-spline through dagre's control points. */
function basisPath(points: { x: number; y: number }[]): string {
  if (points.length === 0) return "";
  if (points.length < 3) return `M${points[0].x},${points[0].y}` + points.slice(1).map((p) => `L${p.x},${p.y}`).join("");
  const f = (n: number) => Math.round(n * 10) / 10;
  let d = `M${f(points[0].x)},${f(points[0].y)}`;
  let [x0, y0, x1, y1] = [points[0].x, points[0].y, points[1].x, points[1].y];
  d += `L${f((5 * x0 + x1) / 6)},${f((5 * y0 + y1) / 6)}`;
  const bezier = (x: number, y: number) => {
    d += `C${f((2 * x0 + x1) / 3)},${f((2 * y0 + y1) / 3)} ${f((x0 + 2 * x1) / 3)},${f((y0 + 2 * y1) / 3)} ${f((x0 + 4 * x1 + x) / 6)},${f((y0 + 4 * y1 + y) / 6)}`;
  };
  for (let i = 2; i < points.length; i++) {
    const { x, y } = points[i];
    bezier(x, y);
    [x0, y0, x1, y1] = [x1, y1, x, y];
  }
  bezier(x1, y1);
  d += `L${f(x1)},${f(y1)}`;
  return d;
}

function edgeClass(edge: PlacedEdge): string {
  const type = edge.edge.relation?.relationType;
  const classes = ["wt-edge"];
  if (type) classes.push(`wt-edge--${type.toLowerCase()}`);
  else classes.push("wt-edge--connector");
  return classes.join(" ");
}

function nodeTooltip(node: GraphNode): string {
  const type = node.pluginType ?? (node.task?.type as string | undefined) ?? (node.triggerDeclaration?.type as string | undefined);
  const lines = [nodeTitle(node)];
  if (type) lines.push(type);
  if (node.disabled) lines.push("disabled");
  const description = node.task?.description ?? node.triggerDeclaration?.description;
  if (typeof description === "string" && description) lines.push("", truncate(description, 300));
  return lines.join("\n");
}

function drawNode(p: PlacedNode, onClick?: (node: GraphNode) => void): SVGGElement {
  const g = svg("g", {
    class: `wt-node wt-node--${p.kind}${p.node.disabled ? " wt-node--disabled" : ""}${p.node.error ? " wt-node--error" : ""}`,
    transform: `translate(${p.x - p.width / 2},${p.y - p.height / 2})`,
    "data-uid": p.node.uid,
  });
  if (p.kind === "start" || p.kind === "end" || p.kind === "dot-start" || p.kind === "dot-end") {
    const r = p.width / 2;
    g.append(svg("circle", { cx: r, cy: r, r: r - 1.5, class: "wt-dot" }));
    if (p.kind === "end") g.append(svg("circle", { cx: r, cy: r, r: r - 5, class: "wt-dot-inner" }));
    if (p.kind === "start" || p.kind === "end") g.append(svg("title", {}, p.kind === "start" ? "Start" : "End"));
    return g;
  }
  const title = nodeTitle(p.node);
  const type = shortType(p.node.pluginType ?? (p.node.task?.type as string | undefined) ?? (p.node.triggerDeclaration?.type as string | undefined));
  g.append(
    svg("title", {}, nodeTooltip(p.node)),
    svg("rect", { class: "wt-node-box", width: p.width, height: p.height, rx: 7 }),
    svg("rect", { class: "wt-node-accent", x: 0, y: 0, width: 4, height: p.height, rx: 2 }),
  );
  const icon = svg("g", { class: "wt-node-icon", transform: `translate(14,${p.height / 2 - 9})` });
  icon.append(svg("rect", { width: 18, height: 18, rx: 4 }), svg("text", { x: 9, y: 13, "text-anchor": "middle" }, (type || "?").charAt(0)));
  g.append(icon);
  g.append(svg("text", { class: "wt-node-label", x: 40, y: p.height / 2 - 3 }, truncate(title, 22)));
  g.append(svg("text", { class: "wt-node-type", x: 40, y: p.height / 2 + 12 }, truncate(p.node.disabled ? `${type} · disabled` : type, 26)));
  if (onClick) {
    g.classList.add("wt-node--clickable");
    g.setAttribute("tabindex", "0");
    g.setAttribute("role", "button");
    g.setAttribute("aria-label", `${title} (${type})`);
    g.addEventListener("click", () => onClick(p.node));
    g.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" || ev.key === " ") {
        ev.preventDefault();
        onClick(p.node);
      }
    });
  }
  return g;
}

function drawLayout(layout: Layout, onNodeClick?: (node: GraphNode) => void): SVGGElement {
  const root = svg("g", { class: "wt-graph" });
  const clusters = svg("g", { class: "wt-clusters" });
  for (const c of layout.clusters) {
    const x = c.x - c.width / 2;
    const y = c.y - c.height / 2;
    const isTriggers = c.cluster.cluster.uid === "cluster_root.Triggers";
    const group = svg("g", { class: `wt-cluster wt-cluster--depth${Math.min(c.depth, 3)}${isTriggers ? " wt-cluster--triggers" : ""}` });
    group.append(svg("rect", { x, y, width: c.width, height: c.height, rx: 10 }));
    const label = svg("text", { class: "wt-cluster-label", x: x + 10, y: y + 15 });
    label.append(svg("tspan", { class: "wt-cluster-title" }, truncate(c.title, 28)));
    if (c.subtitle) label.append(svg("tspan", { class: "wt-cluster-subtitle", dx: 6 }, c.subtitle));
    group.append(label);
    clusters.append(group);
  }
  const edges = svg("g", { class: "wt-edges" });
  const labels = svg("g", { class: "wt-edge-labels" });
  for (const e of layout.edges) {
    const cls = edgeClass(e);
    const marker = cls.includes("wt-edge--error") ? "url(#wt-arrow-error)" : "url(#wt-arrow)";
    const d = e.straight ? e.points.map((p, i) => `${i ? "L" : "M"}${Math.round(p.x * 10) / 10},${Math.round(p.y * 10) / 10}`).join("") : basisPath(e.points);
    edges.append(svg("path", { class: cls, d, "marker-end": marker }));
    if (e.label) {
      const w = e.labelWidth || e.label.length * 6.6 + 14;
      const g = svg("g", { class: "wt-edge-label", transform: `translate(${e.labelX - w / 2},${e.labelY - 9})` });
      g.append(svg("rect", { width: w, height: 18, rx: 9 }), svg("text", { x: w / 2, y: 12.5, "text-anchor": "middle" }, truncate(e.label, 22)));
      g.append(svg("title", {}, e.label));
      labels.append(g);
    }
  }
  const nodes = svg("g", { class: "wt-nodes" });
  for (const n of layout.nodes) nodes.append(drawNode(n, onNodeClick));
  root.append(clusters, edges, labels, nodes);
  return root;
}

function defs(): SVGDefsElement {
  const d = svg("defs");
  for (const [id, cls] of [["wt-arrow", "wt-arrowhead"], ["wt-arrow-error", "wt-arrowhead wt-arrowhead--error"]]) {
    d.append(
      svg("marker", { id, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
        svg("path", { d: "M0,1 L9,5 L0,9 z", class: cls })),
    );
  }
  d.append(
    svg("pattern", { id: "wt-grid", width: 16, height: 16, patternUnits: "userSpaceOnUse" },
      svg("circle", { cx: 1, cy: 1, r: 0.9, class: "wt-grid-dot" })),
  );
  return d;
}

export interface TopologyOptions {
  /** "fill": take the container's height (editor pane); "auto": size to the graph, capped. */
  sizing?: "fill" | "auto";
  onNodeClick?: (node: GraphNode) => void;
  emptyMessage?: string;
  /** Used until the user picks a direction with the toolbar button. */
  defaultDirection?: Direction;
  /** Called after each drawing, e.g. to colour nodes by live state (execution page). */
  onDraw?: (scene: SVGGElement) => void;
}

/** A topology view bound to one container; call `update(graph)` as often as you like. */
export class TopologyView {
  private readonly root: HTMLElement;
  private readonly viewport: HTMLDivElement;
  private readonly svgEl: SVGSVGElement;
  private readonly scene: SVGGElement;
  private readonly overlay: HTMLDivElement;
  private readonly options: TopologyOptions;
  private graph: FlowGraph | null = null;
  private key = "";
  private layout: Layout | null = null;
  private direction: Direction;
  private readonly directionKey: string;
  private scale = 1;
  private tx = 0;
  private ty = 0;
  private userMoved = false;
  /** Increases with every layout request; only the latest one is drawn. */
  private ticket = 0;
  private forced = false;

  constructor(root: HTMLElement, options: TopologyOptions = {}) {
    this.root = root;
    this.options = options;
    // Each context remembers its own direction: the editor's narrow pane reads best top-down.
    this.directionKey = `${DIRECTION_KEY}.${options.sizing ?? "auto"}`;
    const stored = localStorage.getItem(this.directionKey);
    this.direction = stored === "TB" || stored === "LR" ? stored : (options.defaultDirection ?? "LR");
    root.classList.add("wt-topology", `wt-topology--${options.sizing ?? "auto"}`);
    root.replaceChildren();

    const toolbar = document.createElement("div");
    toolbar.className = "wt-toolbar";
    const button = (label: string, title: string, action: () => void) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "wt-tool";
      b.textContent = label;
      b.title = title;
      b.setAttribute("aria-label", title);
      b.addEventListener("click", action);
      toolbar.append(b);
      return b;
    };
    button("+", "Zoom in", () => this.zoomBy(1.25));
    button("−", "Zoom out", () => this.zoomBy(0.8));
    button("Fit", "Fit to view", () => {
      this.userMoved = false;
      this.fit();
    });
    const dir = button(this.direction === "LR" ? "↓" : "→", "Switch layout direction", () => {
      this.direction = this.direction === "LR" ? "TB" : "LR";
      localStorage.setItem(this.directionKey, this.direction);
      dir.textContent = this.direction === "LR" ? "↓" : "→";
      this.key = "";
      this.userMoved = false;
      if (this.graph) this.update(this.graph);
    });

    this.viewport = document.createElement("div");
    this.viewport.className = "wt-viewport";
    this.svgEl = svg("svg", { class: "wt-svg", role: "img", "aria-label": "Flow topology" });
    this.svgEl.append(defs(), svg("rect", { class: "wt-grid", width: "100%", height: "100%", fill: "url(#wt-grid)" }));
    this.scene = svg("g", { class: "wt-scene" });
    this.svgEl.append(this.scene);
    this.overlay = document.createElement("div");
    this.overlay.className = "wt-overlay";
    this.overlay.hidden = true;
    const hint = document.createElement("div");
    hint.className = "wt-hint";
    hint.textContent = "Drag to pan · Ctrl+scroll to zoom";
    this.viewport.append(this.svgEl, this.overlay, toolbar, hint);
    root.append(this.viewport);
    this.bindPanZoom();
    new ResizeObserver(() => {
      if (!this.userMoved) this.fit(this.readableFirst());
    }).observe(this.viewport);
  }

  /** Show a message instead of (or over) the graph, e.g. "Fix the errors to refresh". */
  setNotice(message: string | null, tone: "info" | "warn" = "info"): void {
    this.overlay.hidden = !message;
    this.overlay.textContent = message ?? "";
    this.overlay.dataset.tone = tone;
    this.root.classList.toggle("wt-topology--stale", !!message && !!this.layout);
  }

  update(graph: FlowGraph): void {
    this.graph = graph;
    const key = `${this.direction}|${graphKey(graph)}`;
    if (key === this.key) {
      if (this.layout) this.setNotice(null);
      return;
    }
    if (graph.nodes.length > RENDER_GATE && !this.forced) {
      this.gate(graph.nodes.length);
      return;
    }
    this.key = key;
    const ticket = ++this.ticket;
    const real = graph.nodes.filter((n) => !/GraphCluster(Root|End)$/.test(n.type)).length;
    if (real === 0) {
      this.layout = null;
      this.scene.replaceChildren();
      this.setNotice(this.options.emptyMessage ?? "This flow has no tasks yet.");
      return;
    }
    // The previous drawing stays up until the new layout is ready (no blank flash, no jump).
    if (this.layout) this.root.classList.add("wt-topology--busy");
    computeLayout(graph, this.direction).then(
      (layout) => {
        if (ticket !== this.ticket) return;
        this.root.classList.remove("wt-topology--busy");
        this.draw(layout);
      },
      (err: unknown) => {
        if (ticket !== this.ticket) return;
        this.root.classList.remove("wt-topology--busy");
        this.key = "";
        console.error("topology layout failed", err);
        this.setNotice("The topology could not be drawn.", "warn");
      },
    );
  }

  private draw(layout: Layout): void {
    this.layout = layout;
    this.setNotice(null);
    this.scene.replaceChildren(drawLayout(layout, this.options.onNodeClick));
    this.options.onDraw?.(this.scene);
    if ((this.options.sizing ?? "auto") === "auto") {
      // Size the box to the graph at the scale it will be shown at, capped to the window.
      const w = this.viewport.clientWidth || 800;
      const scale = Math.max(MIN_READABLE, Math.min(1, (w - 32) / layout.width));
      const natural = layout.height * scale + 48;
      const cap = Math.max(260, Math.round(window.innerHeight * 0.72));
      this.viewport.style.height = `${Math.round(Math.max(240, Math.min(natural, cap)))}px`;
    }
    if (!this.userMoved) this.fit(this.readableFirst());
    else this.apply();
  }

  /** The page view favours legible text; the editor's preview favours seeing the whole flow. */
  private readableFirst(): boolean {
    return (this.options.sizing ?? "auto") === "auto";
  }

  private gate(count: number): void {
    this.layout = null;
    this.scene.replaceChildren();
    this.overlay.hidden = false;
    this.overlay.dataset.tone = "info";
    this.overlay.replaceChildren();
    const text = document.createElement("p");
    text.textContent = `This flow has ${count} graph nodes; drawing it may take a few seconds.`;
    const b = document.createElement("button");
    b.type = "button";
    b.className = "btn btn-sm";
    b.textContent = "Render topology";
    b.addEventListener("click", () => {
      this.forced = true;
      this.overlay.hidden = true;
      if (this.graph) this.update(this.graph);
    });
    this.overlay.append(text, b);
  }

  /**
   * Fit the graph in the viewport. On first render a wide flow is not shrunk below a readable
   * scale: it starts at the left and the user pans (the Fit button still shows all of it).
   */
  private fit(readable = false): void {
    if (!this.layout) return;
    const w = this.viewport.clientWidth;
    const h = this.viewport.clientHeight;
    if (!w || !h) return;
    const pad = 16;
    const all = Math.max(0.1, Math.min(1, (w - pad * 2) / this.layout.width, (h - pad * 2) / this.layout.height));
    // Whole when that is still legible (a small flow in a 1024 px window), else readable and panned.
    this.scale = !readable || all >= WHOLE_IF_AT_LEAST ? all : Math.max(all, Math.min(MIN_READABLE, (h - pad * 2) / this.layout.height));
    const width = this.layout.width * this.scale;
    this.tx = width <= w ? (w - width) / 2 : pad;
    this.ty = (h - this.layout.height * this.scale) / 2;
    this.apply();
  }

  private zoomBy(factor: number, cx?: number, cy?: number): void {
    const w = this.viewport.clientWidth;
    const h = this.viewport.clientHeight;
    const px = cx ?? w / 2;
    const py = cy ?? h / 2;
    const next = Math.min(3, Math.max(0.1, this.scale * factor));
    const k = next / this.scale;
    this.tx = px - (px - this.tx) * k;
    this.ty = py - (py - this.ty) * k;
    this.scale = next;
    this.userMoved = true;
    this.apply();
  }

  private apply(): void {
    this.scene.setAttribute("transform", `translate(${this.tx},${this.ty}) scale(${this.scale})`);
  }

  private bindPanZoom(): void {
    let drag: { x: number; y: number; tx: number; ty: number; id: number } | null = null;
    this.svgEl.addEventListener("pointerdown", (ev) => {
      if (ev.button !== 0 || (ev.target as Element).closest(".wt-node--clickable")) return;
      drag = { x: ev.clientX, y: ev.clientY, tx: this.tx, ty: this.ty, id: ev.pointerId };
      this.svgEl.setPointerCapture(ev.pointerId);
      this.viewport.classList.add("wt-dragging");
    });
    this.svgEl.addEventListener("pointermove", (ev) => {
      if (!drag || ev.pointerId !== drag.id) return;
      this.tx = drag.tx + ev.clientX - drag.x;
      this.ty = drag.ty + ev.clientY - drag.y;
      this.userMoved = true;
      this.apply();
    });
    const end = (ev: PointerEvent) => {
      if (drag && ev.pointerId === drag.id) {
        drag = null;
        this.viewport.classList.remove("wt-dragging");
      }
    };
    this.svgEl.addEventListener("pointerup", end);
    this.svgEl.addEventListener("pointercancel", end);
    this.svgEl.addEventListener(
      "wheel",
      (ev) => {
        // Plain scrolling keeps scrolling the page; Ctrl/⌘ (and trackpad pinch) zooms.
        if (!ev.ctrlKey && !ev.metaKey) return;
        ev.preventDefault();
        const rect = this.svgEl.getBoundingClientRect();
        this.zoomBy(Math.exp(-ev.deltaY * 0.002), ev.clientX - rect.left, ev.clientY - rect.top);
      },
      { passive: false },
    );
  }
}
