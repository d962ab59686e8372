/**
 * Under a Schedule trigger's form: its cron read aloud ("At 09:00, Monday through Friday
 * (Europe/Paris)") and its next five slots, from the server (`POST /triggers/preview`) so that
 * the editor, the Triggers page and the scheduler share one reading of cron and time zones.
 */

import { useEffect, useState } from "react";

import { ApiError, isAbort, request } from "../lib/api";

export const SCHEDULE = "io.kestra.plugin.core.trigger.Schedule";
const DELAY_MS = 300;

interface Preview {
  description: string;
  next: string[];
}

export function SchedulePreview({ api: apiRoot, value }: { api: string; value: Record<string, unknown> }) {
  const [preview, setPreview] = useState<Preview | null>(null);
  const [error, setError] = useState<string | null>(null);
  const cron = typeof value.cron === "string" ? value.cron : "";
  const withSeconds = value.withSeconds === true;
  const timezone = typeof value.timezone === "string" ? value.timezone : null;

  useEffect(() => {
    const abort = new AbortController();
    const timer = window.setTimeout(async () => {
      if (!cron) {
        setPreview(null);
        setError("Set a cron expression to see the next slots.");
        return;
      }
      try {
        const { data } = await request<Preview>(`${apiRoot}/triggers/preview`, { method: "POST", body: { cron, withSeconds, timezone }, signal: abort.signal });
        setPreview(data);
        setError(null);
      } catch (err) {
        if (isAbort(err)) return;
        setPreview(null);
        setError(err instanceof ApiError ? err.message : String(err));
      }
    }, DELAY_MS);
    return () => {
      abort.abort();
      window.clearTimeout(timer);
    };
  }, [apiRoot, cron, withSeconds, timezone]);

  return (
    <section className="fe-schedule-preview" aria-label="Schedule preview" aria-live="polite">
      {preview ? (
        <>
          <p className="fe-cron-words" data-cron-words>
            {preview.description}
          </p>
          <ol className="fe-next-slots" aria-label="Next slots">
            {preview.next.map((slot) => (
              <li key={slot}>
                <time dateTime={slot}>{slot.replace("T", " ")}</time>
              </li>
            ))}
          </ol>
        </>
      ) : (
        <p className="fe-muted">{error ?? "Reading the schedule…"}</p>
      )}
    </section>
  );
}
