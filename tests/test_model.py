"""The exact reference model: Aave v3.5+ rounding and the circuit's division-free predicate."""

from __future__ import annotations

from decimal import Decimal, getcontext

from hypothesis import given
from hypothesis import strategies as st

from zkmargin.limits import BPS, WAD
from zkmargin.model import (
    UINT256_MAX,
    Asset,
    Health,
    Market,
    Position,
    PricePoint,
    PriceSnapshot,
    collateral_value,
    debt_value,
    evaluate,
    format_wad,
)

WETH = Asset("WETH", 18, 8250, 10500)
USDC = Asset("USDC", 6, 7800, 10450)
MARKET = Market("m", (WETH, USDC))
PRICES = PriceSnapshot({"WETH": PricePoint(2500 * 10**8, 1, 1), "USDC": PricePoint(10**8, 1, 1)})


def health_of(w: int, td: int) -> Health:
    return Health((), w, 0, td)


def test_domain_worked_example() -> None:
    """10 WETH @ 2500 (LT 82.5%) + 5000 USDC (LT 78%) vs 15000 USDC: HF = 1.635 exactly."""
    pos = Position({"WETH": 10 * 10**18, "USDC": 5000 * 10**6}, {"USDC": 15000 * 10**6}, 1)
    h = evaluate(pos, MARKET, PRICES)
    assert h.total_collateral == 30000 * 10**8
    assert h.total_debt == 15000 * 10**8
    assert h.weighted_collateral * 1 // h.total_collateral == 8175  # Aave's avgLT
    assert h.health_factor == 1635 * 10**15
    # v3.0-3.4 formula gives the same here: percentMul(TC, avgLT) wadDiv TD
    tc_lt = (h.total_collateral * 8175 + 5000) // BPS
    assert (tc_lt * WAD + h.total_debt // 2) // h.total_debt == h.health_factor
    assert not h.is_below(WAD)


def test_math_utils_vectors() -> None:
    """@aave/math-utils calculateHealthFactorFromBalances test vectors, within one wei
    (math-utils divides exactly; Aave v3.5 rounds wadDiv half up, then floors /1e4)."""
    assert health_of(10**17 * 5000, 5 * 10**16).health_factor == WAD
    hf = health_of(10**17 * 5000, 3 * 10**16).health_factor
    assert abs(Decimal(hf) / WAD - Decimal("1.66666666666666666667")) < Decimal("1e-18")
    # 200 USDC supplied, 100 borrowed, LT 60% -> 1.2
    assert health_of(200 * 10**8 * 6000, 100 * 10**8).health_factor == 12 * 10**17


def test_rounding_directions() -> None:
    # 1 wei of an 18-decimal token at $1: collateral rounds to 0, debt rounds up to 1 base unit
    assert collateral_value(1, 10**8, 18) == 0
    assert debt_value(1, 10**8, 18) == 1
    assert debt_value(10**10, 10**8, 18) == 1
    assert debt_value(10**10 + 1, 10**8, 18) == 2


def test_no_debt_is_never_liquidatable() -> None:
    h = health_of(0, 0)
    assert h.health_factor == UINT256_MAX
    assert not h.is_below(2**64 - 1)
    assert format_wad(h.health_factor) == "inf"


@given(
    w=st.integers(0, 2**146),
    td=st.integers(1, 2**131),
    t=st.integers(1, 2**64 - 1),
)
def test_division_free_predicate_equals_hf_below_threshold(w: int, td: int, t: int) -> None:
    """The circuit's W*1e18 + TD/2 < t*TD*1e4 is exactly Aave's HF < t."""
    h = health_of(w, td)
    assert h.is_below(t) == (h.health_factor < t)


@given(w=st.integers(0, 2**146), td=st.integers(1, 2**131))
def test_boundary_around_hf(w: int, td: int) -> None:
    h = health_of(w, td)
    hf = h.health_factor
    assert h.is_below(hf + 1)
    assert not h.is_below(hf)
    if hf > 0:
        assert not h.is_below(hf - 1)


@given(st.integers(0, 10**40))
def test_format_wad_is_exact(v: int) -> None:
    getcontext().prec = 80
    assert Decimal(format_wad(v)) == Decimal(v) / WAD
