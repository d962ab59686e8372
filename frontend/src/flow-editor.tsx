/**
 * Island `flow-editor`: YAML and canvas side by side over one flow text (see flow-editor/App.tsx).
 * Mounted by templates/ui/flow_editor.html with `{mode, namespace, id, revision, source, urls}`.
 */

import "@xyflow/react/dist/style.css";
import { createRoot } from "react-dom/client";

import "./editor/editor.css";
import { App, type EditorProps } from "./flow-editor/App";
import "./flow-editor/flow-editor.css";
import { mountIslands } from "./lib/islands";

mountIslands<EditorProps>("flow-editor", (el, props) => {
  el.replaceChildren();
  createRoot(el).render(<App props={props} host={el} />);
});
