/**
 * Palette of every registered task type, grouped by package and searchable. Drag an entry onto
 * the canvas (into a group, onto an edge) to insert it; Enter or the + button appends it after
 * the selection. Trigger types come first, in their own group: adding one appends it to the
 * flow's `triggers:`. Selecting an entry shows the plugin's docs.
 */

import { memo, useMemo, useState } from "react";

import { PALETTE_MIME } from "./Canvas";
import type { Catalog, TaskType } from "./schema";

interface Props {
  catalog: Catalog | null;
  error: string | null;
  onAdd: (type: string) => void;
}

/** One palette entry: drag it onto the canvas, Enter or + adds it, a click shows its docs. */
function Entry({ t, focused, onFocus, onAdd }: { t: TaskType; focused: boolean; onFocus: () => void; onAdd: (type: string) => void }) {
  return (
    <div
      className={`fe-palette-item${t.deprecated ? " is-deprecated" : ""}${focused ? " is-focused" : ""}${t.trigger ? " is-trigger" : ""}`}
      draggable
      role="button"
      tabIndex={0}
      data-type={t.type}
      aria-label={`${t.name}: ${t.title}. ${t.trigger ? "Adds a trigger" : "Drag onto the canvas, or press Enter to add"}.`}
      title={t.title}
      onDragStart={(e) => {
        e.dataTransfer.setData(PALETTE_MIME, t.type);
        e.dataTransfer.setData("text/plain", t.type);
        e.dataTransfer.effectAllowed = "copy";
      }}
      onClick={onFocus}
      onKeyDown={(e) => {
        if (e.key === "Enter") onAdd(t.type);
      }}
    >
      <span className={`fe-dot${t.flowable ? " is-flowable" : ""}${t.trigger ? " is-trigger" : ""}`} aria-hidden="true" />
      <span className="fe-palette-name">{t.name}</span>
      <button
        type="button"
        className="fe-add"
        aria-label={`Add ${t.name}`}
        title={t.trigger ? "Add to the flow's triggers" : "Add after the selection"}
        onClick={(e) => {
          e.stopPropagation();
          onAdd(t.type);
        }}
      >
        +
      </button>
    </div>
  );
}

export const Palette = memo(function Palette({ catalog, error, onAdd }: Props) {
  const [query, setQuery] = useState("");
  const [focus, setFocus] = useState<TaskType | null>(null);
  const groups = useMemo(() => {
    const q = query.trim().toLowerCase();
    const out = new Map<string, TaskType[]>();
    const triggers = (catalog?.triggers ?? []).filter((t) => !q || `${t.type} ${t.title}`.toLowerCase().includes(q));
    if (triggers.length) out.set("Triggers", triggers);
    for (const t of catalog?.tasks ?? []) {
      if (q && !`${t.type} ${t.title}`.toLowerCase().includes(q)) continue;
      const list = out.get(t.group) ?? [];
      list.push(t);
      out.set(t.group, list);
    }
    return [...out.entries()];
  }, [catalog, query]);

  return (
    <aside className="fe-palette" aria-label="Task palette">
      <input
        className="fe-search"
        type="search"
        placeholder="Search task types…"
        aria-label="Search task types"
        value={query}
        onChange={(e) => setQuery(e.currentTarget.value)}
      />
      {error ? <p className="fe-muted">Task types unavailable: {error}</p> : null}
      {!catalog && !error ? <p className="fe-muted">Loading task types…</p> : null}
      <div className="fe-palette-list">
        {groups.map(([group, types]) => (
          <details key={group} open={!!query || group === "Triggers" || group.endsWith("flow") || group.endsWith("log")} className="fe-palette-group">
            <summary>
              {group} <span className="fe-count">{types.length}</span>
            </summary>
            <ul>
              {types.map((t) => (
                <li key={t.type}>
                  <Entry t={t} focused={focus?.type === t.type} onFocus={() => setFocus(t)} onAdd={onAdd} />
                </li>
              ))}
            </ul>
          </details>
        ))}
      </div>
      {focus ? (
        <section className="fe-docs" aria-label={`Documentation of ${focus.name}`}>
          <h3>{focus.title || focus.name}</h3>
          <code className="fe-docs-type">{focus.type}</code>
          <p>{focus.docs || "No documentation."}</p>
        </section>
      ) : null}
    </aside>
  );
});
