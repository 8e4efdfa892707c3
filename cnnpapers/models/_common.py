"""Small helpers shared by the model families: argument checks with clear messages."""

from __future__ import annotations

from typing import Any, Iterable


def require(condition: bool, message: str) -> None:
    """Raise ``ValueError(message)`` unless ``condition``; for invalid hyper-parameters."""
    if not condition:
        raise ValueError(message)


def require_positive_int(name: str, value: Any) -> None:
    require(isinstance(value, int) and not isinstance(value, bool) and value > 0,
            f"{name} must be a positive integer, got {value!r}")


def require_choice(name: str, value: Any, choices: Iterable[Any]) -> None:
    choices = list(choices)
    require(value in choices, f"{name} must be one of {choices}, got {value!r}")


def require_probability(name: str, value: Any) -> None:
    """Dropout-like rates must be real numbers in [0, 1)."""
    require(isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < 1,
            f"{name} must be a probability in [0, 1), got {value!r}")
