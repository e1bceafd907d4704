import logging
import os
from typing import Any

from celery import Celery
from celery.signals import after_setup_logger, after_setup_task_logger, task_prerun

from backend import redaction

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")

app = Celery("voisinage")
# Every CELERY_* setting (backend/settings/celery.py), the one beat schedule included
# (CELERY_BEAT_SCHEDULE becomes beat_schedule).
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@after_setup_logger.connect
@after_setup_task_logger.connect
def _redact_secrets(logger: logging.Logger, **kwargs: object) -> None:
    """Celery sets up its own log handlers: they mask secrets as the project's do."""
    redaction.install(logger)


@task_prerun.connect
def _fresh_read_scope(task: Any = None, **kwargs: object) -> None:
    """Each task starts with no write noted: a worker's earlier task that wrote does not keep this
    one's reads off the read replica (backend/replicas.py, read-your-own-writes). A task run in
    place (eager) is part of the request or task that runs it, and keeps its scope."""
    from backend.replicas import forget_writes

    if task is not None and getattr(task.request, "is_eager", False):
        return
    forget_writes()
