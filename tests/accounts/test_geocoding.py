"""Home from an address: the real geopy clients talk HTTP to a local server (see
``geocoder_server``)."""

from __future__ import annotations

import pytest

from accounts.geocoding import (
    AddressNotFoundError,
    GeocoderUnavailableError,
    geocode_address,
)
from tests.accounts.factories import UserFactory
from tests.accounts.geocoder_server import ban_feature, closed_port, nominatim_place

URL = "/api/v1/me"
PARIS_ADDRESS = "5 avenue Anatole France, Paris"
PARIS_LABEL = "5 Avenue Anatole France 75007 Paris"
HELSINKI_ADDRESS = "Aleksanterinkatu 52, Helsinki"
HELSINKI_LABEL = (
    "52, Aleksanterinkatu, Kluuvi, Eteläinen suurpiiri, Helsinki, 00100, Suomi / Finland"
)
NOT_FOUND_EN = "This address could not be found."
NOT_FOUND_FR = "Cette adresse est introuvable."
UNAVAILABLE_EN = "The address service is unavailable; try again later."
UNAVAILABLE_FR = "Le service d’adresses est indisponible ; réessayez plus tard."


def snapshot(user):
    user.refresh_from_db()
    home = None if user.home is None else (user.home.x, user.home.y)
    return home, user.home_address


@pytest.fixture
def resident():
    return UserFactory(with_home=True)


@pytest.mark.django_db
def test_ban_hit_sets_home_and_the_ban_label(client_for, geocoders, resident):
    geocoders.ban.results[PARIS_ADDRESS] = ban_feature(lon=2.2945, lat=48.8584, label=PARIS_LABEL)

    response = client_for(resident).patch(URL, {"home_address": PARIS_ADDRESS}, format="json")

    assert response.status_code == 200
    assert response.json()["home"] == {"type": "Point", "coordinates": [2.2945, 48.8584]}
    assert response.json()["home_address"] == PARIS_LABEL
    assert snapshot(resident) == ((2.2945, 48.8584), PARIS_LABEL)
    # The real geopy BANFrance client built and sent this request.
    [request] = geocoders.requests
    assert request.service == "ban"
    assert request.path == "/search"
    assert request.params == {"q": PARIS_ADDRESS, "limit": "1"}
    assert request.headers["user-agent"] == "voisinage-tests/1.0"


@pytest.mark.django_db
def test_address_whitespace_is_collapsed_before_asking(client_for, geocoders, resident):
    geocoders.ban.results[PARIS_ADDRESS] = ban_feature(lon=2.2945, lat=48.8584, label=PARIS_LABEL)

    response = client_for(resident).patch(
        URL, {"home_address": "  5 avenue  Anatole France,\tParis "}, format="json"
    )

    assert response.status_code == 200
    assert geocoders.requests[0].params["q"] == PARIS_ADDRESS


@pytest.mark.django_db
def test_ban_miss_falls_back_to_nominatim(client_for, geocoders, resident):
    geocoders.nominatim.results[HELSINKI_ADDRESS] = nominatim_place(
        lon=24.9452, lat=60.1687, display_name=HELSINKI_LABEL
    )

    response = client_for(resident).patch(URL, {"home_address": HELSINKI_ADDRESS}, format="json")

    assert response.status_code == 200
    assert response.json()["home"] == {"type": "Point", "coordinates": [24.9452, 60.1687]}
    assert response.json()["home_address"] == HELSINKI_LABEL
    assert snapshot(resident) == ((24.9452, 60.1687), HELSINKI_LABEL)
    assert geocoders.services_called() == ["ban", "nominatim"]
    nominatim = geocoders.requests[1]
    assert nominatim.path == "/search"
    assert nominatim.params == {"q": HELSINKI_ADDRESS, "format": "json", "limit": "1"}
    assert nominatim.headers["user-agent"] == "voisinage-tests/1.0"


@pytest.mark.django_db
def test_a_low_score_ban_match_is_a_miss(client_for, geocoders, resident):
    geocoders.ban.results[HELSINKI_ADDRESS] = ban_feature(
        lon=1.0, lat=47.0, label="Rue d'Helsinki 41000 Blois", score=0.31
    )
    geocoders.nominatim.results[HELSINKI_ADDRESS] = nominatim_place(
        lon=24.9452, lat=60.1687, display_name=HELSINKI_LABEL
    )

    response = client_for(resident).patch(URL, {"home_address": HELSINKI_ADDRESS}, format="json")

    assert response.status_code == 200
    assert snapshot(resident) == ((24.9452, 60.1687), HELSINKI_LABEL)


@pytest.mark.django_db
def test_ban_down_falls_back_to_nominatim(client_for, geocoders, resident):
    geocoders.ban.status = 502
    geocoders.nominatim.results[HELSINKI_ADDRESS] = nominatim_place(
        lon=24.9452, lat=60.1687, display_name=HELSINKI_LABEL
    )

    response = client_for(resident).patch(URL, {"home_address": HELSINKI_ADDRESS}, format="json")

    assert response.status_code == 200
    assert snapshot(resident) == ((24.9452, 60.1687), HELSINKI_LABEL)


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "message"), [("en", NOT_FOUND_EN), ("fr", NOT_FOUND_FR)])
def test_address_unknown_everywhere_is_400_in_the_asked_language(
    client_for, geocoders, resident, language, message
):
    before = snapshot(resident)

    response = client_for(resident, language=language).patch(
        URL, {"home_address": "nowhere street 999"}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"code": "address_not_found", "detail": message, "fields": {}}
    assert snapshot(resident) == before
    assert geocoders.services_called() == ["ban", "nominatim"]


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "message"), [("en", UNAVAILABLE_EN), ("fr", UNAVAILABLE_FR)])
def test_both_geocoders_failing_is_503_and_nothing_changes(
    client_for, geocoders, resident, language, message
):
    geocoders.ban.status = 500
    geocoders.nominatim.status = 500
    before = snapshot(resident)

    response = client_for(resident, language=language).patch(
        URL, {"home_address": PARIS_ADDRESS, "display_name": "Changed"}, format="json"
    )

    assert response.status_code == 503
    assert response.json() == {"code": "geocoder_unavailable", "detail": message, "fields": {}}
    assert snapshot(resident) == before
    resident.refresh_from_db()
    assert resident.display_name != "Changed"


@pytest.mark.django_db
def test_ban_down_and_nominatim_miss_is_503_not_a_false_not_found(client_for, geocoders, resident):
    geocoders.ban.status = 503
    before = snapshot(resident)

    response = client_for(resident).patch(URL, {"home_address": PARIS_ADDRESS}, format="json")

    assert response.status_code == 503
    assert response.json()["code"] == "geocoder_unavailable"
    assert snapshot(resident) == before


@pytest.mark.django_db
def test_closed_ports_are_503_and_nothing_changes(client_for, settings, resident):
    port = closed_port()
    settings.GEOCODER_BAN_DOMAIN = f"127.0.0.1:{port}"
    settings.GEOCODER_BAN_SCHEME = "http"
    settings.GEOCODER_NOMINATIM_DOMAIN = f"127.0.0.1:{port}"
    settings.GEOCODER_NOMINATIM_SCHEME = "http"
    before = snapshot(resident)

    response = client_for(resident).patch(URL, {"home_address": PARIS_ADDRESS}, format="json")

    assert response.status_code == 503
    assert response.json() == {
        "code": "geocoder_unavailable",
        "detail": UNAVAILABLE_EN,
        "fields": {},
    }
    assert snapshot(resident) == before


@pytest.mark.django_db
def test_a_geocoder_slower_than_the_timeout_counts_as_down(
    client_for, geocoders, settings, resident
):
    settings.GEOCODER_TIMEOUT = 0.2
    geocoders.ban.delay = 1.0
    geocoders.nominatim.status = 500
    before = snapshot(resident)

    response = client_for(resident).patch(URL, {"home_address": PARIS_ADDRESS}, format="json")

    assert response.status_code == 503
    assert response.json()["code"] == "geocoder_unavailable"
    assert snapshot(resident) == before


@pytest.mark.django_db
def test_garbage_replies_are_503(client_for, geocoders, resident):
    geocoders.ban.body = b"<html>maintenance</html>"
    geocoders.nominatim.body = b"<html>maintenance</html>"

    response = client_for(resident).patch(URL, {"home_address": PARIS_ADDRESS}, format="json")

    assert response.status_code == 503
    assert response.json()["code"] == "geocoder_unavailable"


@pytest.mark.django_db
@pytest.mark.filterwarnings("ignore:Latitude normalization:UserWarning")
def test_out_of_range_coordinates_from_a_geocoder_are_not_stored(client_for, geocoders, resident):
    geocoders.ban.results[PARIS_ADDRESS] = ban_feature(lon=2.29, lat=148.0, label=PARIS_LABEL)
    before = snapshot(resident)

    response = client_for(resident).patch(URL, {"home_address": PARIS_ADDRESS}, format="json")

    assert response.status_code == 503
    assert snapshot(resident) == before


def test_geocode_address_refuses_too_short_queries_without_asking(geocoders):
    with pytest.raises(AddressNotFoundError):
        geocode_address("  a  ")
    assert geocoders.requests == []


def test_geocode_address_errors_carry_their_codes(geocoders):
    geocoders.ban.status = 500
    geocoders.nominatim.status = 500
    with pytest.raises(GeocoderUnavailableError) as error:
        geocode_address(PARIS_ADDRESS)
    assert (error.value.code, error.value.status_code) == ("geocoder_unavailable", 503)
