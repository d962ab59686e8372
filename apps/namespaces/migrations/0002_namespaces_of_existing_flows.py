"""Namespaces existed only as strings on flows before this app had rows: create a row for every
namespace (and ancestor) that already holds a flow, so the tree shows them."""

from __future__ import annotations

from typing import Any

from django.db import migrations


def forwards(apps: Any, schema_editor: Any) -> None:
    Flow = apps.get_model("flows", "Flow")
    Namespace = apps.get_model("namespaces", "Namespace")
    names: set[str] = set()
    for namespace in Flow.objects.values_list("namespace", flat=True).distinct():
        parts = namespace.split(".")
        names.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    Namespace.objects.bulk_create([Namespace(name=n) for n in sorted(names) if n], ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [("namespaces", "0001_initial"), ("flows", "0001_initial")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
