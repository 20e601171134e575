"""Independent cross-check of the reference model against @aave/math-utils.

math-utils values every reserve exactly (no rounding of amount * price / 10^decimals), averages
the liquidation threshold to 20 decimal places and divides exactly; zkmargin follows Aave v3.5+
on-chain: collateral values floored, debt values ceiled, wadDiv half up, then /1e4 floored.
Documented difference, per position: with W and D the exact weighted collateral and debt,
n_c collateral reserves and n_d debt reserves,
    HF_exact - HF_zkmargin <= W / (1e4 D) - (W - 1e4 n_c) / (1e4 (D + n_d)) + 1e-18
and zkmargin is never above the exact value by more than 1e-18 (its only upward rounding
is the half-up wadDiv). The liquidatable decisions must agree whenever math-utils' HF is
farther than that bound from 1.
"""

from __future__ import annotations

import random
from decimal import Decimal, getcontext
from fractions import Fraction

from zkmargin.errors import InputError
from zkmargin.limits import AMOUNT_BITS, PRICE_BITS, WAD
from zkmargin.model import Asset, Market, Position, PricePoint, PriceSnapshot, evaluate
from zkmargin.toolchain import Toolchain

from .conftest import node_json

DECIMALS = [6, 8, 18, 0, 2, 12]
EPS = Fraction(1, WAD)


def _random_position(rng: random.Random, i: int) -> tuple[Market, PriceSnapshot, Position]:
    n = rng.randint(1, 8)
    assets = tuple(
        Asset(f"A{k}", rng.choice(DECIMALS), rng.choice([0, 5000, 7500, 8250, 9300, 10000]), 10500) for k in range(n)
    )
    prices = PriceSnapshot(
        {
            a.symbol: PricePoint(
                rng.choice([1, 99_999_999, 10**8, 2500 * 10**8, rng.randrange(1, 2**PRICE_BITS)]), 0, 0
            )
            for a in assets
        }
    )
    style = i % 4

    def amount(a: Asset) -> int:
        if style == 0:  # dust
            return rng.randrange(0, 10)
        if style == 1:  # at the circuit's bit limit (values may then be capped below)
            return rng.randrange(2**AMOUNT_BITS - 2**100, 2**AMOUNT_BITS)
        return rng.randrange(0, 10 ** (a.decimals + 7))

    coll = {a.symbol: amount(a) for a in assets if rng.random() < 0.7}
    debt = {a.symbol: amount(a) for a in assets if rng.random() < 0.5}
    return Market("x", assets), prices, Position(coll, debt, 1)


def _near_one(rng: random.Random) -> tuple[Market, PriceSnapshot, Position]:
    """Positions whose HF sits within a few wei of 1.0: USDC debt tuned against WETH collateral."""
    weth, usdc = Asset("WETH", 18, 8250, 10500), Asset("USDC", 6, 7800, 10450)
    market = Market("near1", (weth, usdc))
    prices = PriceSnapshot(
        {
            "WETH": PricePoint(rng.randrange(1000, 4000) * 10**8 + rng.randrange(10**8), 0, 0),
            "USDC": PricePoint(10**8 + rng.randrange(-(10**5), 10**5), 0, 0),
        }
    )
    coll = rng.randrange(10**17, 10**21)
    w = Fraction(coll * prices.prices["WETH"].price, 10**18) * 8250
    debt_at_one = int(w / 10**4 * 10**6 / prices.prices["USDC"].price)
    debt = debt_at_one + rng.randrange(-3, 4)
    return market, prices, Position({"WETH": coll}, {"USDC": max(debt, 1)}, 1)


def _exact(market: Market, prices: PriceSnapshot, pos: Position) -> tuple[Fraction, Fraction, int, int]:
    w = d = Fraction(0)
    nc = nd = 0
    for a in market.assets:
        p = prices.prices[a.symbol].price
        if pos.collateral.get(a.symbol, 0) and a.liquidation_threshold:
            w += Fraction(pos.collateral[a.symbol] * p, 10**a.decimals) * a.liquidation_threshold
            nc += 1
        if pos.debt.get(a.symbol, 0):
            d += Fraction(pos.debt[a.symbol] * p, 10**a.decimals)
            nd += 1
    return w, d, nc, nd


def _reserves(market: Market, prices: PriceSnapshot, pos: Position) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for a in market.assets:
        p = prices.prices[a.symbol].price
        for kind, book in (("collateral", pos.collateral), ("debt", pos.debt)):
            if book.get(a.symbol, 0):
                out.append(
                    {
                        "balance": str(book[a.symbol]),
                        "price": str(p),
                        "decimals": a.decimals,
                        "lt": a.liquidation_threshold,
                        "kind": kind,
                    }
                )
    return out


def test_math_utils_own_vectors(tc: Toolchain) -> None:
    """The package's test vectors, to show we drive it correctly."""
    res = node_json(
        tc,
        "aave_math.cjs",
        {
            "positions": [],
            "direct": [
                ["100000000000000000", "50000000000000000", "5000"],
                ["100000000000000000", "30000000000000000", "5000"],
            ],
        },
    )
    assert res["direct"] == ["1", "1.66666666666666666667"]


def test_model_agrees_with_math_utils(tc: Toolchain) -> None:
    getcontext().prec = 120
    rng = random.Random(7)
    cases = [_random_position(rng, i) for i in range(240)] + [_near_one(rng) for _ in range(120)]
    # the domain notes' worked example and 200 USDC / 100 USDC / LT 60%
    weth, usdc = Asset("WETH", 18, 8250, 10500), Asset("USDC", 6, 7800, 10450)
    cases.append(
        (
            Market("ex", (weth, usdc)),
            PriceSnapshot({"WETH": PricePoint(2500 * 10**8, 0, 0), "USDC": PricePoint(10**8, 0, 0)}),
            Position({"WETH": 10 * 10**18, "USDC": 5000 * 10**6}, {"USDC": 15000 * 10**6}, 1),
        )
    )
    usdc60 = Asset("USDC", 6, 6000, 10500)
    cases.append(
        (
            Market("ex2", (usdc60,)),
            PriceSnapshot({"USDC": PricePoint(10**8, 0, 0)}),
            Position({"USDC": 200 * 10**6}, {"USDC": 100 * 10**6}, 1),
        )
    )
    usable = []
    for market, prices, pos in cases:
        try:
            health = evaluate(pos, market, prices)
        except InputError:  # values beyond the circuit's 2^128 are refused by design
            continue
        usable.append((market, prices, pos, health))
    assert len(usable) > 300
    res = node_json(tc, "aave_math.cjs", {"positions": [_reserves(m, p, x) for m, p, x, _ in usable], "direct": []})
    compared = decided = 0
    for (market, prices, pos, health), hf_mu_text in zip(usable, res["positions"], strict=True):
        w, d, nc, nd = _exact(market, prices, pos)
        if d == 0:
            assert hf_mu_text == "-1" and not health.is_below(2**64 - 1)  # no debt: never liquidatable
            continue
        hf_mu = Fraction(Decimal(hf_mu_text))
        hf_ours = Fraction(health.health_factor, WAD)
        exact = w / (10**4 * d)
        lower = (w - 10**4 * nc) / (10**4 * (d + nd)) if w > 10**4 * nc else Fraction(0)
        bound = exact - lower + EPS
        assert abs(hf_mu - exact) <= exact * Fraction(1, 10**18) + Fraction(1, 10**20)  # math-utils ~ exact
        assert hf_ours <= hf_mu + 2 * EPS, (hf_ours, hf_mu)
        assert hf_mu - hf_ours <= bound + Fraction(1, 10**19), (float(hf_mu - hf_ours), float(bound))
        compared += 1
        if abs(hf_mu - 1) > bound:
            assert health.is_below(WAD) == (hf_mu < 1), (hf_ours, hf_mu)
            decided += 1
    assert compared > 250 and decided > 200
    assert res["positions"][-2] == "1.635" and res["positions"][-1] == "1.2"
