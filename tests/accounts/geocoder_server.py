"""A real HTTP server on 127.0.0.1 that answers like the two geocoders geopy talks to.

- BAN (api-adresse.data.gouv.fr): ``GET /search/?q=...`` (geopy sends ``/search?q=...``), a GeoJSON
  FeatureCollection whose features carry ``properties.label`` and ``properties.score``;
- Nominatim: ``GET /search?q=...&format=json``, a JSON list of places with ``lat``, ``lon`` (as
  strings) and ``display_name``.

Both live on one port and are told apart as the real services are called: Nominatim requests
carry ``format=json``. The real geopy client builds and sends every request; only the far end is
ours. Each service can be told to answer, to fail with a status, to send garbage or to be slow.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Recorded:
    service: str  # "ban" or "nominatim"
    path: str
    params: dict[str, str]
    headers: dict[str, str]


@dataclass
class FakeService:
    results: dict[str, Any] = field(default_factory=dict)  # query -> answer
    status: int = 200
    body: bytes | None = None  # sent as is instead of JSON when set
    delay: float = 0.0


def ban_feature(*, lon: float, lat: float, label: str, score: float = 0.95) -> dict[str, Any]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {
            "label": label,
            "score": score,
            "type": "housenumber",
            "importance": 0.7,
            "x": 648952.58,
            "y": 6862009.03,
        },
    }


def nominatim_place(*, lon: float, lat: float, display_name: str) -> dict[str, Any]:
    return {
        "place_id": 123456,
        "licence": "Data © OpenStreetMap contributors, ODbL 1.0.",
        "osm_type": "way",
        "osm_id": 42,
        "lat": f"{lat:.7f}",
        "lon": f"{lon:.7f}",
        "class": "building",
        "type": "apartments",
        "display_name": display_name,
        "boundingbox": [
            f"{lat - 0.0001:.7f}",
            f"{lat + 0.0001:.7f}",
            f"{lon - 0.0001:.7f}",
            f"{lon + 0.0001:.7f}",
        ],
    }


class FakeGeocoders:
    def __init__(self) -> None:
        self.ban = FakeService()
        self.nominatim = FakeService()
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def domain(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    def start(self) -> FakeGeocoders:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def record(self, entry: Recorded) -> None:
        with self._lock:
            self.requests.append(entry)

    def services_called(self) -> list[str]:
        return [entry.service for entry in self.requests]


def _handler_for(fake: FakeGeocoders) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            params = {key: values[-1] for key, values in parse_qs(url.query).items()}
            if url.path not in ("/search", "/search/"):
                self._send(404, b'{"code": 404, "message": "Not found"}')
                return
            service_name = "nominatim" if params.get("format") == "json" else "ban"
            fake.record(
                Recorded(
                    service_name, url.path, params, {k.lower(): v for k, v in self.headers.items()}
                )
            )
            service = fake.nominatim if service_name == "nominatim" else fake.ban
            if service.delay:
                time.sleep(service.delay)
            if service.body is not None:
                self._send(service.status, service.body, content_type="text/html")
                return
            if service.status != 200:
                self._send(service.status, b'{"code": 500, "message": "Internal Server Error"}')
                return
            query = params.get("q", "")
            answer = service.results.get(query)
            if service_name == "ban":
                payload: Any = {
                    "type": "FeatureCollection",
                    "version": "draft",
                    "features": [answer] if answer else [],
                    "attribution": "BAN",
                    "licence": "ETALAB-2.0",
                    "query": query,
                    "limit": int(params.get("limit", 5)),
                }
            else:
                payload = [answer] if answer else []
            self._send(200, json.dumps(payload).encode())

        def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test): nothing to answer to

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
