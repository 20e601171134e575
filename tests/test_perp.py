"""Perpetual margin: equity vs maintenance margin, signed values in the field, both statements."""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from dataclasses import replace

import pytest

from zkmargin import api, perp
from zkmargin.attestation import AttestationContext
from zkmargin.build import CircuitKeys
from zkmargin.errors import InputError, StatementFalse, WitnessError
from zkmargin.field import R
from zkmargin.groth16 import verify as native_verify
from zkmargin.pinning import InstalledKeys
from zkmargin.settings import Settings
from zkmargin.snarkjs_verify import verify as snarkjs_verify
from zkmargin.statements import perp as perp_statements
from zkmargin.toolchain import Toolchain
from zkmargin.witness import WitnessCalculator

from .conftest import FIX, set_input

CTX = AttestationContext("perp-desk", 2_000_000_000, 9)
MARKETS = perp.load_markets(FIX / "perp-markets.json")
QUOTES = perp.load_quotes(FIX / "perp-prices.json", MARKETS)
LIQ = perp.load_account(FIX / "perp-account-liquidatable.json", MARKETS)
HEALTHY = perp.load_account(FIX / "perp-account-healthy.json", MARKETS)


def test_model_by_hand() -> None:
    m = perp.evaluate(LIQ, MARKETS, QUOTES)
    # ETH long 10 @ 2700 -> 2500, funding index 1.0 -> 1.23456789: pnl = 10 * (-200 - 0.23456789)
    assert m.pnl["ETH-USD"] == -200234567890
    # BTC short 0.1 @ 61000 -> 60000, funding -0.9 -> -0.98765432 (shorts pay when it falls)
    assert m.pnl["BTC-USD"] == -1 * (-1000 * 10**8 - (-98765432 + 90000000)) // 10 == 9999123456
    assert m.maintenance == 750 * 10**8 + 180 * 10**8  # 3% of 25000 and of 6000
    assert m.equity == 2700 * 10**8 - 200234567890 + 9999123456
    assert m.below(10_000) and not perp.evaluate(HEALTHY, MARKETS, QUOTES).below(15_000)


def test_rounding_is_against_the_account() -> None:
    mk = perp.PerpMarkets("x", (perp.PerpMarket("X", 9, 30000),))
    q = {"X": perp.PerpQuote(3, 0)}
    short = perp.PerpAccount(0, {"X": perp.PerpPosition(-1, 2, 0)}, 1)  # pnl = -1 * 1 / 1e9 -> floor -1
    assert perp.evaluate(short, mk, q).pnl["X"] == -1
    long = perp.PerpAccount(0, {"X": perp.PerpPosition(1, 2, 0)}, 1)  # +1e-9 -> 0
    assert perp.evaluate(long, mk, q).pnl["X"] == 0
    assert perp.evaluate(long, mk, q).maintenance == 1  # ceil of a positive dust margin


@pytest.fixture(scope="module")
def liq_calc(keys: Callable[[str], CircuitKeys]) -> WitnessCalculator:
    return WitnessCalculator(keys("perp_liquidation_4").compiled.wasm)


@pytest.fixture(scope="module")
def att_calc(keys: Callable[[str], CircuitKeys]) -> WitnessCalculator:
    return WitnessCalculator(keys("perp_attestation_4").compiled.wasm)


def _with_collateral(account: perp.PerpAccount, c: int) -> perp.PerpAccount:
    return replace(account, collateral=c)


def test_liquidation_boundary_both_sides(tc: Toolchain, liq_calc: WitnessCalculator) -> None:
    m = perp.evaluate(LIQ, MARKETS, QUOTES)
    at_mm = m.maintenance - sum(m.pnl.values())  # collateral giving equity == MM exactly
    below = _with_collateral(LIQ, at_mm - 1)
    b = perp_statements.prove_perp_liquidation(below, MARKETS, QUOTES, settings=Settings(toolchain=tc))
    assert (
        api.verify_bundle(b, keys=InstalledKeys()).valid
        and api.verify_bundle(b, keys=InstalledKeys(), verifier="snarkjs", settings=Settings(toolchain=tc)).valid
    )
    with pytest.raises(StatementFalse, match="not liquidatable"):
        perp_statements.prove_perp_liquidation(
            _with_collateral(LIQ, at_mm), MARKETS, QUOTES, settings=Settings(toolchain=tc)
        )
    _, inputs, _ = perp.perp_inputs("perp_liquidation", below, MARKETS, QUOTES, 10_000)
    liq_calc.calculate(inputs)
    at = _with_collateral(LIQ, at_mm)
    edited = {**inputs, "collateral": at_mm, "commitment": perp.commitment(at, MARKETS, 4)}
    with pytest.raises(WitnessError):
        liq_calc.calculate(edited)


def test_attestation_boundary_and_context(tc: Toolchain, att_calc: WitnessCalculator) -> None:
    m = perp.evaluate(HEALTHY, MARKETS, QUOTES)
    ratio = 15_000
    at = (ratio * m.maintenance + 9_999) // 10_000 - sum(m.pnl.values())  # smallest collateral with equity >= 1.5 MM
    b = perp_statements.attest_perp_margin(
        _with_collateral(HEALTHY, at), MARKETS, QUOTES, ratio, CTX, settings=Settings(toolchain=tc)
    )
    assert api.verify_bundle(b, keys=InstalledKeys(), domain=CTX.domain, now=CTX.expiry - 1).valid
    assert not api.verify_bundle(b, keys=InstalledKeys(), domain="elsewhere", now=0).valid
    with pytest.raises(StatementFalse, match="below the attested margin"):
        perp_statements.attest_perp_margin(
            _with_collateral(HEALTHY, at - 1), MARKETS, QUOTES, ratio, CTX, settings=Settings(toolchain=tc)
        )
    claim = api.decode_claim(b)
    assert perp_statements.markets_json(claim)[1]["fundingIndex"] == "-98765432"  # signed public input decoded
    assert "equity >= 1.5x maintenance margin" in claim.describe()


@pytest.mark.slow  # proves
def test_tampered_public_inputs(tc: Toolchain) -> None:
    b = perp_statements.prove_perp_liquidation(LIQ, MARKETS, QUOTES, settings=Settings(toolchain=tc))
    for idx in (1, 5, 6, 9, 13):  # a price, two funding indices (one negative), a size decimals, the ratio
        pub = list(b.public_signals)
        pub[idx] = str((int(pub[idx]) + 1) % R)
        assert not native_verify(b.vkey, pub, b.proof).valid
        assert not snarkjs_verify(b.vkey, pub, b.proof, tc).valid
    proof = copy.deepcopy(b.proof)
    proof["pi_c"] = proof["pi_a"]
    assert not native_verify(b.vkey, b.public_signals, proof).valid


# Signed values that would wrap the field if they were not range-checked in-circuit.
WRAPS = [
    ("size -2^80 - 1", {"size": (0, -(2**80) - 1)}),
    ("size 2^80", {"size": (0, 2**80)}),
    ("size r/2", {"size": (0, R // 2)}),
    ("entry funding -2^64 - 1", {"entryFunding": (0, -(2**64) - 1)}),
    ("entry funding 2^64", {"entryFunding": (1, 2**64)}),
    ("entry price r-1", {"entryPrice": (0, R - 1)}),
    ("collateral r-1 (negative collateral)", {"collateral": (None, R - 1)}),
]


@pytest.mark.parametrize(("label", "edit"), WRAPS, ids=[w[0] for w in WRAPS])
def test_out_of_range_signed_values_fail_the_circuit(
    liq_calc: WitnessCalculator, label: str, edit: dict[str, tuple[int | None, int]]
) -> None:
    _, inputs, _ = perp.perp_inputs("perp_liquidation", LIQ, MARKETS, QUOTES, 10_000)
    liq_calc.calculate(inputs)
    edited = dict(inputs)
    for name, (idx, value) in edit.items():
        edited = set_input(edited, name, idx, value)
    edited["commitment"] = perp.commit_values(
        edited["collateral"],
        edited["size"],
        edited["entryPrice"],  # type: ignore[arg-type]
        edited["entryFunding"],
        LIQ.salt,
    )  # type: ignore[arg-type]
    with pytest.raises(WitnessError) as e:
        liq_calc.calculate(edited)
    # refused by a range check, not merely because the statement became false
    assert "Num2Bits" in str(e.value), str(e.value)


def test_extreme_in_range_values_agree(liq_calc: WitnessCalculator, att_calc: WitnessCalculator) -> None:
    """Sizes at +-(2^80 - 1), funding at +-(2^64 - 1), prices at 2^64 - 1: no wrap, model = circuit."""
    mk = perp.PerpMarkets("x", (perp.PerpMarket("A", 0, 1_000_000), perp.PerpMarket("B", 18, 1)))
    q = {"A": perp.PerpQuote(2**64 - 1, -(2**64 - 1)), "B": perp.PerpQuote(1, 2**64 - 1)}
    for sa, sb in ((2**80 - 1, -(2**80 - 1)), (-(2**80 - 1), 2**80 - 1)):
        acct = perp.PerpAccount(
            2**128 - 1,
            {"A": perp.PerpPosition(sa, 2**64 - 1, 2**64 - 1), "B": perp.PerpPosition(sb, 0, -(2**64 - 1))},
            3,
        )
        m = perp.evaluate(acct, mk, q)
        for statement, calc, ctx in (("perp_liquidation", liq_calc, None), ("perp_attestation", att_calc, CTX)):
            try:
                _, inputs, _ = perp.perp_inputs(statement, acct, mk, q, 10_000, ctx)
            except StatementFalse:
                continue
            calc.calculate(inputs)
            assert (statement == "perp_liquidation") == m.below(10_000)


def test_model_equals_circuit_on_random_accounts(liq_calc: WitnessCalculator, att_calc: WitnessCalculator) -> None:
    rng = random.Random(11)
    for _ in range(25):
        n = rng.randint(1, 4)
        mk = perp.PerpMarkets(
            "r",
            tuple(
                perp.PerpMarket(f"M{i}", rng.choice([0, 6, 9, 18]), rng.choice([0, 1, 30000, 1_000_000]))
                for i in range(n)
            ),
        )
        q = {m.symbol: perp.PerpQuote(rng.randrange(1, 2**64), rng.randrange(-(2**63), 2**63)) for m in mk.markets}
        acct = perp.PerpAccount(
            rng.randrange(2**100),
            {
                m.symbol: perp.PerpPosition(
                    rng.randrange(-(2**79), 2**79), rng.randrange(2**64), rng.randrange(-(2**63), 2**63)
                )
                for m in mk.markets
                if rng.random() < 0.8
            },
            rng.randrange(R),
        )
        margin = perp.evaluate(acct, mk, q)
        ratio = rng.choice([0, 1, 10_000, 15_000, 2**20 - 1])
        for statement, calc, ctx in (("perp_liquidation", liq_calc, None), ("perp_attestation", att_calc, CTX)):
            holds = margin.below(ratio) == (statement == "perp_liquidation")
            try:
                _, inputs, _ = perp.perp_inputs(statement, acct, mk, q, ratio, ctx)
            except StatementFalse:
                assert not holds
                # force the false statement into the circuit: it must refuse it
                _, inputs, _ = perp.perp_inputs(
                    "perp_attestation" if statement == "perp_liquidation" else "perp_liquidation",
                    acct,
                    mk,
                    q,
                    ratio,
                    CTX if statement == "perp_liquidation" else None,
                )
                inputs = {k: v for k, v in inputs.items() if k not in ("domain", "expiry", "nonce")}
                if statement == "perp_attestation":
                    inputs = {**inputs, "domain": CTX.domain_hash, "expiry": CTX.expiry, "nonce": CTX.nonce}
                order = list(calc_order(statement))
                inputs = {k: inputs[k] for k in order}
                with pytest.raises(WitnessError):
                    calc.calculate(inputs)
                continue
            assert holds
            calc.calculate(inputs)


def calc_order(statement: str) -> list[str]:
    base = ["commitment", "price", "fundingIndex", "sizeDecimals", "mmr", "marginRatio"]
    ctx = ["domain", "expiry", "nonce"] if statement == "perp_attestation" else []
    return base + ctx + ["collateral", "size", "entryPrice", "entryFunding", "salt"]


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"collateral": "-1", "positions": {}, "salt": "1"}, "collateral"),
        (
            {
                "collateral": "1",
                "positions": {"ETH-USD": {"size": str(2**80), "entryPrice": "1", "entryFunding": "0"}},
                "salt": "1",
            },
            "positions.ETH-USD.size",
        ),
        (
            {
                "collateral": "1",
                "positions": {"DOGE": {"size": "1", "entryPrice": "1", "entryFunding": "0"}},
                "salt": "1",
            },
            "positions.DOGE",
        ),
        (
            {
                "collateral": "1",
                "positions": {"ETH-USD": {"size": "1", "entryPrice": "1", "entryFunding": str(-(2**64))}},
                "salt": "1",
            },
            "positions.ETH-USD.entryFunding",
        ),
    ],
)
def test_bad_account_files(doc: dict[str, object], field: str) -> None:
    with pytest.raises(InputError) as e:
        perp.account_from_json(doc, MARKETS)
    assert e.value.field == field
