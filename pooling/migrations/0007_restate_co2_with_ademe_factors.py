"""The van's central factor moved from fuel only (3.17 kg CO2e/L x 9 L/100 km, 0.2853 kg/km) to
ADEME's Impact CO2 figure with the vehicle's manufacturing (0.3246), and the cargo bike's from
0.013 to 0.0148 (docs/pooling.md, CO2 factors): the CO2 stored for batches planned before is
computed again from their stored distances, so that every month sums figures of one method.
Later changes of factors go through ``manage.py pooling_co2_restate``; this migration reads the
table as it stands when it runs, and does nothing where a mode has no factor."""

from django.conf import settings
from django.db import migrations


def restate(apps, schema_editor):
    table = getattr(settings, "POOLING_CO2_FACTORS", {})

    def grams(meters, mode):
        row = table.get(mode)
        return None if row is None else round((meters or 0) * row["central"]["kg_co2e_per_km"])

    BatchImpact = apps.get_model("pooling", "BatchImpact")
    for impact in BatchImpact.objects.order_by("pk").iterator():
        by_vehicle = {}
        for mode, row in impact.by_vehicle.items():
            g = grams(row.get("meters"), mode)
            by_vehicle[mode] = {**row, "co2_grams": row.get("co2_grams") if g is None else g}
        carrier = grams(impact.per_carrier_meters, impact.baseline_vehicle)
        parcel = grams(impact.per_parcel_meters, impact.baseline_vehicle)
        if carrier is None or parcel is None:
            continue
        impact.by_vehicle = by_vehicle
        impact.co2_grams = sum(int(row.get("co2_grams") or 0) for row in by_vehicle.values())
        impact.per_carrier_co2_grams = carrier
        impact.per_parcel_co2_grams = parcel
        impact.save(
            update_fields=["by_vehicle", "co2_grams", "per_carrier_co2_grams", "per_parcel_co2_grams"]
        )


class Migration(migrations.Migration):
    dependencies = [
        ("pooling", "0006_route_addresses_erased_at"),
    ]

    operations = [
        migrations.RunPython(restate, migrations.RunPython.noop),
    ]
