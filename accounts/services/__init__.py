"""Every write to accounts, one module per concern; the names most callers need, here."""

from accounts.services.users import (
    UNSET,
    DemoSeedResult,
    EmailTakenError,
    HomeConflictError,
    consent_record,
    demo_users_seed,
    email_normalize,
    user_create,
    user_update_profile,
)

__all__ = [
    "UNSET",
    "DemoSeedResult",
    "EmailTakenError",
    "HomeConflictError",
    "consent_record",
    "demo_users_seed",
    "email_normalize",
    "user_create",
    "user_update_profile",
]
