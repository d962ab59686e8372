"""`GET /api/v1/audit?namespace=&user=&action=&after=&before=&page=&size=` → `{results, total}`."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.audit import services
from apps.core.paging import paginate, refuse_unknown

PARAMS = {"namespace", "user", "action", "after", "before", "page", "size"}


class AuditLog(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("namespace", str, description="the namespace and its children"),
                    OpenApiParameter("user", str, description="username of the actor"),
                    OpenApiParameter("action", str, description="exact, or a prefix ending in '.'"),
                    OpenApiParameter("after", OpenApiTypes.DATETIME), OpenApiParameter("before", OpenApiTypes.DATETIME),
                    OpenApiParameter("page", int), OpenApiParameter("size", int)],
        responses={200: OpenApiTypes.OBJECT}, tags=["audit"],
        summary="Audit events the caller may read, newest first")
    def get(self, request: Request) -> Response:
        refuse_unknown(request.query_params, PARAMS)
        events = services.search(request.user, services.parse_filters(request.query_params))
        page = paginate(events, request.query_params, default_size=25)
        return Response({"results": [services.event_json(e) for e in page.results], "total": page.total})
