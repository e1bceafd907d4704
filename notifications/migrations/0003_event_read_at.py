"""The inbox's read state: ``Event.read_at``, and a partial index of the unread events.

The column is nullable without a default (no table rewrite); the index is built concurrently,
so the log keeps taking events while it is built (hence a non-atomic migration).
"""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("notifications", "0002_sessions_consent_mail"),
    ]

    operations = [
        migrations.AddField(
            model_name="event",
            name="read_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        AddIndexConcurrently(
            model_name="event",
            index=models.Index(
                condition=models.Q(("read_at__isnull", True)),
                fields=["recipient", "seq"],
                name="notifications_event_unread",
            ),
        ),
    ]
