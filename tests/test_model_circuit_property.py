"""Python model = circuit: over random positions (scaled balances at random indexes, collateral
flags, eMode, each version of the rules) and thresholds near each position's HF, the witness
generator accepts exactly when the model says the statement holds."""

from __future__ import annotations

import random
from collections.abc import Callable

from zkmargin.aave_math import RAY
from zkmargin.attestation import AttestationContext
from zkmargin.build import CircuitKeys
from zkmargin.commitment import commit_amounts
from zkmargin.errors import InputError, WitnessError
from zkmargin.limits import AMOUNT_BITS, PRICE_BITS
from zkmargin.model import RULES, Asset, EModeCategory, Market, Position, PricePoint, PriceSnapshot, evaluate
from zkmargin.statements.lending import _lending_inputs
from zkmargin.witness import WitnessCalculator

CTX = AttestationContext("d", 1, 1)


def _random_case(rng: random.Random) -> tuple[Market, PriceSnapshot, Position]:
    n = rng.randint(1, 4)
    assets = []
    for k in range(n):
        lt = rng.choice([0, 1, 5000, 8250, 9999, 10000])
        assets.append(Asset(f"A{k}", rng.choice([0, 2, 6, 8, 18]), lt, 0 if lt == 0 else 10001))
    cats = tuple(
        EModeCategory(cid, rng.choice([1, 9000, 9700]), 10100, rng.randrange(2**n))
        for cid in rng.sample(range(1, 256), rng.randint(0, 4))
    )

    def index() -> int:
        return rng.choice([RAY, RAY + rng.randrange(10**26), rng.randrange(RAY, 5 * RAY)])

    prices = PriceSnapshot(
        {
            a.symbol: PricePoint(rng.choice([1, 10**8, rng.randrange(1, 2**PRICE_BITS)]), 0, 0, index(), index())
            for a in assets
        }
    )

    def amount() -> int:
        return rng.choice([0, 1, rng.randrange(10**12), rng.randrange(10**24), rng.randrange(2**AMOUNT_BITS // 8)])

    coll = {a.symbol: amount() for a in assets}
    debt = {a.symbol: amount() for a in assets if rng.random() < 0.7}
    flags = frozenset(a.symbol for a in assets if rng.random() < 0.8)
    emode = rng.choice([0, *(c.id for c in cats)])
    market = Market("r", tuple(assets), rng.choice(RULES), cats)
    return market, prices, Position(coll, debt, rng.randrange(2**250), flags, emode, scaled=True)


def test_model_equals_circuit(keys: Callable[[str], CircuitKeys]) -> None:
    rng = random.Random(2026)
    liq = WitnessCalculator(keys("liquidation_4").compiled.wasm)
    att = WitnessCalculator(keys("attestation_4").compiled.wasm)
    checked = 0
    while checked < 40:
        market, prices, pos = _random_case(rng)
        try:
            health = evaluate(pos, market, prices)
        except InputError:
            continue  # a balance or value >= 2^128: refused before the circuit
        hf = min(health.health_factor, 2**64 - 1)
        for t in {max(1, hf + d) for d in (-1, 0, 1)} | {rng.randrange(1, 2**64)}:
            if t >= 2**64:
                continue
            for statement, calc, holds in (
                ("liquidation", liq, health.is_below(t)),
                ("solvency", att, not health.is_below(t)),
            ):
                _, inputs, _, _ = _lending_inputs(statement, pos, market, prices, t)
                if statement == "solvency":
                    inputs = {**inputs, "domain": CTX.domain_hash, "expiry": 1, "nonce": 1}
                assert inputs["commitment"] == commit_amounts(
                    list(inputs["collateral"]),
                    list(inputs["debt"]),
                    pos.salt,  # type: ignore[arg-type]
                    pos.flags(market),
                    pos.emode_category,
                )
                try:
                    calc.calculate(inputs)
                    accepted = True
                except WitnessError:
                    accepted = False
                assert accepted == holds, (statement, t, health)
        checked += 1
