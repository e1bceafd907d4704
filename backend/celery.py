import logging
import os

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
def _fresh_read_scope(**kwargs: object) -> None:
    """Each task starts with no write noted: a worker's earlier task that wrote does not keep this
    one's reads off the read replica (backend/replicas.py, read-your-own-writes)."""
    from backend.replicas import forget_writes

    forget_writes()
