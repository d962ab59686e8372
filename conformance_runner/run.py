"""One scenario run: produce the execution under test, apply the steps, check the expectations.

The execution under test (the "subject") comes from the scenario's first creating step: a plain
start, the Nth of a series, a child found under a parent run, the listener of an upstream run,
or an HTTP request. Later steps (waits, restart, resume, kill, markAs, replay, API calls) act on
it; `world.Observations` keeps what the checks then read.
"""

from __future__ import annotations

import re
import time
from typing import Any

from django.utils import timezone

from apps.executions import services
from apps.executions.api.serializers import full_execution_json
from apps.executions.models import Execution, TaskRun
from conformance_runner import actions, expect
from conformance_runner.actions import Step
from conformance_runner.manifest import Scenario
from conformance_runner.world import POLL, TERMINAL, Json, Observations, snapshot

PAUSED_KEYS = ("state_when_paused", "taskruns_when_paused", "tasks_when_paused")


class StepFailed(Exception):
    """A step could not be carried out; the scenario fails with this reason."""


class ScenarioRun(Observations):
    """Runs one scenario: `execute()` returns its failure reasons (empty when it passed)."""

    # -----------------------------------------------------------------------------------------
    # Planning and running

    def plan(self) -> list[Step]:
        """The scenario's phrases as steps, after the step that creates the subject (a plain start
        unless a phrase or the inputs mode says how), with a wait for PAUSED when checks need it."""
        steps = actions.parse(self.sc.text) if self.sc.text else []
        base = [s for s in actions.parse(self.sc.base_text) if s.kind == "http"] if self.sc.base_text else []
        steps = [Step(s.kind, {**s.args, "url": base[0].get("url")}) if s.kind == "http" and not s.get("url")
                 and base else s for s in steps]
        steps += actions.parse_all(self.sc.actions)
        creating = [i for i, s in enumerate(steps) if self._creates(s)]
        mode = self.sc.inputs_mode
        if mode == "set-by-parent" and not creating:
            steps.insert(0, Step("parent"))
        elif mode == "set-by-trigger" and not creating:
            steps.insert(0, Step("upstream", {}))
        elif mode == "api" and not creating:
            steps.insert(0, Step("create"))
        elif not creating:
            steps.insert(0, Step("start", {"n": 1}))
        if any(k in self.sc.expect for k in PAUSED_KEYS) and not any(
                s.kind == "wait" and s.get("state") == "PAUSED" for s in steps):
            first = next(i for i, s in enumerate(steps) if self._creates(s) or s.kind in ("parent", "create"))
            steps.insert(first + 1, Step("wait", {"state": "PAUSED", "runs": False}))
        return steps

    @staticmethod
    def _creates(step: Step) -> bool:
        if step.kind == "http":
            return "{id}" not in str(step.get("url") or "")
        return step.kind in actions.CREATING

    def execute(self) -> list[str]:
        try:
            for step in self.plan():
                getattr(self, f"_do_{step.kind}")(step)
        except (StepFailed, actions.PhraseError) as error:
            return [str(error)]
        problems: list[str] = []
        current: Json | None = None
        if self.current is not None:
            row = services.wait(self.current, self.timeout)
            if row.state not in TERMINAL:
                problems.append(f"execution still {row.state} after {self.timeout:g}s")
            current = snapshot(self.current)
        problems += expect.check(self.sc.expect, current, self)
        return self.notes + problems if problems else []

    def cleanup(self) -> None:
        """Kill what this scenario left running, so it cannot disturb the next one."""
        leftovers = Execution.objects.filter(created__gte=self.started).exclude(state__in=TERMINAL)
        for execution_id in leftovers.values_list("id", flat=True):
            try:
                services.kill(execution_id)
            except Exception:  # already ended meanwhile, or not killable: nothing to clean
                continue

    # -----------------------------------------------------------------------------------------
    # Creating the subject

    def _use(self, execution_id: str) -> str:
        self.current = execution_id
        self.involved.append(execution_id)
        return execution_id

    def start(self, scenario: Scenario) -> str:
        inputs = self.harness.values.resolve(scenario.inputs, self.harness.declarations(scenario),
                                             scenario.valid_id)
        mode = scenario.inputs_mode
        if mode not in ("none", "raw", "validated"):
            mode = "raw" if inputs else "none"
        labels = [{"key": str(k), "value": str(v)} for k, v in scenario.execution_labels.items()]
        try:
            row = services.create_execution(scenario.namespace, scenario.flow_id, inputs=inputs,
                                            inputs_mode=mode, labels=labels, trust_local_files=True)
        except Exception as error:
            raise StepFailed(f"cannot create the execution: {getattr(error, 'detail', None) or error}") from error
        return str(row.id)

    def _do_start(self, step: Step) -> None:
        self._use(self.start(self.sc))

    def _do_series(self, step: Step) -> None:
        """Run N of "run the flow N times in a row": the earlier runs first if not done yet."""
        series = self.harness.series(self.sc, int(step.get("n")))
        index = series.index(self.sc) if self.sc in series else -1
        if index < 0:
            self._use(self.start(self.sc))
            return
        done = self.harness.series_done.get(self.sc.valid_id, 0)
        for earlier in series[done:index]:
            services.wait(self.start(earlier), self.timeout)
        self.harness.series_done[self.sc.valid_id] = index + 1
        self._use(self.start(self.sc))

    def _do_parent(self, step: Step) -> None:
        chain = self.harness.parent_chain(self.sc)
        if not chain:
            standalone = self.sc.valid.get("runnable_standalone")
            raise StepFailed(f"set-by-parent: no flow of the manifest starts {self.sc.namespace}/{self.sc.flow_id} "
                             f"as a subflow{'; runnable_standalone: false' if standalone is False else ''}")
        top = self.start(chain[0])
        self.involved.append(top)
        services.wait(top, self.timeout)
        found = self._poll(lambda: self._descendant(top))
        if found is None:
            raise StepFailed(f"set-by-parent: {chain[0].flow_id} started no {self.sc.flow_id} execution")
        self._use(found)

    def _descendant(self, root: str) -> str | None:
        queue = [root]
        while queue:
            for row in Execution.objects.filter(trigger_execution_id=queue.pop(0)).order_by("created"):
                if row.namespace == self.sc.namespace and row.flow_id == self.sc.flow_id:
                    return str(row.id)
                self.involved.append(str(row.id))
                queue.append(str(row.id))
        return None

    def _do_upstream(self, step: Step) -> None:
        upstream = self.harness.upstream(self.sc, step.get("flow"))
        if upstream is None:
            raise StepFailed("set-by-trigger: no upstream flow to run")
        upstream_id = self.start(upstream)
        self.involved.append(upstream_id)
        row = services.wait(upstream_id, self.timeout)
        if step.get("state") and row.state != step.get("state"):
            raise StepFailed(f"upstream {upstream.flow_id} ended {row.state}, expected {step.get('state')}")

        def triggered() -> str | None:
            for candidate in Execution.objects.filter(namespace=self.sc.namespace, flow_id=self.sc.flow_id,
                                                      created__gte=self.started):
                if ((candidate.trigger or {}).get("variables") or {}).get("executionId") == upstream_id:
                    return str(candidate.id)
            return None

        found = self._poll(triggered)
        if found is None:
            raise StepFailed(f"no {self.sc.flow_id} execution was triggered by {upstream.flow_id} "
                             f"within {self.timeout:g}s")
        self._use(found)

    def _flow_of(self, url: str) -> tuple[str, str]:
        found = re.search(r"/executions/(?:webhook/|trigger/)?([^/?]+)/([^/?]+)", url)
        return (found.group(1), found.group(2)) if found else (self.sc.namespace, self.sc.flow_id)

    def _request(self, method: str, url: str, body: str | None = None, content_type: str | None = None,
                 form: dict[str, Any] | None = None) -> Any:
        client = self.harness.client(anonymous="/webhook/" in url)
        if form is not None:
            return client.post(url, data=form)
        if body is None and method == "GET":
            return client.get(url)
        return client.generic(method, url, data=(body or "").encode(),
                              content_type=content_type or "application/octet-stream")

    def _created_by(self, response: Any, namespace: str, flow_id: str, since: Any) -> None:
        self.http_status = int(response.status_code)
        self.notes.append(f"{response.request['REQUEST_METHOD']} {response.request['PATH_INFO']} answered "
                          f"{response.status_code}")
        data = _json(response)
        candidate = str(data.get("id")) if isinstance(data, dict) and data.get("id") else None
        if candidate and not Execution.objects.filter(id=candidate).exists():
            candidate = None
        if candidate is None and response.status_code < 400:
            candidate = self._poll(lambda: next(iter(Execution.objects.filter(
                namespace=namespace, flow_id=flow_id, created__gte=since).values_list("id", flat=True)), None),
                timeout=1.0)
        self.created = candidate is not None
        if candidate is not None:
            self._use(candidate)

    def _do_http(self, step: Step) -> None:
        url = str(step.get("url") or "")
        if not url:
            raise StepFailed(f"{step.get('method')}: no URL in the scenario")
        if "{id}" in url:
            self._api_action(step, url)
            return
        self.body = step.get("body")
        since = timezone.now()
        response = self._request(str(step.get("method")), url, step.get("body"), step.get("content_type"))
        self._created_by(response, *self._flow_of(url), since)

    def _do_create(self, step: Step) -> None:
        """`api` inputs without a URL: Kestra's multipart `POST /api/v1/executions/{ns}/{id}`."""
        inputs = self.harness.values.resolve(self.sc.inputs, self.harness.declarations(self.sc), self.sc.valid_id)
        form = {k: self.harness.values.upload(v) for k, v in inputs.items()}
        since = timezone.now()
        response = self._request("POST", f"/api/v1/executions/{self.sc.namespace}/{self.sc.flow_id}", form=form)
        self._created_by(response, self.sc.namespace, self.sc.flow_id, since)
        if self.current is None:
            raise StepFailed(f"POST /api/v1/executions/{self.sc.namespace}/{self.sc.flow_id} answered "
                             f"{response.status_code}: {_excerpt(response)}")

    # -----------------------------------------------------------------------------------------
    # Acting on the subject

    def _subject(self) -> str:
        if self.current is None:
            raise StepFailed("no execution to act on")
        return self.current

    def _do_wait(self, step: Step) -> None:
        """Wait until the subject is in a state (RUNNING: has reached it); snapshot it then."""
        execution_id, state = self._subject(), str(step.get("state"))

        def reached() -> bool | None:
            row = Execution.objects.get(id=execution_id)
            states = [h.get("state") for h in row.history]
            ok = state in states if state == "RUNNING" else row.state == state
            if ok and step.get("runs"):
                ok = TaskRun.objects.filter(execution_id=execution_id, state=state).exists()
            if ok:
                return True
            return False if row.state in TERMINAL else None

        deadline = time.monotonic() + self.timeout
        outcome = reached()
        while outcome is None and time.monotonic() < deadline:
            time.sleep(POLL)
            outcome = reached()
        self.shots[state.lower()] = snapshot(execution_id)
        if not outcome:
            now = Execution.objects.get(id=execution_id).state
            raise StepFailed(f"wait until {state}: the execution is {now}")

    def _ended(self) -> str:
        """Restart and replay act on an execution that has ended: wait for that first."""
        execution_id = self._subject()
        services.wait(execution_id, self.timeout)
        return execution_id

    def _api_action(self, step: Step, url: str) -> None:
        execution_id = self._ended() if re.search(r"/(restart|replay)\b", url) else self._subject()
        response = self._request(str(step.get("method")), url.replace("{id}", execution_id),
                                 step.get("body"), step.get("content_type"))
        if response.status_code >= 400:
            raise StepFailed(f"{step.get('method')} {url} answered {response.status_code}: {_excerpt(response)}")
        data = _json(response)
        shot = data if isinstance(data, dict) and "state" in data else snapshot(execution_id)
        if url.rstrip("/").endswith("/restart"):
            self.shots["restart"] = shot if "taskRunList" in shot else snapshot(execution_id)
        if isinstance(data, dict) and data.get("id") and data["id"] != execution_id:
            self._use(str(data["id"]))

    def _do_kill(self, step: Step) -> None:
        execution_id = self._subject()
        if step.get("api"):
            self._api_action(Step("http", {"method": "DELETE"}), "/api/v1/executions/{id}/kill")
            return
        _call(services.kill, execution_id)

    def _do_restart(self, step: Step) -> None:
        if step.get("api"):
            self._api_action(Step("http", {"method": "POST"}), "/api/v1/executions/{id}/restart")
            return
        row = _call(services.restart, self._ended())
        self.shots["restart"] = full_execution_json(row)

    def _run_id(self, task: str) -> str:
        shot = snapshot(self._subject())
        run = expect.select(shot, task)
        if run is None:
            raise StepFailed(f"no task run {task} in the execution")
        return str(run["id"])

    def _do_replay(self, step: Step) -> None:
        task = step.get("task")
        execution_id = self._ended()
        row = _call(services.replay, execution_id, self._run_id(str(task)) if task else None)
        self._use(str(row.id))

    def _do_resume(self, step: Step) -> None:
        _call(services.resume, self._subject(), dict(step.get("inputs") or {}))

    def _do_mark(self, step: Step) -> None:
        _call(services.set_task_run_state, self._subject(), self._run_id(str(step.get("task"))),
              str(step.get("state")))


def _json(response: Any) -> Any:
    try:
        return response.json()
    except Exception:  # not JSON (HTML 404 page, empty 204…)
        return None


def _excerpt(response: Any) -> str:
    text = bytes(response.content).decode("utf-8", "replace").strip().replace("\n", " ")
    return text[:120]


def _call(function: Any, *args: Any) -> Any:
    try:
        return function(*args)
    except Exception as error:
        raise StepFailed(f"{function.__name__}: {getattr(error, 'detail', None) or error}") from error


__all__ = ["ScenarioRun", "StepFailed"]
