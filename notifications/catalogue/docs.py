"""The per-type reference of docs/events.md, rendered from the catalogue."""

from __future__ import annotations

import json
from datetime import timedelta

from notifications.catalogue.types import EventType, Push

# The default of APP_LINK_SCHEME: the page shows the links with it, whatever the settings.
LINK_SCHEME = "voisinage"


def catalogue_markdown(catalogue: dict[str, EventType]) -> str:
    """The per-type reference of docs/events.md, rendered from the catalogue."""
    push_words = {
        Push.NEVER: "never (socket and log only)",
        Push.OFFLINE: "when no socket is open in the foreground",
        Push.ALWAYS: "always, even with a socket open",
    }
    lines: list[str] = []
    for event_type in sorted(catalogue.values(), key=lambda t: t.name):
        lines += [f"### `{event_type.name}`", "", event_type.description, ""]
        lines += ["| field | type | required |", "| --- | --- | --- |"]
        lines += [f"| `{name}` | {kind.value} | yes |" for name, kind in event_type.fields.items()]
        lines += [f"| `{name}` | {kind.value} | no |" for name, kind in event_type.optional.items()]
        lines.append("")
        push = push_words[event_type.push]
        if event_type.push is not Push.NEVER:
            push += "; urgent (ignores quiet hours)" if event_type.urgent else ""
            push += (
                f"; turned off by preference `{event_type.preference}`"
                if (event_type.preference)
                else "; turned off only by the general push switch"
            )
            push += f"; dropped after {_duration(event_type.push_ttl)}"
            push += f"; collapse key `{_collapse_key(event_type)}`"
        lines += [f"Push: {push}.", ""]
        if event_type.subject is not None:
            subject = event_type.subject
            lines += [f"Link: `{LINK_SCHEME}://{subject.path}/<{subject.field}>`.", ""]
        if event_type.email:
            only = "".join(
                f" when `{name}` is " + " or ".join(f"`{value}`" for value in values)
                for name, values in event_type.email_only_if.items()
            )
            lines += [
                f"Mail: to a recipient with no push device{only}, in their next mail digest "
                "(turned off by the preference `email`).",
                "",
            ]
        if event_type.title is not None:
            for language in ("en", "fr"):
                title, body = event_type.push_text(event_type.example, language)
                lines.append(f"- {language}: **{title}** — {body}")
            lines.append("")
        envelope: dict[str, object] = {
            "id": 42,
            "type": event_type.name,
            "at": "2026-05-15T18:03:12.415000+02:00",
            "data": event_type.example,
        }
        if event_type.subject is not None:
            envelope["link"] = event_type.subject.link(event_type.example, LINK_SCHEME)
        lines += ["```json", json.dumps(envelope, ensure_ascii=False, indent=2), "```", ""]
    return "\n".join(lines)


def _collapse_key(event_type: EventType) -> str:
    subject = event_type.subject
    return event_type.name if subject is None else f"{subject.name}-<{subject.field}>"


def _duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    if seconds % 86400 == 0:
        return f"{seconds // 86400} day(s)"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} hour(s)"
    return f"{seconds // 60} minutes"
