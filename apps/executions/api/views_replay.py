"""`POST /executions/{id}/replay-with-inputs` (`actions/replay-with-inputs` in Kestra 1.x): a
replay (KESTRA.md §5.7) whose flow inputs are the ones sent rather than the source's.

The inputs are typed and checked against the revision the replay runs, exactly as when an
execution is created (FILE inputs are stored under the new execution's id). The replay and its
inputs are written in one transaction, and the replay only starts once it commits: invalid inputs
answer 422 and leave no execution behind.
"""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.errors import BadRequest
from apps.engine.inputs import InputsInvalid
from apps.executions import services
from apps.executions.access import allowed
from apps.executions.api import inputs
from apps.executions.api.parsers import INPUT_PARSERS, inputs_from
from apps.executions.api.serializers import full_execution_json
from apps.namespaces.permissions import Action
from apps.secrets.sealing import seal_inputs


class ReplayWithInputs(APIView):
    parser_classes = INPUT_PARSERS

    @extend_schema(request={"multipart/form-data": {"type": "object"}},
                   parameters=[OpenApiParameter("taskRunId", str), OpenApiParameter("revision", int)],
                   responses={200: OpenApiTypes.OBJECT}, tags=["executions"], summary="Replay as a new execution with the inputs sent")
    def post(self, request: Request, execution_id: str) -> Response:
        allowed(request.user, execution_id, Action.EXECUTE)
        raw = request.query_params.get("revision") or None
        if raw is not None and not raw.isdigit():
            raise BadRequest(f"revision must be a positive integer, got {raw!r}")
        provided = inputs_from(request)
        with transaction.atomic():
            row = services.replay(execution_id, task_run_id=request.query_params.get("taskRunId") or None,
                                  revision=int(raw) if raw else None)
            declared = inputs.declarations(row.namespace, row.flow_id, row.flow_revision)
            store = services.store_upload(row.id, row.namespace, row.flow_id)
            try:  # the typing and the 422 of execution creation, shared rather than copied
                typed = services._typed(list(declared), provided, store)
            except InputsInvalid as error:
                raise services._inputs_problem(error) from error
            row.inputs = seal_inputs(declared, typed)
            row.save(update_fields=["inputs"])
        return Response(full_execution_json(row))
