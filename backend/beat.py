"""A light Celery beat: ``celery -A backend.beat beat``.

Beat only reads the schedule (``CELERY_BEAT_SCHEDULE``, backend/settings/celery.py) and sends each
periodic job's message to the broker by its task name: it never runs a task. The project's own app
(backend/celery.py) sets Django up and imports every app's tasks (models, services, the geo and
planning stack: about 200 MB of RSS) for a loop that wakes a few times a minute. This one reads the
same settings (the ``CELERY_`` ones) with no Django fix-up and no task discovery: a fraction of
that (docs/scaling.md). The messages it sends are the same (``send_task`` by name, the same queue).

Run exactly one beat for the whole deployment: this one (docker-compose.yml's ``beat`` service),
or the worker's ``--beat-thread`` on a single machine (``make run``).
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")

# fixups=[]: no Django fix-up (it would call django.setup() when beat loads its modules).
app = Celery("voisinage", fixups=[], set_as_current=False)
app.config_from_object("django.conf:settings", namespace="CELERY")

# Importing this module imports the package ``backend`` first, hence backend/celery.py: its log
# filter (secrets masked, backend/redaction.py) is connected for this app's loggers as well. That
# app is built but never set up (no django.setup(), no task imported).
