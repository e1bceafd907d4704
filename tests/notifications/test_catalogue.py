"""The event catalogue, its documentation, and the code that emits events all agree."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
from django.core.management import call_command

from accounts.preferences import NOTIFICATION_TYPES
from notifications.catalogue import (
    CATALOGUE,
    PLACEHOLDER,
    InvalidEventDataError,
    Push,
    UnknownEventTypeError,
    event_type_get,
)
from notifications.management.commands.events_doc import DOC, END, START, doc_with_catalogue

ROOT = Path(__file__).resolve().parents[2]
# Every package whose code may emit events (sharing and pooling call notify()).
SOURCES = ["backend", "geo", "sharing", "pooling", "notifications"]
# The types sharing and pooling are built to send.
PLANNED = {
    "loan.requested",
    "loan.accepted",
    "loan.declined",
    "loan.cancelled",
    "loan.handover_confirmed",
    "loan.returned",
    "loan.reminder.starts_tomorrow",
    "loan.reminder.due_tomorrow",
    "loan.reminder.overdue",
    "wanted.match",
    "wanted.offer",
    "message.new",
    "order.planned",
    "order.eta",
    "order.courier_nearby",
    "order.delivered",
    "order.failed",
    "relay.parcels_to_receive",
    "route.stop_added",
    "route.updated",
    "system.resync",
}


def test_the_doc_is_the_rendering_of_the_catalogue():
    text = DOC.read_text(encoding="utf-8")
    assert text == doc_with_catalogue(text), "docs/events.md is stale: run manage.py events_doc"
    call_command("events_doc", "--check")


def test_the_doc_lists_every_type_with_a_json_example_of_its_envelope():
    text = DOC.read_text(encoding="utf-8")
    reference = text.split(START, 1)[1].split(END, 1)[0]
    sections = re.split(r"^### `([a-z_.]+)`$", reference, flags=re.M)[1:]
    documented = dict(zip(sections[::2], sections[1::2], strict=True))

    assert set(documented) == set(CATALOGUE)
    for name, section in documented.items():
        example = json.loads(re.search(r"```json\n(.*?)\n```", section, re.S).group(1))
        linked = {"link"} if CATALOGUE[name].subject else set()
        assert set(example) == {"id", "type", "at", "data", *linked}
        assert example.get("link") == CATALOGUE[name].link(example["data"])
        assert example["type"] == name
        assert CATALOGUE[name].validate(example["data"]) == example["data"]


def test_the_planned_types_are_all_in_the_catalogue():
    assert set(CATALOGUE) >= PLANNED


def _notify_calls(tree: ast.AST):
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = (
            node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        )
        if name == "notify":
            yield node


def _pattern(value: ast.JoinedStr) -> str:
    """An f-string as a pattern of the types it can make: ``loan.reminder.{kind}`` ->
    ``loan.reminder.*``."""
    return "".join(part.value if isinstance(part, ast.Constant) else "*" for part in value.values)


def emitted_types() -> dict[str, list[str]]:
    """Every event type passed to ``notify(event_type=...)`` in the code, with where. An
    f-string counts as the pattern of the types it can build; anything else is reported."""
    found: dict[str, list[str]] = {}
    for package in SOURCES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for call in _notify_calls(tree):
                keyword = next((k for k in call.keywords if k.arg == "event_type"), None)
                where = f"{path.relative_to(ROOT)}:{call.lineno}"
                if keyword is None:
                    found.setdefault("<no event_type keyword>", []).append(where)
                elif isinstance(keyword.value, ast.Constant) and isinstance(
                    keyword.value.value, str
                ):
                    found.setdefault(keyword.value.value, []).append(where)
                elif isinstance(keyword.value, ast.JoinedStr):
                    found.setdefault(_pattern(keyword.value), []).append(where)
                else:
                    found.setdefault("<not a literal>", []).append(where)
    return found


def _known(name: str) -> bool:
    if "*" not in name:
        return name in CATALOGUE
    pattern = re.compile(re.escape(name).replace(r"\*", r"[a-z_]+") + "$")
    return any(pattern.match(known) for known in CATALOGUE)


def test_the_code_emits_only_catalogued_types():
    """A call to notify() with a type the catalogue (and so the doc) lacks fails here, before it
    fails in production. Types are literals, or f-strings whose every expansion the catalogue
    must cover (notify() refuses the others at run time)."""
    emitted = emitted_types()
    unknown = {name: where for name, where in emitted.items() if not _known(name)}
    assert unknown == {}


def test_the_check_sees_calls_in_the_code():
    source = (
        "from notifications import services\n"
        "services.notify(event_type='loan.acepted', recipients=[], data={})\n"
        "notify(event_type=kind, recipients=[], data={})\n"
    )
    source += "notify(event_type=f'loan.reminder.{kind}', recipients=[], data={})\n"
    calls = list(_notify_calls(ast.parse(source)))
    assert [type(c.keywords[0].value).__name__ for c in calls] == ["Constant", "Name", "JoinedStr"]
    assert not _known(calls[0].keywords[0].value.value)
    assert _known(_pattern(calls[2].keywords[0].value))
    assert not _known("order.*.refunded")


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_each_type_is_consistent(name):
    kind = CATALOGUE[name]
    assert kind.validate(kind.example) == kind.example
    assert set(kind.fields) <= set(kind.example) <= set(kind.fields) | set(kind.optional)
    assert kind.preference is None or kind.preference in NOTIFICATION_TYPES
    if kind.push is Push.NEVER:
        assert kind.title is None and kind.body is None
        return
    placeholders = set(PLACEHOLDER.findall(str(kind.title))) | set(
        PLACEHOLDER.findall(str(kind.body))
    )
    assert placeholders <= set(kind.fields), "a push text may only use required fields"
    english = kind.push_text(kind.example, "en")
    french = kind.push_text(kind.example, "fr")
    assert all(english) and all(french)
    if not str(kind.title).startswith("%("):  # texts of our own are translated
        assert french[0] != english[0]


def test_push_texts_are_translated():
    kind = CATALOGUE["loan.accepted"]
    assert kind.push_text(kind.example, "fr") == (
        "Prêt accepté",
        "Léa accepte de vous prêter « Perceuse Bosch ».",
    )
    assert kind.push_text(kind.example, "en") == (
        "Loan accepted",
        "Léa agreed to lend you “Perceuse Bosch”.",
    )


def test_an_unknown_type_is_refused():
    with pytest.raises(UnknownEventTypeError, match=r"loan\.acepted"):
        event_type_get("loan.acepted")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"loan_id": 1}, "missing"),
        ({**CATALOGUE["loan.declined"].example, "colour": "red"}, "unknown"),
        ({**CATALOGUE["loan.declined"].example, "loan_id": "381"}, "loan_id must be integer"),
        ({**CATALOGUE["loan.declined"].example, "loan_id": True}, "loan_id must be integer"),
        ({**CATALOGUE["loan.declined"].example, "item_title": None}, "item_title must be string"),
        ({**CATALOGUE["loan.declined"].example, "item_title": "x" * 3000}, "over 2048 bytes"),
        ({**CATALOGUE["loan.declined"].example, "loan_id": float("nan")}, "not JSON"),
        ("not a mapping", "mapping"),
    ],
)
def test_data_that_does_not_match_its_type_is_refused(data, message):
    with pytest.raises(InvalidEventDataError, match=message):
        CATALOGUE["loan.declined"].validate(data)


def test_data_is_normalised_to_json():
    from datetime import UTC, datetime

    data = {**CATALOGUE["loan.declined"].example}
    del data["reason"]
    assert CATALOGUE["loan.declined"].validate(data) == data  # optional fields may be left out
    accepted = CATALOGUE["loan.accepted"]
    at = datetime(2026, 5, 16, 7, 0, tzinfo=UTC)
    normalised = accepted.validate({**accepted.example, "starts_at": at})
    assert normalised["starts_at"] == "2026-05-16T07:00:00Z"
    with pytest.raises(InvalidEventDataError, match="starts_at must be datetime"):
        accepted.validate({**accepted.example, "starts_at": "2026-05-16T07:00:00"})


@pytest.mark.parametrize(
    ("event_type", "collapse_key", "link"),
    [
        ("loan.accepted", "loan-381", "voisinage://loans/381"),
        ("loan.reminder.overdue", "loan-381", "voisinage://loans/381"),
        ("message.new", "conversation-9", "voisinage://conversations/9"),
        ("wanted.match", "item-52", "voisinage://items/52"),
        ("order.courier_nearby", "order-733", "voisinage://orders/733"),
        ("membership.decided", "membership-3", "voisinage://neighbourhoods/3"),
        ("system.resync", "system.resync", None),
    ],
)
def test_the_subject_gives_the_collapse_key_and_the_link(event_type, collapse_key, link):
    kind = CATALOGUE[event_type]
    assert kind.collapse_key(kind.example) == collapse_key
    assert kind.link(kind.example) == link


def test_every_pushed_type_but_none_collapses_by_what_it_is_about():
    """A type that pushes names its subject, so that its pushes replace only those about the
    same thing; an event logged before its type had the field has no link (not a crash)."""
    assert [
        name for name, kind in CATALOGUE.items() if kind.push is not Push.NEVER and not kind.subject
    ] == []
    assert CATALOGUE["loan.accepted"].link({"item_title": "Perceuse"}) is None
    assert CATALOGUE["loan.accepted"].collapse_key({}) == "loan.accepted"
