"""Perpetual margin, dYdX v4 exactly: net collateral vs maintenance margin in quote quantums, signed
values in the field, both statements. (tests/fidelity/test_differential.py compares the model with
the independent transliteration of dYdX on thousands of subaccounts.)"""

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
from zkmargin.witness import InputValue, WitnessCalculator

from .conftest import FIX, set_input

CTX = AttestationContext("perp-desk", 2_000_000_000, 9)
MARKETS = perp.load_markets(FIX / "perp-markets.json")
QUOTES = perp.load_quotes(FIX / "perp-prices.json", MARKETS)
LIQ = perp.load_account(FIX / "perp-account-liquidatable.json", MARKETS)
HEALTHY = perp.load_account(FIX / "perp-account-healthy.json", MARKETS)


def test_model_by_hand() -> None:
    """10 ETH long and 0.1 BTC short, quote quantums (1e-6 USDC) throughout."""
    m = perp.evaluate(LIQ, MARKETS, QUOTES)
    # ETH: 1e10 base quantums (atomic resolution -9) x price 2.5e9 (exponent -6) x 10^(-6 - 9 + 6)
    assert m.notional == {"ETH-USD": 25_000 * 10**6, "BTC-USD": -6_000 * 10**6}
    # funding, one floor over the sum: -(123456 - 100000) x 1e10 - (-98765 + 90000) x (-1e9), ppm
    assert m.settlement == (-(123456 - 100000) * 10**10 - (-98765 + 90000) * -(10**9)) // 10**6 == -243_325_000
    # MMR = ceil(ceil(|N| x 2%) x 60%): 300 USDC + 72 USDC
    assert m.maintenance == 300 * 10**6 + 72 * 10**6
    assert m.net_collateral == -18_400 * 10**6 - 243_325_000 + 19_000 * 10**6 == 356_675_000
    assert m.liquidatable and not perp.evaluate(HEALTHY, MARKETS, QUOTES).below(15_000)


def _one(ar: int, pe: int, imf: int, mmf: int) -> perp.PerpMarkets:
    return perp.PerpMarkets("x", (perp.PerpMarket("X", ar, pe, imf, mmf),))


def test_short_notional_truncates_toward_zero() -> None:
    """BaseToQuoteQuantums truncates: a 1-quantum short worth -3e-9 quote quantums is 0 (a floor
    would make it -1, against the trader)."""
    mk = _one(-9, -6, 50000, 600000)
    q = {"X": perp.PerpQuote(3, 0)}
    for size in (1, -1):
        m = perp.evaluate(perp.PerpAccount(0, {"X": perp.PerpPosition(size, 0)}, 1), mk, q)
        assert m.notional["X"] == 0 and m.maintenance == 0
    m = perp.evaluate(perp.PerpAccount(0, {"X": perp.PerpPosition(-(10**9) - 1, 0)}, 1), mk, q)
    assert m.notional["X"] == -3  # -3.000000003 truncated, not -4


def test_maintenance_margin_rounds_up_twice() -> None:
    """Notional 21 quote quantums, IMF 5%, MMF 60%: IMR ceil(1.05) = 2, MMR ceil(1.2) = 2; one
    ceiling at a 3% rate would give 1."""
    mk = _one(0, -6, 50000, 600000)
    m = perp.evaluate(perp.PerpAccount(0, {"X": perp.PerpPosition(21, 0)}, 1), mk, {"X": perp.PerpQuote(1, 0)})
    assert (m.notional["X"], m.initial, m.maintenance) == (21, 2, 2)
    assert -(-21 * 30000 // 10**6) == 1


def test_funding_settles_once_over_the_sum() -> None:
    """Two positions each owing half a quote quantum pay 1 in all, not 2."""
    mk = perp.PerpMarkets("x", (perp.PerpMarket("A", 0, -6, 0, 0), perp.PerpMarket("B", 0, -6, 0, 0)))
    q = {"A": perp.PerpQuote(1, 500_000), "B": perp.PerpQuote(1, 500_000)}
    acct = perp.PerpAccount(0, {"A": perp.PerpPosition(1, 0), "B": perp.PerpPosition(1, 0)}, 1)
    assert perp.evaluate(acct, mk, q).settlement == -1


def test_no_maintenance_margin_is_never_liquidatable(tc: Toolchain, liq_calc: WitnessCalculator) -> None:
    """dYdX: MMR > 0 && TNC < MMR. With an IMF of 0 the account owes no margin: however negative
    its net collateral, it is not liquidatable, and the circuit has no witness for the claim."""
    mk = _one(-9, -6, 0, 600000)
    q = {"X": perp.PerpQuote(2_500_000_000, 0)}
    acct = perp.PerpAccount(-(10**12), {"X": perp.PerpPosition(10**10, 0)}, 5)
    m = perp.evaluate(acct, mk, q)
    assert m.maintenance == 0 and m.net_collateral < 0 and not m.liquidatable
    with pytest.raises(StatementFalse, match="maintenance margin is 0"):
        perp.perp_inputs("perp_liquidation", acct, mk, q, 10_000)
    # the claim forced into the circuit: the attestation's inputs (the same layout) under the liquidation
    _, inputs, _ = perp.perp_inputs(
        "perp_liquidation", replace(acct, usdc=-(10**12)), _one(-9, -6, 1, 600000), q, 10_000
    )  # IMF 1 ppm: MMR 1
    forced = {**inputs, "initialMarginPpm": [0, 0, 0, 0]}
    with pytest.raises(WitnessError):
        liq_calc.calculate(forced)


@pytest.fixture(scope="module")
def liq_calc(keys: Callable[[str], CircuitKeys]) -> WitnessCalculator:
    return WitnessCalculator(keys("perp_liquidation_4").compiled.wasm)


@pytest.fixture(scope="module")
def att_calc(keys: Callable[[str], CircuitKeys]) -> WitnessCalculator:
    return WitnessCalculator(keys("perp_attestation_4").compiled.wasm)


def _with_usdc(account: perp.PerpAccount, usdc: int) -> perp.PerpAccount:
    return replace(account, usdc=usdc)


def test_liquidation_boundary_both_sides(tc: Toolchain, liq_calc: WitnessCalculator) -> None:
    """TNC = MMR - 1 is liquidatable, TNC = MMR is not (model, proof, circuit)."""
    m = perp.evaluate(LIQ, MARKETS, QUOTES)
    at_mm = LIQ.usdc + (m.maintenance - m.net_collateral)  # USDC giving TNC == MMR exactly
    below = _with_usdc(LIQ, at_mm - 1)
    b = perp_statements.prove_perp_liquidation(below, MARKETS, QUOTES, settings=Settings(toolchain=tc))
    assert api.verify_bundle(b, keys=InstalledKeys()).valid
    assert api.verify_bundle(b, keys=InstalledKeys(), verifier="snarkjs", settings=Settings(toolchain=tc)).valid
    assert "liquidatable (dYdX v4 rules)" in api.decode_claim(b).describe()
    with pytest.raises(StatementFalse, match="not liquidatable"):
        perp_statements.prove_perp_liquidation(_with_usdc(LIQ, at_mm), MARKETS, QUOTES, settings=Settings(toolchain=tc))
    _, inputs, _ = perp.perp_inputs("perp_liquidation", below, MARKETS, QUOTES, 10_000)
    liq_calc.calculate(inputs)
    at = _with_usdc(LIQ, at_mm)
    edited = {**inputs, "usdc": at_mm % R, "commitment": perp.commitment(at, MARKETS, 4)}
    with pytest.raises(WitnessError):
        liq_calc.calculate(edited)


def test_attestation_boundary_and_context(tc: Toolchain, att_calc: WitnessCalculator) -> None:
    m = perp.evaluate(HEALTHY, MARKETS, QUOTES)
    ratio = 15_000
    at = HEALTHY.usdc + (ratio * m.maintenance + 9_999) // 10_000 - m.net_collateral  # smallest TNC >= 1.5 MMR
    b = perp_statements.attest_perp_margin(
        _with_usdc(HEALTHY, at), MARKETS, QUOTES, ratio, CTX, settings=Settings(toolchain=tc)
    )
    assert api.verify_bundle(b, keys=InstalledKeys(), domain=CTX.domain, now=CTX.expiry - 1).valid
    assert not api.verify_bundle(b, keys=InstalledKeys(), domain="elsewhere", now=0).valid
    with pytest.raises(StatementFalse, match="below the attested margin"):
        perp_statements.attest_perp_margin(
            _with_usdc(HEALTHY, at - 1), MARKETS, QUOTES, ratio, CTX, settings=Settings(toolchain=tc)
        )
    claim = api.decode_claim(b, MARKETS.symbols)
    markets = claim.to_json()["markets"]
    assert markets[1]["fundingIndex"] == "-98765" and markets[1]["price_usd"] == "60000"  # signed, exact
    assert markets[0]["atomicResolution"] == -9 and markets[0]["priceExponent"] == -6
    assert "net collateral >= 1.5x maintenance margin" in claim.describe()


@pytest.mark.slow  # proves
def test_tampered_public_inputs(tc: Toolchain) -> None:
    b = perp_statements.prove_perp_liquidation(LIQ, MARKETS, QUOTES, settings=Settings(toolchain=tc))
    # a price, two funding indexes (one negative), an atomic resolution, a price exponent, IMF, MMF, the ratio
    for idx in (1, 5, 6, 9, 13, 17, 21, 25):
        pub = list(b.public_signals)
        pub[idx] = str((int(pub[idx]) + 1) % R)
        assert not native_verify(b.vkey, pub, b.proof).valid
        assert not snarkjs_verify(b.vkey, pub, b.proof, tc).valid
    proof = copy.deepcopy(b.proof)
    proof["pi_c"] = proof["pi_a"]
    assert not native_verify(b.vkey, b.public_signals, proof).valid


# Signed values that would wrap the field if they were not range-checked in-circuit.
WRAPS: list[tuple[str, dict[str, tuple[int | None, int]]]] = [
    ("quantums -2^80 - 1", {"quantums": (0, -(2**80) - 1)}),
    ("quantums 2^80", {"quantums": (0, 2**80)}),
    ("quantums r/2", {"quantums": (0, R // 2)}),
    ("position funding -2^64 - 1", {"positionFundingIndex": (0, -(2**64) - 1)}),
    ("position funding 2^64", {"positionFundingIndex": (1, 2**64)}),
    ("quote balance 2^128", {"quoteBalance": (0, 2**128)}),
    ("usdc -2^128 - 1", {"usdc": (None, -(2**128) - 1)}),
    ("usdc r/2", {"usdc": (None, R // 2)}),
]


def _recommit(inputs: dict[str, InputValue]) -> dict[str, InputValue]:
    return {
        **inputs,
        "commitment": perp.commit_values(
            inputs["usdc"],
            inputs["quantums"],
            inputs["positionFundingIndex"],  # type: ignore[arg-type]
            inputs["quoteBalance"],
            LIQ.salt,
        ),
    }  # type: ignore[arg-type]


@pytest.mark.parametrize(("label", "edit"), WRAPS, ids=[w[0] for w in WRAPS])
def test_out_of_range_signed_values_fail_the_circuit(
    liq_calc: WitnessCalculator, label: str, edit: dict[str, tuple[int | None, int]]
) -> None:
    _, inputs, _ = perp.perp_inputs("perp_liquidation", LIQ, MARKETS, QUOTES, 10_000)
    liq_calc.calculate(inputs)
    edited = dict(inputs)
    for name, (idx, value) in edit.items():
        edited = set_input(edited, name, idx, value)
    with pytest.raises(WitnessError) as e:
        liq_calc.calculate(_recommit(edited))
    # refused by a range check, not merely because the statement became false
    assert "Num2Bits" in str(e.value), str(e.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("priceExponent", 22),
        ("priceExponent", -34),
        ("atomicResolution", 2**8),
        ("initialMarginPpm", 10**6 + 1),
        ("maintenanceFractionPpm", 2**20),
    ],
)
def test_out_of_range_market_parameters_fail_the_circuit(liq_calc: WitnessCalculator, name: str, value: int) -> None:
    """ETH's slot edited: priceExponent 22 makes e = 22 - 9 + 6 = 19 > 18, -34 makes e = -37; an
    exponent of 2^8, a ppm above 1e6: each refused by its range check inside the market's terms
    (before the statement's comparison)."""
    _, inputs, _ = perp.perp_inputs("perp_liquidation", LIQ, MARKETS, QUOTES, 10_000)
    with pytest.raises(WitnessError, match="PerpMarketTerms"):
        liq_calc.calculate(set_input(inputs, name, 0, value))


def test_extreme_in_range_values_agree(liq_calc: WitnessCalculator, att_calc: WitnessCalculator) -> None:
    """Quantums at +-(2^80 - 1), funding at +-(2^64 - 1), prices at 2^64 - 1, balances at 2^128 - 1,
    exponents at +-18: no wrap, model = circuit."""
    mk = perp.PerpMarkets("x", (perp.PerpMarket("A", -24, 0, 1_000_000, 1_000_000), perp.PerpMarket("B", 12, 0, 1, 1)))
    q = {"A": perp.PerpQuote(2**64 - 1, -(2**64 - 1)), "B": perp.PerpQuote(1, 2**64 - 1)}
    for sa, sb in ((2**80 - 1, -(2**80 - 1)), (-(2**80 - 1), 2**80 - 1)):
        acct = perp.PerpAccount(
            2**128 - 1,
            {
                "A": perp.PerpPosition(sa, 2**64 - 1, 2**128 - 1),
                "B": perp.PerpPosition(sb, -(2**64 - 1), -(2**128 - 1)),
            },
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


def _random_market(rng: random.Random, i: int) -> perp.PerpMarket:
    ar = rng.randint(-12, 2)
    pe = rng.randint(max(-12, -24 - ar), min(0, 12 - ar))
    return perp.PerpMarket(
        f"M{i}",
        ar,
        pe,
        rng.choice([0, 1, 20000, 50000, 1_000_000, rng.randrange(10**6)]),
        rng.choice([0, 500_000, 1_000_000, rng.randrange(10**6)]),
    )


def test_model_equals_circuit_on_random_accounts(liq_calc: WitnessCalculator, att_calc: WitnessCalculator) -> None:
    """The witness generator accepts exactly when the model says the statement holds."""
    rng = random.Random(11)
    checked = 0
    while checked < 25:
        mk = perp.PerpMarkets("r", tuple(_random_market(rng, i) for i in range(rng.randint(1, 4))))
        q = {m.symbol: perp.PerpQuote(rng.randrange(1, 10**12), rng.randrange(-(10**12), 10**12)) for m in mk.markets}
        positions = {
            m.symbol: perp.PerpPosition(
                rng.choice([rng.randrange(-(10**12), 10**12), rng.randint(-9, 9)]),
                q[m.symbol].funding_index - rng.choice([0, rng.randrange(-(10**9), 10**9)]),
                rng.choice([0, 0, rng.randrange(-(10**6), 10**6)]),
            )
            for m in mk.markets
            if rng.random() < 0.8
        }
        base = perp.evaluate(perp.PerpAccount(0, positions, 1), mk, q)
        usdc = base.maintenance - base.net_collateral + rng.choice([-1, 0, 1, rng.randrange(-(10**9), 10**9)])
        acct = perp.PerpAccount(usdc, positions, rng.randrange(R))
        margin = perp.evaluate(acct, mk, q)
        ratio = rng.choice([0, 1, 10_000, 15_000, 2**20 - 1])
        for statement, calc, ctx, holds in (
            ("perp_liquidation", liq_calc, None, margin.below(ratio)),
            ("perp_attestation", att_calc, CTX, margin.at_or_above(ratio)),
        ):
            try:
                _, inputs, _ = perp.perp_inputs(statement, acct, mk, q, ratio, ctx)
            except StatementFalse:
                assert not holds
                continue
            assert holds
            calc.calculate(inputs)
        if margin.at_or_above(ratio):  # the liquidation claim forced on the same inputs has no witness
            _, inputs, _ = perp.perp_inputs("perp_attestation", acct, mk, q, ratio, CTX)
            with pytest.raises(WitnessError):
                liq_calc.calculate({k: v for k, v in inputs.items() if k not in ("domain", "expiry", "nonce")})
        checked += 1


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"usdc": str(2**128), "positions": {}, "salt": "1"}, "usdc"),
        (
            {"usdc": "1", "positions": {"ETH-USD": {"quantums": str(2**80), "fundingIndex": "0"}}, "salt": "1"},
            "positions.ETH-USD.quantums",
        ),
        ({"usdc": "1", "positions": {"DOGE": {"quantums": "1", "fundingIndex": "0"}}, "salt": "1"}, "positions.DOGE"),
        (
            {"usdc": "1", "positions": {"ETH-USD": {"quantums": "1", "fundingIndex": str(-(2**64))}}, "salt": "1"},
            "positions.ETH-USD.fundingIndex",
        ),
        ({"collateral": "1", "positions": {}, "salt": "1"}, "collateral"),  # the version-1 format
        ({"version": 1, "usdc": "1", "positions": {}, "salt": "1"}, "version"),
    ],
)
def test_bad_account_files(doc: dict[str, object], field: str) -> None:
    with pytest.raises(InputError) as e:
        perp.account_from_json(doc, MARKETS)
    assert e.value.field == field


def test_bad_market_files() -> None:
    good = {
        "symbol": "X",
        "atomicResolution": -9,
        "priceExponent": -6,
        "initialMarginPpm": 1,
        "maintenanceFractionPpm": 1,
    }
    for change, field in (
        ({"priceExponent": 22}, "markets.X.priceExponent"),
        ({"initialMarginPpm": 10**6 + 1}, "markets.X.initialMarginPpm"),
        ({"sizeDecimals": 9}, "markets[0].sizeDecimals"),
    ):
        with pytest.raises(InputError) as e:
            perp.markets_from_json({"markets": [{**good, **change}]})
        assert e.value.field == field


def test_notional_too_wide_is_refused_by_model_and_circuit(
    liq_calc: WitnessCalculator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """|N| must be < 2^160: the model refuses a wider notional (InputError naming the position) and
    the circuit's range check on the quotient refuses the same claim."""
    mk = _one(12, 0, 20000, 600000)  # e = 18
    q = {"X": perp.PerpQuote(2**64 - 1, 0)}
    acct = perp.PerpAccount(0, {"X": perp.PerpPosition(-(2**80 - 1), 0)}, 5)  # short: TNC < MMR
    with pytest.raises(InputError) as e:
        perp.evaluate(acct, mk, q)
    assert e.value.field == "positions.X.quantums"
    monkeypatch.setattr(perp, "NOTIONAL_BITS", 256)
    _, inputs, _ = perp.perp_inputs("perp_liquidation", acct, mk, q, 10_000)
    with pytest.raises(WitnessError, match="Num2Bits"):
        liq_calc.calculate(inputs)
