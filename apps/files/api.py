"""`/api/v1/namespaces/{ns}/files…`: Kestra's namespace-file API (KESTRA.md §7.4). Thin: parse,
call one service, shape the reply; permissions are in the services."""

from __future__ import annotations

import mimetypes

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.errors import BadRequest
from apps.files import paths, services

TAG = ["namespace files"]
PATH = OpenApiParameter("path", str, description="A path in the namespace, e.g. `/scripts/etl.py`")
MAX_UPLOAD = 50 * 1024 * 1024


def _version(request: Request) -> int | None:
    raw = request.query_params.get("revision")
    if raw in (None, ""):
        return None
    try:
        return int(str(raw))
    except ValueError as error:
        raise BadRequest(f"revision must be a whole number, got {raw!r}") from error


class Files(APIView):
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(parameters=[PATH, OpenApiParameter("revision", int)], responses={200: OpenApiTypes.BINARY},
                   tags=TAG, summary="A namespace file's content (READ); `revision` picks an older version")
    def get(self, request: Request, namespace: str) -> HttpResponse:
        row, data = services.read(request.user, namespace, request.query_params.get("path", ""), _version(request))
        kind = mimetypes.guess_type(row.path)[0] or "application/octet-stream"
        response = HttpResponse(data, content_type=kind)
        response["X-Weir-File-Version"] = str(row.version)
        return response

    @extend_schema(parameters=[PATH], request={"multipart/form-data": {"type": "object", "properties": {
                   "fileContent": {"type": "string", "format": "binary"}}}}, responses={200: OpenApiTypes.OBJECT},
                   tags=TAG, summary="Create or replace a file from the multipart `fileContent` (WRITE); "
                                     "a .zip is extracted into the path's folder")
    def post(self, request: Request, namespace: str) -> Response:
        upload = request.FILES.get("fileContent")
        if upload is None:
            raise BadRequest("send the file as the multipart field 'fileContent'")
        if upload.size and upload.size > MAX_UPLOAD:
            raise BadRequest(f"the file is larger than {MAX_UPLOAD // (1024 * 1024)} MiB")
        path = request.query_params.get("path", "")
        is_zip = str(upload.name or "").lower().endswith(".zip") and path.lower().endswith(".zip")
        return Response(services.write(request.user, namespace, path, upload.read(), extract_zip=is_zip))

    @extend_schema(parameters=[OpenApiParameter("from", str), OpenApiParameter("to", str)], request=None,
                   responses={200: OpenApiTypes.OBJECT}, tags=TAG, summary="Move or rename (WRITE)")
    def put(self, request: Request, namespace: str) -> Response:
        return Response(services.move(request.user, namespace, request.query_params.get("from", ""),
                                      request.query_params.get("to", "")))

    @extend_schema(parameters=[PATH], responses={204: None}, tags=TAG,
                   summary="Delete a file, or a directory and its contents (WRITE)")
    def delete(self, request: Request, namespace: str) -> Response:
        services.delete(request.user, namespace, request.query_params.get("path", ""))
        return Response(status=204)


class Stats(APIView):
    @extend_schema(parameters=[PATH], responses=OpenApiTypes.OBJECT, tags=TAG, summary="Type, size and dates")
    def get(self, request: Request, namespace: str) -> Response:
        return Response(services.stat(request.user, namespace, request.query_params.get("path")))


class Directory(APIView):
    @extend_schema(parameters=[PATH], responses=OpenApiTypes.OBJECT, tags=TAG,
                   summary="The entries of a directory (the root when `path` is absent)")
    def get(self, request: Request, namespace: str) -> Response:
        return Response(services.listdir(request.user, namespace, request.query_params.get("path")))

    @extend_schema(parameters=[PATH], request=None, responses=OpenApiTypes.OBJECT, tags=TAG,
                   summary="Create a directory (WRITE)")
    def post(self, request: Request, namespace: str) -> Response:
        return Response(services.mkdir(request.user, namespace, request.query_params.get("path", "")))


class Search(APIView):
    @extend_schema(parameters=[OpenApiParameter("q", str)], responses=OpenApiTypes.OBJECT, tags=TAG,
                   summary="Paths of the files whose path contains `q`")
    def get(self, request: Request, namespace: str) -> Response:
        return Response(services.search(request.user, namespace, request.query_params.get("q", "")))


class Revisions(APIView):
    @extend_schema(parameters=[PATH], responses=OpenApiTypes.OBJECT, tags=TAG,
                   summary="Every version of a file, oldest first")
    def get(self, request: Request, namespace: str) -> Response:
        return Response(services.revisions(request.user, namespace, request.query_params.get("path", "")))


class Export(APIView):
    @extend_schema(responses={200: OpenApiTypes.BINARY}, tags=TAG, summary="A zip of all the namespace's files")
    def get(self, request: Request, namespace: str) -> HttpResponse:
        data = services.export(request.user, namespace)
        response = HttpResponse(data, content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="{paths.name(namespace)}_files.zip"'
        return response
