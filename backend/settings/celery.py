"""Celery: the broker, how tasks ride out outages, and every periodic job (Celery beat).

backend/celery.py reads everything here (the ``CELERY_`` prefix), ``CELERY_BEAT_SCHEDULE``
included. See docs/scaling.md.
"""

from celery.schedules import crontab

from .base import REDIS_URL, TIME_ZONE, env
from .opendata import OPENDATA_COMPUTE_DAY

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=REDIS_URL)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Broker outages and lost workers -------------------------------------------------------------
# A worker whose Redis restarts reconnects for as long as it takes (Celery's default gives up after
# 100 attempts); tasks it was running finish (tasks are idempotent: a second delivery is harmless,
# a cancelled task whose message died with a Redis that keeps nothing would be lost).
# A message taken by a worker that died (SIGKILL, a lost machine) goes back to the queue once it
# has been unacknowledged for CELERY_VISIBILITY_TIMEOUT seconds: longer than the longest task and
# the longest countdown (push retries wait up to PUSH_BACKOFF_MAX_SECONDS), or tasks run twice.
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    # How often a worker looks for such messages (seconds), and every how many looks it scans.
    "unacked_restore_interval": env.int("CELERY_UNACKED_RESTORE_INTERVAL", default=10),
    "unacked_restore_throttle": env.int("CELERY_UNACKED_RESTORE_THROTTLE", default=10),
    "socket_connect_timeout": 5,
    "socket_timeout": 30,
    "retry_on_timeout": True,
    "health_check_interval": 25,
}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"socket_connect_timeout": 5, "retry_on_timeout": True}

# --- Periodic jobs (Celery beat): every app's, in one place -------------------------------------
CELERY_BEAT_SCHEDULE = {
    # accounts/tasks.py: mails the queue could not carry, and those waiting for a retry.
    "accounts.mail_sweep": {"task": "accounts.mail_sweep", "schedule": 60.0},
    # Retention: ACCOUNT_UNVERIFIED_DAYS, ACCOUNT_TOKENS_KEEP_DAYS, ACCOUNT_SESSIONS_KEEP_DAYS.
    "accounts.retention_purge": {
        "task": "accounts.retention_purge",
        "schedule": crontab(minute=17, hour=3),
    },
    # Answers kept for retried POSTs (Idempotency-Key), past IDEMPOTENCY_HOURS.
    "accounts.idempotency_purge": {"task": "accounts.idempotency_purge", "schedule": 3600.0},
    # Data exports past their DATA_EXPORT_DAYS: their files deleted, the exports marked expired.
    "accounts.exports_purge": {"task": "accounts.exports_purge", "schedule": 3600.0},
    # geo/tasks.py: located rows written in bulk (or before any graph) get their snapped places;
    # an import queues the same job at once (geo.snapping).
    "geo.snap_pending": {
        "task": "geo.snap_pending",
        "schedule": env.float("GEO_SNAP_SWEEP_SECONDS", default=600.0),
    },
    # assistance/tasks.py: what volunteers did for assisted members, past ASSISTANCE_AUDIT_DAYS.
    "assistance.audit_purge": {
        "task": "assistance.audit_purge",
        "schedule": crontab(minute=37, hour=3),
    },
    # notifications/tasks.py: pushes the queue could not send yet; the event log's retention.
    "notifications.push_sweep": {"task": "notifications.push_sweep", "schedule": 30.0},
    "notifications.events_prune": {"task": "notifications.events_prune", "schedule": 3600.0},
    # Mail digests of important events for people without the app (at most one per person per
    # NOTIFICATIONS_EMAIL_DIGEST_MINUTES).
    "notifications.email_digest_sweep": {
        "task": "notifications.email_digest_sweep",
        "schedule": 300.0,
    },
    # Couriers' last positions (NOTIFICATIONS_POSITION_RETENTION_HOURS).
    "notifications.positions_purge": {
        "task": "notifications.positions_purge",
        "schedule": 3600.0,
    },
    # opendata/tasks.py: each association's closed months not computed yet, once a month; a month
    # computed is never computed again (docs/opendata.md).
    "opendata.months_compute": {
        "task": "opendata.months_compute",
        "schedule": crontab(minute=40, hour=4, day_of_month=OPENDATA_COMPUTE_DAY),
    },
    # pooling/tasks.py: each hub's neighbourhood is planned once its local cut-off time has passed.
    "pooling.cutoff_sweep": {
        "task": "pooling.cutoff_sweep",
        "schedule": env.float("POOLING_CUTOFF_SWEEP_SECONDS", default=300.0),
    },
    # pooling/tasks.py: retention (POOLING_COURIER_POSITION_HOURS, POOLING_PROOF_PHOTO_DAYS,
    # POOLING_ADDRESS_DAYS; docs/security.md).
    "pooling.retention_purge": {"task": "pooling.retention_purge", "schedule": 3600.0},
    # sharing/tasks.py. Reminders go out at the top of each hour in the daytime (TIME_ZONE), never
    # at night: a reminder throttled by SHARING_REMINDERS_PER_DAY waits for the next run.
    "sharing.loans_expire": {"task": "sharing.loans_expire", "schedule": 300.0},
    "sharing.wanted_widen": {"task": "sharing.wanted_widen", "schedule": 60.0},
    "sharing.reminders_send": {
        "task": "sharing.reminders_send",
        "schedule": crontab(minute=0, hour="8-20"),
    },
}
