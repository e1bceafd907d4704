"""OpenAPI schema: the error answers every operation can give, documented once for all.

A drf-spectacular post-processing hook (``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]``) adds to
each operation the error responses that follow from what the operation is, in the API's one
error format (backend/errors.py), unless the view documented that status itself:

- 400 for every operation: validation of its query parameters, headers or body, and a path or
  query string holding a character the API refuses (backend/inputs.py);
- 401 and 403 when it requires authentication (no or bad token; not allowed);
- 404 when its path has a parameter or it reads a body (an id, in the path or the body, that
  does not exist or is not yours);
- 409 for writes (the object's state does not allow it now);
- 413 and 415 when it reads a body (too large; a media type it does not parse);
- 429 with ``Retry-After`` when a rate limit applies (backend/throttling.py);
- for a signed-in POST, the ``Idempotency-Key`` header and its 422 (accounts/idempotency.py).
"""

from __future__ import annotations

from typing import Any

ERROR_REF = {"$ref": "#/components/schemas/Error"}
WRITE_METHODS = {"post", "put", "patch", "delete"}
DESCRIPTIONS = {
    "400": (
        "invalid: the input is invalid; `fields` says what is wrong with each field. "
        "invalid_character: a path, parameter or string holds a refused character (NUL, "
        "control characters, unpaired surrogates, U+FFFE, U+FFFF). too_deep, parse_error: "
        "the JSON body is nested too deeply or is not valid JSON."
    ),
    "401": "not_authenticated or token_not_valid: log in (a bearer token) first.",
    "403": "Not allowed for you (permission_denied, forbidden or a more precise code).",
    "404": "not_found: it does not exist, or it is not visible to you.",
    "409": "The current state of the object does not allow this now.",
    "422": "idempotency_key_reused: this Idempotency-Key was already used for another request.",
    "413": "too_large: the request body is over the limit.",
    "415": "unsupported_media_type: send the body in a media type listed here.",
    "429": "throttled: too many requests; retry after `Retry-After` seconds.",
}
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer", "minimum": 1},
    }
}


def _views_by_operation(generator: Any) -> dict[tuple[str, str], Any]:
    views = {}
    for path, _regex, method, callback in getattr(generator, "endpoints", None) or []:
        views[path, method.lower()] = getattr(callback, "cls", None)
    return views


def _throttled(view: Any, method: str) -> bool:
    """Whether a rate limit applies to ``method`` on this view (backend/throttling.py)."""
    for throttle in getattr(view, "throttle_classes", None) or []:
        methods = getattr(throttle, "methods", None)
        if methods is None or method.upper() in methods:
            return True
    return False


def _error(status: str) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": DESCRIPTIONS[status],
        "content": {"application/json": {"schema": ERROR_REF}},
    }
    if status == "429":
        response["headers"] = RETRY_AFTER
    return response


IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "Makes a retry safe: the same key and body within 24 h replay the first answer "
        "(`Idempotent-Replayed: true`) without acting again; the same key with another body is "
        "422 idempotency_key_reused. 1 to 255 visible ASCII characters (a UUID)."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
}


def _idempotency_header(operation: dict[str, Any]) -> None:
    """Every signed-in POST accepts an ``Idempotency-Key`` (accounts/idempotency.py)."""
    parameters = operation.setdefault("parameters", [])
    if not any(
        p.get("in") == "header" and p.get("name", "").lower() == "idempotency-key"
        for p in parameters
    ):
        parameters.append(IDEMPOTENCY_KEY)


ERROR_SCHEMA = {
    "type": "object",
    "description": "The API's one error format (backend/errors.py).",
    "properties": {
        "code": {"type": "string", "description": "Stable machine code, e.g. not_found."},
        "detail": {"type": "string", "description": "Human message, in the language asked for."},
        "fields": {
            "type": "object",
            "additionalProperties": {},
            "description": "Messages per input field (empty when no field is at fault).",
        },
    },
    "required": ["code", "detail", "fields"],
}


def add_error_responses(result: dict[str, Any], generator: Any, **kwargs: Any) -> dict[str, Any]:
    # The component every added error response refers to.
    result.setdefault("components", {}).setdefault("schemas", {}).setdefault("Error", ERROR_SCHEMA)
    views = _views_by_operation(generator)
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            view = views.get((path, method))
            # Any path or query string may hold a refused character (backend/security.py).
            statuses = ["400"]
            has_body = "requestBody" in operation
            signed_in = bool(operation.get("security")) and operation["security"] != [{}]
            if signed_in:
                statuses += ["401", "403"]
            if "{" in path or has_body:
                statuses.append("404")
            if method in WRITE_METHODS and path.startswith("/api/v1/"):
                statuses.append("409")
            if has_body:
                statuses += ["413", "415"]
            if _throttled(view, method):
                statuses.append("429")
            if method == "post" and path.startswith("/api/v1/") and signed_in:
                _idempotency_header(operation)
                statuses.append("422")
            for status in statuses:
                if status not in responses:
                    responses[status] = _error(status)
                elif status == "429":
                    responses[status].setdefault("headers", RETRY_AFTER)
                else:
                    responses[status].setdefault("content", _error(status)["content"])
    return result
