"""The association's volunteers in the admin: one group, "Association staff", holds the Django
permissions they need; which rows they see is decided by ``panel.scoping``.

A volunteer is a user with ``is_staff`` (to log in to /admin/), in this group, and in the
``staff`` of one or more associations. The group is rebuilt after every ``migrate`` (see
``apps.PanelConfig``), so a new model permission listed here reaches it on deploy.
"""

from __future__ import annotations

from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q

from neighbourhoods.services import STAFF_GROUP_NAME

# (app label, model, actions). No delete anywhere: volunteers suspend, hide and cancel through
# the services, they never erase history.
STAFF_PERMISSIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    # Change: only its open data choice (panel/admin/neighbourhoods.py, the other fields are
    # read-only to volunteers).
    ("neighbourhoods", "association", ("view", "change")),
    ("neighbourhoods", "neighbourhood", ("view", "add", "change")),
    ("neighbourhoods", "membership", ("view", "change")),
    ("sharing", "item", ("view",)),
    ("sharing", "report", ("view", "change")),
    ("sharing", "loan", ("view", "change")),
    ("pooling", "hub", ("view", "add", "change")),
    ("pooling", "relaypoint", ("view", "add", "change")),
    ("pooling", "courier", ("view",)),
    ("pooling", "order", ("view",)),
    ("pooling", "batch", ("view", "add", "change")),
    ("assistance", "assistedaction", ("view",)),
)


def staff_permissions(*, using: str = "default") -> list[Permission]:
    query = Q(pk__in=[])
    for app_label, model, actions in STAFF_PERMISSIONS:
        query |= Q(
            content_type__app_label=app_label,
            content_type__model=model,
            codename__in=[f"{action}_{model}" for action in actions],
        )
    return list(Permission.objects.using(using).filter(query))


def staff_group_sync(*, using: str = "default") -> Group:
    """Creates the group if needed and gives it exactly the permissions listed above."""
    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=using)
    with transaction.atomic(using=using):
        group, _created = Group.objects.using(using).get_or_create(name=STAFF_GROUP_NAME)
        group.permissions.set(staff_permissions(using=using))
    return group
