"""Accounts: e-mail, links in mails, consent versions, sessions, the RGPD's rights and retention.

Every retention period here is written, with its reason, in docs/security.md.
"""

from .base import BASE_DIR, PRODUCTION, env

# --- E-mail --------------------------------------------------------------------------------------
# EMAIL_URL chooses the backend (django-environ): smtp://user:password@host:587 (STARTTLS with
# smtp+tls://), smtps://... for TLS from the start, consolemail:// to print mails, or
# filemail:// to write each one as a file in EMAIL_FILE_PATH (`make run`: var/mail/).
_email = env.email_url("EMAIL_URL", default="smtp://127.0.0.1:25" if PRODUCTION else "filemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST") or "localhost"
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(BASE_DIR / "var" / "mail"))
# A mail server that does not answer within this many seconds counts as down (the task retries).
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Voisinage <noreply@voisinage.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# A mail that cannot be handed to the server is retried this many times, waiting twice as long
# each time from EMAIL_RETRY_SECONDS (30 s, 1 min, 2 min... capped at an hour).
EMAIL_MAX_RETRIES = env.int("EMAIL_MAX_RETRIES", default=12)
EMAIL_RETRY_SECONDS = env.int("EMAIL_RETRY_SECONDS", default=30)

# Links in mails: the address people open (the app's universal links, or this server's pages).
# Production refuses to start without it: links to 127.0.0.1 in real mails would lead nowhere.
PUBLIC_BASE_URL = (
    env.str("PUBLIC_BASE_URL")
    if PRODUCTION
    else env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000")
).rstrip("/")

# --- Address verification and password reset ----------------------------------------------------
ACCOUNT_VERIFY_EMAIL_HOURS = env.int("ACCOUNT_VERIFY_EMAIL_HOURS", default=48)
ACCOUNT_PASSWORD_RESET_MINUTES = env.int("ACCOUNT_PASSWORD_RESET_MINUTES", default=60)

# --- Consent -------------------------------------------------------------------------------------
# The versions in force of the terms of use and of the privacy notice. Raising one asks every
# person again (403 consent_required until they accept it: POST /api/v1/me/consents).
TERMS_VERSION = env.str("TERMS_VERSION", default="2026-12")
PRIVACY_VERSION = env.str("PRIVACY_VERSION", default="2026-12")

# --- Sessions ------------------------------------------------------------------------------------
# A refresh token is good once. An app whose refresh answer was lost may present the previous one
# again within this many seconds and get a new pair; later, reusing an old token ends the session
# (it was copied).
JWT_REFRESH_REUSE_GRACE_SECONDS = env.int("JWT_REFRESH_REUSE_GRACE_SECONDS", default=60)
# Deleting the account with a token instead of the password needs a login this recent.
ACCOUNT_FRESH_LOGIN_MINUTES = env.int("ACCOUNT_FRESH_LOGIN_MINUTES", default=10)
# Where the documents are read (GET /api/v1/legal gives both with their versions).
TERMS_URL = env.str("TERMS_URL", default=f"{PUBLIC_BASE_URL}/legal/terms")
PRIVACY_URL = env.str("PRIVACY_URL", default=f"{PUBLIC_BASE_URL}/legal/privacy")

# --- Retention (docs/security.md, "What is kept, for how long, and why"; jobs in celery.py) -----
# An account whose address was never verified, with no login nor session used for this many days
# and nothing anyone else relies on (items, loans, orders, memberships...), is deleted.
ACCOUNT_UNVERIFIED_DAYS = env.int("ACCOUNT_UNVERIFIED_DAYS", default=30)
# Mail tokens (verification, password reset), stored as digests, are deleted this many days after
# they were used or expired (until then a link opened again is told "already used").
ACCOUNT_TOKENS_KEEP_DAYS = env.int("ACCOUNT_TOKENS_KEEP_DAYS", default=7)
# Signed-in sessions are deleted this many days after they were revoked or expired (their refresh
# tokens are refused from the first moment; the days leave the trace of a recent sign-out).
ACCOUNT_SESSIONS_KEEP_DAYS = env.int("ACCOUNT_SESSIONS_KEEP_DAYS", default=7)

# What volunteers did on behalf of assisted members (assistance.AssistedAction: both names, the
# action, its object, when) is deleted this many days after the action (assistance.audit_purge).
ASSISTANCE_AUDIT_DAYS = env.int("ASSISTANCE_AUDIT_DAYS", default=365)

# --- The RGPD's rights: deletion and export ------------------------------------------------------
# Files only their owner may download (data exports): never under MEDIA_ROOT, which the web
# server may serve as it is.
PRIVATE_ROOT = env.str("PRIVATE_ROOT", default=str(BASE_DIR / "var" / "private"))
# A data export can be downloaded for this many days, then its file is deleted (accounts.exports_purge).
DATA_EXPORT_DAYS = env.int("DATA_EXPORT_DAYS", default=7)

# --- Safe retries (accounts/idempotency.py) -------------------------------------------------------
# A POST with an Idempotency-Key replays its first answer for this many hours, then the record is
# purged (accounts.idempotency_purge, hourly).
IDEMPOTENCY_HOURS = env.int("IDEMPOTENCY_HOURS", default=24)
