"""Checks of a config table that walk its types: unknown keys anywhere, accepted-key lists
for error messages, and the plausible-but-suspicious strategy values printed as warnings.

Split from :mod:`engine.app.config` (which calls them) to keep that module short; nothing here
is public API.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from pydantic import BaseModel

from engine.errors import ConfigError


def join_path(prefix: str, field: str) -> str:
    return f"{prefix}.{field}" if prefix else field


class _Table:
    """Stands for a whole TOML table in an error message (its repr lists the keys only)."""

    def __init__(self, keys) -> None:
        self.keys = list(keys)

    def __repr__(self) -> str:
        return "{table with keys " + ", ".join(map(str, self.keys)) + "}"


def short_value(value: Any) -> Any:
    """The value as shown in an error: a long table is summarized by its keys."""
    if isinstance(value, dict) and len(repr(value)) > 120:
        return _Table(value)
    return value


def accepted_keys(model: Any, loc: tuple) -> list[str]:
    """Field names of the model (a pydantic model or dataclass type) at ``loc``, [] if unknown."""
    import typing

    cur = model
    for part in loc:
        if cur is None:
            return []
        if isinstance(part, int):
            args = [a for a in typing.get_args(cur) if a is not Ellipsis]
            cur = args[-1] if args else None
            continue
        hints = field_types(cur)
        cur = unwrap_optional(hints.get(part)) if hints else None
        if isinstance(part, str) and cur is not None and typing.get_origin(cur) is dict:
            cur = typing.get_args(cur)[1] if str(part) not in hints else cur
    return sorted(field_types(cur)) if cur is not None else []


def field_types(tp: Any) -> dict[str, Any]:
    """Field name -> annotation of a pydantic model or a dataclass type ({} otherwise)."""
    import typing

    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return {k: f.annotation for k, f in tp.model_fields.items()}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return typing.get_type_hints(tp)
    return {}


def unwrap_optional(tp: Any) -> Any:
    """``X | None`` -> X; a tuple/list of X -> the tuple type (indexed by int locs)."""
    import types
    import typing

    if tp is None:
        return None
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0] if len(args) == 1 else None
    return tp


def check_keys(tp: Any, value: Any, path: str, file: str | None) -> None:
    """Unknown keys anywhere in a strategy table, against the Params dataclass fields.

    pydantic ignores unknown keys of a standard-library dataclass (``drift_bandd = 0.1`` would
    run with the default band, silently); this walk refuses them, naming the key path and
    listing the accepted keys, without the strategies depending on pydantic.
    """
    import typing

    tp = unwrap_optional(tp)
    if tp is None:
        return
    origin = typing.get_origin(tp)
    if origin in (tuple, list) and isinstance(value, (list, tuple)):
        args = [a for a in typing.get_args(tp) if a is not Ellipsis]
        if len(args) == 1:
            for i, item in enumerate(value):
                check_keys(args[0], item, f"{path}.{i}", file)
        return
    if not (isinstance(tp, type) and dataclasses.is_dataclass(tp) and isinstance(value, dict)):
        return
    hints = typing.get_type_hints(tp)
    fields = [f.name for f in dataclasses.fields(tp)]
    for key, item in value.items():
        if key not in fields:
            raise ConfigError(join_path(path, str(key)), short_value(item),
                              f"unknown key; accepted keys: {', '.join(sorted(fields))}",
                              file=file)
        check_keys(hints.get(key), item, join_path(path, str(key)), file)


def param_warnings(params: Any, path: str) -> list[str]:
    """Plausible-but-suspicious strategy values, walking nested Params dataclasses:
    a return threshold of +100 % or more (possible over decades, more often a percent typed
    for a fraction) and a flow threshold of less than a million dollars in size."""
    from strategies.triggers import Condition

    out: list[str] = []
    if isinstance(params, Condition):
        if params.on == "asset" and params.measure in ("return_since_anchor",
                                                       "return_window") \
                and params.threshold >= 1.0:
            out.append(f"{path}.threshold = {params.threshold!r}: a return of "
                       f"{params.threshold:+.0%}; thresholds are fractions: 0.10 means +10%")
        return out
    if dataclasses.is_dataclass(params) and not isinstance(params, type):
        for f in dataclasses.fields(params):
            v = getattr(params, f.name)
            if f.name == "threshold_usd" and isinstance(v, (int, float)) and 0 < abs(v) < 1e6:
                out.append(f"{path}.threshold_usd = {v!r}: less than $1M in size; flows are in "
                           "USD: -5e9 means an outflow of more than $5B")
            out.extend(param_warnings(v, f"{path}.{f.name}"))
    elif isinstance(params, (tuple, list)):
        for i, item in enumerate(params):
            out.extend(param_warnings(item, f"{path}.{i}"))
    return out
