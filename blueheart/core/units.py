"""Lengths with explicit units and the one rounding rule used for pixel positions."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass


class Unit(enum.Enum):
    """How a length is measured: a fraction of the shorter side, or pixels."""

    FRACTION = "fraction"
    PX = "px"


@dataclass(frozen=True)
class Length:
    """A length that is either a fraction of a reference (the shorter side) or pixels."""

    value: float
    unit: Unit = Unit.FRACTION

    @classmethod
    def px(cls, value: float) -> Length:
        """A length in pixels."""
        return cls(float(value), Unit.PX)

    @classmethod
    def fraction(cls, value: float) -> Length:
        """A length as a fraction of the reference length."""
        return cls(float(value), Unit.FRACTION)

    def to_px(self, reference: float) -> float:
        """This length in pixels, given the reference length in pixels."""
        return self.value * reference if self.unit is Unit.FRACTION else self.value

    def __str__(self) -> str:
        return f"{self.value:g}px" if self.unit is Unit.PX else f"{self.value:g}"


def round_px(value: float) -> int:
    """Round to the nearest whole pixel, halves upwards (toward +infinity).

    One policy everywhere, so that a box and its mirror image differ by at most one pixel
    and results do not depend on banker's rounding of half-pixel positions.
    """
    return math.floor(value + 0.5)
