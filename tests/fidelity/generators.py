"""Seeded cases for the fidelity references, each with the references' answers.

* ``random_aave_cases(seed, n)``: random markets (decimals 0..18, prices 1e-8..1e5 USD, LT / LTV /
  bonus / protocol fee in the ranges PoolConfigurator accepts, indexes 1..3 ray, eMode categories,
  isolated assets), random users (scaled balances, collateral flags, eMode) and random
  liquidationCall arguments; ``expected`` holds the outcome under every Aave version.
* ``aave_boundary_cases()``: positions built to sit exactly on each boundary of the issue -- HF = 1e18
  and 1e18 +/- 1, HF = 0.95e18 +/- 1, liquidated collateral / debt worth 2000e8 +/- 1 (close factor),
  leftovers of 1000e8 +/- 1 (dust), LT-0 collateral -- with the verdict each must get (``expect``).
* ``random_dydx_cases`` / ``dydx_boundary_cases``: subaccounts with random perpetuals, and
  accounts with MMR = 0, TNC = MMR, TNC = MMR - 1, TNC = MMR + 1.

``case_count(sample, full)``: ``full`` when the environment sets ``ZKMARGIN_FIDELITY=full`` (the
``make fidelity`` run), else ``sample`` (the ``make test`` run).
"""

from __future__ import annotations

import math
import os
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

from . import aave_ref as A
from . import dydx_ref as D

RAY = A.RAY
UINT256_MAX = A.UINT256_MAX
FULL_ENV = "ZKMARGIN_FIDELITY"


def case_count(sample: int, full: int) -> int:
    return full if os.environ.get(FULL_ENV, "").strip().lower() == "full" else sample


# --------------------------------------------------------------------------------------------
# Aave: outcomes
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AaveCall:
    collateral: int
    debt: int
    debt_to_cover: int
    receive_atoken: bool = False


@dataclass(frozen=True)
class AaveOutcome:
    """What the reference answers for one version: the account data and either the
    liquidation's effects or the name of the revert."""

    account: A.AccountData
    result: A.LiquidationResult | None
    revert: str | None

    @property
    def liquidatable(self) -> bool:
        return self.account.health_factor < A.HEALTH_FACTOR_LIQUIDATION_THRESHOLD


def run_aave(version: A.Version, market: A.Market, user: A.User, call: AaveCall) -> AaveOutcome:
    account = A.calculate_user_account_data(version, market, user)
    try:
        res = A.liquidation_call(
            version, market, user, call.collateral, call.debt, call.debt_to_cover, call.receive_atoken
        )
    except A.AaveRevert as e:
        return AaveOutcome(account, None, e.name)
    return AaveOutcome(account, res, None)


@dataclass(frozen=True)
class Verdict:
    """What a boundary case is built to show; None fields are not part of the claim."""

    revert: str | None = None  # "" = must succeed, a name = must revert with it
    health_factor: int | None = None
    close_factor: bool | None = None
    deficit: bool | None = None  # some debt written off
    collateral_to_liquidator: int | None = None

    def check(self, out: AaveOutcome) -> list[str]:
        bad: list[str] = []
        if self.health_factor is not None and out.account.health_factor != self.health_factor:
            bad.append(f"HF {out.account.health_factor} != {self.health_factor}")
        if self.revert is not None:
            got = out.revert or ""
            if got != self.revert:
                bad.append(f"revert {got!r} != {self.revert!r}")
        r = out.result
        if self.close_factor is not None and (r is None or r.close_factor_applied != self.close_factor):
            bad.append(f"close factor {None if r is None else r.close_factor_applied} != {self.close_factor}")
        if self.deficit is not None and (r is None or (sum(r.deficit) > 0) != self.deficit):
            bad.append(f"deficit {None if r is None else r.deficit} != {self.deficit}")
        if self.collateral_to_liquidator is not None and (
            r is None or r.collateral_to_liquidator != self.collateral_to_liquidator
        ):
            bad.append(
                f"collateral {None if r is None else r.collateral_to_liquidator} != {self.collateral_to_liquidator}"
            )
        return bad


@dataclass(frozen=True)
class AaveCase:
    name: str
    market: A.Market
    user: A.User
    call: AaveCall
    expected: dict[A.Version, AaveOutcome]
    expect: dict[A.Version, Verdict] = field(default_factory=dict)


def _case(
    name: str, market: A.Market, user: A.User, call: AaveCall, expect: dict[A.Version, Verdict] | None = None
) -> AaveCase:
    return AaveCase(name, market, user, call, {v: run_aave(v, market, user, call) for v in A.VERSIONS}, expect or {})


# --------------------------------------------------------------------------------------------
# Aave: legal parameters (PoolConfigurator at all three pins)
# --------------------------------------------------------------------------------------------


def max_legal_bonus(lt: int) -> int:
    """Largest bonus with percentMul(lt, bonus) <= 1e4 (PoolConfigurator.configureReserveAsCollateral,
    v3.5.0 :137-147 / v3.6.0 :137-147 / v3.7 :131-141; setEModeCategory likewise)."""
    return (A.PERCENTAGE_FACTOR**2 + A.HALF_PERCENTAGE_FACTOR - 1) // lt


def _legal_lt_bonus(rng: random.Random, lt: int | None = None) -> tuple[int, int]:
    if lt is None:
        lt = rng.choice([rng.randint(1, 9500), 7500, 7800, 8000, 8250, 8600, 9300, 9500, 5000])
    hi = min(max_legal_bonus(lt), 15000)
    bonus = rng.choice([rng.randint(10001, hi), min(10500, hi), min(10450, hi), 10001, hi])
    return lt, bonus


def _log_uniform(rng: random.Random, lo: float, hi: float) -> int:
    return max(1, int(10 ** rng.uniform(math.log10(lo), math.log10(hi))))


def _index(rng: random.Random) -> int:
    k = rng.random()
    if k < 0.3:
        return RAY
    if k < 0.6:
        return RAY + rng.randrange(0, 10**26)
    return rng.randint(RAY, 3 * RAY)


def random_reserve(rng: random.Random, symbol: str) -> A.Reserve:
    decimals = rng.choice([rng.randint(0, 18), 6, 8, 18])
    price = rng.choice([_log_uniform(rng, 1, 1e13), 10**8, 2500 * 10**8, 60000 * 10**8])
    if rng.random() < 0.1:
        lt, bonus, ltv = 0, 0, 0
    else:
        lt, bonus = _legal_lt_bonus(rng)
        ltv = 0 if rng.random() < 0.1 else rng.randint(0, lt)
    fee = rng.choice([0, 1000, 2000, 5000, 10000, rng.randint(0, 10000)])
    ceiling = rng.randint(1, 10**10) if rng.random() < 0.08 else 0
    return A.Reserve(
        symbol,
        decimals,
        price,
        ltv,
        lt,
        bonus,
        fee,
        _index(rng),
        _index(rng),
        ceiling,
        rng.randint(0, 10**10) if ceiling else 0,
    )


def random_emodes(rng: random.Random, n: int) -> dict[int, A.EModeCategory]:
    out: dict[int, A.EModeCategory] = {}
    for cid in range(1, rng.randint(0, 2) + 1):
        lt, bonus = _legal_lt_bonus(rng, rng.randint(5000, 9700))
        coll = sum(1 << i for i in range(n) if rng.random() < 0.5)
        out[cid] = A.EModeCategory(
            ltv=rng.randint(1, lt),
            liquidation_threshold=lt,
            liquidation_bonus=bonus,
            collateral_bitmap=coll,
            borrowable_bitmap=sum(1 << i for i in range(n) if rng.random() < 0.5),
            ltvzero_bitmap=coll & sum(1 << i for i in range(n) if rng.random() < 0.2),
            isolated=rng.random() < 0.3,
        )
    return out


def _amount_for_value(value: int, r: A.Reserve) -> int:
    return value * r.unit // r.price


def random_user(rng: random.Random, market: A.Market) -> A.User:
    n = len(market.reserves)
    tiny = rng.random() < 0.05
    scaled_c: list[int] = []
    flags: list[bool] = []
    for r in market.reserves:
        if rng.random() < 0.6:
            value = rng.randint(0, 10**4) if tiny else _log_uniform(rng, 1e2, 1e15)
            s = min(A.ray_div_floor(_amount_for_value(value, r), r.liquidity_index), A.UINT120_MAX)
        else:
            s = 0
        scaled_c.append(s)
        flags.append(rng.random() < (0.85 if s else 0.05))
    cats = [0, *market.emode_categories]
    user = A.User(tuple(scaled_c), (0,) * n, tuple(flags), rng.choice(cats))
    # debt sized for a target health factor around 1 (W as v3.6 counts it)
    w = _weighted_collateral(market, user)
    target_hf = math.exp(rng.uniform(math.log(0.3), math.log(1.6)))
    td = int(w / (10**4 * target_hf)) if w else _log_uniform(rng, 1e2, 1e14)
    if tiny:
        td = rng.randint(0, 10**4)
    debt_idx = rng.sample(range(n), rng.randint(1, min(3, n)))
    weights = [rng.random() + 0.05 for _ in debt_idx]
    scaled_d = [0] * n
    for j, wgt in zip(debt_idx, weights, strict=True):
        r = market.reserves[j]
        amount = _amount_for_value(int(td * wgt / sum(weights)), r)
        scaled_d[j] = min(A.ray_div_floor(amount, r.variable_borrow_index), A.UINT120_MAX)
    return A.User(tuple(scaled_c), tuple(scaled_d), tuple(flags), user.emode_category)


def _weighted_collateral(market: A.Market, user: A.User) -> int:
    emode = market.emode(user.emode_category)
    w = 0
    for i, r in enumerate(market.reserves):
        if user.collateral_enabled[i]:
            lt = (
                emode.liquidation_threshold
                if (user.emode_category and (emode.collateral_bitmap >> i) & 1)
                else r.liquidation_threshold
            )
            w += A.collateral_balance(market, user, i) * r.price // r.unit * lt
    return w


def random_call(rng: random.Random, market: A.Market, user: A.User) -> AaveCall:
    n = len(market.reserves)
    colls = [i for i in range(n) if user.collateral_enabled[i]]
    debts = [j for j in range(n) if user.scaled_debt[j] > 0]
    c = rng.choice(colls) if colls and rng.random() < 0.85 else rng.randrange(n)
    d = rng.choice(debts) if debts and rng.random() < 0.9 else rng.randrange(n)
    debt = A.debt_balance(market, user, d)
    k = rng.random()
    if k < 0.25:
        dtc = UINT256_MAX
    elif k < 0.35:
        dtc = debt
    elif k < 0.75:
        dtc = int(debt * rng.random())
    elif k < 0.85:
        dtc = rng.randint(0, 10**6)
    elif k < 0.9:
        dtc = rng.choice([0, 1])
    else:
        dtc = debt + rng.randint(1, 10**12)
    return AaveCall(c, d, dtc, rng.random() < 0.3)


def random_market(rng: random.Random) -> A.Market:
    n = rng.randint(1, 6)
    return A.Market(tuple(random_reserve(rng, f"R{i}") for i in range(n)), random_emodes(rng, n))


def random_aave_cases(seed: int, n: int) -> Iterator[AaveCase]:
    rng = random.Random(seed)
    for k in range(n):
        market = random_market(rng)
        user = random_user(rng, market)
        yield _case(f"random-{seed}-{k}", market, user, random_call(rng, market, user))


# --------------------------------------------------------------------------------------------
# Aave: exact constructions
# --------------------------------------------------------------------------------------------


def _search(f: Callable[[int], int], target: int, hi: int) -> int | None:
    """Smallest x in [0, hi] with f(x) >= target for a non-decreasing f; x if f(x) == target."""
    lo = 0
    if f(hi) < target:
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if f(mid) >= target:
            hi = mid
        else:
            lo = mid + 1
    return lo if f(lo) == target else None


def scaled_for_collateral_value(r: A.Reserve, value: int) -> int | None:
    """A scaled aToken balance worth exactly ``value`` (base units) in GenericLogic, if one exists."""

    def f(s: int) -> int:
        return A.ray_mul_floor(s, r.liquidity_index) * r.price // r.unit

    hi = A.ray_div_ceil(((value + 1) * r.unit) // r.price + 1, r.liquidity_index) + 2
    return _search(f, value, hi)


def scaled_for_collateral_balance(r: A.Reserve, balance: int) -> int | None:
    return _search(
        lambda s: A.ray_mul_floor(s, r.liquidity_index), balance, A.ray_div_ceil(balance, r.liquidity_index) + 2
    )


def scaled_for_debt_value(r: A.Reserve, value: int) -> int | None:
    """A scaled variable-debt balance worth exactly ``value`` (mulDivCeil), if one exists."""

    def f(s: int) -> int:
        return A.mul_div_ceil(A.ray_mul_ceil(s, r.variable_borrow_index), r.price, r.unit)

    hi = A.ray_div_ceil((value * r.unit) // r.price + 2, r.variable_borrow_index) + 2
    return _search(f, value, hi)


def scaled_for_debt_balance(r: A.Reserve, balance: int) -> int | None:
    return _search(
        lambda s: A.ray_mul_ceil(s, r.variable_borrow_index),
        balance,
        A.ray_div_ceil(balance, r.variable_borrow_index) + 2,
    )


def _fine_reserve(rng: random.Random, symbol: str, lt: int, bonus: int, fee: int = 1000) -> A.Reserve:
    """A reserve fine-grained enough that every base value is reachable: one scaled unit is worth
    at most ~1/3 of a base unit (18-decimal-like), with a random index."""
    decimals = rng.randint(12, 18)
    price = rng.randint(10**6, 10**11)
    return A.Reserve(symbol, decimals, price, rng.randint(0, lt), lt, bonus, fee, _index(rng), _index(rng))


def _coprime_lts(rng: random.Random) -> tuple[int, int]:
    while True:
        a, b = rng.randint(5000, 9500), rng.randint(5000, 9500)
        if a != b and math.gcd(a, b) == 1:
            return a, b


def position_at_hf(
    rng: random.Random, target: int, min_debt_base: int = 10**14, coll_share: tuple[float, float] = (0.6, 0.85)
) -> tuple[A.Market, A.User]:
    """A market of two collateral reserves (coprime LTs) and one debt reserve, and a user whose
    health factor is exactly ``target`` (same under every version: all LT > 0, no eMode).

    HF = floor(floor((W * 1e18 + TD // 2) / TD) / 1e4) = h  <=>
    W in [ceil((h*1e4*TD - TD//2) / 1e18), floor(((h+1)*1e4*TD - 1 - TD//2) / 1e18)];
    a debt of at least ~1e14 base units makes that interval non-empty for every h."""
    for _ in range(500):
        lt1, lt2 = _coprime_lts(rng)
        c1 = _fine_reserve(rng, "C1", *_legal_lt_bonus(rng, lt1))
        c2 = _fine_reserve(rng, "C2", *_legal_lt_bonus(rng, lt2))
        d = _fine_reserve(rng, "D", *_legal_lt_bonus(rng, 8000))
        s_d = scaled_for_debt_value(d, rng.randint(min_debt_base, 50 * min_debt_base))
        if s_d is None:
            continue
        td = A.mul_div_ceil(A.ray_mul_ceil(s_d, d.variable_borrow_index), d.price, d.unit)
        w_lo = -(-(target * 10**4 * td - td // 2) // 10**18)
        w_hi = ((target + 1) * 10**4 * td - 1 - td // 2) // 10**18
        if w_lo > w_hi:
            continue
        w = rng.randint(w_lo, w_hi)
        v1 = (w * pow(lt1, -1, lt2)) % lt2
        share = rng.uniform(*coll_share)
        v1 += ((int(w * share / lt1) - v1) // lt2) * lt2
        v2, rem = divmod(w - v1 * lt1, lt2)
        if v1 < 0 or v2 < 0 or rem:
            continue
        s1, s2 = scaled_for_collateral_value(c1, v1), scaled_for_collateral_value(c2, v2)
        if s1 is None or s2 is None:
            continue
        market = A.Market((c1, c2, d))
        user = A.User((s1, s2, 0), (0, 0, s_d), (True, True, False))
        hfs = {A.calculate_user_account_data(v, market, user).health_factor for v in A.VERSIONS}
        if hfs == {target}:
            return market, user
    raise RuntimeError(f"no position at HF {target} found")


def _hf_cases(rng: random.Random) -> list[AaveCase]:
    out: list[AaveCase] = []
    one, cf = A.HEALTH_FACTOR_LIQUIDATION_THRESHOLD, A.CLOSE_FACTOR_HF_THRESHOLD
    for k in range(3):
        for hf, revert in (
            (one - 1, ""),
            (one, "HealthFactorNotBelowThreshold"),
            (one + 1, "HealthFactorNotBelowThreshold"),
        ):
            market, user = position_at_hf(rng, hf)
            call = AaveCall(0, 2, UINT256_MAX, rng.random() < 0.5)
            out.append(
                _case(
                    f"hf={hf}#{k}",
                    market,
                    user,
                    call,
                    {v: Verdict(revert=revert, health_factor=hf) for v in A.VERSIONS},
                )
            )
        for hf, capped in ((cf - 1, False), (cf, False), (cf + 1, True)):
            market, user = position_at_hf(rng, hf)
            call = AaveCall(0, 2, UINT256_MAX, rng.random() < 0.5)
            out.append(
                _case(
                    f"close-factor-hf={hf}#{k}",
                    market,
                    user,
                    call,
                    {v: Verdict(revert="", health_factor=hf, close_factor=capped) for v in A.VERSIONS},
                )
            )
    return out


def _close_factor_value_cases(rng: random.Random) -> list[AaveCase]:
    """The liquidated collateral reserve, or the debt reserve, worth exactly 2000e8 + delta with
    0.95 < HF < 1 and the other side well above 2000e8: the 50% close factor applies iff delta >= 0."""
    out: list[AaveCase] = []
    edge = A.MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD
    for k in range(3):
        for delta in (-1, 0, 1):
            # collateral side: C1 worth edge + delta, C2 big, one debt reserve
            for _ in range(500):
                lt1, b1 = _legal_lt_bonus(rng, rng.randint(7000, 9000))
                c1 = _fine_reserve(rng, "C1", lt1, b1)
                c2 = _fine_reserve(rng, "C2", *_legal_lt_bonus(rng, rng.randint(7000, 9000)))
                d = _fine_reserve(rng, "D", *_legal_lt_bonus(rng, 8000))
                s1 = scaled_for_collateral_value(c1, edge + delta)
                s2 = scaled_for_collateral_value(c2, rng.randint(5000, 50000) * 10**8)
                if s1 is None or s2 is None:
                    continue
                tmp = A.Market((c1, c2, d))
                w = _weighted_collateral(tmp, A.User((s1, s2, 0), (0, 0, 0), (True, True, False)))
                s_d = scaled_for_debt_value(d, int(w / (10**4 * rng.uniform(0.955, 0.995))))
                if s_d is None:
                    continue
                user = A.User((s1, s2, 0), (0, 0, s_d), (True, True, False))
                hf = A.calculate_user_account_data("aave-v3.5", tmp, user).health_factor
                if A.CLOSE_FACTOR_HF_THRESHOLD < hf < A.HEALTH_FACTOR_LIQUIDATION_THRESHOLD:
                    out.append(
                        _case(
                            f"close-factor-collateral={edge + delta}#{k}",
                            tmp,
                            user,
                            AaveCall(0, 2, UINT256_MAX, rng.random() < 0.5),
                            {v: Verdict(revert="", close_factor=delta >= 0) for v in A.VERSIONS},
                        )
                    )
                    break
            else:
                raise RuntimeError("close-factor collateral case not found")
            # debt side: one debt reserve worth edge + delta, one collateral with a low LT
            for _ in range(500):
                c = _fine_reserve(rng, "C", *_legal_lt_bonus(rng, rng.randint(4000, 6000)))
                d = _fine_reserve(rng, "D", *_legal_lt_bonus(rng, 8000))
                s_d = scaled_for_debt_value(d, edge + delta)
                if s_d is None:
                    continue
                s_c = scaled_for_collateral_value(
                    c, int((edge + delta) * 10**4 * rng.uniform(0.955, 0.995)) // c.liquidation_threshold
                )
                if s_c is None:
                    continue
                market = A.Market((c, d))
                user = A.User((s_c, 0), (0, s_d), (True, False))
                hf = A.calculate_user_account_data("aave-v3.5", market, user).health_factor
                if A.CLOSE_FACTOR_HF_THRESHOLD < hf < A.HEALTH_FACTOR_LIQUIDATION_THRESHOLD:
                    out.append(
                        _case(
                            f"close-factor-debt={edge + delta}#{k}",
                            market,
                            user,
                            AaveCall(0, 1, UINT256_MAX, rng.random() < 0.5),
                            {v: Verdict(revert="", close_factor=delta >= 0) for v in A.VERSIONS},
                        )
                    )
                    break
            else:
                raise RuntimeError("close-factor debt case not found")
    return out


def _dust_cases(rng: random.Random) -> list[AaveCase]:
    """Partial liquidations leaving exactly 1000e8 + delta of debt (or of collateral) in base
    currency, the other leftover large and HF <= 0.95 (no close factor): MustNotLeaveDust iff
    delta = -1. Built per version, since the seized collateral depends on the version."""
    out: list[AaveCase] = []
    edge = A.MIN_LEFTOVER_BASE
    for k in range(3):
        for delta in (-1, 0, 1):
            # debt leftover: debt D, cover D - leftover
            for _ in range(500):
                c = _fine_reserve(rng, "C", rng.randint(5000, 7000), 10500)
                d = _fine_reserve(rng, "D", *_legal_lt_bonus(rng, 8000))
                left = scaled_for_debt_value(replace(d, variable_borrow_index=RAY), edge + delta)
                if left is None:
                    continue  # leftover amount, in units (index 1 ray): mulDivCeil(left, P, U) = edge + delta
                total_value = rng.randint(8000, 20000) * 10**8
                s_d = scaled_for_debt_value(d, total_value)
                if s_d is None:
                    continue
                debt = A.ray_mul_ceil(s_d, d.variable_borrow_index)
                if debt <= left:
                    continue
                # collateral worth 1.2..1.3 x the debt (HF <= 0.91), more than the bonus takes
                s_c = scaled_for_collateral_value(c, int(total_value * rng.uniform(1.2, 1.3)))
                if s_c is None:
                    continue
                market = A.Market((c, d))
                user = A.User((s_c, 0), (0, s_d), (True, False))
                call = AaveCall(0, 1, debt - left, rng.random() < 0.5)
                out.append(
                    _case(
                        f"dust-debt={edge + delta}#{k}",
                        market,
                        user,
                        call,
                        {v: Verdict(revert="MustNotLeaveDust" if delta < 0 else "") for v in A.VERSIONS},
                    )
                )
                break
            else:
                raise RuntimeError("dust debt case not found")
            # collateral leftover, per version
            for version in A.VERSIONS:
                for _ in range(500):
                    c = _fine_reserve(rng, "C", *_legal_lt_bonus(rng, rng.randint(7000, 9000)))
                    d = _fine_reserve(rng, "D", *_legal_lt_bonus(rng, 8000))
                    debt_value = rng.randint(8000, 20000) * 10**8
                    s_d = scaled_for_debt_value(d, debt_value)
                    if s_d is None:
                        continue
                    debt = A.ray_mul_ceil(s_d, d.variable_borrow_index)
                    dtc = debt * rng.randint(20, 60) // 100
                    coll, _, fee, _ = A.calculate_available_collateral_to_liquidate(
                        version, c, d, dtc, A.UINT256_MAX, c.liquidation_bonus
                    )
                    left = _search(
                        lambda x: x * c.price // c.unit, edge + delta, ((edge + delta + 1) * c.unit) // c.price + 2
                    )
                    if left is None:
                        continue
                    s_c = scaled_for_collateral_balance(c, coll + fee + left)
                    if s_c is None:
                        continue
                    market = A.Market((c, d))
                    user = A.User((s_c, 0), (0, s_d), (True, False))
                    acct = A.calculate_user_account_data(version, market, user)
                    if acct.health_factor > A.CLOSE_FACTOR_HF_THRESHOLD:
                        continue
                    call = AaveCall(0, 1, dtc, rng.random() < 0.5)
                    out.append(
                        _case(
                            f"dust-collateral={edge + delta}-{version}#{k}",
                            market,
                            user,
                            call,
                            {version: Verdict(revert="MustNotLeaveDust" if delta < 0 else "")},
                        )
                    )
                    break
                else:
                    raise RuntimeError("dust collateral case not found")
    return out


def lt0_market(in_emode: bool, zero_fee: int = 0) -> A.Market:
    """Reserve 0: LT 0 (so bonus 0, as PoolConfigurator requires), reserve 1: LT 8000, reserve 2:
    the debt. With ``in_emode``, eMode category 1 lists reserve 0 as collateral with LT 9000, bonus 10100."""
    zero = A.Reserve("Z", 18, 2000 * 10**8, 0, 0, 0, zero_fee)
    good = A.Reserve("G", 8, 60000 * 10**8, 7000, 8000, 10500, 1000)
    debt = A.Reserve("USDC", 6, 10**8, 7500, 7800, 10450, 1000)
    emodes = (
        {1: A.EModeCategory(8500, 9000, 10100, collateral_bitmap=0b001, borrowable_bitmap=0b100)} if in_emode else {}
    )
    return A.Market((zero, good, debt), emodes)


def _lt0_cases() -> list[AaveCase]:
    out: list[AaveCase] = []
    m = lt0_market(False)
    # 10 Z (LT 0, $20000) + 0.5 G ($30000, LT 8000) against 30000 USDC: HF 0.8 under every version
    user = A.User((10 * 10**18, 5 * 10**7, 0), (0, 0, 30000 * 10**6), (True, True, False))
    for recv in (True, False):
        # bonus 0: nothing is seized; the liquidator pays and, burning, reverts on a zero burn
        later = Verdict(revert="" if recv else "InvalidBurnAmount", collateral_to_liquidator=0 if recv else None)
        out.append(
            _case(
                f"lt0-collateral-receiveAToken={recv}",
                m,
                user,
                AaveCall(0, 2, 1000 * 10**6, recv),
                {"aave-v3.5": Verdict(revert="CollateralCannotBeLiquidated"), "aave-v3.6": later, "aave-v3.7": later},
            )
        )
    # with a protocol fee on the LT-0 reserve, percentDiv(x, bonus = 0) reverts in the assembly
    mf = lt0_market(False, zero_fee=1000)
    out.append(
        _case(
            "lt0-collateral-with-fee",
            mf,
            user,
            AaveCall(0, 2, 1000 * 10**6, True),
            {
                "aave-v3.5": Verdict(revert="CollateralCannotBeLiquidated"),
                "aave-v3.6": Verdict(revert="revert(0,0)"),
                "aave-v3.7": Verdict(revert="revert(0,0)"),
            },
        )
    )
    # liquidating all of G: v3.5 does not count Z in TC, so it sees no collateral left (deficit)
    out.append(
        _case(
            "lt0-collateral-deficit",
            m,
            user,
            AaveCall(1, 2, UINT256_MAX, False),
            {
                "aave-v3.5": Verdict(revert="", deficit=True),
                "aave-v3.6": Verdict(revert="", deficit=False),
                "aave-v3.7": Verdict(revert="", deficit=False),
            },
        )
    )
    # LT 0 outside eMode, LT 9000 inside: v3.6+ count and liquidate it, v3.5 ignores it
    me = lt0_market(True)
    ue = A.User((10 * 10**18, 0, 0), (0, 0, 19000 * 10**6), (True, False, False), emode_category=1)
    out.append(
        _case(
            "lt0-collateral-emode",
            me,
            ue,
            AaveCall(0, 2, 5000 * 10**6, False),
            {
                "aave-v3.5": Verdict(revert="CollateralCannotBeLiquidated", health_factor=0),
                "aave-v3.6": Verdict(revert="", health_factor=947368421052631578),
                "aave-v3.7": Verdict(revert="", health_factor=947368421052631578),
            },
        )
    )
    return out


def aave_boundary_cases(seed: int = 2024) -> list[AaveCase]:
    rng = random.Random(seed)
    return [*_hf_cases(rng), *_close_factor_value_cases(rng), *_dust_cases(rng), *_lt0_cases()]


# --------------------------------------------------------------------------------------------
# dYdX
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DydxCase:
    name: str
    perps: dict[int, D.Perpetual]
    subaccount: D.Subaccount
    risk: D.Risk
    liquidatable: bool
    expect_liquidatable: bool | None = None


def _dydx_case(name: str, perps: dict[int, D.Perpetual], sub: D.Subaccount, expect: bool | None = None) -> DydxCase:
    risk = D.get_net_collateral_and_margin_requirements_for_subaccount(sub, perps)
    return DydxCase(name, perps, sub, risk, risk.is_liquidatable(), expect)


def random_perpetual(rng: random.Random, pid: int) -> D.Perpetual:
    imf = rng.choice([20_000, 50_000, 100_000, 200_000, 1_000_000, rng.randint(0, 1_000_000)])
    mmf = rng.choice([500_000, 600_000, 1_000_000, rng.randint(0, 1_000_000)])
    lower = rng.randint(0, 10**13) if rng.random() < 0.3 else 0
    upper = lower + rng.randint(1, 10**13) if lower or rng.random() < 0.2 else 0
    return D.Perpetual(
        id=pid,
        atomic_resolution=rng.randint(-12, 2),
        price=rng.randint(1, 10**12),
        price_exponent=rng.randint(-12, 0),
        tier=D.LiquidityTier(imf, mmf, lower, upper),
        funding_index=rng.randint(-(10**12), 10**12),
        open_interest=rng.randint(0, 10**14),
    )


def random_subaccount(rng: random.Random, perps: dict[int, D.Perpetual]) -> D.Subaccount:
    positions = []
    for pid, p in perps.items():
        if rng.random() < 0.7:
            q = rng.choice([rng.randint(-(10**12), 10**12), rng.randint(-9, 9)])
            if q == 0:
                continue
            idx = p.funding_index - rng.choice([0, rng.randint(-(10**9), 10**9)])
            positions.append(D.PerpetualPosition(pid, q, idx, rng.choice([0, 0, 0, rng.randint(-(10**6), 10**6)])))
    sub0 = D.Subaccount(0, tuple(positions))
    r = D.get_net_collateral_and_margin_requirements_for_subaccount(sub0, perps)
    # USDC so that TNC lands near MMR: [-2, +2] x MMR around it, sometimes exactly
    usdc = r.mmr - r.nc + int(r.mmr * rng.uniform(-2, 2)) + rng.randint(-3, 3)
    leverage = {pid: rng.randint(0, 1_000_000) for pid in perps if rng.random() < 0.2}
    return D.Subaccount(usdc, tuple(positions), leverage)


def random_dydx_cases(seed: int, n: int) -> Iterator[DydxCase]:
    rng = random.Random(seed)
    for k in range(n):
        perps = {pid: random_perpetual(rng, pid) for pid in range(rng.randint(1, 5))}
        yield _dydx_case(f"dydx-random-{seed}-{k}", perps, random_subaccount(rng, perps))


def dydx_boundary_cases(seed: int = 7) -> list[DydxCase]:
    rng = random.Random(seed)
    out: list[DydxCase] = []
    for k in range(20):
        perps = {pid: random_perpetual(rng, pid) for pid in range(rng.randint(1, 4))}
        # MMR = 0: no positions, or positions too small to be worth one quote quantum
        out.append(_dydx_case(f"mmr0-empty-usdc<0#{k}", perps, D.Subaccount(-rng.randint(1, 10**12)), False))
        p = perps[0]
        tiny = D.PerpetualPosition(0, -1 if k % 2 else 1, p.funding_index)
        if D.get_margin_requirements(p, tiny.quantums)[1] == 0:
            out.append(
                _dydx_case(f"mmr0-dust-position#{k}", perps, D.Subaccount(-rng.randint(1, 10**9), (tiny,)), False)
            )
        zero_tier = D.Perpetual(9, p.atomic_resolution, p.price, p.price_exponent, D.LiquidityTier(0, 500_000))
        perps0 = {**perps, 9: zero_tier}
        out.append(
            _dydx_case(f"mmr0-imf0#{k}", perps0, D.Subaccount(-(10**9), (D.PerpetualPosition(9, 10**12),)), False)
        )
        # TNC = MMR + delta (funding pending, so settlement is part of TNC)
        while True:
            sub = random_subaccount(rng, perps)
            base = D.get_net_collateral_and_margin_requirements_for_subaccount(sub, perps)
            if base.mmr > 0:
                break
        for delta, liq in ((-1, True), (0, False), (1, False)):
            s = D.Subaccount(sub.usdc_quantums + (base.mmr - base.nc) + delta, sub.positions, sub.leverage)
            out.append(_dydx_case(f"tnc=mmr{delta:+d}#{k}", perps, s, liq))
    return out
