from django.db import migrations, models
from django.utils.text import slugify


def slugs_fill(apps, schema_editor):
    """Each association's slug from its name (ASCII, hyphens), made unique with -2, -3..."""
    Association = apps.get_model("neighbourhoods", "Association")
    taken: set[str] = set()
    for association in Association.objects.order_by("pk"):
        base = slugify(association.name)[:70].strip("-") or "association"
        slug, n = base, 1
        while slug in taken:
            n += 1
            slug = f"{base}-{n}"
        taken.add(slug)
        association.slug = slug
        association.save(update_fields=["slug"])


class Migration(migrations.Migration):
    dependencies = [
        ("neighbourhoods", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="association",
            name="slug",
            field=models.SlugField(
                db_index=False, max_length=80, null=True, verbose_name="short name in addresses"
            ),
        ),
        migrations.RunPython(slugs_fill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="association",
            name="slug",
            field=models.SlugField(
                help_text="Lower-case letters, digits and hyphens: the address of its open data.",
                max_length=80,
                unique=True,
                verbose_name="short name in addresses",
            ),
        ),
        migrations.AddField(
            model_name="association",
            name="open_data_publish",
            field=models.BooleanField(
                default=False,
                help_text="Monthly figures per neighbourhood, with small counts suppressed and the others rounded, public at an address with no login.",
                verbose_name="publish its figures as open data",
            ),
        ),
        migrations.AddField(
            model_name="association",
            name="open_data_licence",
            field=models.CharField(
                choices=[
                    ("etalab-2.0", "Licence Ouverte / Open Licence 2.0 (Etalab)"),
                    ("ODbL-1.0", "Open Database License (ODbL) 1.0"),
                ],
                default="etalab-2.0",
                max_length=16,
                verbose_name="licence of its open data",
            ),
        ),
        migrations.AddConstraint(
            model_name="association",
            constraint=models.CheckConstraint(
                condition=models.Q(("open_data_licence__in", ["etalab-2.0", "ODbL-1.0"])),
                name="neighbourhoods_association_open_licence",
            ),
        ),
        migrations.AddConstraint(
            model_name="association",
            constraint=models.CheckConstraint(
                condition=models.Q(("slug__regex", "^[a-z0-9]+(-[a-z0-9]+)*$")),
                name="neighbourhoods_association_slug_form",
            ),
        ),
    ]
