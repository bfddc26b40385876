"""The fast version of `make fuzz-api`: schemathesis over every operation of the OpenAPI schema,
as an administrator, against the console in-process (WSGI); no 5xx, and every answer is one
the schema describes (fuzz/schemathesis.toml says which checks are off, and why)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, settings
from schemathesis.config import SchemathesisConfig

from tests.conftest import api_client_for

CONFIG = SchemathesisConfig.from_path(Path(__file__).parents[2] / "fuzz" / "schemathesis.toml")
RAW_SCHEMA = json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True)))
application = get_wsgi_application()
schema = schemathesis.openapi.from_dict(RAW_SCHEMA, config=CONFIG)
schema.app = application  # requests go to the console in-process, as from_wsgi() would


@pytest.fixture
def keep_test_connection():
    """The test's transaction must survive the requests: the WSGI handler closes database
    connections after each request, unless (as Django's test client does) it is told not to."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def admin_headers(admin_user, keep_test_connection) -> dict[str, str]:
    """The administrator's token header (the cast's administrator, tests/conftest.py)."""
    client = api_client_for(admin_user)
    return {"Authorization": client._credentials["HTTP_AUTHORIZATION"]}


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=4,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_the_schema_says(case, admin_headers) -> None:
    case.call_and_validate(headers=admin_headers)
