/**
 * Side-panel form for the selected task, generated from its type's JSON Schema. Inputs are
 * uncontrolled and keyed by their current YAML value: an edit in the code pane re-renders the
 * field with the new value, and a commit (blur, Enter, toggle) writes one property through the
 * YAML writer. A value equal to the schema default, or emptied, removes the key.
 */

import { type KeyboardEvent, memo, useState } from "react";
import { parse as parseYaml, stringify as toYaml } from "yaml";

import { type Catalog, type Field, fieldsOf } from "./schema";

interface Props {
  catalog: Catalog | null;
  taskId: string;
  type: string;
  value: Record<string, unknown>;
  errors: string[];
  onSet: (key: string, value: unknown) => void;
  /** False when the rename was refused (the field then shows the current id again). */
  onRename: (id: string) => boolean;
}

const commitOnEnter = (e: KeyboardEvent<HTMLInputElement>) => {
  if (e.key === "Enter") e.currentTarget.blur();
};

function sameAsDefault(field: Field, v: unknown): boolean {
  return field.defaultValue !== undefined && field.defaultValue !== null && JSON.stringify(field.defaultValue) === JSON.stringify(v);
}

function FieldInput({ field, value, path, onSet }: { field: Field; value: unknown; path: string; onSet: (key: string, v: unknown) => void }) {
  const [error, setError] = useState<string | null>(null);
  const id = `fe-field-${path.replace(/\W/g, "-")}`;
  const commit = (v: unknown) => {
    setError(null);
    onSet(path, v === "" || v === undefined || sameAsDefault(field, v) ? undefined : v);
  };
  const k = `${path}=${JSON.stringify(value ?? null)}`;
  let input: React.ReactNode;
  switch (field.kind) {
    case "boolean":
      input = (
        <input
          id={id}
          type="checkbox"
          checked={value === undefined ? field.defaultValue === true : value === true}
          onChange={(e) => commit(e.currentTarget.checked)}
        />
      );
      break;
    case "enum":
      input = (
        <select id={id} key={k} defaultValue={value === undefined ? "" : String(value)} onChange={(e) => commit(e.currentTarget.value)}>
          <option value="">{field.defaultValue !== undefined && field.defaultValue !== null ? `(default: ${String(field.defaultValue)})` : "(not set)"}</option>
          {field.options?.map((o) => (
            <option key={o} value={o}>
              {o}
            </option>
          ))}
        </select>
      );
      break;
    case "integer":
    case "number":
      input = (
        <input
          id={id}
          key={k}
          type="text"
          inputMode="numeric"
          defaultValue={value === undefined ? "" : String(value)}
          placeholder={field.defaultValue !== undefined && field.defaultValue !== null ? String(field.defaultValue) : ""}
          onKeyDown={commitOnEnter}
          onBlur={(e) => {
            const raw = e.currentTarget.value.trim();
            if (raw === (value === undefined ? "" : String(value))) return;
            if (raw === "") return commit(undefined);
            const n = Number(raw);
            // An expression is allowed where the schema marks the property dynamic.
            if (Number.isNaN(n) || (field.kind === "integer" && !Number.isInteger(n))) {
              if (/\{\{.*\}\}/.test(raw)) return commit(raw);
              return setError(`expected ${field.kind === "integer" ? "a whole number" : "a number"}`);
            }
            commit(n);
          }}
        />
      );
      break;
    case "list":
      input = (
        <textarea
          id={id}
          key={k}
          rows={3}
          defaultValue={Array.isArray(value) ? value.join("\n") : value === undefined ? "" : String(value)}
          placeholder="one item per line"
          onBlur={(e) => {
            const items = e.currentTarget.value.split("\n").map((s) => s.trim()).filter(Boolean);
            if (JSON.stringify(items) === JSON.stringify(value ?? [])) return;
            commit(items.length ? items : undefined);
          }}
        />
      );
      break;
    case "object":
      return (
        <fieldset className="fe-fieldset">
          <legend>
            {field.title}
            {field.required ? <span className="fe-required" aria-label="required"> *</span> : <span className="fe-optional"> (optional)</span>}
          </legend>
          {field.description ? <p className="fe-help">{field.description}</p> : null}
          {field.fields?.map((f) => (
            // An optional object's required keys are required only once the object is used.
            <FieldRow
              key={f.key}
              field={field.required || value !== undefined ? f : { ...f, required: false }}
              value={(value as Record<string, unknown> | undefined)?.[f.key]}
              path={`${path}.${f.key}`}
              onSet={onSet}
            />
          ))}
        </fieldset>
      );
    case "map":
    case "yaml":
      input = (
        <textarea
          id={id}
          key={k}
          rows={4}
          className="fe-yaml"
          spellCheck={false}
          defaultValue={value === undefined ? "" : toYaml(value, { lineWidth: 0 }).replace(/\n$/, "")}
          placeholder={field.kind === "map" ? "key: value" : "YAML"}
          onBlur={(e) => {
            const raw = e.currentTarget.value;
            if (!raw.trim()) return value === undefined ? undefined : commit(undefined);
            try {
              const parsed: unknown = parseYaml(raw);
              if (JSON.stringify(parsed) !== JSON.stringify(value)) commit(parsed);
            } catch (err) {
              setError(err instanceof Error ? err.message.split("\n")[0] : "not valid YAML");
            }
          }}
        />
      );
      break;
    default: {
      const multiline = typeof value === "string" && value.includes("\n");
      const common = {
        id,
        key: k,
        defaultValue: value === undefined ? "" : typeof value === "string" ? value : JSON.stringify(value),
        placeholder: field.kind === "duration" ? "ISO-8601 duration, e.g. PT5M" : field.kind === "expression" ? "text or {{ expression }}" : "",
        className: field.kind === "expression" ? "fe-expr" : undefined,
        spellCheck: false,
      };
      const onBlur = (e: { currentTarget: { value: string } }) => {
        const raw = e.currentTarget.value;
        if (raw === (typeof value === "string" ? value : value === undefined ? "" : JSON.stringify(value))) return;
        if (field.kind === "duration" && raw && !/^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$/.test(raw) && !raw.includes("{{")) {
          return setError("expected an ISO-8601 duration such as PT30S or P1D");
        }
        commit(raw);
      };
      input = multiline ? <textarea {...common} rows={4} onBlur={onBlur} /> : <input type="text" {...common} onKeyDown={commitOnEnter} onBlur={onBlur} />;
    }
  }
  return (
    <>
      {input}
      {error ? (
        <span className="fe-field-error" role="alert">
          {error}
        </span>
      ) : null}
    </>
  );
}

function FieldRow({ field, value, path, onSet }: { field: Field; value: unknown; path: string; onSet: (key: string, v: unknown) => void }) {
  if (field.kind === "object") return <FieldInput field={field} value={value} path={path} onSet={onSet} />;
  const id = `fe-field-${path.replace(/\W/g, "-")}`;
  return (
    <div className={`fe-field fe-field--${field.kind}`} data-field={path}>
      <label htmlFor={id}>
        {field.title === field.key ? field.key : `${field.key}`}
        {field.required ? <span className="fe-required" aria-label="required"> *</span> : null}
        {field.kind === "expression" ? <span className="fe-expr-badge" title="Accepts {{ expressions }}">{"{{ }}"}</span> : null}
      </label>
      <FieldInput field={field} value={value} path={path} onSet={onSet} />
      {field.description ? <p className="fe-help">{field.description}</p> : null}
    </div>
  );
}

export const PropertyForm = memo(function PropertyForm({ catalog, taskId, type, value, errors, onSet, onRename }: Props) {
  const fields = catalog ? fieldsOf(catalog, type) : [];
  const info = catalog?.byType.get(type);
  return (
    <form className="fe-form" aria-label={`Properties of ${taskId}`} onSubmit={(e) => e.preventDefault()}>
      <header className="fe-form-head">
        <h2>{taskId}</h2>
        <code title={type}>{info?.name ?? type}</code>
        {info?.title ? <p className="fe-help">{info.title}</p> : null}
      </header>
      {errors.length ? (
        <ul className="fe-form-errors" aria-label="Problems">
          {errors.map((e) => (
            <li key={e}>{e}</li>
          ))}
        </ul>
      ) : null}
      <div className="fe-field" data-field="id">
        <label htmlFor="fe-field-id">
          id<span className="fe-required" aria-label="required"> *</span>
        </label>
        <input
          id="fe-field-id"
          key={`id=${taskId}`}
          defaultValue={taskId}
          onKeyDown={commitOnEnter}
          onBlur={(e) => {
            const input = e.currentTarget;
            if (input.value !== taskId && !onRename(input.value.trim())) input.value = taskId;
          }}
        />
      </div>
      {!catalog ? <p className="fe-muted">Loading the schema…</p> : null}
      {catalog && !info ? <p className="fe-muted">Unknown type: edit its properties in the YAML.</p> : null}
      {fields.map((f) => (
        <FieldRow key={f.key} field={f} value={value[f.key]} path={f.key} onSet={onSet} />
      ))}
    </form>
  );
});
