"""The OpenAPI schema holds together: every reference resolves."""

from __future__ import annotations

import re

import pytest
import yaml


@pytest.mark.django_db
def test_every_schema_reference_resolves(api_client):
    raw = api_client.get("/api/schema/").content.decode()
    schema = yaml.safe_load(raw)
    components = set(schema["components"]["schemas"])
    referenced = set(re.findall(r"#/components/schemas/([A-Za-z0-9_.-]+)", raw))
    assert referenced - components == set()
    error = schema["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"code", "detail", "fields"}


@pytest.mark.django_db
def test_answers_of_one_shape_or_another_have_a_discriminator(api_client):
    schema = yaml.safe_load(api_client.get("/api/schema/").content)

    def walk(node, path):
        if isinstance(node, dict):
            one_of = node.get("oneOf")
            # Several objects (by reference) are shapes to tell apart; a nullable choice (an enum
            # or null) or a string's alternatives are not.
            refs = [ref.get("$ref", "") for ref in one_of or []]
            if refs and all(refs) and not all("Enum" in ref for ref in refs):
                assert "discriminator" in node, path
            for key, value in node.items():
                walk(value, f"{path}/{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{path}[{index}]")

    walk(schema, "")
