"""The conformance kit: every circuit in circuits/circuits.json, checked against its own R1CS.

For each registered circuit (a new circuit of an existing statement gets all of it for free):

- its constraint count is the one pinned in CONSTRAINTS (the only place counts are pinned), with
  a one-line derivation each, and it fits the development ptau;
- its public signals are the registry's, in the registry's order;
- an honest witness, from a sample request of its statement and size proved through the
  statement plug-in (zkmargin.statement), satisfies every constraint;
- each public input changed by one fails the constraints (nothing public is left unbound);
- the witness on the wrong side of the statement's boundary (HF exactly at the liquidation
  threshold, HF one wei below the attested minimum, perp equity exactly ratio x MM, a step with
  HF >= 1, ...) is refused by the strict witness generator, and the witness an attacker would
  compute for it anyway (the honest generator run leniently: failed asserts skipped) fails the R1CS.

The R1CS is checked with zkmargin/r1cs.py (galois over the BN254 scalar field), independently of
the witness generator. Each statement needs one sample builder in SAMPLES: a registered statement
without one fails `test_statement_has_a_sample_builder`, and so does every circuit of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from unittest import mock

import pytest

from tests import test_pool_liquidation as pool_liq
from tests.test_pool_transition import (
    BINDING,
    EPH,
    EXACT,
    FRONTIER,
    GROWN,
    KEEPERS,
    OWNER,
    SK,
    VIEW,
    Pool,
    attack,
    note,
    resealed,
)
from zkmargin import build, liquidation_step, perp, registry, statement
from zkmargin.attestation import AttestationContext
from zkmargin.build import CompiledCircuit
from zkmargin.errors import WitnessError
from zkmargin.field import R
from zkmargin.limits import BPS, WAD
from zkmargin.model import DEFAULT_RULES, Asset, Market, Position, PricePoint, PriceSnapshot, Rules, evaluate
from zkmargin.pool.transition import Op, open_inputs
from zkmargin.poseidon import N_ROUNDS_F, N_ROUNDS_P
from zkmargin.ptau import required_power
from zkmargin.r1cs import R1cs, read_r1cs
from zkmargin.registry import CircuitSpec
from zkmargin.statements import pool
from zkmargin.statements.lending import LendingRequest, SolvencyRequest
from zkmargin.statements.perp import PerpRequest
from zkmargin.statements.step import StepRequest
from zkmargin.toolchain import Toolchain
from zkmargin.witness import InputValue, WitnessCalculator

Inputs = dict[str, InputValue]

# --- constraint counts: pinned here and nowhere else (circom --O2, as zkmargin.build compiles) ---

# circuit id -> (constraints, how that number comes about)
CONSTRAINTS: dict[str, tuple[int, str]] = {
    "liquidation_4": (
        8277,
        "4 x (307 AssetParams + 1374 AssetValuation + 8 SlotAccount) + 6 rules + 4 flags + 162 eMode table "
        "+ 404 HF compare + 945 commitment (2 Poseidon(4) + Poseidon(6), tag)",
    ),
    "liquidation_8": (
        15269,
        "8 x (307 + 1374 + 8) + 6 rules + 8 flags + 182 eMode table + 406 HF compare "
        "+ 1155 commitment (2 Poseidon(8) + Poseidon(6), tag)",
    ),
    "attestation_4": (8280, "liquidation_4 + 3 squarings that bind domain, expiry and nonce"),
    "attestation_8": (15272, "liquidation_8 + 3 squarings that bind domain, expiry and nonce"),
    "liquidation_hashed_4": (
        10575,
        "liquidation_4 + 297 pricesHash (Poseidon(4)) + 834 indexesHash (2 Poseidon(4), Poseidon(2)) "
        "+ 402 Poseidon(8) of decimals and LTs + 504 Poseidon(12) of the eMode table + 261 Poseidon(3) paramsHash",
    ),
    "liquidation_hashed_8": (
        18962,
        "liquidation_8 + 834 pricesHash + 1500 indexesHash (4 Poseidon(4), Poseidon(4)) + 609 Poseidon(16) "
        "+ 504 Poseidon(12) + 261 Poseidon(3): the one circuit that needs the 2^15 ptau",
    ),
    "perp_liquidation_4": (
        6711,
        "4 x 1240 PerpMarketTerms + 1242 commitment + 129 USDC + 20 ratio + 172 settlement SignedFloorDiv(130, 20) "
        "+ 1 ratio x MMR + 188 LessThan(187) + 2 MMR != 0 - 3 folded by O2",
    ),
    "perp_attestation_4": (
        6713,
        "perp_liquidation_4 - 1 (no MMR != 0: IsZero with its output fixed folds to one) "
        "+ 3 squarings that bind domain, expiry and nonce",
    ),
    "liquidation_step_4_v35": (15401, "liquidation_step_4_v36 + 1 (v3.5: the collateral flag x its reserve LT)"),
    "liquidation_step_4_v36": (
        15400,
        "7937 AccountData (liquidation_4's per-slot and fixed parts, the eMode bonuses with their 4 terms "
        "and 4 ranges < 2^15) + 404 HF < 1 + 945 new commitment + 6114 for the call (close factor, seizure, "
        "fee, dust, scaled burns and transfers, fee cap, deficit, the zkmargin NonZero rules, receiveAToken squared)",
    ),
    "liquidation_step_4_v37": (
        16093,
        "liquidation_step_4_v36 + 693 (v3.7's no-collateral-left on the consumed scaled balance: a capped sum, "
        "rayMulFloor, its value, two IsEqual)",
    ),
    "pool_open_2": (
        19285,
        "Selector(2) 4 + amount < 2^128 128 + 2 liquidity indexes in range 200 + 2 LtvParam 60 (range, <= 10000, "
        "IsZero) + Pick 2 + RayDivAmount 333 (DivRoundCheck(128, 101), IsZero of the remainder) + minted != 0 1 "
        "+ 2 collateral and 2 flag terms 4 + SealedNote(2, 2) 8823 (tests/test_pool_sealing.py: NoteCiphertexts(9, 2) "
        "8370 - 6 for the constant nonce + NoteCommitment Poseidon(10) 456 + BabyCheck 3) - 6 (both debts are the "
        "constant 0: two more first-round S-boxes free) + binding squared 1 + NoteInsertion(20) 9735 (size bits 20, "
        "20 x (2 Poseidon(2) 240 + 6 mux terms) + the full-tree term 1 - 6 constant at level 0, folded by O2)",
    ),
    "pool_transition_2": (
        30181,
        "OwnerTag 237 + old NoteCommitment 456 (Poseidon(10), tag constant) + NoteNullifier 258 + NoteMembership(20) "
        "4933 (index bits 20, length <= 20: 11, 20 x (IsEqual, root term, MultiMux1, Poseidon(2) 240) + 2) "
        "+ old flags 2 + old balances 512 + Selector(4) 8 + Selector(2) 4 + amount 128 + 2 x (AssetParams 307 + "
        "LtvParam 30) + index Picks 4 + index choice 1 + RayDivAmount 333 + rounding and != 0 2 + moves 6 + repay "
        "<= debt 442 (Pick 2, rayMulCeil DivRound(128, 90) 310, LessEqThan(128) 129, gate 1) + flags 22 + 2 "
        "AssetValuation 2748 + 2 SlotAccount (v3.5, no eMode) 12 + LTV terms 4 + HF gate 3 + HealthFactorCompare 402 "
        "+ LTV-zero rule 9 + avg LTV DivRoundCheck(14, 130) 276 + avg != 0 1 + cover LessThan(144) 147 "
        "+ the new note's SealedNote(2, 2) 8823 + binding 1 - 2 folded by O2 (= the unsealed 11965 - 2 x 399 "
        "+ 456 + 8823) + the new note's NoteInsertion(20) 9735 (as pool_open_2's)",
    ),
    "pool_liquidation_2": (
        24478,
        "old NoteCommitment 456 (Poseidon(10), tag constant) + NoteMembership(20) 4933 + NoteNullifier 258 + flags 2 "
        "+ 2 x (AssetParams 307 + AssetValuation 1374 + SlotAccount (v3.5, no eMode) 6) + 2 x bonus < 2^15 and fee "
        "<= 10000 (RangeCheck 15, RangeCheck 14, LessEqThan(14): 43) + HealthFactorCompare 402 + 5885 for the call as "
        "liquidation_step's at v3.5 without eMode and receiveAToken (HF <= 0.95, close factor, seizure, fee, dust, "
        "scaled burns, fee cap, deficit[2], NonZero rules) + LiquidationSalt Poseidon(3) 258 (tag constant) + the "
        "successor's SealedNote(2, 2) 8823 + binding 1 (= the unsealed 15997 - 2 x 399 + 456 + 8823)",
    ),
}
#: fixtures/dev-pot15.ptau. liquidation_hashed_8 and the pool circuits need it; every other
#: circuit fits power 14
DEV_PTAU_POWER = 15
FITS_POWER_14 = set(CONSTRAINTS) - {"liquidation_hashed_8", "pool_open_2", "pool_transition_2", "pool_liquidation_2"}


def poseidon_constraints(n_inputs: int, constant_inputs: int = 0) -> int:
    """circomlib Poseidon(n): 3 constraints per x^5 S-box, t = n + 1 S-boxes in each of the 8 full
    rounds and 1 in each partial round; an S-box on a compile-time constant (the zero capacity
    element and any constant input, in the first round) is free."""
    t = n_inputs + 1
    return 3 * (N_ROUNDS_F * t + N_ROUNDS_P[t - 2]) - 3 * (1 + constant_inputs)


def liquidation_constraints(n: int, e: int) -> int:
    """Derivation of the liquidation circuit's size (circom --O2), per component (each count also
    measured by compiling the template alone):
    AssetParams = 307: price < 2^64 (64), price != 0 (1), LT < 2^14 (14), LT <= 10000
                  (LessEqThan(14): 14 once its constant top bit folds), Pow10 (14), two indexes in
                  [1 ray, 1 ray + 2^100) (2 x 100).
    AssetValuation = 1374: two scaled balances < 2^128 (256); two rayMul DivRound(128, 90) by the
                  constant 1 ray (q < 2^128: 128, rem < 2^90: 90, rem < 1 ray: 90, q * RAY + rem =
                  scaled * index: 1) = 2 x 309; two values DivRound(128, 60) (128 + 60 + 60,
                  n = balance * price: 1, q * scale: 1) = 2 x 250.
    SlotAccount = 8: IsZero(LT) (2), v3.5's exclusion, counted, the eMode LT, value * LT,
                  counted * weighted, counted * value (1 each).
    RulesVersion = 6 (three IsEqual); flags Num2Bits(N) = N.
    EModeSelect without bonus = 10 + 5E + E(28 + N) + N: category < 2^8 (8), IsZero (2), per entry
                  IsEqual (2), selection (1), LT and bitmap terms (2), and the entry checked whether
                  selected or not: LT <= 10000 (14 + 14), bitmap < 2^N (N); the selected bitmap's bits (N).
    HealthFactorCompare = 400 + 2L, L = ceil(log2 N): t < 2^64 (64), bit of TD (1), TD/2 < 2^(128+L),
                  t * TD (1), LessThan(206 + L) (207 + L).
    Commitment = 2 Poseidon(N) + Poseidon(6) with the constant tag."""
    lg = (n - 1).bit_length()
    commitment = 2 * poseidon_constraints(n) + poseidon_constraints(6, constant_inputs=1)
    emode = 10 + 5 * e + e * (28 + n) + n
    return n * (307 + 1374 + 8) + 6 + n + emode + (400 + 2 * lg) + commitment


def chunked_hash_constraints(k: int) -> int:
    """ChunkedHash(K): one Poseidon(K) up to 4 values, else Poseidon(4) per chunk of 4 and one over the chunks."""
    return poseidon_constraints(k) if k <= 4 else (k // 4) * poseidon_constraints(4) + poseidon_constraints(k // 4)


def step_constraints(rules: str) -> int:
    """LiquidationStep(4, 4, V): AccountData with the eMode bonuses (their 4 terms and 4 ranges < 2^15),
    HF < 1, the new commitment and the call (6114 for v3.6); v3.5 + 1, v3.7 + 693 (see CONSTRAINTS)."""
    p = poseidon_constraints
    emode = 10 + 5 * 4 + 4 * (28 + 4) + 4 + 4 + 4 * 15
    account = 4 * (307 + 1374 + 8) + 6 + 4 + emode + 2 * p(4) + p(6, constant_inputs=1)
    return (
        account + 404 + (2 * p(4) + p(6, constant_inputs=1)) + 6114 + {"aave-v3.5": 1, "aave-v3.7": 693}.get(rules, 0)
    )


CONTEXT = 3  # an attestation's domain, expiry and nonce, each bound by one squaring
EMODE = 4  # the eMode table of every lending circuit
# statement -> the size of its circuit (spec), where it follows from the lending derivation
DERIVED: dict[str, Callable[[CircuitSpec], int]] = {
    "liquidation": lambda s: liquidation_constraints(s.n_assets, s.n_emode),
    "solvency": lambda s: liquidation_constraints(s.n_assets, s.n_emode) + CONTEXT,
    "liquidation_hashed": lambda s: (
        liquidation_constraints(s.n_assets, s.n_emode)
        + chunked_hash_constraints(s.n_assets)
        + chunked_hash_constraints(2 * s.n_assets)
        + poseidon_constraints(2 * s.n_assets)
        + poseidon_constraints(3 * s.n_emode)
        + poseidon_constraints(3)
    ),
    "liquidation_step": lambda s: step_constraints(s.rules or ""),
}
# attestation statement -> (the statement whose circuit it extends, the difference)
ATTESTS: dict[str, tuple[str, int]] = {
    "solvency": ("liquidation", CONTEXT),
    "perp_attestation": ("perp_liquidation", CONTEXT - 1),
}


def test_pinned_counts_cover_the_registry() -> None:
    reg = registry.load_registry()
    assert sorted(set(reg) - set(CONSTRAINTS)) == [], "pin the constraint count of each new circuit in CONSTRAINTS"
    assert sorted(set(CONSTRAINTS) - set(reg)) == [], "CONSTRAINTS pins circuits the registry no longer has"


@pytest.mark.parametrize("circuit_id", sorted(registry.load_registry()))
def test_pinned_count_follows_its_derivation(circuit_id: str) -> None:
    spec = registry.get(circuit_id)
    pinned, note = CONSTRAINTS[circuit_id]
    power = required_power(pinned, len(spec.public_signal_names()))
    assert note and power <= DEV_PTAU_POWER and (power <= 14) == (circuit_id in FITS_POWER_14)
    if spec.statement in DERIVED:
        assert DERIVED[spec.statement](spec) == pinned, note
    if spec.statement in ATTESTS:
        base_statement, delta = ATTESTS[spec.statement]
        base = registry.for_assets(base_statement, spec.n_assets)
        assert base.n_assets == spec.n_assets and CONSTRAINTS[base.id][0] + delta == pinned, note


# --- one sample builder per statement: (spec) -> (honest inputs, inputs on the wrong side) ---

CTX = AttestationContext("conformance.example", 2_000_000_000, 7)
E18, E6 = 10**18, 10**6

# symbol, decimals, LT, bonus, protocol fee (bps), price (8 decimals); slot i takes row i % 4
TOKENS = [
    ("WETH", 18, 8250, 10500, 1000, 2500 * 10**8),
    ("USDC", 6, 7800, 10450, 1000, 10**8),
    ("WBTC", 8, 7800, 10500, 1000, 60000 * 10**8),
    ("DAI", 18, 7700, 10500, 1000, 10**8),
]


def _symbol(stem: str, i: int, period: int) -> str:
    return stem if i < period else f"{stem}{i // period}"


def lending_market(n: int, rules: Rules = DEFAULT_RULES) -> tuple[Market, PriceSnapshot]:
    """A market of exactly n assets, so that registry.for_assets picks the n-slot circuit."""
    rows = [(_symbol(t[0], i, len(TOKENS)), *t[1:]) for i, t in ((i, TOKENS[i % len(TOKENS)]) for i in range(n))]
    market = Market(f"conformance-{n}", tuple(Asset(s, d, lt, b, f) for s, d, lt, b, f, _ in rows), rules)
    return market, PriceSnapshot({r[0]: PricePoint(r[5], 1, 1) for r in rows})


def lending_position(market: Market) -> Position:
    """Collateral and debt in the first slots and in the last ones (HF ~0.96 for 4 slots)."""
    s = market.symbols
    return Position({s[0]: 10 * E18, s[1]: 5000 * E6, s[-2]: 10**6}, {s[1]: 25000 * E6, s[-1]: 1000 * E18}, 42)


def _via_statement(spec: CircuitSpec, request: object) -> Inputs:
    """The inputs the statement plug-in builds for a request (its own model checks included)."""
    si = statement.get(spec.statement).inputs(request)
    assert si.spec.id == spec.id, f"a sample request of {spec.n_assets} slots chose {si.spec.id}, not {spec.id}"
    return si.inputs


def _lending(spec: CircuitSpec, solvency: bool) -> tuple[Inputs, Inputs]:
    market, prices = lending_market(spec.n_assets)
    pos = lending_position(market)
    hf = evaluate(pos, market, prices).health_factor
    if solvency:  # HF >= min holds with min = HF exactly; one wei above it, HF is below the minimum
        honest = _via_statement(spec, SolvencyRequest(pos, market, prices, hf, CTX))
        return honest, {**honest, "hfThreshold": hf + 1}
    # HF < t holds for t = HF + 1 (HF is Aave's rounded figure, and the circuit's); at t = HF it does not
    honest = _via_statement(spec, LendingRequest(pos, market, prices, hf + 1))
    return honest, {**honest, "hfThreshold": hf}


# dYdX v4: symbol, atomic resolution, price exponent, IMF, MMF (ppm), price, funding index; slot i takes row i % 3
PERPS = [
    ("ETH-USD", -9, -6, 20000, 600000, 2_500_000_000, 123456),
    ("BTC-USD", -10, -5, 20000, 600000, 6_000_000_000, -98765),
    ("SOL-USD", -7, -8, 50000, 600000, 15_000_000_000, 5000),
]


def perp_market(n: int) -> tuple[perp.PerpMarkets, dict[str, perp.PerpQuote]]:
    rows = [(_symbol(t[0], i, len(PERPS)), *t[1:]) for i, t in ((i, PERPS[i % len(PERPS)]) for i in range(n))]
    markets = perp.PerpMarkets(
        f"conformance-{n}", tuple(perp.PerpMarket(s, ar, pe, imf, mmf) for s, ar, pe, imf, mmf, _, _ in rows)
    )
    return markets, {r[0]: perp.PerpQuote(r[5], r[6]) for r in rows}


def _perp(spec: CircuitSpec, attestation: bool) -> tuple[Inputs, Inputs]:
    markets, quotes = perp_market(spec.n_assets)
    first, last = markets.markets[0], markets.markets[-1]
    positions = {  # a long in the first slot and a short in the last, both with funding to settle
        first.symbol: perp.PerpPosition(10 * 10**-first.atomic_resolution, quotes[first.symbol].funding_index - 1000),
        last.symbol: perp.PerpPosition(-(10**-last.atomic_resolution), quotes[last.symbol].funding_index + 500),
    }
    margin = perp.evaluate(perp.PerpAccount(0, positions, 77), markets, quotes)

    def with_usdc(usdc: int) -> perp.PerpAccount:  # net collateral = usdc + margin.net_collateral
        return perp.PerpAccount(usdc, positions, 77)

    def moved(inputs: Inputs, usdc: int) -> Inputs:  # the same inputs for another USDC balance, recommitted
        return {**inputs, "usdc": usdc % R, "commitment": perp.commitment(with_usdc(usdc), markets, spec.n_assets)}

    if attestation:  # TNC >= 1.5 MMR: the smallest USDC balance that holds it, and one unit less
        ratio = 15_000
        at = -(-ratio * margin.maintenance // BPS) - margin.net_collateral
        honest = _via_statement(spec, PerpRequest(with_usdc(at), markets, quotes, ratio, CTX))
        return honest, moved(honest, at - 1)
    at_mm = margin.maintenance - margin.net_collateral  # TNC exactly MMR: not liquidatable; one unit less is
    honest = _via_statement(spec, PerpRequest(with_usdc(at_mm - 1), markets, quotes, BPS))
    return honest, moved(honest, at_mm)


def _step(spec: CircuitSpec) -> tuple[Inputs, Inputs]:
    """HF just below 1 (the smallest USDC debt against 10 WETH with HF < 1) and one unit of debt
    less (HF >= 1), each liquidating 1000 USDC for WETH; the model computes the refused call's
    outcome with its bar lifted to HF < 2 (the circuit keeps HF < 1)."""
    market, prices = lending_market(spec.n_assets, spec.rules or DEFAULT_RULES)  # type: ignore[arg-type]
    weth, usdc = market.symbols[0], market.symbols[1]

    def position(debt: int) -> Position:
        return Position({weth: 10 * E18}, {usdc: debt}, 11)

    lo, hi = 0, 10**12  # HF >= 1 at lo, < 1 at hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if evaluate(position(mid), market, prices).is_below(WAD) else (mid, hi)
    honest = _via_statement(spec, StepRequest(position(hi), market, prices, weth, usdc, 1000 * E6, 5))
    with mock.patch.object(liquidation_step, "WAD", 2 * WAD):
        _, wrong, _ = liquidation_step.step_inputs(position(lo), market, prices, weth, usdc, 1000 * E6, 5)
    return honest, wrong


def _pool_open(spec: CircuitSpec) -> tuple[Inputs, Inputs]:
    """The smallest deposit that mints one scaled unit at an index above 1 ray, and one wei less
    (it mints none: validateSupply's InvalidAmount), for a pool of the circuit's size."""
    assert spec.n_assets == GROWN.n
    index = GROWN.reserves[1].liquidity_index
    at = -(-index // 10**27)  # rayDivFloor(at, index) == 1, rayDivFloor(at - 1, index) == 0
    honest = _via_statement(spec, pool.OpenRequest(GROWN, 1, at, OWNER, 9, BINDING, VIEW, KEEPERS, FRONTIER, EPH))
    assert (
        honest
        == open_inputs(GROWN, 1, at, OWNER, 9, BINDING, VIEW, KEEPERS, frontier=FRONTIER, ephemeral_secret=EPH).inputs
    )
    wrong = resealed({**honest, "amount": at - 1}, [0, 0], [0, 0], 0b10)
    return honest, wrong


def _pool_transition(spec: CircuitSpec) -> tuple[Inputs, Inputs]:
    """A borrow exactly at the LTV limit (TC * avgLtv == TD * 1e4), and one wei more."""
    assert spec.n_assets == EXACT.n
    n = note((1_000 * E6, 0), (0, 0), 0b01)
    tree = Pool.with_note(n).tree
    request = pool.TransitionRequest(
        n, SK, tree.proof(n.commitment), Op.BORROW, 1, 750 * E6, EXACT, 777, BINDING, KEEPERS, tree.frontier(), EPH
    )
    honest = _via_statement(spec, request)
    return honest, attack(n, Op.BORROW, 1, 750 * E6 + 1, EXACT)


def _pool_liquidation(spec: CircuitSpec) -> tuple[Inputs, Inputs]:
    """A note at HF exactly 1e18 - 1 (liquidated, half its debt at the close factor) and one at HF
    exactly 1e18 (not liquidatable: the outcome claimed is the model's with its bar lifted to 2)."""
    assert spec.n_assets == pool_liq.BASE8.n
    at_one, below = pool_liq._hf_notes()
    proof = pool_liq.tree_with(below.commitment).proof(below.commitment)
    request = pool.LiquidationRequest(below, proof, pool_liq.BASE8, 0, 1, 1_000 * 10**8, pool_liq.BINDING, KEEPERS)
    honest = _via_statement(spec, request)
    with mock.patch.object(liquidation_step, "WAD", 2 * WAD):
        wrong = pool_liq.honest(at_one, pool_liq.BASE8, 0, 1, 1_000 * 10**8)
    return honest, wrong


SampleBuilder = Callable[[CircuitSpec], tuple[Inputs, Inputs]]
SAMPLES: dict[str, SampleBuilder] = {
    "liquidation": lambda spec: _lending(spec, solvency=False),
    "liquidation_hashed": lambda spec: _lending(spec, solvency=False),
    "solvency": lambda spec: _lending(spec, solvency=True),
    "perp_liquidation": lambda spec: _perp(spec, attestation=False),
    "perp_attestation": lambda spec: _perp(spec, attestation=True),
    "liquidation_step": _step,
    "pool_open": _pool_open,
    "pool_transition": _pool_transition,
    "pool_liquidation": _pool_liquidation,
}


@cache
def samples(circuit_id: str) -> tuple[Inputs, Inputs]:
    spec = registry.get(circuit_id)
    builder = SAMPLES.get(spec.statement)
    if builder is None:
        pytest.fail(
            f"statement {spec.statement!r} (circuit {circuit_id}) has no sample builder: add one to SAMPLES "
            "in tests/test_conformance.py, (spec) -> (honest inputs, inputs on the wrong side of its boundary)",
            pytrace=False,
        )
    return builder(spec)


def public_values(spec: CircuitSpec, inputs: Inputs) -> list[int]:
    """The public signals of the inputs, in the registry's order (arrays expanded; a
    multi-dimensional array's inputs are flat, row-major, as circom reads them)."""
    out = []
    seen: dict[str, int] = {}
    for name in spec.public_signal_names():
        base = name.partition("[")[0]
        v = inputs[base]
        k = seen[base] = seen.get(base, -1) + 1
        out.append(v if isinstance(v, int) else v[k])
    return [x % R for x in out]


@pytest.mark.parametrize("circuit_id", sorted(registry.load_registry()))
def test_statement_has_a_sample_builder(circuit_id: str) -> None:
    spec = registry.get(circuit_id)
    assert spec.statement in statement.registered(), f"{circuit_id}: no statement plug-in named {spec.statement!r}"
    honest, wrong = samples(circuit_id)
    assert honest.keys() == wrong.keys() and honest != wrong
    public_values(spec, honest)  # every public signal is an input


def test_no_sample_builder_for_an_unknown_statement() -> None:
    assert sorted(set(SAMPLES) - set(statement.registered())) == []


# --- every registered circuit against its R1CS ---


@dataclass(frozen=True)
class Circuit:
    spec: CircuitSpec
    compiled: CompiledCircuit
    r1cs: R1cs  # the checker, reused by every test of this circuit
    calc: WitnessCalculator

    def failing(self, inputs: Inputs) -> list[int]:
        """Constraints that the witness computed for inputs (failed asserts skipped) violates."""
        return self.r1cs.failing_constraints(self.calc.calculate(inputs, lenient=True))


@pytest.fixture(scope="module", params=sorted(registry.load_registry()))
def circuit(request: pytest.FixtureRequest, tc: Toolchain) -> Circuit:
    compiled = build.compile_circuit(registry.get(request.param), tc)  # no keys needed here
    return Circuit(compiled.spec, compiled, read_r1cs(compiled.r1cs), WitnessCalculator(compiled.wasm))


@pytest.mark.slow
def test_constraint_count_is_pinned(circuit: Circuit) -> None:
    cid = circuit.spec.id
    assert cid in CONSTRAINTS, f"{cid} has {circuit.compiled.n_constraints} constraints: pin them in CONSTRAINTS"
    assert circuit.compiled.n_constraints == circuit.r1cs.header.n_constraints == CONSTRAINTS[cid][0], (
        f"{cid}: {CONSTRAINTS[cid][1]}"
    )


@pytest.mark.slow
def test_public_signals_follow_the_registry(circuit: Circuit) -> None:
    names = circuit.spec.public_signal_names()
    assert circuit.compiled.public_signals == names
    assert circuit.r1cs.header.n_public == len(names) and circuit.r1cs.header.n_pub_out == 0


@pytest.mark.slow
def test_honest_witness_satisfies_the_r1cs(circuit: Circuit) -> None:
    honest, _ = samples(circuit.spec.id)
    witness = circuit.calc.calculate(honest)  # strict: every assert holds
    assert circuit.r1cs.failing_constraints(witness) == []
    assert witness[1 : 1 + circuit.r1cs.header.n_public] == public_values(circuit.spec, honest)


@pytest.mark.slow
def test_each_public_input_plus_one_fails(circuit: Circuit) -> None:
    honest, _ = samples(circuit.spec.id)
    witness = circuit.calc.calculate(honest)
    names = circuit.spec.public_signal_names()
    unbound = []
    for wire in range(1, circuit.r1cs.header.n_public + 1):
        edited = list(witness)
        edited[wire] = (edited[wire] + 1) % R
        if not circuit.r1cs.failing_constraints(edited):
            unbound.append(names[wire - 1])
    assert unbound == [], f"{circuit.spec.id}: public inputs that no constraint binds"


@pytest.mark.slow
def test_wrong_side_of_the_boundary_fails(circuit: Circuit) -> None:
    honest, wrong = samples(circuit.spec.id)
    with pytest.raises(WitnessError):
        circuit.calc.calculate(wrong)
    assert circuit.failing(wrong), f"{circuit.spec.id}: the wrong side of the boundary satisfies the R1CS"
    assert circuit.failing(honest) == []  # and the right side next to it does: the test can fail
