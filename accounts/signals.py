"""What accounts tells the apps built on it, without importing them."""

from django.dispatch import Signal

# Sent after the commit that ended sessions (logout, revocation, a password change or reset, a
# reused refresh token, the account's deletion), with ``user_id`` and ``session_ids`` (strings).
# notifications closes the sockets those sessions opened.
sessions_ended = Signal()
