"""The twelve hours of air-quality readings the report tests share (exact numbers known)."""

from __future__ import annotations

EVEREST_CO2 = [1200.0] * 3 + [700.0] * 7 + [500.0] * 2
EVEREST_PEOPLE = [2.0] * 10 + [0.0] * 2
K2_CO2 = [600.0] * 6 + [None] * 6
