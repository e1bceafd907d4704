"""What a volunteer may see and change: the neighbourhoods they run
(``neighbourhoods.selectors.staff_neighbourhood_ids``, the one rule for it).

Enforced on the server for every list, form, action and export of the admin, and for the
dashboard's numbers: ``ScopedModelAdmin`` narrows the queryset (lists, actions and CSV exports
are built from it), refuses objects outside it with a 404 (forms, history, deletion), and narrows
the choices of every foreign key to neighbourhoods, associations, hubs, relay points and people.
Superusers see everything. Rows that belong to people are scoped by ``members_of`` (the rule lives
in ``neighbourhoods.selectors``, beside the other rules of who belongs where).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.forms import ModelChoiceField
from django.http import Http404, HttpRequest, HttpResponse

from accounts.models import User
from neighbourhoods.models import Association, Neighbourhood
from neighbourhoods.selectors import Scope, members_of, staff_associations, staff_neighbourhood_ids


def scoped_people(scope: Scope) -> QuerySet[User]:
    if scope is None:
        return User.objects.all()
    return User.objects.filter(members_of(scope))


class ScopedModelAdmin(admin.ModelAdmin):
    """A ModelAdmin whose rows belong to neighbourhoods.

    ``scope_field`` names the path to the neighbourhood id (``"neighbourhood_id"``,
    ``"hub__neighbourhood_id"``); a model reached through people overrides ``scope_queryset``.
    """

    scope_field: str = "neighbourhood_id"

    def scope_queryset(self, queryset: QuerySet[Any], scope: list[int]) -> QuerySet[Any]:
        return queryset.filter(**{f"{self.scope_field}__in": scope})

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        scope = staff_neighbourhood_ids(request.user)
        return queryset if scope is None else self.scope_queryset(queryset, scope)

    # --- objects outside the scope do not exist for this user --------------------------------

    def in_scope(self, request: HttpRequest, obj: Model | None) -> bool:
        if obj is None or staff_neighbourhood_ids(request.user) is None:
            return True
        return self.get_queryset(request).filter(pk=obj.pk).exists()

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return super().has_view_permission(request, obj) and self.in_scope(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return super().has_change_permission(request, obj) and self.in_scope(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return super().has_delete_permission(request, obj) and self.in_scope(request, obj)

    def _require_object(self, request: HttpRequest, object_id: str | None) -> None:
        if object_id is None:
            return
        try:
            found = self.get_object(request, object_id) is not None
        except (ValueError, TypeError):
            found = False
        if not found:
            raise Http404("not in this association's neighbourhoods")

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        self._require_object(request, object_id)
        return super().change_view(request, object_id, form_url, extra_context)

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        self._require_object(request, object_id)
        return super().delete_view(request, object_id, extra_context)

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        self._require_object(request, object_id)
        return super().history_view(request, object_id, extra_context)

    # --- choices offered by forms --------------------------------------------------------------

    def formfield_for_foreignkey(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField | None:
        queryset = self.scoped_choices(db_field.related_model, db_field.name, request)
        if queryset is not None:
            kwargs["queryset"] = queryset
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def scoped_choices(
        self, model: type[Model], field_name: str, request: HttpRequest
    ) -> QuerySet[Any] | None:
        from pooling.models import Hub, RelayPoint

        user = request.user
        scope = staff_neighbourhood_ids(user)
        if model is Association:
            return staff_associations(user)
        if scope is None:
            return None
        if model is Neighbourhood:
            return Neighbourhood.objects.filter(pk__in=scope)
        if model is Hub:
            return Hub.objects.filter(neighbourhood_id__in=scope)
        if model is RelayPoint:
            return RelayPoint.objects.filter(neighbourhood_id__in=scope)
        if model is User:
            return scoped_people(scope).order_by("display_name", "email")
        return None
