"""Indoor air of one room: small physical models, one step at a time. Pure.

CO2 is the classic single-zone mass balance: every occupant exhales about
0.005 L/s of CO2 (a seated adult; ASHRAE 62.1 and Persily & de Jonge 2017
give 0.0043-0.0052 L/s), and ventilation replaces the room's air with
outdoor air (about 420 ppm) ``ach`` times an hour, so

    dC/dt = n·G/V·10⁶ - λ·(C - C_out),   λ = ach / 3600 s

which is solved exactly over a step (an exponential approach to the steady
state), so any step length is stable. VOCs follow the same balance with a
per-person source; temperature and humidity relax toward a daily cycle plus
the occupants' heat and moisture. PM2.5 is a low background plus occasional
spikes; AQI is computed from PM2.5 with the US EPA breakpoints.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from monitor.simulate.schedule import DAY_S, HOUR_S, Spike

OUTDOOR_CO2_PPM = 420.0
CO2_PER_PERSON_M3_S = 5.0e-6
CO2_SENSOR_MAX_PPM = 5000.0      # the range of common NDIR sensors
VOC_BACKGROUND = 120.0           # µg/m³, furniture and cleaning products
VOC_PER_PERSON_M3 = 900.0        # µg/m³ per (person per m³) at steady state
TEMPERATURE_SWING_C = 1.0        # ± around the set point, warmest at 15:00 UTC
HEAT_PER_PERSON_C_M3 = 4.0       # °C per (person per m³) at steady state
TEMPERATURE_TAU_S = 45 * 60.0
HUMIDITY_SWING = 5.0             # ± %RH, most humid at 05:00 UTC (coolest air)
MOISTURE_PER_PERSON = 25.0       # %RH per (person per m³) at steady state
HUMIDITY_TAU_S = 40 * 60.0

# US EPA AQI for PM2.5 (24-h, µg/m³), breakpoints as revised in 2024.
_AQI_PM25 = ((0.0, 9.0, 0, 50), (9.1, 35.4, 51, 100), (35.5, 55.4, 101, 150),
             (55.5, 125.4, 151, 200), (125.5, 225.4, 201, 300), (225.5, 325.4, 301, 500))


@dataclass(frozen=True)
class Air:
    co2: float
    temperature: float
    humidity: float
    voc: float


def approach(current: float, target: float, rate_per_s: float, dt_s: float) -> float:
    """Exact first-order step: ``current`` decays toward ``target`` at ``rate_per_s``."""
    return target + (current - target) * math.exp(-rate_per_s * dt_s)


def co2_steady_state(people: float, volume_m3: float, ach: float,
                     outdoor: float = OUTDOOR_CO2_PPM) -> float:
    return outdoor + people * CO2_PER_PERSON_M3_S * 1e6 / (volume_m3 * ach / HOUR_S)


def hour_of_day(at_s: float) -> float:
    return (at_s % DAY_S) / HOUR_S


def daily_cycle(at_s: float, peak_hour: float) -> float:
    """A cosine over the day, 1 at ``peak_hour`` (UTC) and -1 twelve hours later."""
    return math.cos(2 * math.pi * (hour_of_day(at_s) - peak_hour) / 24)


def temperature_target(base_c: float, at_s: float, people: float, volume_m3: float) -> float:
    return (base_c + TEMPERATURE_SWING_C * daily_cycle(at_s, 15.0)
            + HEAT_PER_PERSON_C_M3 * people / volume_m3)


def humidity_target(base: float, at_s: float, people: float, volume_m3: float) -> float:
    return base + HUMIDITY_SWING * daily_cycle(at_s, 5.0) + MOISTURE_PER_PERSON * people / volume_m3


def step(air: Air, *, at_s: float, dt_s: float, people: float, volume_m3: float, ach: float,
         base_temp_c: float, base_humidity: float) -> Air:
    """The room's air ``dt_s`` later, with ``people`` in it and ventilation ``ach``."""
    rate = ach / HOUR_S
    return Air(
        co2=approach(air.co2, co2_steady_state(people, volume_m3, ach), rate, dt_s),
        temperature=approach(air.temperature,
                             temperature_target(base_temp_c, at_s, people, volume_m3),
                             1 / TEMPERATURE_TAU_S, dt_s),
        humidity=approach(air.humidity, humidity_target(base_humidity, at_s, people, volume_m3),
                          1 / HUMIDITY_TAU_S, dt_s),
        voc=approach(air.voc, VOC_BACKGROUND + VOC_PER_PERSON_M3 * people / volume_m3,
                     rate, dt_s),
    )


def pm25(at_s: float, spikes: tuple[Spike, ...]) -> float:
    """Background (higher with the morning traffic) plus what is left of each spike."""
    value = 5.0 + 2.0 * daily_cycle(at_s, 8.0)
    for spike in spikes:
        if at_s >= spike.at_s:
            value += spike.peak * math.exp(-(at_s - spike.at_s) / spike.tau_s)
    return value


def pm10(pm25_value: float) -> float:
    """Coarse particles track the fine ones indoors; a fixed ratio is close enough."""
    return pm25_value * 1.5 + 3.0


def aqi_from_pm25(concentration: float) -> int:
    """US EPA AQI: linear within the breakpoint band, truncated to 0.1 µg/m³ first."""
    value = math.floor(max(0.0, concentration) * 10) / 10
    for low, high, index_low, index_high in _AQI_PM25:
        if value <= high:
            value = max(value, low)
            return round((index_high - index_low) / (high - low) * (value - low) + index_low)
    return 500


def air_pressure(at_s: float, phase: float) -> float:
    """hPa: weather systems passing every few days plus the twice-daily atmospheric tide."""
    days = at_s / DAY_S
    return (1013.0 + 8.0 * math.sin(2 * math.pi * days / 3.7 + phase)
            + 0.4 * math.sin(4 * math.pi * days))
