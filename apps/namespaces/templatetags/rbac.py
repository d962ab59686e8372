"""`{% can_do "execute" flow.namespace as can_execute %}`: templates ask `can()` too, so a page
shows only the buttons its user may press (the view enforces the same rule on submit)."""

from __future__ import annotations

from typing import Any

from django import template

from apps.namespaces.permissions import Action, can

register = template.Library()


@register.simple_tag(takes_context=True)
def can_do(context: dict[str, Any], action: str, namespace: str) -> bool:
    request = context.get("request")
    return can(getattr(request, "user", None), Action(action), namespace)
