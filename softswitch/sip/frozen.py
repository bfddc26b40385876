"""Quicker construction of the frozen dataclasses that parsing makes for every message."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

_C = TypeVar("_C", bound=type[Any])


def quick_init(cls: _C) -> _C:
    """Give a frozen, slotted dataclass an __init__ that fills its slots directly.

    The __init__ a frozen dataclass generates sets every field through object.__setattr__, to
    get past its own __setattr__, which refuses. Calling each slot's descriptor instead takes
    about half the time, and parsing one message makes several URIs, addresses and Vias. The
    signature and defaults are the dataclass's; everything else it generated is left alone.
    Like dataclasses itself, this compiles the method from source.
    """
    fields = dataclasses.fields(cls)
    _check_supported(cls, fields)
    namespace: dict[str, Any] = {"__name__": cls.__module__}
    for field in fields:
        namespace[f"_set_{field.name}"] = cls.__dict__[field.name].__set__
        namespace[f"_default_{field.name}"] = field.default
    exec(_init_source(fields), namespace)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__annotations__ = {**cls.__init__.__annotations__}
    cls.__init__ = init
    return cls


def _init_source(fields: tuple[dataclasses.Field[Any], ...]) -> str:
    parameters = [
        field.name
        if field.default is dataclasses.MISSING
        else f"{field.name}=_default_{field.name}"
        for field in fields
    ]
    body = "".join(f"    _set_{field.name}(self, {field.name})\n" for field in fields)
    return f"def __init__(self, {', '.join(parameters)}):\n{body}"


def _check_supported(cls: type[Any], fields: tuple[dataclasses.Field[Any], ...]) -> None:
    params = cls.__dataclass_params__
    unsupported = (
        not params.frozen
        or "__slots__" not in cls.__dict__
        or hasattr(cls, "__post_init__")
        or any(f.default_factory is not dataclasses.MISSING or not f.init for f in fields)
        or any(f.kw_only for f in fields)
    )
    if unsupported:
        raise TypeError(f"{cls.__name__}: quick_init needs a plain frozen, slotted dataclass")
