from __future__ import annotations

import pytest
import yaml


@pytest.fixture
def schema(client_for):
    response = client_for(None).get("/api/schema/")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


@pytest.mark.django_db
def test_accounts_endpoints_are_documented_with_their_shapes(schema):
    paths = schema["paths"]
    ref = "#/components/schemas/"

    register = paths["/api/v1/auth/register"]["post"]
    assert (
        register["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        == ref + "RegisterInputRequest"
    )
    assert (
        register["responses"]["202"]["content"]["application/json"]["schema"]["$ref"]
        == ref + "RegisterOutput"
    )
    assert set(paths["/api/v1/auth/token"]) == {"post"}
    assert set(paths["/api/v1/auth/token/refresh"]) == {"post"}
    assert set(paths["/api/v1/me"]) == {"get", "patch", "delete"}
    patch = paths["/api/v1/me"]["patch"]
    # With the errors every signed-in write with a body may answer (backend/schema.py).
    assert set(patch["responses"]) == {
        "200",
        "400",
        "401",
        "403",
        "404",
        "409",
        "413",
        "415",
        "503",
    }
    profile = schema["components"]["schemas"]["Profile"]
    assert set(profile["properties"]) == {
        "id",
        "email",
        "email_verified",
        "display_name",
        "language",
        "walking_profile",
        "home",
        "home_address",
        "notification_preferences",
        "roles",
        "consent",
    }
    assert profile["properties"]["home"]["properties"]["type"]["enum"] == ["Point"]
    assert "password" not in profile["properties"]


@pytest.mark.django_db
def test_the_profile_with_its_home_is_only_ever_sent_to_its_owner(schema):
    """A guard for later endpoints: the Profile component (it holds the home) may only appear in
    the answers to the resident about themself."""
    needle = "#/components/schemas/Profile"

    def uses(node) -> bool:
        if isinstance(node, dict):
            return node.get("$ref") == needle or any(uses(v) for v in node.values())
        if isinstance(node, list):
            return any(uses(v) for v in node)
        return False

    paths = {path for path, operations in schema["paths"].items() if uses(operations)}
    components = {
        name for name, component in schema["components"]["schemas"].items() if uses(component)
    }
    assert paths == {"/api/v1/me", "/api/v1/me/consents"}
    assert components == set()
