"""Shared test configuration: hypothesis profiles and the path of the optional shared data."""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, settings

# numba compiles on first call, so the first example of a property test can be slow; a
# deadline would make that flaky. The CI profile trades examples for time on 2 cores.
settings.register_profile(
    "default", deadline=None, max_examples=40, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "ci", deadline=None, max_examples=25, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci" if os.environ.get("CI") else "default")

#: Project root and the project's own test fixtures (copies of small real files).
ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "data"
