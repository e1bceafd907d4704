"""A real SMTP server for the tests (aiosmtpd), in the test process.

Mails go through Django's SMTP backend and a real SMTP conversation; the tests read what the
server received, parsed as any mail client would. ``down()`` stops it (the port refuses
connections) and ``up()`` starts it again on the same port, to prove a mail waits and is sent.
"""

from __future__ import annotations

import email
import email.policy
import re
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.harness import free_port


@dataclass(frozen=True)
class ReceivedMail:
    sender: str
    recipients: list[str]
    message: EmailMessage

    @property
    def to(self) -> str:
        return self.recipients[0]

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        return "" if body is None else str(body.get_content())

    @property
    def text(self) -> str:
        return self.part("plain")

    @property
    def html(self) -> str:
        return self.part("html")

    def links(self) -> list[str]:
        return re.findall(r"https?://[^\s<>\"]+", self.text)

    def token(self) -> str:
        """The ``token=`` of the first link that has one."""
        for link in self.links():
            found = re.search(r"[?&]token=([A-Za-z0-9_\-]+)", link)
            if found:
                return found.group(1)
        raise AssertionError(f"no token in mail {self.subject!r}: {self.text}")


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.server.lock:
            self.server.received.append(
                ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), message)
            )
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self, port: int | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.received: list[ReceivedMail] = []
        self.lock = threading.Lock()
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def up(self) -> SmtpServer:
        if self._controller is None:
            self._controller = Controller(_Handler(self), hostname=self.host, port=self.port)
            self._controller.start()
        return self

    def down(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def mails(self, to: str | None = None) -> list[ReceivedMail]:
        with self.lock:
            return [m for m in self.received if to is None or to in m.recipients]

    def wait_for(
        self, count: int = 1, *, to: str | None = None, timeout: float = 20.0
    ) -> list[ReceivedMail]:
        """At least ``count`` mails (to ``to``), waiting for them up to ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.mails(to)
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(found)} mail(s) to {to or 'anyone'}, {count} expected")
            time.sleep(0.05)

    def clear(self) -> None:
        with self.lock:
            self.received.clear()
