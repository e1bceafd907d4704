"""Logs: plain lines on the console, with no secret in them."""

from .base import env

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Django's development server logs each request line (query strings included) through its
        # own handler: send it through ours.
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
    # Every handler masks tokens, passwords, keys and signatures (backend/redaction.py).
    "filters": {"redact_secrets": {"()": "backend.redaction.RedactSecretsFilter"}},
}
