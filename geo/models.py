"""The street graph imported from OpenStreetMap.

Each import writes a whole new :class:`StreetGraph` with its nodes and edges, then flips
``is_active`` in the same transaction; a partial unique index allows one active graph per region,
so a reader always sees one whole graph of each region, and importing one region leaves the others
as they are. Profiles are computed from the stored tags when a graph's array files are built
(see :mod:`geo.graphfile`), so a change of profile needs no re-import.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import Q

# The region of graphs imported without a region name (a town's single graph).
DEFAULT_REGION = "default"
# Region names go into file names, headers and URLs.
REGION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class StreetGraph(models.Model):
    class Status(models.TextChoices):
        IMPORTING = "importing"
        READY = "ready"
        FAILED = "failed"

    name = models.CharField(max_length=100)
    region = models.CharField(max_length=64, default=DEFAULT_REGION)
    source = models.CharField(max_length=500)
    source_sha256 = models.CharField(max_length=64)
    # What the importer stores per edge; an extract imported by an older format is re-imported
    # by ``import_osm --if-changed`` even when the file is the same.
    import_format = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.IMPORTING)
    is_active = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    way_count = models.PositiveIntegerField(default=0)
    node_count = models.PositiveIntegerField(default=0)
    edge_count = models.PositiveIntegerField(default=0)
    steps_edge_count = models.PositiveIntegerField(default=0)
    total_length_m = models.FloatField(default=0)
    import_seconds = models.FloatField(default=0)
    bbox = models.PolygonField(srid=settings.GEO_SRID, null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["region"],
                condition=Q(is_active=True),
                name="geo_one_active_graph_per_region",
            ),
            models.CheckConstraint(
                condition=Q(region__regex=REGION_PATTERN), name="geo_graph_region_valid"
            ),
            models.CheckConstraint(
                condition=Q(is_active=False) | Q(status="ready"), name="geo_active_graph_ready"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} #{self.pk}"


class StreetNode(models.Model):
    """A junction or the end of a way: where edges meet. ``idx`` is dense within its graph."""

    graph = models.ForeignKey(StreetGraph, on_delete=models.CASCADE, related_name="nodes")
    idx = models.IntegerField()
    osm_id = models.BigIntegerField()
    geom = models.PointField(srid=settings.GEO_SRID)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["graph", "idx"], name="geo_node_idx_unique"),
            models.CheckConstraint(condition=Q(idx__gte=0), name="geo_node_idx_positive"),
        ]


class StreetEdge(models.Model):
    """A piece of an OSM way between two nodes, with its geometry and the tags profiles need."""

    graph = models.ForeignKey(StreetGraph, on_delete=models.CASCADE, related_name="edges")
    source = models.IntegerField()
    target = models.IntegerField()
    osm_way_id = models.BigIntegerField()
    length_m = models.FloatField()
    geom = models.LineStringField(srid=settings.GEO_SRID)
    highway = models.CharField(max_length=32)
    foot = models.CharField(max_length=32, blank=True)
    bicycle = models.CharField(max_length=32, blank=True)
    access = models.CharField(max_length=32, blank=True)
    surface = models.CharField(max_length=32, blank=True)
    sidewalk = models.CharField(max_length=32, blank=True)
    wheelchair = models.CharField(max_length=32, blank=True)
    steps = models.BooleanField(default=False)
    crossing = models.BooleanField(default=False)
    area = models.BooleanField(default=False)
    # One-way for bikes: 0 both ways, 1 only source -> target, -1 only target -> source.
    oneway_bike = models.SmallIntegerField(default=0)
    # Access for motor vehicles (motorcar, motor_vehicle or vehicle tag) and one-way for them.
    motor = models.CharField(max_length=32, blank=True, default="")
    oneway_car = models.SmallIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(length_m__gte=0), name="geo_edge_length_positive"),
            models.CheckConstraint(
                condition=Q(oneway_bike__in=[-1, 0, 1]), name="geo_edge_oneway_bike_valid"
            ),
            models.CheckConstraint(
                condition=Q(oneway_car__in=[-1, 0, 1]), name="geo_edge_oneway_car_valid"
            ),
            models.CheckConstraint(
                condition=Q(source__gte=0) & Q(target__gte=0), name="geo_edge_nodes_positive"
            ),
        ]


class SnappedPlace(models.Model):
    """A located row that stores where its point meets the street network (:mod:`geo.snapping`).

    ``snapped_field`` names the point (a geography point field of the model). ``save()`` snaps a
    row whose point is new or moved on the active graph of its region: derived data, like an
    index, computed from the mapped graph (no I/O beyond it). Writes that bypass ``save()``
    pass :func:`geo.snapping.snap_fields`; the bulk job catches any row left behind.
    """

    snapped_field: ClassVar[str] = "location"

    # The street graph the row was snapped on (not a foreign key: graphs are pruned after an
    # import, and a stale id simply means "snap again").
    snap_graph = models.IntegerField(null=True, blank=True, editable=False)
    snap = models.BinaryField(null=True, blank=True, editable=False)

    class Meta:
        abstract = True

    @classmethod
    def from_db(cls, db: str | None, field_names: Any, values: Any) -> Any:
        row = super().from_db(db, field_names, values)
        row._snapped_xy = _xy(row.__dict__.get(cls.snapped_field, _UNREAD))
        return row

    def save(self, *args: Any, **kwargs: Any) -> None:
        from geo.snapping import snap_fields

        name = self.snapped_field
        update_fields = kwargs.get("update_fields")
        xy = _xy(self.__dict__.get(name, _UNREAD))
        moved = xy is not _UNREAD and (
            xy != getattr(self, "_snapped_xy", _UNREAD)
            or (xy is not None and self.snap_graph is None)
        )
        if moved and (update_fields is None or name in update_fields):
            for field, value in snap_fields(getattr(self, name)).items():
                setattr(self, field, value)
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "snap_graph", "snap"}
        super().save(*args, **kwargs)
        self._snapped_xy = xy


_UNREAD: Any = object()


def _xy(point: Any) -> Any:
    if point is _UNREAD or point is None:
        return point
    return (point.x, point.y)
