import logging
import os
from typing import Any

from celery import Celery, bootsteps
from celery.signals import after_setup_logger, after_setup_task_logger, task_prerun
from click import Option

from backend import redaction

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")

app = Celery("voisinage")
# Every CELERY_* setting (backend/settings/celery.py), the one beat schedule included
# (CELERY_BEAT_SCHEDULE becomes beat_schedule).
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class BeatThread(bootsteps.StartStopStep):
    """``celery -A backend worker --beat-thread``: the periodic jobs' scheduler (Celery beat) runs
    as a thread of the worker's main process rather than a process of its own (``--beat`` forks
    one: a copy of the whole app, about 140 MB of RSS for a loop that sends a message every few
    seconds). The main process only waits for messages: the scheduler costs it nothing. The
    schedule file is the worker's ``--schedule``. As with ``--beat``, run exactly one of these
    (docs/scaling.md): the worker of a single-machine stack (``make run``)."""

    label = "Beat (thread)"
    conditional = True

    def __init__(self, worker: Any, beat_thread: bool = False, **kwargs: Any) -> None:
        self.enabled = bool(beat_thread)
        super().__init__(worker, **kwargs)

    def create(self, worker: Any) -> Any:
        from celery.beat import EmbeddedService

        return EmbeddedService(
            worker.app,
            schedule_filename=worker.schedule_filename,
            scheduler_cls=worker.scheduler,
            thread=True,
        )


app.user_options["worker"].add(
    Option(
        ["--beat-thread"],
        is_flag=True,
        default=False,
        help="Run Celery beat in a thread of this worker (one process less than --beat).",
    )
)
app.steps["worker"].add(BeatThread)


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
