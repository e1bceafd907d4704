"""The refusals of the pooling app, each with a stable machine code (see backend.errors)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from backend.errors import ConflictError, DomainError, ForbiddenError, NotFoundError


class MerchantAuthError(DomainError):
    status_code = 401
    code = "merchant_unauthenticated"
    default_message = _("Unknown or inactive merchant API key.")


class BadSignatureError(DomainError):
    status_code = 401
    code = "bad_signature"
    default_message = _("The X-Signature header does not match the body.")


class IdempotencyKeyMissingError(DomainError):
    code = "idempotency_key_required"
    default_message = _("The Idempotency-Key header is required.")


class IdempotencyConflictError(DomainError):
    status_code = 422
    code = "idempotency_key_reused"
    default_message = _("This Idempotency-Key was already used with a different body.")


class MalformedBodyError(DomainError):
    code = "malformed_body"
    default_message = _("The body is not a JSON object.")


class UnknownResidentError(DomainError):
    code = "unknown_resident"
    default_message = _("No resident has this email address.")


class NotYourRouteError(ForbiddenError):
    code = "not_your_route"
    default_message = _("This round belongs to another courier.")


class NotACourierError(ForbiddenError):
    code = "not_a_courier"
    default_message = _("Only couriers may do this.")


class OrderNotFoundError(NotFoundError):
    code = "order_not_found"
    default_message = _("No such order.")


class NoHubError(DomainError):
    code = "no_hub"
    default_message = _("This neighbourhood has no active pooling hub.")


class BatchDispatchedError(ConflictError):
    code = "batch_dispatched"
    default_message = _("Rounds of this batch have started: it can no longer be re-planned.")


class OrderLockedError(ConflictError):
    code = "order_out_for_delivery"
    default_message = _("This order is out for delivery and can no longer be changed.")


class OrderClosedError(ConflictError):
    code = "order_closed"
    default_message = _("This order is already delivered, cancelled or returned.")


class RouteStateError(ConflictError):
    code = "route_state"
    default_message = _("This round is not in a state that allows this.")


class StopStateError(ConflictError):
    code = "stop_already_done"
    default_message = _("This stop is already marked delivered or failed.")


class BadProofCodeError(DomainError):
    code = "bad_proof_code"
    default_message = _("This code does not match the recipient's code.")


class ProofRequiredError(DomainError):
    code = "proof_required"
    default_message = _("A delivery needs a proof: the recipient's code or a photo.")


class BadPhotoError(DomainError):
    code = "bad_photo"
    default_message = _("The photo must be a JPEG, PNG or WebP image within the size limit.")


class RelayNotAllowedError(DomainError):
    code = "relay_not_allowed"
    default_message = _("This relay point does not match the chosen way of receiving.")


class NotRelayOperatorError(ForbiddenError):
    code = "not_relay_operator"
    default_message = _("Only the operator of this relay point may see its deliveries.")


class BodyTooLargeError(DomainError):
    status_code = 413
    code = "body_too_large"
    default_message = _("The body is too large.")


class BadSignatureFileError(DomainError):
    code = "bad_signature_file"
    default_message = _(
        "The signature must be a PNG image or an SVG drawing (paths and shapes only) within the "
        "size limit."
    )


class ClientTimeError(DomainError):
    code = "client_time_invalid"
    default_message = _(
        "client_at is too far in the future or too old (before the round's day, or older than "
        "the time an offline action is kept)."
    )


class OffDutyError(ConflictError):
    code = "courier_off_duty"
    default_message = _("You are off duty: go on duty before sending positions.")


class StopCorrectionError(ConflictError):
    code = "stop_correction_impossible"
    default_message = _(
        "This stop can no longer be corrected: its parcels were picked up or planned again."
    )


class RouteChangedError(DomainError):
    status_code = 412
    code = "route_changed"
    default_message = _("The round changed since you read it (If-Match): read it again.")


class BadPickupCodeError(DomainError):
    code = "bad_pickup_code"
    default_message = _("This code does not match the resident's pickup code.")


class PickupStateError(ConflictError):
    code = "not_awaiting_pickup"
    default_message = _("This parcel is not waiting at this relay point.")


class NotRelayOperatorPickupError(ForbiddenError):
    code = "not_relay_operator"
    default_message = _("Only the operator of this relay point may hand parcels over.")
