/**
 * Custom canvas nodes. Memoised, and fed only structural data (no run state, no callbacks that
 * change identity), so a 300-task canvas re-renders only the boxes whose data really changed.
 * Actions go through the `CanvasActions` context, whose value is stable.
 */

import { Handle, type NodeProps, Position } from "@xyflow/react";
import { createContext, memo, useContext } from "react";

import type { BoxData } from "./graph";
import { typeLabel } from "./graph";

export interface CanvasActions {
  toggleCollapse: (taskId: string) => void;
  toggleDag: (slotPath: (string | number)[], on: boolean) => void;
}

export const ActionsContext = createContext<CanvasActions>({ toggleCollapse: () => {}, toggleDag: () => {} });

function Errors({ errors }: { errors?: string[] }) {
  if (!errors?.length) return null;
  const text = errors.join("\n");
  return (
    <span className="fe-node-error" title={text} aria-label={`${errors.length} problem${errors.length > 1 ? "s" : ""}: ${text}`} role="img">
      {errors.length}
    </span>
  );
}

function DagToggle({ data }: { data: BoxData }) {
  const { toggleDag } = useContext(ActionsContext);
  if (!data.slotPath || !data.canDag) return null;
  if (data.dagKind) return <span className="fe-badge" title="A Dag task: draw edges between handles to add dependsOn">DAG</span>;
  const path = data.slotPath;
  return (
    <label className="fe-dag-toggle nodrag" title="Run this list as a DAG: draw edges between tasks to set dependsOn">
      <input
        type="checkbox"
        checked={!!data.dag}
        aria-label={`Run ${data.label} as a DAG`}
        onChange={(e) => toggleDag(path, e.currentTarget.checked)}
      />
      DAG
    </label>
  );
}

export const TaskNode = memo(function TaskNode({ data, selected }: NodeProps & { data: BoxData }) {
  const { toggleCollapse } = useContext(ActionsContext);
  const cls = ["fe-task", selected ? "is-selected" : "", data.errors?.length ? "has-errors" : "", data.disabled ? "is-disabled" : ""].join(" ");
  return (
    <div className={cls} data-task-id={data.taskId} aria-label={`Task ${data.label}, ${data.type ?? ""}`}>
      <Handle type="target" position={Position.Top} className="fe-handle" aria-label={`${data.label}: waits for…`} />
      <div className="fe-task-head">
        <span className="fe-task-id">{data.label}</span>
        <Errors errors={data.errors} />
      </div>
      <div className="fe-task-type" title={data.type}>
        {typeLabel(data.type ?? "")}
      </div>
      {data.collapsed ? (
        <button
          type="button"
          className="fe-expand nodrag"
          aria-label={`Expand ${data.label}`}
          title="Expand"
          onClick={(e) => {
            e.stopPropagation();
            toggleCollapse(data.taskId ?? "");
          }}
        >
          + {data.childCount}
        </button>
      ) : null}
      <Handle type="source" position={Position.Bottom} className="fe-handle" aria-label={`${data.label}: then…`} />
    </div>
  );
});

export const GroupNode = memo(function GroupNode({ data, selected }: NodeProps & { data: BoxData }) {
  const { toggleCollapse } = useContext(ActionsContext);
  const cls = ["fe-group", selected ? "is-selected" : "", data.errors?.length ? "has-errors" : ""].join(" ");
  return (
    <div className={cls} data-task-id={data.taskId} data-slot={data.slotPath ? JSON.stringify(data.slotPath) : undefined}>
      <Handle type="target" position={Position.Top} className="fe-handle" aria-label={`${data.label}: waits for…`} />
      <div className="fe-group-head">
        <button
          type="button"
          className="fe-collapse nodrag"
          aria-label={`Collapse ${data.label}`}
          title="Collapse"
          onClick={(e) => {
            e.stopPropagation();
            toggleCollapse(data.taskId ?? "");
          }}
        >
          −
        </button>
        <span className="fe-task-id">{data.label}</span>
        <span className="fe-group-type">{typeLabel(data.type ?? "")}</span>
        <Errors errors={data.errors} />
        <DagToggle data={data} />
      </div>
      {data.childCount === 0 && data.slotPath ? <div className="fe-group-empty">drop tasks here</div> : null}
      <Handle type="source" position={Position.Bottom} className="fe-handle" aria-label={`${data.label}: then…`} />
    </div>
  );
});

export const LaneNode = memo(function LaneNode({ data }: NodeProps & { data: BoxData }) {
  return (
    <div className={`fe-lane fe-lane--${String(data.label).split(" ")[0]}`} data-slot={JSON.stringify(data.slotPath)}>
      <div className="fe-lane-head">
        <span className="fe-lane-label">{data.label}</span>
        {data.childCount === 0 ? <span className="fe-lane-empty">drop tasks here</span> : null}
        <DagToggle data={data} />
      </div>
    </div>
  );
});

export const nodeTypes = { task: TaskNode, flowgroup: GroupNode, lane: LaneNode };
