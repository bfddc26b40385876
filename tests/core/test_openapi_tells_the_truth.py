"""The OpenAPI schema says what the API does: the errors it answers, the rules it checks; and
the API refuses what the schema does not allow instead of silently ignoring or coercing it."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def openapi(viewer_api) -> dict:
    return viewer_api.get("/api/schema/", {"format": "json"}).json()


def operations(openapi: dict):
    for path, methods in openapi["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def test_every_operation_declares_its_errors(openapi) -> None:
    for path, method, operation in operations(openapi):
        declared = set(operation["responses"])
        assert {"400", "401", "403", "404", "413", "414"} <= declared, (method, path)
        if method == "delete":
            assert "409" in declared, path
        error = operation["responses"]["400"]["content"]["application/json"]["schema"]
        expected = "ImportRejected" if path.endswith("/import/") else "Error"
        assert error == {"$ref": f"#/components/schemas/{expected}"}, (method, path)


def test_the_token_endpoint_declares_the_lock_out(openapi) -> None:
    assert "429" in openapi["paths"]["/api/v1/auth/token/"]["post"]["responses"]


def test_validation_rules_are_described(openapi) -> None:
    schemas = openapi["components"]["schemas"]
    assert "Unique" in schemas["PhoneRequest"]["properties"]["e164"]["description"]
    assert schemas["MappingGatewayRequest"]["properties"]["ips"]["minItems"] == 1
    assert schemas["PhoneRequest"]["properties"]["e164"]["pattern"]


def test_a_blank_allowed_pattern_accepts_blank_once(openapi) -> None:
    """Rate prefixes: digits or empty; "" must not match two branches of a oneOf."""
    for name, component in openapi["components"]["schemas"].items():
        for field, schema in component.get("properties", {}).items():
            assert {"type": "string", "maxLength": 0} not in schema.get("oneOf", []), (name, field)


def test_request_bodies_are_documented_as_json(openapi) -> None:
    body = openapi["paths"]["/api/v1/phones/"]["post"]["requestBody"]["content"]
    assert list(body) == ["application/json"]


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("/api/v1/phones/?numbr=1001", "numbr"),
        ("/api/v1/cdrs/?calle=1001", "calle"),
        ("/api/v1/phones/?limit=ten", "limit"),
        ("/api/v1/phones/?limit=0", "limit"),
        ("/api/v1/phones/?offset=-1", "offset"),
        ("/api/v1/phones/?registered=maybe", "registered"),
        ("/api/v1/blacklist/dynamic/?active=2", "active"),
        ("/api/v1/cdrs/?start_before=", "start_before"),
        ("/api/v1/cdrs/?billing_mode=", "billing_mode"),
        ("/api/v1/cdrs/?format=", "format"),
    ],
)
def test_a_query_the_schema_does_not_allow_is_a_400_naming_it(admin_api, url, name) -> None:
    response = admin_api.get(url)
    assert response.status_code == 400
    assert name in response.json()


def test_known_parameters_still_work(admin_api) -> None:
    url = "/api/v1/phones/?limit=5&offset=0&ordering=e164&registered=true&format=json"
    assert admin_api.get(url).status_code == 200


@pytest.mark.parametrize(
    ("body", "name"),
    [
        ({"e164": "1001", "password": "secret-1", "locked": 0}, "locked"),
        ({"e164": 1001, "password": "secret-1"}, "e164"),
        ({"e164": " " * 20 + "1001" + " " * 20, "password": "secret-1"}, "e164"),
        (
            {"e164": "1001", "password": "secret-1", "caller_blacklist_groups": {}},
            "caller_blacklist_groups",
        ),
    ],
)
def test_a_body_of_the_wrong_type_is_a_400(admin_api, body, name) -> None:
    response = admin_api.post("/api/v1/phones/", body, format="json")
    assert response.status_code == 400
    assert name in response.json()


def test_an_unmapped_method_is_a_405_even_with_format_csv(admin_api) -> None:
    assert admin_api.generic("TRACE", "/api/v1/cdrs/?format=csv").status_code == 405
