"""A Python client generated from the server's own OpenAPI schema (openapi-python-client) drives
the resident's flows on a real server (Daphne and a Celery worker on the test database, mails to a
real SMTP server): sign up, verify, log in, set a home, join, a neighbour lists an item with a
photo, search nearby, request a loan twice with one Idempotency-Key (one loan), accept, messages
both ways, handover, return, rate, a wanted request and an offer, the inbox read and cleared.

The client is generated during the test from ``/api/schema/`` as Daphne serves it, with no edit;
every step goes through its ``api.<tag>.<operation>.sync_detailed`` functions and its models. Only
what the API cannot create is seeded: the street graph, the neighbourhood, and the neighbour (who
then logs in through the API like anyone).
"""

from __future__ import annotations

import importlib
import io
import json
import os
import subprocess
import sys
import urllib.request
import uuid
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from django.conf import global_settings, settings
from django.utils import timezone
from PIL import Image

from sharing.models import Loan
from tests.harness import BIN, CeleryWorker, Daphne, app_env, django_database_url
from tests.mailserver import SmtpServer
from tests.neighbourhoods.fixtures import HOMES
from tests.neighbourhoods.fixtures import PASSWORD as NEIGHBOUR_PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PACKAGE = "voisinage_client"
PASSWORD = "un vélo rouge au marché"
# What the generator leaves out, and says so: the street tiles (a map library reads them, not the
# app's client) and the export's download, a zip (the app opens the mailed link instead): it has
# no type for either.
EXPECTED_WARNINGS = [
    "WARNING parsing GET /api/v1/geo/tiles/streets/{z}/{x}/{y}.mvt within v1.",
    "WARNING parsing GET /api/v1/me/exports/{export_id}/download within me.",
]


@pytest.fixture
def stack(redis_server, street_graph):
    """Daphne and a Celery worker on the test database, mailing to a real SMTP server here."""
    smtp = SmtpServer().up()
    env = app_env(
        database_url=django_database_url(),
        redis_url=redis_server.url,
        VOISINAGE_ENV="test",
        LOG_LEVEL="WARNING",
        EMAIL_URL=smtp.url,
        MEDIA_ROOT=settings.MEDIA_ROOT,
        PRIVATE_ROOT=str(settings.MEDIA_ROOT) + "-private",
        **{f"THROTTLE_{s.upper()}": "" for s in settings.THROTTLE_RATES},
    )
    with Daphne(env) as server, CeleryWorker(env, pool="solo") as _worker:
        yield server, smtp
    smtp.down()


@pytest.fixture
def generated(stack, tmp_path: Path):
    """The client package generated from the schema the running server serves, importable."""
    server, _smtp = stack
    schema = tmp_path / "schema.json"
    with urllib.request.urlopen(f"{server.http}/api/schema/?format=json", timeout=30) as answer:  # noqa: S310
        assert answer.status == 200
        schema.write_bytes(answer.read())
    assert json.loads(schema.read_text())["openapi"].startswith("3.")
    # The venv's bin first: the generator runs ruff on what it wrote (its post hooks).
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(
        [str(BIN / "openapi-python-client"), "generate", "--path", str(schema),
         "--meta", "none", "--output-path", str(tmp_path / PACKAGE)],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    warnings = [line for line in output.splitlines() if line.startswith("WARNING")]
    assert warnings == EXPECTED_WARNINGS, output
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 40, 40)).save(buffer, "JPEG")
    return buffer.getvalue()


class Api:
    """The generated operations by name (``api.op("v1.loan_request")``) and its models."""

    def __init__(self, package: ModuleType, base_url: str) -> None:
        self.package = package
        self.base_url = base_url
        self.models = importlib.import_module(f"{PACKAGE}.models")
        self.types = importlib.import_module(f"{PACKAGE}.types")

    def op(self, name: str) -> Any:
        return importlib.import_module(f"{PACKAGE}.api.{name}").sync_detailed

    def anonymous(self) -> Any:
        return self.package.Client(
            base_url=self.base_url,
            headers={"Accept-Language": "en"},
            raise_on_unexpected_status=True,
        )

    def signed_in(self, token: str) -> Any:
        return self.package.AuthenticatedClient(
            base_url=self.base_url,
            token=token,
            headers={"Accept-Language": "en"},
            raise_on_unexpected_status=True,
        )

    def login(self, email: str, password: str) -> Any:
        m = self.models
        answer = self.op("auth.auth_token_obtain")(
            client=self.anonymous(),
            body=m.TokenObtainRequest(email=email, password=password, device_name="generated"),
        )
        assert answer.status_code == 200, answer.content
        return self.signed_in(answer.parsed.access)


def test_the_resident_flows_through_the_generated_client(
    stack, generated, neighbourhood, make_resident, settings
):
    server, smtp = stack
    api = Api(generated, server.http)
    m, op = api.models, api.op
    now = timezone.now()

    # --- sign up, verify with the mailed link, log in ----------------------------------------
    legal = op("auth.legal_retrieve")(client=api.anonymous())
    assert legal.status_code == 200
    email = "aino.virtanen@example.org"
    answer = op("auth.auth_register")(
        client=api.anonymous(),
        body=m.RegisterInputRequest(
            email=email,
            password=PASSWORD,
            display_name="Aino",
            terms_version=legal.parsed.terms_version,
            privacy_version=legal.parsed.privacy_version,
            language=m.LanguageEnum.EN,
        ),
    )
    assert answer.status_code == 202, answer.content
    mail = smtp.wait_for(1, to=email)[0]
    assert mail.subject == "Confirm your e-mail address"
    answer = op("auth.auth_email_verify")(
        client=api.anonymous(), body=m.TokenInputRequest(token=mail.token())
    )
    assert answer.status_code == 200, answer.content
    aino = api.login(email, PASSWORD)
    me = op("me.me_retrieve")(client=aino)
    assert me.status_code == 200
    assert me.parsed.email_verified is True and me.parsed.roles == []

    # --- a home (GeoJSON), then join the neighbourhood that covers it --------------------------
    lon, lat = HOMES[0]
    answer = op("me.me_update")(
        client=aino,
        body=m.PatchedProfileUpdateRequest(
            home=m.PatchedProfileUpdateRequestHomeType0(
                type_=m.PatchedProfileUpdateRequestHomeType0Type.POINT, coordinates=[lon, lat]
            )
        ),
    )
    assert answer.status_code == 200, answer.content
    assert answer.parsed.home.coordinates == pytest.approx([lon, lat])
    near = op("v1.neighbourhoods_near")(client=aino, lat=lat, lon=lon)
    assert near.status_code == 200, near.content
    assert [n.id for n in near.parsed] == [neighbourhood.pk]
    joined = op("v1.neighbourhood_join")(neighbourhood.pk, client=aino)
    assert joined.status_code in (200, 201), joined.content
    assert (joined.parsed.neighbourhood, joined.parsed.status) == (neighbourhood.pk, "active")
    assert [r.value for r in op("me.me_retrieve")(client=aino).parsed.roles] == ["resident"]

    # --- the neighbour lists a drill with a photo, and a ladder -------------------------------
    # Hashed as the server checks it (the tests' fast MD5 hasher is not among the server's).
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS
    lender_user = make_resident(HOMES[4], name="Bérénice")
    lender = api.login(lender_user.email, NEIGHBOUR_PASSWORD)
    drill = op("v1.item_create")(
        client=lender,
        body=m.ItemInRequest(
            title="Perceuse à percussion", category=m.CategoryEnum.DIY, max_loan_days=7
        ),
    )
    assert drill.status_code == 201, drill.content
    drill_id = drill.parsed.id
    photo = op("v1.item_photo_add")(
        drill_id,
        client=lender,
        body=m.PhotoUploadRequest(
            image=api.types.File(
                payload=io.BytesIO(_jpeg()), file_name="drill.jpg", mime_type="image/jpeg"
            )
        ),
    )
    assert photo.status_code == 201, photo.content
    assert photo.parsed.image.startswith(f"{server.http}/media/items/")
    with urllib.request.urlopen(photo.parsed.image, timeout=10) as answer:  # noqa: S310
        assert answer.status == 200
        assert answer.headers["Content-Type"] == "image/jpeg"
        assert Image.open(io.BytesIO(answer.read())).format == "JPEG"
    ladder = op("v1.item_create")(
        client=lender,
        body=m.ItemInRequest(title="Échelle télescopique", category=m.CategoryEnum.DIY),
    )
    assert ladder.status_code == 201, ladder.content
    ladder_id = ladder.parsed.id

    # --- the resident finds the drill nearby, by walking time ---------------------------------
    found = op("v1.items_nearby")(client=aino, q="perceuse", minutes=15)
    assert found.status_code == 200, found.content
    assert [i.id for i in found.parsed.results] == [drill_id]
    hit = found.parsed.results[0]
    assert hit.owner.name == "Bérénice"
    assert hit.thumbnail is not None and hit.thumbnail.startswith(server.http)

    # --- a loan request sent twice with one key: one loan -------------------------------------
    request_loan = op("v1.loan_request")
    body = m.LoanRequestRequest(
        item=drill_id,
        starts_at=(now + timedelta(minutes=5)).replace(microsecond=0),
        ends_at=(now + timedelta(days=2)).replace(microsecond=0),
        message="Pour accrocher des étagères",
    )
    key = str(uuid.uuid4())
    first = request_loan(client=aino, body=body, idempotency_key=key)
    assert first.status_code == 201, first.content
    again = request_loan(client=aino, body=body, idempotency_key=key)
    assert again.status_code == 201, again.content
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.parsed.id == first.parsed.id
    loan_id = first.parsed.id
    mine = op("v1.loans_mine")(client=aino)
    assert [loan.id for loan in mine.parsed.results] == [loan_id]
    assert Loan.objects.filter(item_id=drill_id).count() == 1
    assert first.parsed.status == m.LoanStatusEnum.REQUESTED
    conversation_id = first.parsed.conversation
    assert conversation_id is not None

    # --- the lender accepts; messages both ways -----------------------------------------------
    act = op("v1.loan_action")
    accepted = act(loan_id, m.LoanActionAction.ACCEPT, client=lender)
    assert accepted.status_code == 200, accepted.content
    assert accepted.parsed.status == m.LoanStatusEnum.ACCEPTED
    assert accepted.parsed.handover_code is not None  # shown to the lender
    send = op("v1.conversation_message_send")
    for who, text in ((aino, "Je passe ce soir ?"), (lender, "Oui, à 19 h")):
        sent = send(conversation_id, client=who, body=m.MessageInRequest(body=text))
        assert sent.status_code == 201, sent.content
    for who in (aino, lender):
        read = op("v1.conversation_messages")(conversation_id, client=who)
        assert read.status_code == 200, read.content
        assert sorted((x.sender.name, x.body) for x in read.parsed.results) == [
            ("Aino", "Je passe ce soir ?"),
            ("Bérénice", "Oui, à 19 h"),
        ]

    # --- handover (each party confirms), return, confirmed -----------------------------------
    # The code on the lender's phone cannot be typed through this client: see below.
    half = act(loan_id, m.LoanActionAction.HANDOVER, client=lender)
    assert half.status_code == 200, half.content
    assert half.parsed.status == m.LoanStatusEnum.ACCEPTED
    handed = act(loan_id, m.LoanActionAction.HANDOVER, client=aino)
    assert handed.status_code == 200, handed.content
    assert handed.parsed.status == m.LoanStatusEnum.ACTIVE
    returned = act(loan_id, m.LoanActionAction.RETURN, client=aino)
    assert returned.status_code == 200, returned.content
    assert returned.parsed.status == m.LoanStatusEnum.RETURNED
    # The lender confirms the return, with the object's condition (a JSON body: the schema gives
    # one body shape per media type, so the generated client encodes it right).
    confirmed = act(
        loan_id,
        m.LoanActionAction.CONFIRM_RETURN,
        client=lender,
        body=m.LoanActionJSONRequest(condition=m.ReturnConditionEnum.FINE),
    )
    assert confirmed.status_code == 200, confirmed.content
    closed = op("v1.loan_get")(loan_id, client=aino)
    assert closed.status_code == 200, closed.content
    assert closed.parsed.status == m.LoanStatusEnum.CLOSED
    assert closed.parsed.return_condition == m.ReturnConditionEnum.FINE

    # --- the resident rates the lender ---------------------------------------------------------
    rated = op("v1.rating_create")(
        client=aino, body=m.RatingInRequest(loan=loan_id, score=5, comment="Parfait")
    )
    assert rated.status_code == 201, rated.content
    assert (rated.parsed.ratee.name, rated.parsed.score) == ("Bérénice", 5)

    # --- a wanted request; the lender hears of it and offers the ladder -----------------------
    wanted = op("v1.wanted_create")(
        client=aino,
        body=m.WantedInRequest(
            title="Échelle",
            starts_at=(now + timedelta(days=3)).replace(microsecond=0),
            ends_at=(now + timedelta(days=4)).replace(microsecond=0),
            minutes=15,
        ),
    )
    assert wanted.status_code == 201, wanted.content
    wanted_id = wanted.parsed.id
    inbox = op("v1.wanted_inbox")(client=lender)
    assert inbox.status_code == 200, inbox.content
    assert [(w.id, w.matched_item) for w in inbox.parsed.results] == [(wanted_id, ladder_id)]
    offer = op("v1.offer_create")(
        wanted_id, client=lender, body=m.OfferInRequest(item=ladder_id, message="Elle fait 3 m")
    )
    assert offer.status_code == 201, offer.content
    seen = op("v1.wanted_get")(wanted_id, client=aino)
    assert seen.status_code == 200, seen.content
    assert [(o.id, o.item.id, o.status) for o in seen.parsed.offers] == [
        (offer.parsed.id, ladder_id, m.OfferStatusEnum.PENDING)
    ]

    # --- the resident's inbox: read, then cleared ---------------------------------------------
    listed = op("notifications.notifications_list")(client=aino, limit=50)
    assert listed.status_code == 200, listed.content
    types = [n.type_ for n in listed.parsed.results]
    # Newest first: what the resident was told, and nothing of their own actions.
    assert types == [
        "wanted.offer",
        "loan.return_confirmed",
        "loan.handover_confirmed",
        "message.new",
        "loan.accepted",
    ]
    newest = listed.parsed.results[0]
    assert newest.data.to_dict()["offer_id"] == offer.parsed.id
    assert not any(n.read for n in listed.parsed.results)
    count = op("notifications.notifications_unread_count")(client=aino)
    assert count.status_code == 200, count.content
    assert (count.parsed.unread, count.parsed.last_id) == (5, newest.id)
    one = op("notifications.notifications_read")(newest.id, client=aino)
    assert one.status_code == 200, one.content
    assert one.parsed.unread == 4
    cleared = op("notifications.notifications_read_all")(client=aino)
    assert cleared.status_code == 200, cleared.content
    assert cleared.parsed.unread == 0
    assert op("notifications.notifications_unread_count")(client=aino).parsed.unread == 0
    again_listed = op("notifications.notifications_list")(client=aino, limit=50, unread=True)
    assert again_listed.parsed.results == []
