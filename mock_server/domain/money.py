"""Money: integer minor units, ISO 4217 currencies, and the ONE rounding helper.

Every division in billing is exact (integers or ``Fraction``) and rounded once, half away from
zero: 2.5 -> 3, -2.5 -> -3. Nothing else in the code base rounds money.
"""

from __future__ import annotations

from fractions import Fraction

MAX_EXACT = 2**53 - 1
"""Upper bound of any amount the API answers (line amounts, totals, invoice amounts): the largest
integer a JavaScript client holds exactly. Inputs that would exceed it are refused (422)."""

ZERO_DECIMAL = frozenset("BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF".split())
THREE_DECIMAL = frozenset("BHD JOD KWD OMR TND".split())
TWO_DECIMAL = frozenset("USD EUR GBP CAD AUD CHF SEK NOK DKK PLN CZK INR BRL MXN ZAR NZD SGD HKD".split())


def exponent(currency: str) -> int:
    """Number of decimals of ``currency``'s minor unit: 0, 2 or 3."""
    if currency in ZERO_DECIMAL:
        return 0
    if currency in THREE_DECIMAL:
        return 3
    return 2


def is_supported_currency(currency: str) -> bool:
    return currency in ZERO_DECIMAL or currency in THREE_DECIMAL or currency in TWO_DECIMAL


def round_div(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half away from zero, computed exactly on integers."""
    if denominator == 0:
        raise ZeroDivisionError("round_div by zero")
    if isinstance(numerator, bool) or not isinstance(numerator, int) or not isinstance(denominator, int):
        raise TypeError("round_div takes integers only")
    negative = (numerator < 0) != (denominator < 0)
    quotient, remainder = divmod(abs(numerator), abs(denominator))
    if 2 * remainder >= abs(denominator):
        quotient += 1
    return -quotient if negative else quotient


def round_fraction(value: Fraction) -> int:
    """An exact fraction rounded half away from zero."""
    return round_div(value.numerator, value.denominator)


def apply_bps(amount: int, bps: int) -> int:
    """``amount * bps / 10000`` rounded half away from zero (e.g. tax at ``taxRateBps``)."""
    return round_div(amount * bps, 10_000)


def line_amount(quantity: int, unit_price: int, discount_bps: int = 0) -> int:
    """``round(quantity * unitPrice * (10000 - discountBps) / 10000)`` in minor units."""
    return round_div(quantity * unit_price * (10_000 - discount_bps), 10_000)


def charge_fits(amount: int, tax_rate_bps: int) -> bool:
    """Whether ``amount`` plus its tax at ``tax_rate_bps`` stays within :data:`MAX_EXACT`."""
    return amount + apply_bps(amount, tax_rate_bps) <= MAX_EXACT
