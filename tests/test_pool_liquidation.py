"""Liquidation of a private-pool note: PoolLiquidation(2, 20) against its R1CS and the step's model.

The model (zkmargin/pool/liquidation.py) is zkmargin.liquidation_step.liquidate at rules v3.5 on
the note's scaled balances; `test_model_equals_the_step_model_on_random_notes` checks it against
the step model called directly on an independently built market. Every refusal of the model is a
refusal of the circuit, shown as tests/test_step_refusals.py shows it: the model raises, the
strict witness generator stops at the refusal's own check (named by the line of PoolLiquidation
that runs it), the witness an attacker computes anyway (the witness generator run leniently on the
refused call's inputs, claiming the outcome of the circuit's own arithmetic) violates the R1CS, and
the legal call on the other side of the boundary satisfies every constraint. Boundaries: HF exactly
1 (refused) and 1 - 1 wei (liquidated); the close factor at HF exactly 0.95 and the 2000e8
thresholds, each one unit either side; the dust rule one unit either side.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import pytest

from zkmargin import api, build, liquidation_step, paths, registry, verifiers
from zkmargin.aave_math import RAY
from zkmargin.build import CircuitKeys
from zkmargin.errors import InputError, StatementFalse, WitnessError
from zkmargin.evm import InProcessChain
from zkmargin.field import R
from zkmargin.limits import WAD
from zkmargin.liquidation_step import AaveRevert, liquidate
from zkmargin.model import Asset, Market, Position, PricePoint, PriceSnapshot
from zkmargin.pinning import InstalledKeys
from zkmargin.pool.liquidation import (
    DOMAIN_LIQUIDATION_SALT,
    LIQUIDATION_PUBLIC,
    LiquidationMarket,
    liquidate_note,
    liquidation_inputs,
    liquidation_salt,
    successor_from_public,
)
from zkmargin.pool.note import DOMAIN_NOTE, Note, nullifier, owner_tag
from zkmargin.pool.transition import PoolMarket, ReserveView, account_data, binding, public_signals
from zkmargin.pool.tree import LeanIMT
from zkmargin.poseidon import poseidon
from zkmargin.r1cs import R1cs, read_r1cs
from zkmargin.settings import Settings
from zkmargin.statements import pool as pool_statements
from zkmargin.toolchain import Toolchain
from zkmargin.witness import InputValue, WitnessCalculator

from .test_pool_transition import KEEPERS, VIEW, raw_seal

Inputs = dict[str, InputValue]
E6, E8, E18 = 10**6, 10**8, 10**18
OWNER = owner_tag(0x5EC12E7)
BINDING = binding(1, "0x" + "11" * 20, "0x" + "22" * 20, "0x" + "33" * 20)
ID = "pool_liquidation_2"


def lm(
    *reserves: ReserveView, bonus: tuple[int, int] = (10500, 10450), fee: tuple[int, int] = (1000, 1000)
) -> LiquidationMarket:
    return LiquidationMarket(PoolMarket(reserves), bonus, fee)


# WETH and USDC with grown indexes, as a pool holds them after a while
GROWN = lm(
    ReserveView(2500 * E8, RAY + RAY // 10 + 12345, RAY + RAY // 7 + 999, 18, 8000, 8250),
    ReserveView(10**8 - 37, RAY + 3 * RAY // 100 + 1, RAY + RAY // 20 + 77777, 6, 7500, 7800),
)
# WETH and USDC at 1 ray
FLAT = lm(ReserveView(2500 * E8, RAY, RAY, 18, 8000, 8250), ReserveView(E8, RAY, RAY, 6, 7500, 7800))
# two $1 tokens of 8 decimals at 1 ray: one unit is one base unit, so every threshold is hit exactly.
# LT 8000 and 7999 (coprime): W = 8000 v0 + 7999 v1 takes every value, HF exactly 1e18 - 1 included
BASE8 = lm(ReserveView(E8, RAY, RAY, 8, 7500, 8000), ReserveView(E8, RAY, RAY, 8, 7500, 7999), bonus=(10500, 10500))


@dataclass(frozen=True)
class Circuit:
    r1cs: R1cs
    calc: WitnessCalculator

    def failing(self, inputs: Inputs) -> list[int]:
        return self.r1cs.failing_constraints(self.calc.calculate(inputs, lenient=True))

    def satisfied(self, inputs: Inputs) -> list[int]:
        witness = self.calc.calculate(inputs)
        assert self.r1cs.failing_constraints(witness) == []
        n = self.r1cs.header.n_public
        assert witness[1 : 1 + n] == [v % R for v in public_signals(LIQUIDATION_PUBLIC, inputs)]
        return witness

    def refuses(self, inputs: Inputs, checks: set[str]) -> None:
        """The strict generator stops at one of `checks` (components of PoolLiquidation, by the
        line that runs them) and the attacker's lenient witness violates the R1CS."""
        assert first_false_check(self, inputs) in checks
        assert self.failing(inputs), "an attacker's witness satisfies the R1CS"


SOURCE = (paths.CIRCUITS_DIR / "lib" / "pool_liquidation.circom").read_text().splitlines()


def first_false_check(circuit: Circuit, inputs: Inputs) -> str:
    with pytest.raises(WitnessError) as e:
        circuit.calc.calculate(inputs)
    at = re.search(r"PoolLiquidation_\d+ line: (\d+)", str(e.value))
    assert at, str(e.value)
    line = SOURCE[int(at.group(1)) - 1]
    name = re.match(r"\s*(\w+)", line)
    assert name, line
    return name.group(1)


@pytest.fixture(scope="module")
def circuit(tc: Toolchain) -> Circuit:
    compiled = build.compile_circuit(registry.get(ID), tc)
    return Circuit(read_r1cs(compiled.r1cs), WitnessCalculator(compiled.wasm))


def note(coll: tuple[int, int], debt: tuple[int, int], flags: int = 0b01, salt: int = 42) -> Note:
    return Note(coll, debt, flags, OWNER, salt, VIEW)


def tree_with(commitment: int) -> LeanIMT:
    tree = LeanIMT()
    for leaf in (101, 202, commitment, 303):
        tree.insert(leaf)
    return tree


def honest(n: Note, market: LiquidationMarket, c: int, d: int, ask: int) -> Inputs:
    return liquidation_inputs(
        n, tree_with(n.commitment).proof(n.commitment), market, c, d, ask, BINDING, KEEPERS
    ).inputs


def forge(
    coll: tuple[int, int],
    debt: tuple[int, int],
    flags: int,
    market: LiquidationMarket,
    c: int,
    d: int,
    ask: int,
    *,
    repaid: int,
    to_liquidator: int,
    fee: int,
    deficit: tuple[int, int],
    new_coll: tuple[int, int],
    new_debt: tuple[int, int],
    new_flags: int,
    salt: int = 42,
) -> Inputs:
    """An attacker's claim, any values (mod r), on a note that may be no legal note: the opening's
    commitment put in a tree, its nullifier, the successor with the derived salt."""
    com = poseidon([DOMAIN_NOTE, OWNER, salt, flags, *(v % R for v in coll), *(v % R for v in debt), *VIEW])
    tree = tree_with(com)
    proof = tree.proof(com)
    nf = nullifier(com, salt)
    successor = [
        OWNER,
        liquidation_salt(salt, nf),
        new_flags,
        *(v % R for v in new_coll),
        *(v % R for v in new_debt),
        *VIEW,
    ]
    new = poseidon([DOMAIN_NOTE, *successor])
    return {
        "root": tree.root,
        "nullifier": nf,
        "newCommitment": new,
        "collateralAsset": c % R,
        "debtAsset": d % R,
        "debtToCover": ask % R,
        "debtRepaid": repaid % R,
        "collateralToLiquidator": to_liquidator % R,
        "protocolFee": fee % R,
        "deficit": [v % R for v in deficit],
        "binding": BINDING,
        **market.public(),
        "ownerTag": OWNER,
        "salt": salt,
        "collateralFlags": flags,
        "scaledCollateral": [v % R for v in coll],
        "scaledDebt": [v % R for v in debt],
        "viewKey": list(VIEW),
        "pathLength": proof.length,
        "pathIndex": proof.index,
        "siblings": list(proof.siblings),
        **raw_seal(successor),
    }


# --- the model is the step's model ---


def _step_market(market: LiquidationMarket) -> tuple[Market, PriceSnapshot]:
    """The same reserves built for zkmargin.model by hand (not through LiquidationMarket)."""
    rs = market.market.reserves
    assets = tuple(
        Asset(f"R{i}", r.decimals, r.liquidation_threshold, market.liquidation_bonus[i], market.protocol_fee[i])
        for i, r in enumerate(rs)
    )
    prices = {f"R{i}": PricePoint(r.price, 0, 0, r.liquidity_index, r.variable_borrow_index) for i, r in enumerate(rs)}
    return Market("pool", assets, "aave-v3.5"), PriceSnapshot(prices)


def test_model_equals_the_step_model_on_random_notes(circuit: Circuit) -> None:
    """Random notes at grown indexes: liquidate_note refuses exactly what the step model (v3.5, no
    eMode) refuses, with the same message, and otherwise gives its amounts and its position; the
    circuit accepts each accepted call."""
    rng = random.Random(20261128)
    m, prices = _step_market(GROWN)
    accepted = refused = 0
    for k in range(40):
        coll = (rng.choice([0, rng.randrange(1, 20 * E18)]), rng.choice([0, rng.randrange(1, 40_000 * E6)]))
        # debt around the collateral's weighted value (USD): HF mostly in (0.6, 1.25)
        weighted_usd = coll[0] * 2750 * 825 // (1000 * E18) + coll[1] * 78 // (100 * E6)
        debt0 = rng.choice([0, 0, rng.randrange(1, E18)])
        debt = (debt0, max(0, int(weighted_usd * rng.uniform(0.8, 1.6)) - debt0 * 2850 // E18) * E6)
        flags = sum(1 << i for i in range(2) if coll[i] and rng.random() < 0.9)
        n = note(coll, debt, flags, salt=rng.randrange(R))
        c, d = rng.randrange(2), rng.randrange(2)
        ask = rng.choice([1, rng.randrange(1, 10**22), 2**128 - 1])
        pos = Position(
            {"R0": coll[0], "R1": coll[1]},
            {"R0": debt[0], "R1": debt[1]},
            n.salt,
            frozenset(f"R{i}" for i in range(2) if flags >> i & 1),
            scaled=True,
        )
        salt = liquidation_salt(n.salt, n.nullifier)
        try:
            expected = liquidate(pos, m, prices, f"R{c}", f"R{d}", ask, salt)
        except (StatementFalse, InputError) as e:
            with pytest.raises(type(e), match=re.escape(str(e))):
                liquidate_note(n, GROWN, c, d, ask)
            refused += 1
            continue
        got = liquidate_note(n, GROWN, c, d, ask)
        assert got.outcome == expected
        p = expected.new_position
        assert got.new.scaled_collateral == (p.collateral.get("R0", 0), p.collateral.get("R1", 0))
        assert got.new.scaled_debt == (p.debt.get("R0", 0), p.debt.get("R1", 0))
        assert got.new.collateral_flags == p.flags(m) and got.new.owner_tag == OWNER and got.new.salt == salt
        if k % 3 == 0 or any(got.deficit):
            circuit.satisfied(honest(n, GROWN, c, d, ask))
        accepted += 1
    assert accepted >= 5 and refused >= 5


# --- honest liquidations ---


def test_partial_capped_and_full_liquidations_satisfy_the_r1cs(circuit: Circuit) -> None:
    n = note((10 * E18, 0), (0, 22_000 * E6))
    partial = liquidate_note(n, GROWN, 0, 1, 1_000 * E6)
    assert partial.debt_repaid == 1_000 * E6
    circuit.satisfied(honest(n, GROWN, 0, 1, 1_000 * E6))
    capped = liquidate_note(n, GROWN, 0, 1, 2**128 - 1)
    assert capped.outcome.close_factor_applied and capped.new.collateral_flags == 0b01
    circuit.satisfied(honest(n, GROWN, 0, 1, 2**128 - 1))
    # HF < 0.95: everything may go; the collateral and debt in one reserve (Aave allows it)
    low = note((10 * E18, 3_000 * E6), (E18, 26_000 * E6), 0b11)
    assert account_data(low, GROWN.market).health.health_factor < 95 * 10**16
    full = liquidate_note(low, GROWN, 1, 1, 2**128 - 1)
    assert full.new.collateral_flags == 0b01 and full.new.scaled_collateral[1] == 0  # flag cleared
    circuit.satisfied(honest(low, GROWN, 1, 1, 2**128 - 1))


def test_deficit_when_the_collateral_is_exhausted(circuit: Circuit) -> None:
    """v3.5's _burnBadDebt: no collateral left after the call, so every debt of the note (both
    reserves) is burnt and what was not repaid is the deficit, exactly the model's."""
    n = note((2 * E18, 0), (E18 // 2, 9_000 * E6))
    liq = liquidate_note(n, GROWN, 0, 1, 2**128 - 1)
    o = liq.outcome
    assert o.has_deficit and liq.new.scaled_debt == (0, 0) and liq.new.scaled_collateral == (0, 0)
    assert liq.new.collateral_flags == 0
    debts = [v.debt_balance for v in o.health_before.valuations]
    assert liq.deficit == (debts[0], debts[1] - o.debt_repaid) and all(liq.deficit)
    inputs = honest(n, GROWN, 0, 1, 2**128 - 1)
    assert inputs["deficit"] == list(liq.deficit)
    circuit.satisfied(inputs)
    # a deficit one wei off, or none claimed, is no liquidation of this note
    for wrong in ([liq.deficit[0], liq.deficit[1] - 1], [0, 0]):
        assert circuit.failing({**inputs, "deficit": wrong})
    # the collateral cap: the liquidator pays percentDivCeil(collateral as debt, bonus), not what it asked
    assert o.debt_repaid < debts[1]
    assert circuit.failing({**inputs, "debtRepaid": debts[1]})


def test_the_owner_recomputes_the_successor_from_public_inputs() -> None:
    """From the old opening and the proof's public inputs (the claim) alone; another salt, or another
    debtToCover than the claim's, gives no note that opens newCommitment."""
    from zkmargin.bundle import Claim

    spec = registry.get(ID)
    for n, c, d, ask in (
        (note((10 * E18, 0), (0, 22_000 * E6)), 0, 1, 1_000 * E6),
        (note((10 * E18, 0), (0, 22_000 * E6)), 0, 1, 2**128 - 1),
        (note((2 * E18, 0), (E18 // 2, 9_000 * E6)), 0, 1, 2**128 - 1),
        (note((10 * E18, 3_000 * E6), (E18, 26_000 * E6), 0b11), 1, 1, 2**128 - 1),
    ):
        inputs = honest(n, GROWN, c, d, ask)
        values = public_signals(LIQUIDATION_PUBLIC, inputs)
        s = Claim("pool_liquidation", spec.id, dict(zip(spec.public_signal_names(), values, strict=True)), ()).signals
        assert s["nullifier"] == n.nullifier  # how the owner knows the note is its own
        liq = successor_from_public(
            n, GROWN, s["collateralAsset"], s["debtAsset"], s["debtToCover"], s["newCommitment"]
        )
        assert liq.new == liquidate_note(n, GROWN, c, d, ask).new and liq.new.owner_tag == OWNER
        assert (liq.debt_repaid, liq.collateral_to_liquidator, liq.protocol_fee) == (
            s["debtRepaid"],
            s["collateralToLiquidator"],
            s["protocolFee"],
        )
        with pytest.raises(InputError, match="newCommitment"):
            successor_from_public(n.with_salt(n.salt + 1), GROWN, c, d, ask, s["newCommitment"])
        if ask != 2**128 - 1:
            with pytest.raises(InputError, match="newCommitment"):
                successor_from_public(n, GROWN, c, d, ask + 1, s["newCommitment"])


def test_two_liquidations_never_collide() -> None:
    """Two notes of one owner with the same salt, both wiped out (deficit): their successors hold the
    same (empty) balances, so a salt derived from the old salt alone would give one commitment twice,
    and the pool (NoteTree refuses a leaf twice) could not book the second liquidation. The nullifier
    in the derivation separates them: distinct notes have distinct commitments, hence nullifiers."""
    a = note((E18 // 100, 0), (0, 9_000 * E6), salt=7)
    b = note((E18 // 100, 0), (0, 9_001 * E6), salt=7)
    la, lb = liquidate_note(a, GROWN, 0, 1, 2**128 - 1), liquidate_note(b, GROWN, 0, 1, 2**128 - 1)
    assert la.new.scaled_collateral == lb.new.scaled_collateral == (0, 0)
    assert la.new.scaled_debt == lb.new.scaled_debt == (0, 0) and la.new.collateral_flags == lb.new.collateral_flags
    naive = poseidon([DOMAIN_LIQUIDATION_SALT, 7])
    assert replace(la.new, salt=naive).commitment == replace(lb.new, salt=naive).commitment
    assert la.new.commitment != lb.new.commitment
    assert la.new.salt == poseidon([DOMAIN_LIQUIDATION_SALT, 7, a.nullifier])


# --- refusals ---


def _hf_notes() -> tuple[Note, Note]:
    """HF exactly 1e18 (not liquidatable) and exactly 1e18 - 1: TD = 1e14 base, W = TD * 1e4 (- 1)."""
    td = 10**14
    at_one = note((td * 10**4 // 8000, 0), (0, td), 0b01)
    below = note((td * 10**4 // 8000 - 1, 1), (0, td), 0b11)  # W = 8000 (v0 - 1) + 7999
    return at_one, below


def test_hf_exactly_one_is_refused_one_wei_below_is_liquidated(
    circuit: Circuit, monkeypatch: pytest.MonkeyPatch
) -> None:
    at_one, below = _hf_notes()
    assert account_data(at_one, BASE8.market).health.health_factor == WAD
    assert account_data(below, BASE8.market).health.health_factor == WAD - 1
    circuit.satisfied(honest(below, BASE8, 0, 1, 1_000 * E8))
    with pytest.raises(AaveRevert, match="HealthFactorNotBelowThreshold"):
        liquidate_note(at_one, BASE8, 0, 1, 1_000 * E8)
    monkeypatch.setattr(liquidation_step, "WAD", 2 * WAD)  # the model's bar moves, the circuit keeps 1e18
    circuit.refuses(honest(at_one, BASE8, 0, 1, 1_000 * E8), {"hfBelowOne"})


def test_a_note_without_debt_is_refused(circuit: Circuit) -> None:
    n = note((10 * E18, 0), (0, 0))
    with pytest.raises(AaveRevert, match="HealthFactorNotBelowThreshold"):
        liquidate_note(n, FLAT, 0, 1, E6)
    nothing = dict(repaid=0, to_liquidator=0, fee=0, deficit=(0, 0), new_coll=(10 * E18, 0), new_debt=(0, 0))
    circuit.refuses(forge((10 * E18, 0), (0, 0), 1, FLAT, 0, 1, E6, **nothing, new_flags=1), {"hfBelowOne"})  # type: ignore[arg-type]


# (note, ask) pairs on both sides of each close-factor boundary, the cap applying on the second
CLOSE_FACTOR_CASES = {
    # HF exactly 0.95 (19000 x 0.8 / 16000): 100%; one unit less debt: HF > 0.95, 50%
    "HF 0.95": (note((19_000 * E8, 0), (0, 16_000 * E8)), note((19_000 * E8, 0), (0, 16_000 * E8 - 1))),
    # the collateral reserve's value one unit below 2000e8, then exactly 2000e8 (HF 0.99)
    "collateral 2000e8": (
        note((2_000 * E8 - 1, 600 * E8), (0, 2_100 * E8), 0b11),
        note((2_000 * E8, 600 * E8), (0, 2_100 * E8), 0b11),
    ),
    # the debt reserve's value one unit below 2000e8, then exactly 2000e8 (HF 0.98)
    "debt 2000e8": (note((2_450 * E8, 0), (0, 2_000 * E8 - 1)), note((2_450 * E8, 0), (0, 2_000 * E8))),
}


@pytest.mark.parametrize("case", sorted(CLOSE_FACTOR_CASES))
def test_close_factor_boundaries(circuit: Circuit, case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each side of the boundary: the model's outcome satisfies the circuit, and the other rule's
    outcome (the model with the threshold moved past this note, dust rule lifted) is refused at
    debtRepaid. With the collateral reserve at exactly 2000e8 the capped call always leaves less
    than 1000e8 of it (it seizes >= 50% of a debt >= 2000e8, plus the bonus), so v3.5 refuses it
    (MustNotLeaveDust): a keeper must ask for less, and then the cap does not bind."""
    full, capped = CLOSE_FACTOR_CASES[case]
    ask = 2**128 - 1
    assert not liquidate_note(full, BASE8, 0, 1, ask).outcome.close_factor_applied
    good_full = honest(full, BASE8, 0, 1, ask)
    circuit.satisfied(good_full)
    with monkeypatch.context() as mp:
        mp.setattr(liquidation_step, "MIN_LEFTOVER_BASE", 0)
        capped_outcome = liquidate_note(capped, BASE8, 0, 1, ask)
        assert capped_outcome.outcome.close_factor_applied
        with mp.context() as mp2:  # the capped note, claimed without the cap
            mp2.setattr(liquidation_step, "CLOSE_FACTOR_HF_THRESHOLD", WAD)
            uncapped = honest(capped, BASE8, 0, 1, ask)
        with mp.context() as mp2:  # the full note, claimed with the cap
            mp2.setattr(liquidation_step, "CLOSE_FACTOR_HF_THRESHOLD", 0)
            mp2.setattr(liquidation_step, "MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD", 0)
            overcapped = honest(full, BASE8, 0, 1, ask)
    if case == "collateral 2000e8":
        with pytest.raises(AaveRevert, match="MustNotLeaveDust"):
            liquidate_note(capped, BASE8, 0, 1, ask)
        circuit.satisfied(honest(capped, BASE8, 0, 1, 900 * E8))
    else:
        good_capped = honest(capped, BASE8, 0, 1, ask)
        assert good_capped["debtRepaid"] == capped_outcome.debt_repaid
        circuit.satisfied(good_capped)
    assert uncapped["debtRepaid"] != capped_outcome.debt_repaid
    circuit.refuses(uncapped, {"debtRepaid"})
    assert overcapped["debtRepaid"] != good_full["debtRepaid"]
    circuit.refuses(overcapped, {"debtRepaid"})


@pytest.mark.parametrize(
    ("n", "ask"),
    [
        (note((20_000 * E8, 0), (0, 17_000 * E8)), 16_000 * E8),  # debt left exactly 1000e8 (HF 0.94)
        (note((17_800 * E8, 0), (0, 20_000 * E8)), 16_000 * E8),  # collateral left exactly 1000e8
    ],
    ids=["debt", "collateral"],
)
def test_dust_rule_one_unit_either_side(circuit: Circuit, n: Note, ask: int, monkeypatch: pytest.MonkeyPatch) -> None:
    liq = liquidate_note(n, BASE8, 0, 1, ask)
    left = min(n.scaled_debt[1] - liq.debt_repaid, liq.new.scaled_collateral[0])
    assert left == 1_000 * E8  # exactly MIN_LEFTOVER_BASE of one of them
    circuit.satisfied(honest(n, BASE8, 0, 1, ask))
    with pytest.raises(AaveRevert, match="MustNotLeaveDust"):
        liquidate_note(n, BASE8, 0, 1, ask + 1)
    monkeypatch.setattr(liquidation_step, "MIN_LEFTOVER_BASE", 0)
    circuit.refuses(honest(n, BASE8, 0, 1, ask + 1), {"noDust"})


def test_debt_repaid_zero_is_refused(circuit: Circuit) -> None:
    """1 wei of WETH is worth 0 USDC units: the whole collateral would go for nothing repaid (and
    the debt written off). zkmargin refuses a call that repays nothing; so does the circuit."""
    with pytest.raises(StatementFalse, match="repay no R1"):
        liquidate_note(note((1, 0), (0, 5_000 * E6)), FLAT, 0, 1, E6)
    attack = forge(
        (1, 0), (0, 5_000 * E6), 1, FLAT, 0, 1, E6,
        repaid=0, to_liquidator=1, fee=0, deficit=(0, 5_000 * E6), new_coll=(0, 0), new_debt=(0, 0), new_flags=0,
    )  # fmt: skip
    circuit.refuses(attack, {"repaysSomething"})
    circuit.satisfied(honest(note((10**9, 0), (0, 5_000 * E6)), FLAT, 0, 1, E6))  # 1 gwei: 2 units repaid


def test_debt_to_cover_zero_and_past_its_width_are_refused(circuit: Circuit) -> None:
    n = note((10 * E18, 0), (0, 22_000 * E6))
    for ask in (0, 2**128, -1):
        with pytest.raises(InputError, match="--debt-to-cover"):
            liquidate_note(n, FLAT, 0, 1, ask)
    moves = dict(new_coll=(10 * E18, 0), new_debt=(0, 22_000 * E6), new_flags=1)
    nothing = forge(
        (10 * E18, 0), (0, 22_000 * E6), 1, FLAT, 0, 1, 0, repaid=0, to_liquidator=0, fee=0, deficit=(0, 0), **moves
    )  # type: ignore[arg-type]
    circuit.refuses(nothing, {"asksSomething"})
    legal = honest(n, FLAT, 0, 1, 2**128 - 1)
    circuit.satisfied(legal)
    for wide in (2**128, R - 1):
        circuit.refuses({**legal, "debtToCover": wide}, {"dtcRange"})


def test_balances_past_their_width_are_refused(circuit: Circuit) -> None:
    with pytest.raises(InputError, match=r"scaledDebt\[1\]"):
        note((10 * E18, 0), (0, 2**128))
    # the claim of a note owing 2^128 units (an opening no operation makes): its valuation refuses it
    bad = forge(
        (10 * E18, 0), (0, 2**128), 1, FLAT, 0, 1, E6,
        repaid=E6, to_liquidator=0, fee=0, deficit=(0, 0), new_coll=(10 * E18, 0), new_debt=(0, 2**128 - E6), new_flags=1,
    )  # fmt: skip
    circuit.refuses(bad, {"val"})


def test_collateral_equivalent_past_its_width_is_refused(circuit: Circuit, monkeypatch: pytest.MonkeyPatch) -> None:
    """1e30 wei of X at 1e-8 USD a token against 4e10 units of Y (0 decimals) at 100 USD: the
    collateral equivalent of the debt is 4e38 >= 2^128 wei of X; 3e10 units (3e38) still fit."""
    wide = lm(ReserveView(1, RAY, RAY, 18, 0, 7000), ReserveView(10**10, RAY, RAY, 0, 0, 0))
    n = note((10**30, 0), (0, 4 * 10**10))
    with pytest.raises(InputError, match="collateral equivalent"):
        liquidate_note(n, wide, 0, 1, 4 * 10**10)
    circuit.satisfied(honest(n, wide, 0, 1, 3 * 10**10))
    monkeypatch.setattr(liquidation_step, "WIDE", 2**256)
    circuit.refuses(honest(n, wide, 0, 1, 4 * 10**10), {"base"})


@pytest.mark.parametrize(
    ("field", "value", "check"),
    [
        ("price", 0, "params"),
        ("liquidityIndex", RAY - 1, "params"),
        ("borrowIndex", RAY + 2**100, "params"),
        ("decimals", 19, "params"),
        ("liqThreshold", 10001, "params"),
        ("liquidationBonus", 2**15, "bonusRange"),
        ("liquidationProtocolFee", 10001, "feeMax"),
    ],
)
def test_market_values_past_their_ranges_are_refused(circuit: Circuit, field: str, value: int, check: str) -> None:
    """What PoolMarket / LiquidationMarket refuse (InputError), the circuit refuses in reserve 0."""
    r = FLAT.market.reserves[0]
    view = {
        "price": "price",
        "liquidityIndex": "liquidity_index",
        "borrowIndex": "variable_borrow_index",
        "decimals": "decimals",
        "liqThreshold": "liquidation_threshold",
    }
    with pytest.raises(InputError, match=re.escape(f"{field}[0]")):
        if field in view:
            lm(replace(r, **{view[field]: value}), FLAT.market.reserves[1])
        elif field == "liquidationBonus":
            lm(*FLAT.market.reserves, bonus=(value, 10450))
        else:
            lm(*FLAT.market.reserves, fee=(value, 1000))
    legal = honest(note((10 * E18, 0), (0, 22_000 * E6)), FLAT, 0, 1, E6)
    values = list(legal[field])  # type: ignore[arg-type]
    values[0] = value
    circuit.refuses({**legal, field: values}, {check})


def test_a_bonus_of_at_most_100_percent_is_refused(circuit: Circuit) -> None:
    """PoolConfigurator keeps the bonus of a collateral with LT != 0 above 100% (the loader and the
    model refuse less); the circuit requires bonus >= 10001 of the collateral reserve."""
    n = note((10 * E18, 0), (0, 22_000 * E6))
    flat = FLAT.market.reserves
    with pytest.raises(InputError, match="liquidationBonus"):
        liquidate_note(n, lm(*flat, bonus=(10000, 10450)), 0, 1, E6)
    circuit.satisfied(honest(n, lm(*flat, bonus=(10001, 10450)), 0, 1, E6))
    legal = honest(n, lm(*flat, bonus=(10001, 10450)), 0, 1, E6)
    circuit.refuses({**legal, "liquidationBonus": [10000, 10450]}, {"bonusAbove"})
    circuit.refuses({**legal, "liquidationBonus": [0, 10450]}, {"bonusAbove"})


def test_reserve_index_out_of_range_is_refused(circuit: Circuit) -> None:
    n = note((10 * E18, 0), (0, 22_000 * E6))
    legal = honest(n, FLAT, 0, 1, E6)
    for field, check in (("collateralAsset", "selC"), ("debtAsset", "selD")):
        with pytest.raises(InputError, match=field):
            liquidate_note(n, FLAT, 2 if field == "collateralAsset" else 0, 2 if field == "debtAsset" else 1, E6)
        circuit.refuses({**legal, field: 2}, {check})


def test_collateral_flag_off_or_lt_zero_is_refused(circuit: Circuit) -> None:
    """CollateralCannotBeLiquidated (v3.5 :348-353): the flag is off, or the reserve's LT is 0."""
    on = note((10 * E18, 0), (0, 22_000 * E6), 0b01)
    off = replace(on, collateral_flags=0)
    with pytest.raises(AaveRevert, match="CollateralCannotBeLiquidated"):
        liquidate_note(off, FLAT, 0, 1, E6)
    legal = liquidate_note(on, FLAT, 0, 1, E6)
    o, new = legal.outcome, legal.new
    claim = forge(
        (10 * E18, 0), (0, 22_000 * E6), 0, FLAT, 0, 1, E6,
        repaid=o.debt_repaid, to_liquidator=o.collateral_to_liquidator, fee=o.protocol_fee, deficit=(0, 0),
        new_coll=new.scaled_collateral, new_debt=new.scaled_debt, new_flags=0,  # type: ignore[arg-type]
    )  # fmt: skip
    circuit.refuses(claim, {"collateralEnabled"})
    lt0 = lm(ReserveView(2500 * E8, RAY, RAY, 18, 0, 0), FLAT.market.reserves[1])
    lt1 = lm(ReserveView(2500 * E8, RAY, RAY, 18, 0, 1), FLAT.market.reserves[1])
    n = note((10 * E18, 0), (0, 10 * E6))  # LT 1 bps: HF ~0.25
    with pytest.raises(AaveRevert, match="CollateralCannotBeLiquidated"):
        liquidate_note(n, lt0, 0, 1, 10 * E6)
    good = honest(n, lt1, 0, 1, 10 * E6)  # all of it (a partial call would leave dust)
    circuit.satisfied(good)
    claimed = {**good, "liqThreshold": [0, good["liqThreshold"][1]]}  # type: ignore[index]
    circuit.refuses(claimed, {"collateralEnabled"})


def test_no_debt_in_the_debt_reserve_is_refused(circuit: Circuit) -> None:
    n = note((10 * E18, 0), (0, 22_000 * E6))
    with pytest.raises(AaveRevert, match="SpecifiedCurrencyNotBorrowedByUser"):
        liquidate_note(n, FLAT, 0, 0, E6)
    nothing = dict(repaid=0, to_liquidator=0, fee=0, deficit=(0, 0), new_coll=(10 * E18, 0), new_debt=(0, 22_000 * E6))
    circuit.refuses(forge((10 * E18, 0), (0, 22_000 * E6), 1, FLAT, 0, 0, E6, **nothing, new_flags=1), {"hasDebt"})  # type: ignore[arg-type]


def test_repay_that_burns_no_scaled_debt_is_refused(circuit: Circuit) -> None:
    """InvalidBurnAmount: 1 unit at a borrow index of 1.5 ray burns floor(1 / 1.5) = 0 scaled debt."""
    half = lm(FLAT.market.reserves[0], ReserveView(E8, RAY, 3 * RAY // 2, 6, 7500, 7800))
    n = note((10 * E18, 0), (0, 20_000 * E6))
    with pytest.raises(AaveRevert, match="InvalidBurnAmount"):
        liquidate_note(n, half, 0, 1, 1)
    two = liquidate_note(n, half, 0, 1, 2)
    circuit.satisfied(honest(n, half, 0, 1, 2))
    # one unit claimed: the collateral moves as for one unit, the scaled debt stays
    base = 1 * 10**8 * 10**18 // (2500 * E8 * E6)  # floor(P_d * 1 * U_c / (P_c * U_d))
    seized = (base * 10500 + 5000) // 10000
    fee = ((seized - (seized * 10000 + 5250) // 10500) * 1000 + 5000) // 10000
    claim = forge(
        (10 * E18, 0), (0, 20_000 * E6), 1, half, 0, 1, 1,
        repaid=1, to_liquidator=seized - fee, fee=fee, deficit=(0, 0),
        new_coll=(10 * E18 - seized, 0), new_debt=(0, 20_000 * E6), new_flags=1,
    )  # fmt: skip
    assert two.outcome.scaled_debt_burned[1] == 1
    circuit.refuses(claim, {"debtBurnt"})


def test_liquidator_share_that_burns_no_scaled_collateral_is_refused(circuit: Circuit) -> None:
    """InvalidBurnAmount: 599 units of USDC (1e-6 USD each) are worth 0 satoshi of a 60000 USD
    token, so the liquidator's share burns no scaled collateral (the pool pays the underlying, there
    are no aTokens to hand over instead); 600 units are worth one satoshi."""
    btc = lm(ReserveView(60_000 * E8, RAY, RAY, 8, 7000, 7800), FLAT.market.reserves[1], bonus=(10500, 10450))
    n = note((E8, 0), (0, 50_000 * E6))  # HF 0.936
    with pytest.raises(AaveRevert, match="InvalidBurnAmount"):
        liquidate_note(n, btc, 0, 1, 599)
    circuit.satisfied(honest(n, btc, 0, 1, 600))
    claim = forge(
        (E8, 0), (0, 50_000 * E6), 1, btc, 0, 1, 599,
        repaid=599, to_liquidator=0, fee=0, deficit=(0, 0),
        new_coll=(E8, 0), new_debt=(0, 50_000 * E6 - 599), new_flags=1,
    )  # fmt: skip
    circuit.refuses(claim, {"collateralBurn"})


def test_wrong_nullifier_and_note_not_in_the_tree_are_refused(circuit: Circuit) -> None:
    n = note((10 * E18, 0), (0, 22_000 * E6))
    good = honest(n, GROWN, 0, 1, E6)
    circuit.satisfied(good)
    for wrong in (nullifier(n.commitment, n.salt + 1), nullifier(n.commitment + 1, n.salt), 0):
        assert circuit.failing({**good, "nullifier": wrong})
        with pytest.raises(WitnessError):
            circuit.calc.calculate({**good, "nullifier": wrong})
    other = LeanIMT()  # the note in a tree the pool never had: its path, the pool's root
    for leaf in (7, n.commitment):
        other.insert(leaf)
    proof = other.proof(n.commitment)
    forged = {**good, "pathLength": proof.length, "pathIndex": proof.index, "siblings": list(proof.siblings)}
    circuit.refuses(forged, {"member"})
    siblings = list(good["siblings"])  # type: ignore[arg-type]
    siblings[0] = (siblings[0] + 1) % R
    circuit.refuses({**good, "siblings": siblings}, {"member"})
    with pytest.raises(InputError, match="membership proof"):
        liquidation_inputs(n, tree_with(n.commitment + 1).proof(n.commitment + 1), GROWN, 0, 1, E6, BINDING, KEEPERS)


@pytest.mark.parametrize(
    ("n", "market", "ask"),
    [
        (note((10 * E18, 0), (0, 22_000 * E6)), GROWN, E6),
        (note((2 * E18, 0), (E18 // 2, 9_000 * E6)), GROWN, 2**128 - 1),  # a deficit on both reserves
    ],
    ids=["partial", "deficit"],
)
def test_each_public_input_plus_one_fails(circuit: Circuit, n: Note, market: LiquidationMarket, ask: int) -> None:
    witness = circuit.satisfied(honest(n, market, 0, 1, ask))
    names = registry.get(ID).public_signal_names()
    unbound = []
    for wire in range(1, circuit.r1cs.header.n_public + 1):
        edited = list(witness)
        edited[wire] = (edited[wire] + 1) % R
        if not circuit.r1cs.failing_constraints(edited):
            unbound.append(names[wire - 1])
    assert unbound == []


def test_claims_read_in_words() -> None:
    from zkmargin.bundle import Claim

    n = note((2 * E18, 0), (E18 // 2, 9_000 * E6))
    inputs = honest(n, GROWN, 0, 1, 2**128 - 1)
    spec = registry.get(ID)
    values = public_signals(LIQUIDATION_PUBLIC, inputs)
    claim = Claim("pool_liquidation", spec.id, dict(zip(spec.public_signal_names(), values, strict=True)), ())
    assert "no collateral left: deficit" in claim.describe() and f"0x{n.nullifier:064x}" in claim.describe()
    js = claim.to_json()
    assert js["deficit"] == [str(v) for v in inputs["deficit"]] and len(js["reserves"]) == 2  # type: ignore[union-attr]
    assert js["reserves"][0]["liquidationBonus"] == "10500"


# --- real proofs: native, snarkjs and the Solidity verifier ---


def test_real_proofs_verify_everywhere(keys: Callable[[str], CircuitKeys], tc: Toolchain) -> None:
    """A partial and a deficit liquidation proven through the statement plug-in, verified natively,
    by snarkjs and by the generated Solidity verifier in pyrevm (a tampered public signal by none);
    prove time and verifyProof gas reported."""
    settings = Settings(toolchain=tc)
    chain = InProcessChain()
    evm = verifiers.get("evm", settings, chain=chain)
    keys(ID)
    report: dict[str, dict[str, float]] = {}
    for name, n, ask in (
        ("partial", note((10 * E18, 0), (0, 22_000 * E6)), 1_000 * E6),
        ("deficit", note((2 * E18, 0), (E18 // 2, 9_000 * E6)), 2**128 - 1),
    ):
        tree = tree_with(n.commitment)
        t0 = time.perf_counter()
        bundle, liq = pool_statements.prove_liquidation(
            n, tree.proof(n.commitment), GROWN, 0, 1, ask, BINDING, keepers=KEEPERS, settings=settings
        )
        seconds = time.perf_counter() - t0
        claim = api.decode_claim(bundle)
        assert claim.signals["newCommitment"] == liq.new.commitment and claim.signals["nullifier"] == n.nullifier
        assert claim.signals["debtRepaid"] == liq.debt_repaid and claim.signals["deficit[0]"] == liq.deficit[0]
        for backend in ("fast", "snarkjs", evm):
            res = api.verify_bundle(bundle, keys=InstalledKeys(), verifier=backend, settings=settings)
            assert res.valid, (name, backend, res.reason)
        for k in (2, 6, 11):  # newCommitment, debtRepaid, binding
            sig = list(bundle.public_signals)
            sig[k] = str((int(sig[k]) + 1) % R)
            tampered = replace(bundle, public_signals=sig)
            for backend in ("fast", "snarkjs", evm):
                assert not api.verify_bundle(tampered, keys=InstalledKeys(), verifier=backend, settings=settings).valid
        gas = api.measure_gas(bundle, chain=chain, verifier=evm.address)  # type: ignore[attr-defined]
        report[name] = {"prove_s": round(seconds, 2), "verify_gas": gas.total, "public_inputs": gas.public_inputs}
    print("pool_liquidation_2 proofs (prove time includes the witness; verifyProof gas):", report)


def test_every_refusal_of_the_model_is_tried() -> None:
    """Each `raise` of zkmargin/pool/liquidation.py has its test above, or is no circuit case (listed
    here); the step's own refusals (liquidation_step.liquidate, model.evaluate) reachable from a note
    each have a test above too (test_step_refusals.py lists the step's)."""
    src = (paths.PACKAGE_DIR / "pool" / "liquidation.py").read_text()
    # LiquidationMarket: bonus and fee per reserve (test_market_values_past_their_ranges_are_refused),
    # one of each per reserve (not a circuit case: the circuit takes exactly N of each); a reserve
    # index (test_reserve_index_out_of_range_is_refused); a note of another size (not a circuit case:
    # N fixed); the owner's check of newCommitment (test_the_owner_recomputes_...); binding >= r and a
    # proof of another note or of another depth (not circuit cases: the circuit only sees field
    # elements, and a wrong path is test_wrong_nullifier_and_note_not_in_the_tree_are_refused)
    assert src.count("raise ") == 9, "a refusal was added to or removed from the model: add its test"
    n = note((10 * E18, 0), (0, 22_000 * E6))
    with pytest.raises(InputError, match="one liquidation bonus"):
        LiquidationMarket(FLAT.market, (10500,), (1000, 1000))
    with pytest.raises(InputError, match="binding"):
        liquidation_inputs(n, tree_with(n.commitment).proof(n.commitment), FLAT, 0, 1, E6, R, KEEPERS)
    with pytest.raises(InputError, match="has 3 reserves"):
        liquidate_note(Note((1, 0, 0), (0, 0, 1), 1, OWNER, 1, VIEW), FLAT, 0, 1, E6)
