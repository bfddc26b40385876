"""The calls of the VOS3000 Web API, one module per family (SPEC §9).

Each call reads the same models and FilterSets as the console and the REST API.
"""

from vosadmin.external.calls import (  # noqa: F401 - importing a family registers its calls
    calls,
    cdr,
    customers,
    online,
    payments,
    performance,
    rates,
)
from vosadmin.external.calls.registry import CALLS, CallContext, WebCall

__all__ = ["CALLS", "CallContext", "WebCall"]
