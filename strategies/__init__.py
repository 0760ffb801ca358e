"""Strategies: rules that turn signals and prices into target weights (see strategies.base).

``REGISTRY`` maps the ``kind`` used in TOML configs to ``"module:ParamsClass:StrategyClass"``;
modules are imported on demand by :func:`get`.
"""

from __future__ import annotations

import importlib

from strategies.base import CASH, Context, Decisions, Strategy, check_weights

__all__ = ["CASH", "Context", "Decisions", "REGISTRY", "Strategy", "check_weights", "get"]

REGISTRY: dict[str, str] = {
    "static": "strategies.core_satellite:CoreSatelliteParams:CoreSatellite",
    "core_satellite": "strategies.core_satellite:CoreSatelliteParams:CoreSatellite",
    "flow_warnings": "strategies.flow_warnings:FlowWarningsParams:FlowWarnings",
    "regime": "strategies.regime:RegimeParams:RegimeAllocation",
    "flow_rotation": "strategies.flow_rotation:FlowRotationParams:FlowRotation",
    "market_flow_timing": "strategies.market_flow_timing:MarketFlowTimingParams:MarketFlowTiming",
    "small_cap_cycle": "strategies.small_cap_cycle:SmallCapCycleParams:SmallCapCycle",
}


def get(kind: str):
    """Return ``(ParamsClass, StrategyClass)`` for a config ``kind``."""
    try:
        module, params, cls = REGISTRY[kind].split(":")
    except KeyError:
        raise KeyError(f"unknown strategy kind {kind!r}; known: {sorted(REGISTRY)}") from None
    mod = importlib.import_module(module)
    return getattr(mod, params), getattr(mod, cls)
