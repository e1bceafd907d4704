import django.contrib.gis.db.models.fields
import django.contrib.postgres.indexes
from django.db import migrations

from geo.privacy import blurred_point


def public_locations_fill(apps, schema_editor):
    relay_point = apps.get_model("pooling", "RelayPoint")
    for relay in relay_point.objects.all():
        if relay.kind == "neighbour_host":
            relay.public_location = blurred_point(relay.location)
        else:
            relay.public_location = relay.location
        relay.save(update_fields=["public_location"])


class Migration(migrations.Migration):
    """A neighbour host's relay point is a home: others see the centre of its blur cell."""

    dependencies = [
        ("pooling", "0004_neighbourhoods_app"),
    ]

    operations = [
        migrations.AddField(
            model_name="relaypoint",
            name="public_location",
            field=django.contrib.gis.db.models.fields.PointField(
                geography=True,
                null=True,
                srid=4326,
                verbose_name="location shown to others",
            ),
        ),
        migrations.RunPython(public_locations_fill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="relaypoint",
            name="public_location",
            field=django.contrib.gis.db.models.fields.PointField(
                geography=True, srid=4326, verbose_name="location shown to others"
            ),
        ),
        migrations.AddIndex(
            model_name="relaypoint",
            index=django.contrib.postgres.indexes.GistIndex(
                fields=["public_location"], name="pooling_relay_public_loc_gist"
            ),
        ),
    ]
