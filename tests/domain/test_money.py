"""Money: the one rounding helper, exact and half away from zero."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mock_server.domain.money import apply_bps, exponent, line_amount, round_div, round_fraction


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [(5, 2, 3), (-5, 2, -3), (5, -2, -3), (7, 2, 4), (1, 3, 0), (2, 3, 1), (-1, 3, 0), (-2, 3, -1), (0, 7, 0)],
)
def test_round_div_half_away_from_zero(numerator: int, denominator: int, expected: int) -> None:
    assert round_div(numerator, denominator) == expected


def test_tax_example_rounds_like_the_contract() -> None:
    assert apply_bps(-1355, 825) == -112  # -111.7875
    assert apply_bps(3387, 825) == 279  # 279.4275


def test_exponents() -> None:
    assert (exponent("JPY"), exponent("KWD"), exponent("USD"), exponent("EUR")) == (0, 3, 2, 2)


def test_round_div_refuses_floats_and_zero() -> None:
    with pytest.raises(TypeError):
        round_div(2.5, 1)  # type: ignore[arg-type]
    with pytest.raises(ZeroDivisionError):
        round_div(1, 0)


def _reference(value: Fraction) -> int:
    floor = value.numerator // value.denominator
    rest = value - floor
    if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and value > 0):
        return floor + 1
    return floor


@given(st.integers(-(10**15), 10**15), st.integers(-(10**6), 10**6).filter(bool))
def test_round_div_matches_fraction_reference(numerator: int, denominator: int) -> None:
    result = round_div(numerator, denominator)
    assert type(result) is int
    assert result == _reference(Fraction(numerator, denominator))
    assert round_fraction(Fraction(numerator, denominator)) == result
    assert abs(Fraction(numerator, denominator) - result) <= Fraction(1, 2)


@given(st.integers(1, 10**6), st.integers(0, 10**12), st.integers(0, 10_000))
def test_line_amount_is_an_int_never_above_gross(quantity: int, unit_price: int, discount_bps: int) -> None:
    amount = line_amount(quantity, unit_price, discount_bps)
    assert type(amount) is int
    assert 0 <= amount <= quantity * unit_price
