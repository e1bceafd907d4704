"""Compressed answers through a real Daphne (backend/compression.py): the ASGI handler sends the
compressed body with its length; the websockets are not HTTP answers and stay as they were."""

from __future__ import annotations

import gzip
import json
import urllib.request

import brotli
import pytest

from notifications.services import notify
from tests.accounts.factories import UserFactory
from tests.notifications.realtime import Socket, issue_ticket, open_socket

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.xdist_group("daphne"),
    pytest.mark.django_db(transaction=True),
]


def fetch(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers={"Accept-Language": "en", **headers})  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()


def test_daphne_sends_the_schema_compressed_with_its_length(daphne):
    url = f"{daphne.http}/api/schema/?format=json"
    _, plain_headers, plain = fetch(url)
    status, headers, packed = fetch(url, **{"Accept-Encoding": "gzip"})
    assert status == 200 and headers["content-encoding"] == "gzip"
    assert int(headers["content-length"]) == len(packed) < len(plain) // 3
    assert json.loads(gzip.decompress(packed)) == json.loads(plain)
    assert "content-encoding" not in plain_headers

    _, headers, packed = fetch(url, **{"Accept-Encoding": "br"})
    assert headers["content-encoding"] == "br"
    assert json.loads(brotli.decompress(packed)) == json.loads(plain)


def test_the_websocket_is_untouched_by_compression(daphne):
    user = UserFactory()
    ticket = issue_ticket(user)["ticket"]
    # A client that says it takes gzip on the upgrade request still gets plain text frames.
    with open_socket(
        daphne, ticket, additional_headers={"Accept-Encoding": "gzip, br"}, compression=None
    ) as connection:
        socket = Socket(connection)
        socket.until_ready()
        notify(
            event_type="message.new",
            recipients=[user],
            data={
                "conversation_id": 1,
                "message_id": 1,
                "sender_id": 2,
                "sender_name": "Camille",
                "preview": "x" * 140,
            },
        )
        event = socket.next()
    assert event["type"] == "message.new" and event["data"]["preview"] == "x" * 140
