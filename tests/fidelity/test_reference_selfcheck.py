"""The references against worked examples, upstream test vectors, hand computations and their
own invariants; where the Aave versions differ, one concrete case each.

Random invariants run on a sample; ``ZKMARGIN_FIDELITY=full`` runs thousands (``make fidelity``).
"""

from __future__ import annotations

import random
from dataclasses import replace
from fractions import Fraction

import pytest

from . import aave_ref as A
from . import dydx_ref as D
from . import generators as G

RAY = A.RAY
E18 = 10**18
E6 = 10**6
V35, V36, V37 = A.VERSIONS


def worked_market() -> A.Market:
    """domain.md: WETH $2500 (LT 8250, bonus 10500, fee 1000) and USDC $1 (LT 7800, bonus 10450)."""
    weth = A.Reserve("WETH", 18, 2500 * 10**8, 8000, 8250, 10500, 1000)
    usdc = A.Reserve("USDC", 6, 10**8, 7500, 7800, 10450, 1000)
    return A.Market((weth, usdc))


# ---------------------------------------------------------------------------------------------
# Worked examples (domain.md)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", A.VERSIONS)
def test_worked_example_health_factor(version: A.Version) -> None:
    """10 WETH @ 2500 + 5000 USDC against 15000 USDC: avgLT 8175, HF 1.635e18."""
    user = A.User((10 * E18, 5000 * E6), (0, 15000 * E6), (True, True))
    acct = A.calculate_user_account_data(version, worked_market(), user)
    assert acct.total_collateral_base == 30000 * 10**8
    assert acct.total_debt_base == 15000 * 10**8
    assert acct.avg_liquidation_threshold == 8175
    assert acct.health_factor == 1635 * 10**15


def test_worked_example_seizure_v35() -> None:
    """Covering 7500 USDC against WETH @ 2500, bonus 10500, fee 1000: 3.15 WETH seized, of
    which 0.015 WETH is the protocol fee."""
    m = worked_market()
    weth, usdc = m.reserves
    coll, debt_needed, fee, seized_base = A.calculate_available_collateral_to_liquidate(
        V35, weth, usdc, 7500 * E6, 10 * E18, 10500
    )
    assert coll + fee == 315 * 10**16
    assert fee == 15 * 10**15
    assert coll == 3135 * 10**15
    assert debt_needed == 7500 * E6
    assert seized_base == 7875 * 10**8


@pytest.mark.parametrize("version", A.VERSIONS)
def test_worked_example_liquidation_call(version: A.Version) -> None:
    """The same seizure in a liquidationCall: with 25000 USDC of debt the position has HF 0.981
    (liquidatable, close factor 50% = 12500 USDC, 7500 stays under it). Exact at 1 ray indexes,
    identical across versions (no rounding remainder)."""
    m = worked_market()
    user = A.User((10 * E18, 5000 * E6), (0, 25000 * E6), (True, True))
    r = A.liquidation_call(version, m, user, 0, 1, 7500 * E6)
    assert r.account_before.health_factor == 981 * 10**15
    assert r.close_factor_applied and r.max_liquidatable_debt == 12500 * E6
    assert (r.debt_repaid, r.collateral_to_liquidator, r.protocol_fee) == (7500 * E6, 3135 * 10**15, 15 * 10**15)
    assert r.user_after.scaled_collateral == (685 * 10**16, 5000 * E6)
    assert r.user_after.scaled_debt == (0, 17500 * E6)
    assert r.deficit == (0, 0) and not r.has_no_collateral_left


# ---------------------------------------------------------------------------------------------
# Where the versions differ
# ---------------------------------------------------------------------------------------------


def unit_market(bonus: int = 10500, fee: int = 0, liquidity_index: int = RAY) -> A.Market:
    """0-decimal tokens at $1: one token unit is 1e8 base units, so base amounts are visible."""
    c = A.Reserve("C", 0, 10**8, 7000, 8000, bonus, fee, liquidity_index)
    d = A.Reserve("D", 0, 10**8, 7000, 8000, 10500, 0)
    return A.Market((c, d))


def test_bonus_rounding_v37_floors() -> None:
    """maxCollateralToLiquidate = percentMul(1010, 10500) = 1061 (1060.5 half up) in v3.5/v3.6,
    percentMulFloor = 1060 in v3.7 (docs/3.7/liquidation-rounding.md, change 1)."""
    m = unit_market()
    user = A.User((5000, 0), (0, 4300), (True, False))  # HF 0.930: no close factor
    got = {v: A.liquidation_call(v, m, user, 0, 1, 1010).collateral_to_liquidator for v in A.VERSIONS}
    assert got == {V35: 1061, V36: 1061, V37: 1060}


def test_fee_rounding_v37_div_floor_mul_ceil() -> None:
    """1001 covered, bonus 10500, fee 10%: seized 1051 in every version (1051.05). Bonus part:
    1051 - percentDiv(1051) = 1051 - 1001 = 50 -> fee percentMul(50, 1000) = 5 (v3.5/v3.6);
    1051 - percentDivFloor(1051) = 1051 - 1000 = 51 -> fee percentMulCeil(51, 1000) = 6 (v3.7)."""
    m = unit_market(fee=1000)
    user = A.User((5000, 0), (0, 4300), (True, False))
    got = {v: A.liquidation_call(v, m, user, 0, 1, 1001) for v in A.VERSIONS}
    assert {v: (r.collateral_to_liquidator, r.protocol_fee) for v, r in got.items()} == {
        V35: (1046, 5),
        V36: (1046, 5),
        V37: (1045, 6),
    }


def test_deficit_detection_v37_uses_scaled_consumption() -> None:
    """Index 2.5 ray: 421 scaled = 1052 tokens. Repaying all 1001 of debt D1 seizes 1051 (the
    dust rule is skipped: that debt is cleared). The burn takes ceil(1051 / 2.5) = 421 scaled:
    nothing is left. v3.5/v3.6 compare values (1051e8 != TC 1052e8): no deficit, the 5000 of D2
    stays with no collateral and the collateral flag stays on. v3.7 sees the scaled balance
    consumed: D2 is written off as deficit and the flag is cleared."""
    c = A.Reserve("C", 0, 10**8, 7000, 8000, 10500, 0, liquidity_index=25 * 10**26)
    d1 = A.Reserve("D1", 0, 10**8, 7000, 8000, 10500, 0)
    d2 = A.Reserve("D2", 0, 10**8, 7000, 8000, 10500, 0)
    m = A.Market((c, d1, d2))
    user = A.User((421, 0, 0), (0, 1001, 5000), (True, False, False))
    assert A.collateral_balance(m, user, 0) == 1052
    r = {v: A.liquidation_call(v, m, user, 0, 1, A.UINT256_MAX) for v in A.VERSIONS}
    for v in A.VERSIONS:
        assert (r[v].debt_repaid, r[v].collateral_to_liquidator) == (1001, 1051)
        assert r[v].user_after.scaled_collateral == (0, 0, 0)
    for v in (V35, V36):
        assert not r[v].has_no_collateral_left and r[v].deficit == (0, 0, 0)
        assert r[v].user_after.scaled_debt == (0, 0, 5000) and r[v].user_after.collateral_enabled[0]
    assert r[V37].has_no_collateral_left and r[V37].deficit == (0, 0, 5000)
    assert r[V37].user_after.scaled_debt == (0, 0, 0) and not r[V37].user_after.collateral_enabled[0]


def test_lt0_collateral_counts_from_v36() -> None:
    """Reserve LT 0: v3.5 leaves it out of TC and refuses to liquidate it; v3.6/v3.7 count it
    in TC (weight 0) and liquidate it -- with bonus 0 nothing is seized."""
    m = G.lt0_market(False)
    user = A.User((10 * E18, 5 * 10**7, 0), (0, 0, 30000 * E6), (True, True, False))
    tc = {v: A.calculate_user_account_data(v, m, user).total_collateral_base for v in A.VERSIONS}
    assert tc == {V35: 30000 * 10**8, V36: 50000 * 10**8, V37: 50000 * 10**8}
    hf = {A.calculate_user_account_data(v, m, user).health_factor for v in A.VERSIONS}
    assert hf == {8 * 10**17}
    with pytest.raises(A.CollateralCannotBeLiquidated):
        A.liquidation_call(V35, m, user, 0, 2, 1000 * E6, receive_atoken=True)
    for v in (V36, V37):
        r = A.liquidation_call(v, m, user, 0, 2, 1000 * E6, receive_atoken=True)
        assert (r.debt_repaid, r.collateral_to_liquidator, r.protocol_fee) == (1000 * E6, 0, 0)
        with pytest.raises(A.InvalidBurnAmount):
            A.liquidation_call(v, m, user, 0, 2, 1000 * E6, receive_atoken=False)


def test_lt0_collateral_changes_deficit_detection() -> None:
    """Seizing all of the LT>0 collateral: v3.5's TC ignores the LT-0 collateral, so it books the
    rest of the debt as deficit although 10 Z remain; v3.6/v3.7 do not."""
    m = G.lt0_market(False)
    user = A.User((10 * E18, 5 * 10**7, 0), (0, 0, 30000 * E6), (True, True, False))
    r = {v: A.liquidation_call(v, m, user, 1, 2, A.UINT256_MAX) for v in A.VERSIONS}
    # all 0.5 G ($30000) for percentDivCeil(30000e6, 10500) = 28571.428572 USDC
    assert {r[v].debt_repaid for v in A.VERSIONS} == {28571428572}
    assert r[V35].has_no_collateral_left and r[V35].deficit == (0, 0, 30000 * E6 - 28571428572)
    assert r[V35].user_after.scaled_debt == (0, 0, 0)
    for v in (V36, V37):
        assert not r[v].has_no_collateral_left and r[v].deficit == (0, 0, 0)
        assert r[v].user_after.scaled_debt == (0, 0, 30000 * E6 - 28571428572)
    assert all(r[v].user_after.scaled_collateral[0] == 10 * E18 for v in A.VERSIONS)


def test_lt0_collateral_in_emode() -> None:
    """LT 0 outside eMode, LT 9000 / bonus 10100 inside (v3.6 "collateral only in eMode"):
    v3.5 ignores it (TC 0, HF 0, CollateralCannotBeLiquidated), v3.6/v3.7 use the eMode values."""
    m = G.lt0_market(True)
    user = A.User((10 * E18, 0, 0), (0, 0, 19000 * E6), (True, False, False), emode_category=1)
    a5 = A.calculate_user_account_data(V35, m, user)
    assert (a5.total_collateral_base, a5.health_factor) == (0, 0)
    with pytest.raises(A.CollateralCannotBeLiquidated):
        A.liquidation_call(V35, m, user, 0, 2, 5000 * E6)
    for v in (V36, V37):
        a = A.calculate_user_account_data(v, m, user)
        assert (a.total_collateral_base, a.avg_liquidation_threshold, a.avg_ltv) == (20000 * 10**8, 9000, 8500)
        r = A.liquidation_call(v, m, user, 0, 2, 5000 * E6)
        assert r.liquidation_bonus == 10100
        assert r.collateral_to_liquidator == 25 * 10**17 * 10100 // 10**4  # 2.525 Z
        assert r.collateral_to_liquidator == 2525 * 10**15


def test_emode_ltv_rules_by_version() -> None:
    """User LTV (not HF): v3.5 keeps reserve LTV 0 at 0 even inside eMode; v3.6 takes the eMode
    LTV unless the reserve is in ltvzeroBitmap; v3.7 also zeroes reserves outside the bitmap of
    an isolated eMode."""
    r0 = A.Reserve("R0", 18, 10**8, 0, 8000, 10500)  # LTV 0 outside eMode
    r1 = A.Reserve("R1", 18, 10**8, 7000, 8000, 10500)  # not in the eMode
    r2 = A.Reserve("R2", 18, 10**8, 7000, 8000, 10500)  # in the eMode, ltv-zero there
    cat = A.EModeCategory(9000, 9300, 10100, collateral_bitmap=0b101, ltvzero_bitmap=0b100, isolated=True)
    m = A.Market((r0, r1, r2), {1: cat})
    ltv = {v: [A.get_user_reserve_ltv(v, m, i, 1) for i in range(3)] for v in (V36, V37)}
    assert ltv == {V36: [9000, 7000, 0], V37: [9000, 0, 0]}
    user = A.User((E18, E18, E18), (0, 0, 0), (True, True, True), emode_category=1)
    avg = {v: A.calculate_user_account_data(v, m, user) for v in A.VERSIONS}
    assert avg[V35].avg_ltv == (7000 + 9000) // 3 and avg[V35].has_zero_ltv_collateral  # R0 zero, R2 eMode 9000
    assert avg[V36].avg_ltv == (9000 + 7000) // 3 and avg[V36].has_zero_ltv_collateral
    assert avg[V37].avg_ltv == 9000 // 3
    assert {a.avg_liquidation_threshold for a in avg.values()} == {(9300 + 8000 + 9300) // 3}


def test_scaled_balances_round_against_the_user() -> None:
    """aToken balance rayMulFloor, debt rayMulCeil; liquidation burns collateral with rayDivCeil
    and debt with rayDivFloor (TokenMath, all versions)."""
    idx = 15 * 10**26
    assert A.get_atoken_balance(3, idx) == 4 and A.get_vtoken_balance(3, idx) == 5
    assert A.get_atoken_burn_scaled_amount(4, idx) == 3 and A.get_vtoken_burn_scaled_amount(4, idx) == 2
    c = A.Reserve("C", 0, 10**8, 7000, 8000, 10500, 0, liquidity_index=idx)
    d = A.Reserve("D", 0, 10**8, 7000, 8000, 10500, 0, variable_borrow_index=idx)
    m = A.Market((c, d))
    user = A.User((3334, 0), (0, 2867), (True, False))  # 5001 C, 4301 (= ceil 4300.5) D
    assert (A.collateral_balance(m, user, 0), A.debt_balance(m, user, 1)) == (5001, 4301)
    r = A.liquidation_call(V35, m, user, 0, 1, 1001)
    assert r.collateral_to_liquidator == 1051 and r.scaled_to_liquidator == 701  # ceil(1051 / 1.5)
    assert r.user_after.scaled_collateral[0] == 3334 - 701
    assert r.user_after.scaled_debt[1] == 2867 - 667  # floor(1001 / 1.5)


def test_zero_debt_to_cover_reverts_with_invalid_burn_amount() -> None:
    """Pool.liquidationCall has no InvalidAmount check: a zero cover dies in the vToken burn."""
    m = unit_market()
    user = A.User((5000, 0), (0, 4300), (True, False))
    for v in A.VERSIONS:
        with pytest.raises(A.InvalidBurnAmount):
            A.liquidation_call(v, m, user, 0, 1, 0)


# ---------------------------------------------------------------------------------------------
# Boundary cases
# ---------------------------------------------------------------------------------------------

BOUNDARY = G.aave_boundary_cases()


@pytest.mark.parametrize("case", BOUNDARY, ids=[c.name for c in BOUNDARY])
def test_boundary_verdicts(case: G.AaveCase) -> None:
    assert case.expect
    for version, verdict in case.expect.items():
        assert verdict.check(case.expected[version]) == [], (case.name, version)


def test_boundary_cover_every_listed_edge() -> None:
    names = " ".join(c.name for c in BOUNDARY)
    one, cf = A.HEALTH_FACTOR_LIQUIDATION_THRESHOLD, A.CLOSE_FACTOR_HF_THRESHOLD
    for needle in (
        f"hf={one - 1}",
        f"hf={one}",
        f"hf={one + 1}",
        f"close-factor-hf={cf - 1}",
        f"close-factor-hf={cf}",
        f"close-factor-hf={cf + 1}",
        "close-factor-collateral=199999999999",
        "close-factor-collateral=200000000000",
        "close-factor-collateral=200000000001",
        "close-factor-debt=199999999999",
        "close-factor-debt=200000000001",
        "dust-debt=99999999999",
        "dust-debt=100000000000",
        "dust-collateral=99999999999",
        "dust-collateral=100000000001",
        "lt0-collateral",
    ):
        assert needle in names, needle


# ---------------------------------------------------------------------------------------------
# Math against exact rational definitions
# ---------------------------------------------------------------------------------------------


def _floor(q: Fraction) -> int:
    return q.numerator // q.denominator


def _ceil(q: Fraction) -> int:
    return -(-q.numerator // q.denominator)


def _half_up(q: Fraction) -> int:
    return _floor(q + Fraction(1, 2))


def test_rounding_primitives_match_their_definitions() -> None:
    rng = random.Random(5)
    for _ in range(G.case_count(2000, 50000)):
        a = rng.choice([rng.randrange(0, 10**30), rng.randrange(0, 100)])
        b = rng.choice([rng.randrange(1, 10**30), rng.randrange(1, 100)])
        p = rng.randrange(1, 20000)
        assert A.wad_div(a, b) == _half_up(Fraction(a * A.WAD, b))
        assert A.ray_mul_floor(a, b) == _floor(Fraction(a * b, RAY))
        assert A.ray_mul_ceil(a, b) == _ceil(Fraction(a * b, RAY))
        assert A.ray_div_floor(a, b) == _floor(Fraction(a * RAY, b))
        assert A.ray_div_ceil(a, b) == _ceil(Fraction(a * RAY, b))
        assert A.percent_mul(a, p) == _half_up(Fraction(a * p, 10**4))
        assert A.percent_mul_floor(a, p) == _floor(Fraction(a * p, 10**4))
        assert A.percent_mul_ceil(a, p) == _ceil(Fraction(a * p, 10**4))
        assert A.percent_div(a, p) == _half_up(Fraction(a * 10**4, p))  # + p // 2 is half up for odd p too
        assert A.percent_div_floor(a, p) == _floor(Fraction(a * 10**4, p))
        assert A.percent_div_ceil(a, p) == _ceil(Fraction(a * 10**4, p))
        assert A.mul_div_ceil(a, b, p) == _ceil(Fraction(a * b, p))
        s = rng.randrange(-(10**20), 10**20)
        assert D.quo(s, p) == int(Fraction(s, p))  # int() truncates toward zero
        assert D.euclid_div(s, p) == _floor(Fraction(s, p))
        assert D.big_div_ceil(s, p) == _ceil(Fraction(s, p))  # truncation is the ceiling below zero


def test_overflow_and_zero_division_revert() -> None:
    with pytest.raises(A.BareRevert):
        A.percent_div(1, 0)
    with pytest.raises(A.BareRevert):
        A.wad_div(1, 0)
    with pytest.raises(A.BareRevert):
        A.ray_mul_floor(2**200, 2**100)
    assert A.percent_mul(5, 0) == 0  # percentage 0 passes the assembly guard


# ---------------------------------------------------------------------------------------------
# Random cases: invariants of the reference itself
# ---------------------------------------------------------------------------------------------


def _lt0_collateral_in_play(case: G.AaveCase) -> bool:
    m, u = case.market, case.user
    return any(u.collateral_enabled[i] and r.liquidation_threshold == 0 for i, r in enumerate(m.reserves))


def _without_ltv(out: G.AaveOutcome) -> G.AaveOutcome:
    def strip(a: A.AccountData) -> A.AccountData:
        return replace(a, avg_ltv=0, has_zero_ltv_collateral=False)

    r = None if out.result is None else replace(out.result, account_before=strip(out.result.account_before))
    return G.AaveOutcome(strip(out.account), r, out.revert)


def test_random_aave_invariants() -> None:
    n = G.case_count(400, 20000)
    seen_ok = 0
    for case in G.random_aave_cases(11, n):
        m, u, call = case.market, case.user, case.call
        outs = case.expected
        # GenericLogic is the same in v3.6 and v3.7 except the LTV
        a6, a7 = outs[V36].account, outs[V37].account
        assert (a6.total_collateral_base, a6.total_debt_base, a6.health_factor, a6.avg_liquidation_threshold) == (
            a7.total_collateral_base,
            a7.total_debt_base,
            a7.health_factor,
            a7.avg_liquidation_threshold,
        )
        # v3.5 and v3.6 agree on everything but the LTV when no LT-0 collateral is enabled
        if not _lt0_collateral_in_play(case):
            assert _without_ltv(outs[V35]) == _without_ltv(outs[V36]), case.name
        for v, out in outs.items():
            if not out.liquidatable:
                assert out.revert == "HealthFactorNotBelowThreshold"
                continue
            assert out.revert != "HealthFactorNotBelowThreshold"
            r = out.result
            if r is None:
                continue
            seen_ok += 1
            c, d = m.reserves[call.collateral], m.reserves[call.debt]
            bal = A.collateral_balance(m, u, call.collateral)
            debt = A.debt_balance(m, u, call.debt)
            assert 0 <= r.collateral_to_liquidator and r.collateral_to_liquidator + r.protocol_fee <= bal
            assert r.debt_repaid <= debt
            if r.close_factor_applied:
                assert r.debt_repaid <= r.max_liquidatable_debt
            sc_before, sc_after = u.scaled_collateral[call.collateral], r.user_after.scaled_collateral[call.collateral]
            assert sc_before - sc_after == r.scaled_to_liquidator + r.scaled_to_treasury
            if r.has_no_collateral_left:
                assert all(s == 0 for s in r.user_after.scaled_debt)
                assert sum(r.deficit) == sum(A.debt_balance(m, u, j) for j in range(len(m.reserves))) - r.debt_repaid
            else:
                assert r.deficit == (0,) * len(m.reserves)
                assert r.user_after.scaled_debt[call.debt] == u.scaled_debt[
                    call.debt
                ] - A.get_vtoken_burn_scaled_amount(r.debt_repaid, d.variable_borrow_index)
            # when the balance does not cap it, the seizure (with fee) is the repaid value x bonus,
            # floored in v3.7, at most one wei above in v3.5/v3.6 (half up)
            seized = r.collateral_to_liquidator + r.protocol_fee
            if r.debt_repaid == min(call.debt_to_cover, r.max_liquidatable_debt) and seized < bal:
                exact = Fraction(r.debt_repaid * d.price * c.unit, c.price * d.unit) * r.liquidation_bonus / 10**4
                assert seized <= _floor(exact) + (0 if v == V37 else 1)
    assert seen_ok > n // 10


# ---------------------------------------------------------------------------------------------
# dYdX
# ---------------------------------------------------------------------------------------------


def test_dydx_mmr_zero_is_never_liquidatable() -> None:
    cases = G.dydx_boundary_cases()
    assert any(c.name.startswith("mmr0") for c in cases)
    for c in cases:
        if c.risk.mmr == 0:
            assert not c.liquidatable, c.name
        if c.expect_liquidatable is not None:
            assert c.liquidatable == c.expect_liquidatable, c.name
    # and on random accounts: NC far below zero does not matter without margin requirement
    for c in G.random_dydx_cases(3, G.case_count(300, 20000)):
        assert c.liquidatable == (c.risk.mmr > 0 and c.risk.nc < c.risk.mmr)
        if c.risk.mmr == 0:
            assert not c.liquidatable


def test_dydx_equity_equal_to_mm_is_not_liquidatable() -> None:
    cases = [c for c in G.dydx_boundary_cases() if c.name.startswith("tnc=mmr")]
    assert cases
    for c in cases:
        delta = c.risk.nc - c.risk.mmr
        assert c.liquidatable == (delta < 0)


def test_dydx_upstream_vectors() -> None:
    """Vectors from the upstream tests at protocol/v9.6.1 (protocol/lib/quantums_test.go:21-90,
    x/perpetuals/lib/lib_test.go:40-127 and :324-468)."""
    for q, ar, p, e, want in [
        (1, -6, 1, 1, 10),
        (-100, -6, 1, 1, -1000),
        (5_000_000, -6, 7, -5, 350),
        (5_000_000, -6, 7, 0, 35_000_000),
        (5_000_000, -8, 7, 0, 350_000),
        (5_000_000, -4, 7, 1, 35_000_000_000),
        (9, -8, 1, 1, 0),
        (-9, -8, 1, 1, 0),
        (2**64 - 1, -6, 2, 0, 36893488147419103230),
        (-(2**64 - 1), -6, 2, 0, -36893488147419103230),
    ]:
        assert D.base_to_quote_quantums(q, ar, p, e) == want
    for now, q, idx, want in [
        (4_000_000_000, 1_000_000, 4_000_000_000, 0),
        (123_456_789_123, 1_000_000, 100_000_000_000, -23_456_789_123_000_000),
        (123_456_789_123, -1_000_000, 100_000_000_000, 23_456_789_123_000_000),
        (-123_456_789_123, 1_000_000, -100_000_000_000, 23_456_789_123_000_000),
        (100, 30_000, -100, -6_000_000),
        (0, 10_000_000, 100, 1_000_000_000),
        (-200, 10_000_000, 100, 3_000_000_000),
        (100, -30_000, -100, 6_000_000),
        (0, -5_000_000, 100, -500_000_000),
        (-50, -5_000_000, 100, -750_000_000),
    ]:
        perp = D.Perpetual(0, -6, 1, 0, D.LiquidityTier(0, 0), funding_index=now)
        assert D.get_settlement_ppm(perp, q, idx)[0] == want
    tier = D.LiquidityTier(200_000, 500_000)
    oi_tier = D.LiquidityTier(200_000, 500_000, 1_000_000_000_000, 2_000_000_000_000)
    for t, q, imr, mmr in [
        (tier, 0, 0, 0),
        (tier, 1, 2469135782460000, 1234567891230000),
        (oi_tier, 1, 12345678912300000, 1234567891230000),
        (tier, -1, 2469135782460000, 1234567891230000),
        (oi_tier, -1, 12345678912300000, 1234567891230000),
    ]:
        perp = D.Perpetual(0, 4, 123_456_789_123, -5, t, open_interest=1_000_000_000_000)
        assert D.get_margin_requirements(perp, q) == (imr, mmr)
    for p, e, ar, q, imf, mmf, imr, mmr in [
        (55_550, -1, -4, 7_000, 10_000, 500_000, 38_885_000, 19_442_500),
        (42_000_000, -2, -6, -5_000, 10_000, 500_000, 21_000_000, 10_500_000),
        (55_550, -1, -6, 7_000, 1_000_000, 1_000_000, 38_885_000, 38_885_000),
        (55_550, -1, -6, 7_000, 10_000, 1_000_000, 388_850, 388_850),
        (55_550, -1, -6, 7_000, 0, 1_000_000, 0, 0),
    ]:
        perp = D.Perpetual(0, ar, p, e, D.LiquidityTier(imf, mmf))
        assert D.get_margin_requirements(perp, q) == (imr, mmr)


def test_dydx_risk_for_subaccount_upstream_vector() -> None:
    """x/subaccounts/lib/updates_test.go:140-159 with testutil CreatePerpInfo (IMF 10%, MMF 50%)."""
    tier = D.LiquidityTier(100_000, 500_000)
    perps = {1: D.Perpetual(1, -6, 100, 0, tier), 2: D.Perpetual(2, -6, 200, 0, tier)}
    sub = D.Subaccount(110, (D.PerpetualPosition(1, 100), D.PerpetualPosition(2, -25)))
    assert D.get_risk_for_subaccount(sub, perps) == D.Risk(
        (100 * 100 + 100) + (-25 * 200 + 10), 100 * 100 // 10 + 25 * 200 // 10, 500 + 250
    )


def test_dydx_funding_settles_once_over_the_sum() -> None:
    """Two positions each owing half a quote quantum pay one quantum, not two: the ppm
    settlements are summed and floored once (updates.go:73-78)."""
    tier = D.LiquidityTier(50_000, 600_000)
    perps = {0: D.Perpetual(0, -6, 1, 0, tier, funding_index=5), 1: D.Perpetual(1, -6, 1, 0, tier, funding_index=5)}
    sub = D.Subaccount(0, (D.PerpetualPosition(0, 100_000, 0), D.PerpetualPosition(1, 100_000, 0)))
    settled, payments = D.get_settled_subaccount(sub, perps)
    assert settled.usdc_quantums == -1  # floor(-1_000_000 / 1e6)
    assert payments == {0: 1, 1: 1}  # per perpetual, the indexer sees -floor(-0.5) = 1 each
    short = D.Subaccount(0, (D.PerpetualPosition(0, -100_001, 0),))
    assert D.get_settled_subaccount(short, perps)[0].usdc_quantums == 0  # +500_005 ppm floors to 0


def test_dydx_short_notional_truncates_toward_zero() -> None:
    """A short's notional rounds up (toward zero, in the trader's favour); |notional| for the
    margin rounds down; MMR = ceil(ceil(|N| * IMF) * MMF)."""
    perp = D.Perpetual(0, -9, 123_456_789, -5, D.LiquidityTier(50_000, 600_000))
    # -7 base quantums x 1234.56789 USD per 1e9 = -0.00864 USDC = -8.64 quote quantums
    assert D.get_net_notional(perp, -7) == -8 and D.get_net_notional(perp, 7) == 8
    imr, mmr = D.get_margin_requirements(perp, -7)
    assert (imr, mmr) == (1, 1)  # ceil(8 * 0.05) = 1, ceil(1 * 0.6) = 1
    big = -(10**12)
    n = D.get_net_notional(perp, big)
    assert n == -1234567890000
    assert D.get_margin_requirements(perp, big) == (61728394500, 37037036700)
