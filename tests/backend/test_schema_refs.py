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
