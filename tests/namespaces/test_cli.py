"""`weir namespace create`: as the first superuser, or as --user within their OWNER scope."""

from __future__ import annotations

from typing import Any

import pytest

from apps.cli.main import main
from apps.namespaces.models import Binding, Namespace, Role


@pytest.mark.django_db
def test_namespace_create(django_user_model: Any, capsys: Any) -> None:
    django_user_model.objects.create_superuser("root", password="pw")
    assert main(["namespace", "create", "acme.data", "--description", "Data"]) == 0
    assert list(Namespace.objects.values_list("name", "description")) == [("acme", ""), ("acme.data", "Data")]
    assert main(["namespace", "create", "acme.data"]) == 1
    assert "already exists" in capsys.readouterr().out
    ann = django_user_model.objects.create_user("ann", password="pw")
    Binding.objects.create(user=ann, namespace="acme", role=Role.OWNER)
    assert main(["namespace", "create", "acme.ops", "--user", "ann"]) == 0
    assert main(["namespace", "create", "zeta", "--user", "ann"]) == 1
    assert main(["namespace", "create", "Bad Name"]) == 1
