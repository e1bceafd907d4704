# Items' short codes, printed on the association's paper sheets (sharing/codes.py): added empty,
# drawn for the items already listed, then required, unique and of the alphabet's shape.

from django.db import migrations, models

import sharing.codes


def draw_codes(apps, schema_editor):
    Item = apps.get_model("sharing", "Item")
    taken = set(Item.objects.exclude(code=None).values_list("code", flat=True))
    batch = []
    for item in Item.objects.filter(code=None).only("pk").order_by("pk").iterator(chunk_size=2000):
        code = sharing.codes.new_item_code()
        while code in taken:
            code = sharing.codes.new_item_code()
        taken.add(code)
        item.code = code
        batch.append(item)
        if len(batch) == 2000:
            Item.objects.bulk_update(batch, ["code"])
            batch = []
    Item.objects.bulk_update(batch, ["code"])


class Migration(migrations.Migration):
    dependencies = [
        ("sharing", "0009_loan_renewal_request"),
    ]

    operations = [
        migrations.AddField(
            model_name="item",
            name="code",
            field=models.CharField(editable=False, max_length=6, null=True, verbose_name="code"),
        ),
        migrations.RunPython(draw_codes, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="item",
            name="code",
            field=models.CharField(
                default=sharing.codes.new_item_code,
                editable=False,
                help_text="Printed on paper sheets: the app or a volunteer finds the item by it.",
                max_length=6,
                verbose_name="code",
            ),
        ),
        migrations.AddConstraint(
            model_name="item",
            constraint=models.UniqueConstraint(fields=("code",), name="sharing_item_code_unique"),
        ),
        migrations.AddConstraint(
            model_name="item",
            constraint=models.CheckConstraint(
                condition=models.Q(("code__regex", "^[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{6}$")),
                name="sharing_item_code_shape",
            ),
        ),
    ]
