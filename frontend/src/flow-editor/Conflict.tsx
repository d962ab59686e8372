/**
 * A stale save: someone saved a newer revision since this editor loaded. Both versions are
 * shown side by side, with their differing lines marked; nothing is discarded until the user
 * chooses (keep mine and overwrite, or load theirs while mine stays visible here).
 */

import { memo, useMemo } from "react";

export interface Conflict {
  mine: string;
  theirs: string;
  theirRevision: number;
  baseRevision: number | null;
  loaded?: boolean;
}

interface Props {
  conflict: Conflict;
  onOverwrite: () => void;
  onLoadTheirs: () => void;
  onClose: () => void;
}

/** Lines of `a` that do not appear in `b` (a cheap, order-insensitive marker for the panes). */
function changed(a: string, b: string): Set<number> {
  const other = new Set(b.split("\n"));
  const out = new Set<number>();
  a.split("\n").forEach((line, i) => {
    if (!other.has(line)) out.add(i);
  });
  return out;
}

function Pane({ title, text, marks }: { title: string; text: string; marks: Set<number> }) {
  return (
    <section className="fe-conflict-pane" aria-label={title}>
      <h3>{title}</h3>
      <pre>
        {text.split("\n").map((line, i) => (
          <div key={i} className={marks.has(i) ? "fe-line-changed" : undefined}>
            {line || " "}
          </div>
        ))}
      </pre>
    </section>
  );
}

export const ConflictPanel = memo(function ConflictPanel({ conflict, onOverwrite, onLoadTheirs, onClose }: Props) {
  const mineMarks = useMemo(() => changed(conflict.mine, conflict.theirs), [conflict]);
  const theirMarks = useMemo(() => changed(conflict.theirs, conflict.mine), [conflict]);
  return (
    <div className="fe-conflict" role="alertdialog" aria-label="Save conflict">
      <p>
        This flow was saved by someone else since you opened it (you started from revision {conflict.baseRevision ?? "?"}; the
        latest is revision {conflict.theirRevision}). {conflict.loaded ? "The editor now holds the latest revision; your version is kept below." : "Your version has not been saved and is still in the editor."}
      </p>
      <div className="fe-conflict-actions">
        {!conflict.loaded ? (
          <>
            <button type="button" className="btn btn-sm btn-danger-outline" onClick={onOverwrite}>
              Save mine anyway
            </button>
            <button type="button" className="btn btn-sm" onClick={onLoadTheirs}>
              Load theirs (keep mine here)
            </button>
          </>
        ) : null}
        <button type="button" className="btn btn-sm btn-ghost" onClick={() => void navigator.clipboard?.writeText(conflict.mine)}>
          Copy my version
        </button>
        <button type="button" className="btn btn-sm btn-ghost" aria-label="Close the conflict panel" onClick={onClose}>
          Close
        </button>
      </div>
      <div className="fe-conflict-panes">
        <Pane title="Your version" text={conflict.mine} marks={mineMarks} />
        <Pane title={`Latest saved · revision ${conflict.theirRevision}`} text={conflict.theirs} marks={theirMarks} />
      </div>
    </div>
  );
});
