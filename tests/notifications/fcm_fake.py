"""FCM's HTTP v1 endpoint, faked at the transport: firebase-admin builds and sends every request
itself (``messaging.send_each`` -> one ``POST .../messages:send`` per message); this adapter,
mounted on the library's session for https://fcm.googleapis.com, records each request and answers
what FCM would, success or error, per token.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

PROJECT = "voisinage-test"
URL = f"https://fcm.googleapis.com/v1/projects/{PROJECT}/messages:send"
ACCESS_TOKEN = "test-access-token"

FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
# What FCM answers, by name: HTTP status, status string, FCM error code, extra details, headers.
ANSWERS: dict[str, tuple[int, str, str | None, list[dict[str, Any]], dict[str, str]]] = {
    "unregistered": (404, "NOT_FOUND", "UNREGISTERED", [], {}),
    "invalid_token": (
        400,
        "INVALID_ARGUMENT",
        "INVALID_ARGUMENT",
        [
            {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [
                    {
                        "field": "message.token",
                        "description": "The registration token is not a valid FCM registration token",
                    }
                ],
            }
        ],
        {},
    ),
    "invalid_payload": (400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", [], {}),
    "sender_id_mismatch": (403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH", [], {}),
    "unavailable": (503, "UNAVAILABLE", "UNAVAILABLE", [], {}),
    "internal": (500, "INTERNAL", "INTERNAL", [], {}),
    "quota": (429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED", [], {"Retry-After": "120"}),
}


class FakeFcm(BaseAdapter):
    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        # token -> answer name (see ANSWERS); any other token is delivered.
        self.answers: dict[str, str] = {}

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        body = json.loads(request.body or b"{}")
        with self.lock:
            self.requests.append(
                {
                    "method": request.method,
                    "url": request.url,
                    "headers": CaseInsensitiveDict(request.headers),
                    "body": body,
                }
            )
            count = len(self.requests)
        token = body.get("message", {}).get("token", "")
        answer = self.answers.get(token)
        if answer is None:
            return self._response(request, 200, {"name": f"projects/{PROJECT}/messages/{count}"})
        status, status_text, fcm_code, details, headers = ANSWERS[answer]
        error_details = [*details]
        if fcm_code:
            error_details.insert(0, {"@type": FCM_ERROR, "errorCode": fcm_code})
        body = {
            "error": {
                "code": status,
                "message": f"{status_text.lower()} ({answer})",
                "status": status_text,
                "details": error_details,
            }
        }
        return self._response(request, status, body, headers)

    def _response(
        self,
        request: requests.PreparedRequest,
        status: int,
        body: Any,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        response = requests.Response()
        response.status_code = status
        response._content = json.dumps(body).encode()
        response.headers = CaseInsensitiveDict(
            {"Content-Type": "application/json", **(headers or {})}
        )
        response.encoding = "utf-8"
        response.url = request.url or ""
        response.request = request
        response.reason = "OK" if status == 200 else "Error"
        return response

    def close(self) -> None:
        pass

    def sent_to(self) -> list[str]:
        with self.lock:
            return [r["body"]["message"]["token"] for r in self.requests]

    def messages(self) -> list[dict[str, Any]]:
        with self.lock:
            return [r["body"]["message"] for r in self.requests]


def install_fake_fcm() -> tuple[FakeFcm, Any]:
    """The Firebase app named like the production one, with a static credential, its messaging
    transport answered by a :class:`FakeFcm`."""
    import firebase_admin
    import google.oauth2.credentials
    from firebase_admin import credentials, messaging

    from notifications.fcm import APP_NAME

    class StaticCredential(credentials.Base):
        def get_credential(self) -> google.oauth2.credentials.Credentials:
            return google.oauth2.credentials.Credentials(token=ACCESS_TOKEN)

    app = firebase_admin.initialize_app(StaticCredential(), {"projectId": PROJECT}, name=APP_NAME)
    fake = FakeFcm()
    # The messaging service's own requests session (an AuthorizedSession): only its transport
    # for the FCM host is replaced.
    service = messaging._get_messaging_service(app)
    service._client.session.mount("https://fcm.googleapis.com", fake)
    return fake, app
