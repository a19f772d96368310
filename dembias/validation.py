"""Checks of user-given values: numeric ranges, languages (BCP 47) and countries (ISO 3166-1).

One definition per check, shared by the CLI and the Python API: a function that receives a bad value
raises :class:`ParameterError` (a :class:`~dembias.errors.DembiasError` and a :class:`ValueError`)
naming the parameter, the value and what is accepted.
"""

from __future__ import annotations

import math
from functools import lru_cache

from dembias.errors import DembiasError


class ParameterError(DembiasError, ValueError):
    """A parameter outside its accepted range or form."""


def check_range(
    name: str,
    value: float | int,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float | int:
    """``value`` when it lies within [low, high] (or the open ends asked for); else a ParameterError.

    ``check_range("minority_share", 1.5, low=0, high=1, low_open=True, high_open=True)`` raises
    "minority_share must be in (0, 1), got 1.5".
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise ParameterError(f"{name} must be a number, got {value!r}")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        raise ParameterError(f"{name} must be {_describe(low, high, low_open, high_open)}, got {value!r}")
    return value


def _describe(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    if low is not None and high is not None:
        return f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if low is not None:
        return f"{'>' if low_open else '>='} {low:g}"
    return f"{'<' if high_open else '<='} {high:g}"


def check_at_least(name: str, value: int, minimum: int) -> int:
    """``value`` when ``value >= minimum``; else a ParameterError (for counts: seeds, resamples, budget...)."""
    check_range(name, value, low=minimum)
    return value


def check_share(name: str, value: float, *, closed: bool = False) -> float:
    """``value`` when it is a share in (0, 1) (or [0, 1] when ``closed``); else a ParameterError."""
    check_range(name, value, low=0, high=1, low_open=not closed, high_open=not closed)
    return value


LANGUAGE_FORMS = "a BCP 47 language tag such as en, fr, de-AT, pt-BR or zh-Hant (ISO 639 codes: eng -> en)"
COUNTRY_FORMS = "an ISO 3166-1 country: alpha-2 (FR), alpha-3 (FRA) or English name (France)"


@lru_cache(maxsize=4096)
def normalise_language(value: str) -> str:
    """The standard BCP 47 form of a language tag ("FR" -> "fr", "en_us" -> "en-US", "eng" -> "en").

    Validated with ``langcodes`` (the IANA subtag registry); anything else raises a ParameterError
    naming the accepted forms. "und" (undetermined) is accepted.
    """
    import langcodes

    text = str(value).strip().replace("_", "-")
    if not text:
        raise ParameterError(f"empty language; expected {LANGUAGE_FORMS}")
    try:
        valid = langcodes.tag_is_valid(text)
        standard = langcodes.standardize_tag(text) if valid else None
    except (ValueError, LookupError):
        valid, standard = False, None
    if not valid or not standard:
        raise ParameterError(f"language {value!r} is not {LANGUAGE_FORMS}")
    return standard


@lru_cache(maxsize=4096)
def normalise_country(value: str) -> str:
    """The ISO 3166-1 alpha-2 code of a country given as alpha-2, alpha-3 or name ("France", "fr", "FRA" -> "FR").

    Looked up with ``pycountry``; anything else raises a ParameterError naming the accepted forms.
    """
    import pycountry

    text = str(value).strip()
    if not text:
        raise ParameterError(f"empty country; expected {COUNTRY_FORMS}")
    try:
        return str(pycountry.countries.lookup(text).alpha_2)
    except LookupError:
        pass
    raise ParameterError(f"country {value!r} is not {COUNTRY_FORMS}")


def normalise_optional_language(value: str | None) -> str | None:
    """:func:`normalise_language`, passing None through."""
    return None if value is None else normalise_language(value)


def normalise_optional_country(value: str | None) -> str | None:
    """:func:`normalise_country`, passing None through."""
    return None if value is None else normalise_country(value)
