"""No secret in the logs: a logging filter that masks credentials in every record it sees.

Attached to the project's log handlers (settings.LOGGING) and to Celery's (backend/celery.py),
it rewrites a record's message, once formatted with its arguments, and its traceback text, so
that whichever logger wrote it (ours, Django's, a library's), what reaches a log file holds no:

- ``Authorization`` header value, bearer token or JSON Web Token (access, refresh);
- password, secret, API key, signature, token, ticket or push token given as ``name=value``,
  ``name: value`` or ``"name": "value"`` (query strings, headers, JSON, reprs of dicts);
- merchant API key (``vk_...``) or HMAC signature (``sha256=<hex>``) anywhere.
"""

from __future__ import annotations

import logging
import re

MASK = "[redacted]"

# Names whose values are secrets, as they appear in JSON, query strings, headers and reprs.
_SENSITIVE_NAMES = (
    r"authorization|proxy-authorization|http_authorization|http_cookie|cookie|set-cookie|"
    r"password\d?|new_password|old_password|passwd|secret|signing_secret|client_secret|"
    r"api[_-]?key|x-api-key|apikey|private[_-]?key|"
    r"signature|x-signature|http_x_signature|http_x_api_key|"
    r"token|access|refresh|access_token|refresh_token|id_token|push_token|fcm_token|"
    r"registration_token|registration_id|device_token|ticket|delivery_code|handover_code|"
    r"sessionid|csrftoken|csrfmiddlewaretoken"
)

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # "name": "value" and 'name': 'value' (JSON bodies, dict reprs)
    (
        re.compile(
            rf"""(?P<k>["'](?:{_SENSITIVE_NAMES})["']\s*:\s*)(?P<q>["'])(?P<v>(?:\\.|(?!(?P=q)).)*)(?P=q)""",
            re.IGNORECASE,
        ),
        rf"\g<k>\g<q>{MASK}\g<q>",
    ),
    # Authorization: Bearer xxx / Basic xxx (headers, whatever the scheme)
    (
        re.compile(
            r"(?P<k>(?<![A-Za-z0-9])(?:http_)?(?:proxy[-_])?authorization\b\s*[:=]\s*)"
            r"(?!\[redacted\])[^\r\n,;]+",
            re.IGNORECASE,
        ),
        rf"\g<k>{MASK}",
    ),
    (
        re.compile(r"(?P<k>\bBearer\s+)(?!\[redacted\])[A-Za-z0-9._~+/=-]+", re.IGNORECASE),
        rf"\g<k>{MASK}",
    ),
    # name=value (query strings, form bodies, headers as name: value)
    (
        re.compile(
            rf"(?P<k>(?<![A-Za-z0-9_-])(?:{_SENSITIVE_NAMES})(?:\s*=\s*|:\s+))(?!\[redacted\])(?P<v>[^\s&,;\"')\]}}]+)",
            re.IGNORECASE,
        ),
        rf"\g<k>{MASK}",
    ),
    # JSON Web Tokens anywhere (three base64url parts, the first two JSON objects)
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), MASK),
    # Merchant API keys and HMAC signatures anywhere
    (re.compile(r"\bvk_[0-9a-f]{8}_[A-Za-z0-9_-]{16,}"), MASK),
    (re.compile(r"\bsha256=[0-9a-fA-F]{16,}"), "sha256=" + MASK),
]


def redact(text: str) -> str:
    """``text`` with every credential it holds replaced by ``[redacted]``."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecretsFilter(logging.Filter):
    """Masks credentials in a record (message, arguments, traceback). Never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep the raw parts, redacted
            message = f"{record.msg} {record.args}"
        redacted = redact(message)
        if redacted != message or record.args:
            record.msg = redacted
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install(logger: logging.Logger | None = None) -> None:
    """Adds the filter to every handler of ``logger`` (the root logger by default)."""
    logger = logger or logging.getLogger()
    for handler in logger.handlers:
        if not any(isinstance(f, RedactSecretsFilter) for f in handler.filters):
            handler.addFilter(RedactSecretsFilter())
