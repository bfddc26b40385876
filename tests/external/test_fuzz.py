"""No HTTP 500 and always the envelope, whatever the body of any call (hypothesis, bounded)."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.external.conftest import post
from tests.external.requests import EVERY_CALL

FIELDS = sorted({field for body in EVERY_CALL.values() for field in body} | {"type", "e164"})
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=40)
    | st.text(st.characters(exclude_categories=()), max_size=8)  # lone surrogates too
    | st.sampled_from(["", "C100", "RETAIL", "20251126", "20251126083000", "86", "-1", "1e999"])
    | st.sampled_from(["99991231", "99991231235959", "202511", "9e999999999999999999", "1_000"])
)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3), max_leaves=6)
BODIES = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), VALUES, max_size=6)
RAW = st.binary(max_size=64) | BODIES.map(lambda body: json.dumps(body).encode())


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(name=st.sampled_from(sorted(EVERY_CALL)), raw=RAW)
def test_no_500_for_any_body_of_any_call(customer, rule, name, raw) -> None:
    response = post(name, raw=raw)
    assert response.status_code == 200
    content = b"".join(response.streaming_content) if response.streaming else response.content
    reply = json.loads(content)
    assert reply["retCode"] != -9, reply  # an internal error is a bug too
    assert reply["retCode"] == 0 or reply["exception"]
