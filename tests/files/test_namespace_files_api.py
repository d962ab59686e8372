"""Namespace files through the REST API (KESTRA.md §7.4): versions, tree, move, delete, export,
zip upload, and the bad inputs of RELIABILITY.md §4 rows 28-29 (nothing outside the namespace's
tree is touched, and a bad archive writes nothing)."""

from __future__ import annotations

import io
import stat
import zipfile
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from apps.files.models import NamespaceFile
from apps.namespaces.models import Binding, Role

pytestmark = pytest.mark.django_db

NS = "acme.files"
URL = f"/api/v1/namespaces/{NS}/files"


@pytest.fixture
def writer(django_user_model: Any) -> Client:
    user = django_user_model.objects.create_user("nsf-writer", password="pw")
    Binding.objects.create(user=user, namespace="acme", role=Role.WRITE)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def reader(django_user_model: Any) -> Client:
    user = django_user_model.objects.create_user("nsf-reader", password="pw")
    Binding.objects.create(user=user, namespace="acme", role=Role.READ)
    client = Client()
    client.force_login(user)
    return client


def upload(client: Client, path: str, content: bytes, name: str = "f.txt") -> Any:
    return client.post(f"{URL}?path={path}", {"fileContent": SimpleUploadedFile(name, content)})


def test_create_read_version_stat_list_search(writer: Client) -> None:
    assert upload(writer, "/scripts/etl.py", b"print(1)\n").status_code == 200
    assert upload(writer, "/scripts/etl.py", b"print(2)\n").status_code == 200
    assert upload(writer, "/scripts/etl.py", b"print(2)\n").status_code == 200  # unchanged: no version
    assert upload(writer, "/README.md", b"# hi").status_code == 200
    got = writer.get(f"{URL}?path=/scripts/etl.py")
    assert got.status_code == 200 and got.content == b"print(2)\n" and got["X-Weir-File-Version"] == "2"
    assert writer.get(f"{URL}?path=/scripts/etl.py&revision=1").content == b"print(1)\n"
    revisions = writer.get(f"{URL}/revisions?path=scripts/etl.py").json()
    assert [r["version"] for r in revisions] == [1, 2]
    stats = writer.get(f"{URL}/stats?path=/scripts/etl.py").json()
    assert stats["type"] == "File" and stats["size"] == 9 and stats["fileName"] == "etl.py"
    assert writer.get(f"{URL}/stats?path=/scripts").json()["type"] == "Directory"
    root = writer.get(f"{URL}/directory").json()
    assert [(e["fileName"], e["type"]) for e in root] == [("scripts", "Directory"), ("README.md", "File")]
    assert writer.get(f"{URL}/search?q=etl").json() == ["/scripts/etl.py"]


def test_directories_move_delete_and_export(writer: Client) -> None:
    assert writer.post(f"{URL}/directory?path=/empty").status_code == 200
    upload(writer, "/a/one.txt", b"1")
    upload(writer, "/a/b/two.txt", b"2")
    assert writer.put(f"{URL}?from=/a&to=/z").status_code == 200
    assert writer.get(f"{URL}?path=/z/b/two.txt").content == b"2"
    assert writer.get(f"{URL}?path=/a/one.txt").status_code == 404
    assert writer.put(f"{URL}?from=/z&to=/z/inner").status_code == 409
    archive = zipfile.ZipFile(io.BytesIO(writer.get(f"{URL}/export").content))
    assert sorted(archive.namelist()) == ["empty/", "z/b/two.txt", "z/one.txt"]
    assert writer.delete(f"{URL}?path=/z").status_code == 204
    assert writer.get(f"{URL}/search").json() == []
    assert writer.delete(f"{URL}?path=/z").status_code == 404


def test_file_and_directory_cannot_collide(writer: Client) -> None:
    upload(writer, "/x", b"file")
    assert upload(writer, "/x/y.txt", b"under a file").status_code == 409
    upload(writer, "/d/f.txt", b"f")
    assert upload(writer, "/d", b"over a directory").status_code == 409


def test_readers_read_writers_write(reader: Client, writer: Client) -> None:
    upload(writer, "/r.txt", b"r")
    assert reader.get(f"{URL}?path=/r.txt").content == b"r"
    assert upload(reader, "/r.txt", b"changed").status_code == 403
    assert reader.delete(f"{URL}?path=/r.txt").status_code == 403
    assert Client().get(f"{URL}?path=/r.txt").status_code == 401


@pytest.mark.parametrize("path", ["../../etc/passwd", "/a/../../etc/passwd", "%2e%2e%2fetc%2fpasswd",
                                  "..%5cwin.ini", "a\\..\\b", "a%00.txt", "a/./b", "a//b", "/"])
def test_bad_paths_are_refused(writer: Client, path: str) -> None:
    """RELIABILITY.md §4 row 28: 400 with the reason; nothing written."""
    response = writer.post(f"{URL}?path={path}", {"fileContent": SimpleUploadedFile("x", b"x")})
    assert response.status_code == 400, response.content
    assert "path" in response.json()["message"]
    assert writer.get(f"{URL}?path={path}").status_code == 400
    assert not NamespaceFile.objects.exists()


def zip_bytes(entries: list[tuple[str, bytes, int | None]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name)
            if mode is not None:
                info.external_attr = mode << 16
            archive.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def test_zip_upload_is_extracted(writer: Client) -> None:
    data = zip_bytes([("lib/util.py", b"X = 1\n", None), ("main.py", b"import lib\n", None)])
    response = upload(writer, "/project/bundle.zip", data, name="bundle.zip")
    assert response.status_code == 200, response.content
    assert sorted(response.json()["extracted"]) == ["/project/lib/util.py", "/project/main.py"]
    assert writer.get(f"{URL}?path=/project/lib/util.py").content == b"X = 1\n"


@pytest.mark.parametrize(("entries", "reason"), [
    ([("ok.txt", b"ok", None), ("../../evil.py", b"x", None)], "'..'"),
    ([("ok.txt", b"ok", None), ("/abs/path.py", b"x", None)], "absolute"),
    ([("ok.txt", b"ok", None), ("link", b"/etc/passwd", stat.S_IFLNK | 0o777)], "symlink"),
    ([("bomb.txt", b"\0" * (5 * 1024 * 1024), None)], "compressed"),
])
def test_bad_archives_write_nothing(writer: Client, entries: list[tuple[str, bytes, int | None]],
                                    reason: str) -> None:
    """RELIABILITY.md §4 row 29: 400 naming the bad entry; all or nothing."""
    response = upload(writer, "/in/upload.zip", zip_bytes(entries), name="upload.zip")
    assert response.status_code == 400, response.content
    assert reason in response.json()["message"]
    assert not NamespaceFile.objects.exists()


def test_too_many_entries(writer: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    from apps.files import archive

    monkeypatch.setattr(archive, "MAX_ENTRIES", 5)
    response = upload(writer, "/in/many.zip", zip_bytes([(f"f{i}.txt", b"x", None) for i in range(6)]),
                      name="many.zip")
    assert response.status_code == 400 and "entries" in response.json()["message"]
    assert not NamespaceFile.objects.exists()
