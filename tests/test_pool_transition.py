"""Owner operations of the private pool: PoolOpen and PoolTransition(2, 20) against their R1CS.

An honest witness of each operation satisfies every constraint; each refusal of the model
(zkmargin/pool/transition.py) is a refusal of the circuit, shown twice: the strict witness
generator raises, and the witness an attacker computes anyway (the circuit's own arithmetic with
the pool's checks skipped, computed leniently) violates the R1CS. Boundaries are tested on both
sides: HF exactly 1 passes and one wei more fails, and so on.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import pytest

from zkmargin import api, build, paths, registry, verifiers
from zkmargin.aave_math import RAY, ray_mul_ceil, ray_mul_floor
from zkmargin.build import CircuitKeys
from zkmargin.bundle import Bundle
from zkmargin.errors import InputError, WitnessError
from zkmargin.evm import InProcessChain
from zkmargin.field import R
from zkmargin.limits import WAD
from zkmargin.liquidation_step import AaveRevert
from zkmargin.pinning import InstalledKeys
from zkmargin.pool import babyjub, cipher
from zkmargin.pool.deploy import DEV_KEEPER
from zkmargin.pool.note import DOMAIN_NOTE, Note, nullifier, owner_tag
from zkmargin.pool.transition import (
    OPEN_PUBLIC,
    TRANSITION_PUBLIC,
    Op,
    PoolMarket,
    ReserveView,
    account_data,
    apply,
    binding,
    insertion_inputs,
    open_inputs,
    public_signals,
    transition_inputs,
)
from zkmargin.pool.tree import Frontier, LeanIMT
from zkmargin.poseidon import poseidon
from zkmargin.r1cs import R1cs, read_r1cs
from zkmargin.settings import Settings
from zkmargin.statements import pool as pool_statements
from zkmargin.toolchain import Toolchain
from zkmargin.witness import InputValue, WitnessCalculator

Inputs = dict[str, InputValue]
E6, E18 = 10**6, 10**18
SK = 0x5EC12E7
OWNER = owner_tag(SK)
BINDING = binding(1, "0x" + "11" * 20, "0x" + "22" * 20, "0x" + "33" * 20)
VIEW = babyjub.public_key(0x71E3)  # the owner's viewing public key
KEEPERS = (DEV_KEEPER.public,)  # the pool's keeper key
EPH = 0xE9E  # an ephemeral secret, fixed so that attack() can seal what it forges


def raw_seal(message: list[int], view: tuple[int, int] = VIEW) -> Inputs:
    """The seal inputs of any message (no Note checks: an attacker's wrapped balances too), as the
    circuit computes them: so a forged note is refused by the check under test, not by its seal."""
    keys = [babyjub.mul(view, EPH), *(babyjub.mul(k, EPH) for k in KEEPERS)]
    return {
        "keeperKey": [c for k in KEEPERS for c in k],
        "ephemeralPublicKey": list(babyjub.public_key(EPH)),
        "ciphertext": [c for key in keys for c in cipher.encrypt([v % R for v in message], key, 0)],
        "ephemeralSecret": EPH,
    }


def appended(tree: LeanIMT | Frontier, commitment: int) -> Inputs:
    """NoteInsertion's inputs for appending `commitment` to `tree` (root, its public outputs, the
    frontier), as the circuit computes them: so a forged note is refused by the check under test."""
    f = tree.frontier() if isinstance(tree, LeanIMT) else tree
    return {"root": f.root, **insertion_inputs(f, commitment), "frontier": list(f.nodes)}


def frontier_of(inputs: Inputs) -> Frontier:
    return Frontier(int(inputs["root"]), int(inputs["treeSize"]), tuple(inputs["frontier"]))  # type: ignore[arg-type]


def resealed(inputs: Inputs, coll: list[int], debt: list[int], flags: int, tag: int = OWNER, salt: int = 9) -> Inputs:
    """`inputs` with the new note replaced by (coll, debt, flags): its commitment, its seal and its append."""
    message = [tag, salt, flags, *coll, *debt, *VIEW]
    commitment = poseidon([DOMAIN_NOTE, *[v % R for v in message]])
    return {**inputs, "newCommitment": commitment, **raw_seal(message), **appended(frontier_of(inputs), commitment)}


def _tree(*leaves: int) -> LeanIMT:
    tree = LeanIMT()
    for leaf in leaves:
        tree.insert(leaf)
    return tree


#: the tree an opened note is appended to in the circuit tests (3 notes: frontier entries at levels 0 and 1)
FRONTIER = _tree(11, 22, 33).frontier()


# two stablecoins at $1, indexes 1 ray: health factors come out exact
EXACT = PoolMarket(
    (ReserveView(10**8, RAY, RAY, 6, 7500, 8000), ReserveView(10**8, RAY, RAY, 6, 7500, 8000)),
)
# WETH and USDC with grown indexes, as a pool holds them after a while
GROWN = PoolMarket(
    (
        ReserveView(2500 * 10**8, RAY + RAY // 10 + 12345, RAY + RAY // 7 + 999, 18, 8000, 8250),
        ReserveView(10**8 - 37, RAY + 3 * RAY // 100 + 1, RAY + RAY // 20 + 77777, 6, 7500, 7800),
    ),
)


@dataclass(frozen=True)
class Circuit:
    r1cs: R1cs
    calc: WitnessCalculator
    public: tuple[str, ...]

    def satisfied(self, inputs: Inputs) -> list[int]:
        """The strict witness (every assert holds) after checking it against the R1CS."""
        witness = self.calc.calculate(inputs)
        assert self.r1cs.failing_constraints(witness) == []
        n = self.r1cs.header.n_public
        assert witness[1 : 1 + n] == [v % R for v in public_signals(self.public, inputs)]
        return witness

    def refuses(self, inputs: Inputs) -> None:
        """Refused by the witness generator and, computed anyway, by the constraints."""
        with pytest.raises(WitnessError):
            self.calc.calculate(inputs)
        try:
            witness = self.calc.calculate(inputs, lenient=True)
        except WitnessError:
            return  # the witness generator cannot even compute it (e.g. a division by zero)
        assert self.r1cs.failing_constraints(witness), "an attacker's witness satisfies the R1CS"


def _circuit(tc: Toolchain, cid: str, public: tuple[str, ...]) -> Circuit:
    compiled = build.compile_circuit(registry.get(cid), tc)
    return Circuit(read_r1cs(compiled.r1cs), WitnessCalculator(compiled.wasm), public)


@pytest.fixture(scope="module")
def transition(tc: Toolchain) -> Circuit:
    return _circuit(tc, "pool_transition_2", TRANSITION_PUBLIC)


@pytest.fixture(scope="module")
def opening(tc: Toolchain) -> Circuit:
    return _circuit(tc, "pool_open_2", OPEN_PUBLIC)


@dataclass
class Pool:
    """A tree holding a few other notes and ours."""

    tree: LeanIMT

    @classmethod
    def with_note(cls, note: Note) -> Pool:
        tree = LeanIMT()
        for leaf in (101, 202, note.commitment, 303):
            tree.insert(leaf)
        return cls(tree)


def honest(note: Note, op: Op, asset: int, amount: int, market: PoolMarket, salt: int = 777) -> Inputs:
    pool = Pool.with_note(note)
    return transition_inputs(
        note,
        SK,
        pool.tree.proof(note.commitment),
        op,
        asset,
        amount,
        market,
        salt,
        BINDING,
        KEEPERS,
        frontier=pool.tree.frontier(),
    ).inputs


def attack(note: Note, op: Op, asset: int, amount: int, market: PoolMarket, salt: int = 777, sk: int = SK) -> Inputs:
    """What an attacker feeds the circuit for an operation the pool refuses: the circuit's own
    arithmetic (new = old +/- the rounded scaled amount, mod r; the flag rules), none of its checks."""
    pool = Pool.with_note(note)
    proof = pool.tree.proof(note.commitment)
    coll, debt, flags = list(note.scaled_collateral), list(note.scaled_debt), note.collateral_flags
    if asset < market.n:
        r = market.reserves[asset]
        index = r.liquidity_index if op in (Op.DEPOSIT, Op.WITHDRAW) else r.variable_borrow_index
        q, rem = divmod(amount * RAY, index)
        delta = q + (1 if op in (Op.WITHDRAW, Op.BORROW) and rem else 0)
        if op == Op.DEPOSIT:
            if coll[asset] == 0 and r.ltv != 0:
                flags |= 1 << asset
            coll[asset] = (coll[asset] + delta) % R
        elif op == Op.WITHDRAW:
            coll[asset] = (coll[asset] - delta) % R
            if coll[asset] == 0:
                flags &= ~(1 << asset)
        elif op == Op.BORROW:
            debt[asset] = (debt[asset] + delta) % R
        else:
            debt[asset] = (debt[asset] - delta) % R
    message = [owner_tag(sk), salt, flags, *coll, *debt, *VIEW]
    new_commitment = poseidon([DOMAIN_NOTE, *message])
    return {
        "root": proof.root,
        "nullifier": note.nullifier,
        "newCommitment": new_commitment,
        "op": int(op),
        "asset": asset,
        "amount": amount % R,
        "binding": BINDING,
        **market.public(),
        "sk": sk,
        "salt": note.salt,
        "collateralFlags": note.collateral_flags,
        "scaledCollateral": list(note.scaled_collateral),
        "scaledDebt": list(note.scaled_debt),
        "pathLength": proof.length,
        "pathIndex": proof.index,
        "siblings": list(proof.siblings),
        "newSalt": salt,
        "viewKey": list(VIEW),
        **raw_seal(message),
        **appended(pool.tree, new_commitment),
    }


def note(coll: tuple[int, int], debt: tuple[int, int], flags: int, salt: int = 42) -> Note:
    return Note(coll, debt, flags, OWNER, salt, VIEW)


# --- honest operations ---


def test_open_then_each_operation_satisfies_the_r1cs(opening: Circuit, transition: Circuit) -> None:
    ow = open_inputs(GROWN, 0, 10 * E18, OWNER, 4242, BINDING, VIEW, KEEPERS, frontier=FRONTIER)
    opening.satisfied(ow.inputs)
    assert (
        ow.note.collateral_flags == 0b01
        and ow.note.scaled_collateral[0] == 10 * E18 * RAY // GROWN.reserves[0].liquidity_index
    )
    tree = LeanIMT()
    tree.insert(ow.note.commitment)
    current = ow.note
    for k, (op, asset, amount) in enumerate(
        [
            (Op.BORROW, 1, 12_000 * E6),
            (Op.DEPOSIT, 1, 3_000 * E6),  # first supply of USDC: its flag is set (LTV != 0)
            (Op.WITHDRAW, 0, E18),
            (Op.REPAY, 1, 2_000 * E6),
            (
                Op.WITHDRAW,
                1,
                ray_mul_floor(3_000 * E6 * RAY // GROWN.reserves[1].liquidity_index, GROWN.reserves[1].liquidity_index),
            ),
        ]
    ):
        tw = transition_inputs(
            current,
            SK,
            tree.proof(current.commitment),
            op,
            asset,
            amount,
            GROWN,
            5000 + k,
            BINDING,
            KEEPERS,
            frontier=tree.frontier(),
        )
        transition.satisfied(tw.inputs)
        tree.insert(tw.new.commitment)
        current = tw.new
    assert current.collateral_flags == 0b01  # USDC's flag set by the deposit, cleared by withdrawing all of it
    assert current.scaled_collateral[1] == 0


def test_deposit_of_an_ltv_zero_reserve_sets_no_flag(opening: Circuit, transition: Circuit) -> None:
    market = PoolMarket((EXACT.reserves[0], ReserveView(10**8, RAY, RAY, 6, 0, 8000)))
    ow = open_inputs(market, 1, 5 * E6, OWNER, 1, BINDING, VIEW, KEEPERS, frontier=FRONTIER)
    opening.satisfied(ow.inputs)
    assert ow.note.collateral_flags == 0
    n = note((100 * E6, 0), (0, 0), 0b01)
    inputs = honest(n, Op.DEPOSIT, 1, 5 * E6, market)
    transition.satisfied(inputs)
    assert apply(n, Op.DEPOSIT, 1, 5 * E6, market, 777).collateral_flags == 0b01


# --- owner, membership, nullifier ---


def test_wrong_sk_is_refused(transition: Circuit) -> None:
    n = note((100 * E6, 0), (0, 0), 0b01)
    tree = Pool.with_note(n).tree
    with pytest.raises(InputError, match="spending key"):
        transition_inputs(
            n,
            SK + 1,
            tree.proof(n.commitment),
            Op.WITHDRAW,
            0,
            E6,
            EXACT,
            1,
            BINDING,
            KEEPERS,
            frontier=tree.frontier(),
        )
    transition.refuses(attack(n, Op.WITHDRAW, 0, E6, EXACT, sk=SK + 1))


def test_a_note_not_in_the_tree_is_refused(transition: Circuit) -> None:
    n = note((100 * E6, 0), (0, 0), 0b01)
    good = honest(n, Op.WITHDRAW, 0, E6, EXACT)
    transition.satisfied(good)
    other = LeanIMT()  # the note in a tree the pool never had
    for leaf in (7, n.commitment):
        other.insert(leaf)
    proof = other.proof(n.commitment)
    forged = {**good, "pathLength": proof.length, "pathIndex": proof.index, "siblings": list(proof.siblings)}
    transition.refuses(forged)  # its path, the pool's root
    # under the other tree's own root the proof holds: the circuit proves membership under the public
    # root, and refusing a root the pool never had is NoteTree.isKnownRoot's job (test_pool_notes)
    # (the new note then appended to that tree: root is NoteInsertion's tree too)
    transition.satisfied({**forged, **appended(other, int(good["newCommitment"]))})  # type: ignore[arg-type]
    siblings = list(good["siblings"])  # type: ignore[arg-type]
    siblings[0] = (siblings[0] + 1) % R
    transition.refuses({**good, "siblings": siblings})


def test_a_wrong_nullifier_is_refused(transition: Circuit) -> None:
    n = note((100 * E6, 0), (0, 0), 0b01)
    good = honest(n, Op.WITHDRAW, 0, E6, EXACT)
    for wrong in (nullifier(n.commitment, n.salt + 1), nullifier(n.commitment + 1, n.salt), 0):
        transition.refuses({**good, "nullifier": wrong})


# --- health factor and LTV boundaries ---


def test_withdraw_to_hf_exactly_one_passes_one_wei_more_fails(transition: Circuit) -> None:
    n = note((1_100 * E6, 0), (0, 800 * E6), 0b01)
    at = 100 * E6
    after = apply(n, Op.WITHDRAW, 0, at, EXACT, 777)
    assert account_data(after, EXACT).health.health_factor == WAD  # exactly 1
    transition.satisfied(honest(n, Op.WITHDRAW, 0, at, EXACT))
    with pytest.raises(AaveRevert, match="HealthFactorLowerThanLiquidationThreshold"):
        apply(n, Op.WITHDRAW, 0, at + 1, EXACT, 777)
    transition.refuses(attack(n, Op.WITHDRAW, 0, at + 1, EXACT))


def test_withdraw_of_a_non_collateral_reserve_skips_the_hf_check(transition: Circuit) -> None:
    # Aave checks HF only when the withdrawn reserve is used as collateral (SupplyLogic :158-174)
    n = note((1_000 * E6, 50 * E6), (0, 800 * E6), 0b01)
    transition.satisfied(honest(n, Op.WITHDRAW, 1, 50 * E6, EXACT))


def test_borrow_to_hf_exactly_one_passes_one_wei_more_fails(transition: Circuit) -> None:
    # LTV 100% on the collateral (past Aave's LTV <= LT, which the circuit does not need) so that
    # the HF check alone decides
    market = PoolMarket((ReserveView(10**8, RAY, RAY, 6, 10000, 8000), EXACT.reserves[1]))
    n = note((1_000 * E6, 0), (0, 0), 0b01)
    at = 800 * E6
    assert account_data(apply(n, Op.BORROW, 1, at, market, 777), market).health.health_factor == WAD
    transition.satisfied(honest(n, Op.BORROW, 1, at, market))
    with pytest.raises(AaveRevert, match="HealthFactorLowerThanLiquidationThreshold"):
        apply(n, Op.BORROW, 1, at + 1, market, 777)
    transition.refuses(attack(n, Op.BORROW, 1, at + 1, market))


def test_borrow_at_the_ltv_limit_passes_one_wei_more_fails(transition: Circuit) -> None:
    n = note((1_000 * E6, 0), (0, 0), 0b01)
    at = 750 * E6  # LTV 75%: TC * avgLtv == TD * 1e4
    transition.satisfied(honest(n, Op.BORROW, 1, at, EXACT))
    with pytest.raises(AaveRevert, match="CollateralCannotCoverNewBorrow"):
        apply(n, Op.BORROW, 1, at + 1, EXACT, 777)
    assert not account_data(apply(n, Op.BORROW, 1, at, EXACT, 777), EXACT).health.is_below(WAD)  # HF is fine
    transition.refuses(attack(n, Op.BORROW, 1, at + 1, EXACT))


def test_borrow_without_ltv_collateral_is_refused(transition: Circuit) -> None:
    market = PoolMarket((ReserveView(10**8, RAY, RAY, 6, 0, 8000), EXACT.reserves[1]))
    n = note((1_000 * E6, 0), (0, 0), 0b01)
    with pytest.raises(AaveRevert, match="LtvValidationFailed"):
        apply(n, Op.BORROW, 1, E6, market, 777)
    transition.refuses(attack(n, Op.BORROW, 1, E6, market))


def test_withdraw_leaving_ltv_zero_collateral_is_refused(transition: Circuit) -> None:
    # validateHFAndLtvzero: with debt, LTV-0 collateral must go first
    market = PoolMarket((EXACT.reserves[0], ReserveView(10**8, RAY, RAY, 6, 0, 8000)))
    n = note((1_000 * E6, 10 * E6), (0, 100 * E6), 0b11)
    with pytest.raises(AaveRevert, match="LtvValidationFailed"):
        apply(n, Op.WITHDRAW, 0, E6, market, 777)
    transition.refuses(attack(n, Op.WITHDRAW, 0, E6, market))
    transition.satisfied(honest(n, Op.WITHDRAW, 1, E6, market))  # withdrawing the LTV-0 one is fine


def _largest(ok: Callable[[int], bool], lo: int, hi: int) -> int:
    """The largest amount in [lo, hi) that ok accepts, given ok(lo) and not ok(hi)."""
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if ok(mid) else (lo, mid)
    return lo


def _accepts(n: Note, op: Op, asset: int, market: PoolMarket) -> Callable[[int], bool]:
    def ok(amount: int) -> bool:
        try:
            apply(n, op, asset, amount, market, 777)
        except AaveRevert:
            return False
        return True

    return ok


@pytest.mark.parametrize(("op", "asset"), [(Op.WITHDRAW, 0), (Op.BORROW, 1)])
def test_largest_amount_at_grown_indexes_passes_one_wei_more_fails(transition: Circuit, op: Op, asset: int) -> None:
    n = note((7 * E18 + 123456789, 0), (0, 9_000 * E6 + 4321), 0b01)
    at = _largest(_accepts(n, op, asset, GROWN), 1, 10**24)
    transition.satisfied(honest(n, op, asset, at, GROWN))
    transition.refuses(attack(n, op, asset, at + 1, GROWN))


# --- balances, debt, widths, indexes ---


def test_withdraw_past_the_balance_is_refused(transition: Circuit) -> None:
    n = note((5 * E18 + 17, 0), (0, 0), 0b01)
    li = GROWN.reserves[0].liquidity_index
    balance = ray_mul_floor(n.scaled_collateral[0], li)
    transition.satisfied(honest(n, Op.WITHDRAW, 0, balance, GROWN))
    with pytest.raises(AaveRevert, match="NotEnoughAvailableUserBalance"):
        apply(n, Op.WITHDRAW, 0, balance + 1, GROWN, 777)
    transition.refuses(attack(n, Op.WITHDRAW, 0, balance + 1, GROWN))


def test_repay_past_the_debt_is_refused(transition: Circuit) -> None:
    # a borrow index of 3.5: the debt + 1 still burns no more than the scaled debt, so only the
    # circuit's explicit amount <= rayMulCeil(debt, index) refuses it
    market = PoolMarket((EXACT.reserves[0], ReserveView(10**8, RAY, 7 * RAY // 2, 6, 7500, 8000)))
    n = note((1_000 * E6, 0), (0, 1), 0b01)
    owed = ray_mul_ceil(1, 7 * RAY // 2)
    assert owed == 4 and (owed + 1) * RAY // (7 * RAY // 2) == 1
    transition.satisfied(honest(n, Op.REPAY, 1, owed, market))
    assert apply(n, Op.REPAY, 1, owed, market, 777).scaled_debt == (0, 0)
    with pytest.raises(AaveRevert, match="RepayExceedsDebt"):
        apply(n, Op.REPAY, 1, owed + 1, market, 777)
    transition.refuses(attack(n, Op.REPAY, 1, owed + 1, market))
    m = note((1_000 * E6, 0), (0, 100 * E6), 0b01)
    owed = ray_mul_ceil(100 * E6, GROWN.reserves[1].variable_borrow_index)
    transition.satisfied(honest(m, Op.REPAY, 1, owed, GROWN))
    transition.refuses(attack(m, Op.REPAY, 1, owed + 1, GROWN))


@pytest.mark.parametrize("op", list(Op))
def test_zero_scaled_amounts_are_refused(transition: Circuit, op: Op) -> None:
    n = note((1_000 * E6, 0), (0, 100 * E6), 0b01)
    with pytest.raises(AaveRevert):
        apply(n, op, 1 if op in (Op.BORROW, Op.REPAY) else 0, 0, GROWN, 777)
    transition.refuses(attack(n, op, 1 if op in (Op.BORROW, Op.REPAY) else 0, 0, GROWN))
    if op in (Op.DEPOSIT, Op.REPAY):  # 1 wei at an index > 1 ray floors to 0 scaled units
        transition.refuses(attack(n, op, 1 if op == Op.REPAY else 0, 1, GROWN))


def test_amount_of_2_pow_128_is_refused(transition: Circuit, opening: Circuit) -> None:
    wide = PoolMarket((ReserveView(10**8, RAY, RAY, 18, 7500, 8000), EXACT.reserves[1]))  # values fit 2^128
    n = note((0, 0), (0, 0), 0)
    with pytest.raises(InputError):
        apply(n, Op.DEPOSIT, 0, 2**128, wide, 777)
    transition.refuses(attack(n, Op.DEPOSIT, 0, 2**128, wide))
    transition.satisfied(honest(n, Op.DEPOSIT, 0, 2**128 - 1, wide))  # the largest amount fits
    good = open_inputs(wide, 0, 2**128 - 1, OWNER, 9, BINDING, VIEW, KEEPERS, frontier=FRONTIER).inputs
    opening.satisfied(good)
    forged = resealed({**good, "amount": 2**128}, [2**128 - 1, 0], [0, 0], 1)
    opening.refuses(forged)
    opening.refuses({**forged, "amount": R - 1})  # "negative" amounts too


def test_asset_outside_the_pool_is_refused(transition: Circuit, opening: Circuit) -> None:
    n = note((1_000 * E6, 0), (0, 0), 0b01)
    with pytest.raises(InputError):
        apply(n, Op.WITHDRAW, 2, E6, EXACT, 777)
    transition.refuses(attack(n, Op.WITHDRAW, 2, E6, EXACT))
    good = open_inputs(EXACT, 1, E6, OWNER, 9, BINDING, VIEW, KEEPERS, frontier=FRONTIER).inputs
    opening.refuses({**good, "asset": 2})


def test_unknown_op_is_refused(transition: Circuit) -> None:
    n = note((1_000 * E6, 0), (0, 0), 0b01)
    good = honest(n, Op.DEPOSIT, 0, E6, EXACT)
    for op in (4, R - 1):
        transition.refuses({**good, "op": op})


def test_open_refuses_a_deposit_that_mints_nothing(opening: Circuit) -> None:
    with pytest.raises(AaveRevert, match="InvalidAmount"):
        open_inputs(GROWN, 1, 1, OWNER, 9, BINDING, VIEW, KEEPERS, frontier=FRONTIER)
    forged = resealed(
        {**open_inputs(GROWN, 1, 2, OWNER, 9, BINDING, VIEW, KEEPERS, frontier=FRONTIER).inputs, "amount": 1},
        [0, 0],
        [0, 0],
        0b10,
    )
    opening.refuses(forged)


# --- every public input is bound ---


def _each_public_plus_one(circuit: Circuit, inputs: Inputs) -> list[str]:
    witness = circuit.satisfied(inputs)
    names = registry.get(
        "pool_transition_2" if circuit.public == TRANSITION_PUBLIC else "pool_open_2"
    ).public_signal_names()
    unbound = []
    for wire in range(1, circuit.r1cs.header.n_public + 1):
        edited = list(witness)
        edited[wire] = (edited[wire] + 1) % R
        if not circuit.r1cs.failing_constraints(edited):
            unbound.append(names[wire - 1])
    return unbound


@pytest.mark.parametrize("op", list(Op))
def test_each_public_input_plus_one_fails_transition(transition: Circuit, op: Op) -> None:
    n = note((9 * E18, 2_000 * E6), (0, 1_000 * E6), 0b11)
    asset = 1 if op in (Op.BORROW, Op.REPAY) else 0
    assert _each_public_plus_one(transition, honest(n, op, asset, 10**6, GROWN)) == []


def test_each_public_input_plus_one_fails_open(opening: Circuit) -> None:
    assert (
        _each_public_plus_one(
            opening, open_inputs(GROWN, 1, 5 * E6, OWNER, 9, BINDING, VIEW, KEEPERS, frontier=FRONTIER).inputs
        )
        == []
    )


BINDING_SOL = """// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;
contract BindingProbe {
    function binding(address recipient) external view returns (uint256) {
        return uint256(keccak256(abi.encode(block.chainid, address(this), msg.sender, recipient))) >> 8;
    }
}
"""


def test_binding_equals_the_solidity_expression(tc: Toolchain) -> None:
    from eth_abi import decode, encode
    from eth_hash.auto import keccak

    from zkmargin import solidity

    chain = InProcessChain()
    probe = chain.deploy(solidity.compile_sources({"BindingProbe.sol": BINDING_SOL}, tc)["BindingProbe"].bytecode)
    recipient = "0x" + "ab" * 20
    out = chain.call(probe, keccak(b"binding(address)")[:4] + encode(["address"], [recipient]))
    chain_id = int(chain.evm.env.cfg.chain_id)
    assert decode(["uint256"], out)[0] == binding(chain_id, probe, chain.SENDER, recipient)


def test_claims_of_pool_proofs_read_in_words() -> None:
    from zkmargin.bundle import Claim

    n = note((9 * E18, 0), (0, 1_000 * E6), 0b01)
    inputs = honest(n, Op.BORROW, 1, E6, GROWN)
    spec = registry.get("pool_transition_2")
    values = public_signals(TRANSITION_PUBLIC, inputs)
    claim = Claim("pool_transition", spec.id, dict(zip(spec.public_signal_names(), values, strict=True)), ())
    assert claim.describe().startswith("borrow of 1000000 of reserve 1")
    js = claim.to_json()
    assert js["nullifier"] == f"0x{n.nullifier:064x}" and js["op"] == "borrow" and len(js["reserves"]) == 2
    assert js["commitment"] == js["newCommitment"]
    ow = open_inputs(GROWN, 0, E18, OWNER, 1, BINDING, VIEW, KEEPERS, frontier=FRONTIER)
    spec = registry.get("pool_open_2")
    values = public_signals(OPEN_PUBLIC, ow.inputs)
    claim = Claim("pool_open", spec.id, dict(zip(spec.public_signal_names(), values, strict=True)), ())
    assert f"0x{ow.note.commitment:064x}" in claim.describe() and claim.to_json()["amount"] == str(E18)


def test_binding_is_the_contracts_keccak() -> None:
    from eth_abi import encode
    from eth_hash.auto import keccak

    pool, sender, recipient = "0x" + "11" * 20, "0x" + "22" * 20, "0x" + "33" * 20
    digest = keccak(encode(["uint256", "address", "address", "address"], [1, pool, sender, recipient]))
    assert BINDING == int.from_bytes(digest, "big") >> 8 < R
    assert binding(1, pool, sender, "0x" + "44" * 20) != BINDING


# --- the model and the circuit agree on random operations ---


def test_model_and_circuit_agree_on_random_operations(transition: Circuit) -> None:
    """Random notes and operations around each boundary: the circuit accepts exactly what the model
    accepts (an accepted operation yields the model's new note; a refused one, computed by an
    attacker anyway, violates the R1CS)."""
    rng = random.Random(20261128)
    accepted = refused = 0
    for _ in range(24):
        coll = (rng.choice([0, rng.randrange(1, 20 * E18)]), rng.choice([0, rng.randrange(1, 50_000 * E6)]))
        debt = (0, rng.choice([0, rng.randrange(1, 30_000 * E6)]))
        flags = sum(1 << i for i in range(2) if coll[i] and rng.random() < 0.8)
        n = note(coll, debt, flags, salt=rng.randrange(R))
        op = rng.choice(list(Op))
        asset = rng.randrange(2)
        ok = _accepts(n, op, asset, GROWN)
        if ok(1) and not ok(10**30):
            edge = _largest(ok, 1, 10**30)
            amount = rng.choice([edge, edge + 1, rng.randrange(1, edge + 1)])
        else:
            amount = rng.choice([1, rng.randrange(1, 10**22)])
        if ok(amount):
            inputs = honest(n, op, asset, amount, GROWN)
            transition.satisfied(inputs)
            assert inputs["newCommitment"] == apply(n, op, asset, amount, GROWN, 777).commitment
            accepted += 1
        else:
            transition.refuses(attack(n, op, asset, amount, GROWN))
            refused += 1
    assert accepted and refused


# --- real proofs: native, snarkjs and the Solidity verifier agree ---


PROBE_SOL = """// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;
import {NoteTree} from "pool/NoteTree.sol";

interface IOpenVerifier {
    function verifyProof(uint256[2] calldata, uint256[2][2] calldata, uint256[2] calldata, uint256[36] calldata)
        external view returns (bool);
}

interface ITransitionVerifier {
    function verifyProof(uint256[2] calldata, uint256[2][2] calldata, uint256[2] calldata, uint256[46] calldata)
        external view returns (bool);
}

/// What a pool does with the notes' public inputs, without the reserves (no tokens move and the
/// market inputs are not compared with reserve state): the gas of proof + root + nullifier + insert.
contract NotePoolProbe is NoteTree {
    IOpenVerifier public immutable openVerifier;
    ITransitionVerifier public immutable transitionVerifier;
    mapping(uint256 => bool) public spent;

    constructor(IOpenVerifier o, ITransitionVerifier t) {
        openVerifier = o;
        transitionVerifier = t;
    }

    function _binding(address recipient) internal view returns (uint256) {
        return uint256(keccak256(abi.encode(block.chainid, address(this), msg.sender, recipient))) >> 8;
    }

    function open(uint256[2] calldata a, uint256[2][2] calldata b, uint256[2] calldata c, uint256[36] calldata pub)
        external
    {
        require(pub[3] == _binding(address(0)), "binding");
        require(openVerifier.verifyProof(a, b, c, pub), "proof");
        _insertNote(pub[0]);
    }

    function transition(
        uint256[2] calldata a,
        uint256[2][2] calldata b,
        uint256[2] calldata c,
        uint256[46] calldata pub,
        address recipient
    ) external {
        require(isKnownRoot(pub[0]), "root");
        require(!spent[pub[1]], "spent");
        spent[pub[1]] = true;
        require(pub[6] == _binding(recipient), "binding");
        require(transitionVerifier.verifyProof(a, b, c, pub), "proof");
        _insertNote(pub[2]);
    }
}
"""


def test_real_proofs_of_every_operation_verify_everywhere(keys: Callable[[str], CircuitKeys], tc: Toolchain) -> None:
    """Open and each operation proven through the statement plug-ins; each proof verified natively,
    by snarkjs and by the Solidity verifier (a tampered public signal by none), then submitted to a
    probe contract holding the note tree: gas of verification + root + nullifier + insert, a proof
    against a root one insert old, and the same proof refused when replayed or sent by another sender."""
    from eth_abi import encode
    from eth_hash.auto import keccak

    from zkmargin import calldata, solidity
    from zkmargin.evm import Reverted

    settings = Settings(toolchain=tc)
    chain = InProcessChain()
    evm = verifiers.get("evm", settings, chain=chain)
    sources = {"pool/NoteTree.sol": (paths.CONTRACTS_DIR / "pool" / "NoteTree.sol").read_text(), "Probe.sol": PROBE_SOL}
    contracts = solidity.compile_sources(solidity.with_imports(sources, tc), tc)
    poseidon_t3 = chain.deploy(contracts["PoseidonT3"].bytecode)
    open_verifier = api.deploy_verifier(chain, keys("pool_open_2").vkey(), settings)
    transition_verifier = api.deploy_verifier(chain, keys("pool_transition_2").vkey(), settings)
    probe = chain.deploy(
        contracts["NotePoolProbe"].linked({"PoseidonT3": poseidon_t3}),
        encode(["address", "address"], [open_verifier, transition_verifier]),
    )
    chain_id = int(chain.evm.env.cfg.chain_id)
    recipient = "0x" + "c0" * 20
    open_binding = binding(chain_id, probe, chain.SENDER, "0x" + "00" * 20)
    op_binding = binding(chain_id, probe, chain.SENDER, recipient)
    report: dict[str, dict[str, float]] = {}

    def check(name: str, bundle: Bundle, seconds: float) -> None:
        for backend in ("fast", "snarkjs", evm):
            res = api.verify_bundle(bundle, keys=InstalledKeys(), verifier=backend, settings=settings)
            assert res.valid, (name, res.reason)
        tampered = replace(bundle, public_signals=[str(int(bundle.public_signals[0]) + 1), *bundle.public_signals[1:]])
        for backend in ("fast", "snarkjs", evm):
            assert not api.verify_bundle(tampered, keys=InstalledKeys(), verifier=backend, settings=settings).valid
        gas = api.measure_gas(bundle, chain=chain, verifier=evm.address)  # type: ignore[attr-defined]
        report[name] = {"prove_s": round(seconds, 2), "verify_gas": gas.total, "public_inputs": gas.public_inputs}

    def submit(name: str, bundle: Bundle) -> bytes:
        cd = calldata.from_proof(bundle.proof, bundle.public_signals)
        if name.startswith("open"):
            data = keccak(b"open(uint256[2],uint256[2][2],uint256[2],uint256[36])")[:4] + cd.args_encoded()
        else:
            data = (
                keccak(b"transition(uint256[2],uint256[2][2],uint256[2],uint256[46],address)")[:4]
                + cd.args_encoded()
                + encode(["address"], [recipient])
            )
        report[name]["probe_tx_gas"] = chain.transact(probe, data).gas_used
        return data

    def current_root() -> int:
        return int.from_bytes(chain.call(probe, keccak(b"currentRoot()")[:4]), "big")

    t0 = time.perf_counter()
    tree = LeanIMT()
    bundle, current = pool_statements.prove_open(
        GROWN,
        0,
        10 * E18,
        OWNER,
        open_binding,
        viewing_key=VIEW,
        keepers=KEEPERS,
        frontier=tree.frontier(),
        settings=settings,
    )
    check("open", bundle, time.perf_counter() - t0)
    assert bundle.public_signals[0] == str(current.commitment)
    submit("open", bundle)
    tree.insert(current.commitment)
    assert current_root() == tree.root
    stranger = "0x" + "99" * 20
    chain.evm.set_balance(stranger, 10**20)
    for k, (op, asset, amount) in enumerate(
        [(Op.BORROW, 1, 12_000 * E6), (Op.DEPOSIT, 1, 3_000 * E6), (Op.WITHDRAW, 0, E18), (Op.REPAY, 1, 2_000 * E6)]
    ):
        t0 = time.perf_counter()
        bundle, nxt = pool_statements.prove_transition(
            current,
            SK,
            tree.proof(current.commitment),
            op,
            asset,
            amount,
            GROWN,
            op_binding,
            keepers=KEEPERS,
            frontier=tree.frontier(),
            settings=settings,
        )
        check(op.name.lower(), bundle, time.perf_counter() - t0)
        claim = api.decode_claim(bundle)
        assert claim.signals["nullifier"] == current.nullifier and claim.signals["newCommitment"] == nxt.commitment
        assert claim.signals["root"] == tree.root and claim.signals["op"] == op
        if k == 0:  # another note lands first: the proof's root is one insert old, still in the window
            other, _ = pool_statements.prove_open(
                GROWN,
                1,
                E6,
                OWNER,
                open_binding,
                viewing_key=VIEW,
                keepers=KEEPERS,
                frontier=tree.frontier(),
                settings=settings,
            )
            report["open (a second note)"] = {}
            submit("open (a second note)", other)
            tree.insert(int(other.public_signals[0]))
            assert current_root() == tree.root != claim.signals["root"]
        cd = calldata.from_proof(bundle.proof, bundle.public_signals)
        selector = keccak(b"transition(uint256[2],uint256[2][2],uint256[2],uint256[46],address)")[:4]
        copied = selector + cd.args_encoded() + encode(["address"], [recipient])
        with pytest.raises(RuntimeError, match=b"binding".hex()):  # copied from the mempool by another sender
            chain.evm.message_call(stranger, probe, copied, gas=10**7)
        redirected = selector + cd.args_encoded() + encode(["address"], [stranger])
        with pytest.raises(Reverted) as refused:  # the owner's own proof, pointed at another recipient
            chain.transact(probe, redirected)
        assert b"binding" in refused.value.data
        data = submit(op.name.lower(), bundle)
        tree.insert(nxt.commitment)
        assert current_root() == tree.root
        with pytest.raises(Reverted):  # the nullifier is spent
            chain.transact(probe, data)
        current = nxt
    print("pool proofs (prove time includes the witness; gas of verifyProof alone and of the probe's tx):", report)


def test_a_copied_proof_is_worthless_to_another_sender(keys: Callable[[str], CircuitKeys], tc: Toolchain) -> None:
    """The probe (NoteTree + nullifiers + binding) refuses a valid proof sent by another address or
    for another recipient, and accepts it from its own sender."""
    from eth_abi import encode
    from eth_hash.auto import keccak

    from zkmargin import calldata, solidity
    from zkmargin.evm import Reverted

    settings = Settings(toolchain=tc)
    chain = InProcessChain()
    sources = {"pool/NoteTree.sol": (paths.CONTRACTS_DIR / "pool" / "NoteTree.sol").read_text(), "Probe.sol": PROBE_SOL}
    contracts = solidity.compile_sources(solidity.with_imports(sources, tc), tc)
    poseidon_t3 = chain.deploy(contracts["PoseidonT3"].bytecode)
    open_verifier = api.deploy_verifier(chain, keys("pool_open_2").vkey(), settings)
    probe = chain.deploy(
        contracts["NotePoolProbe"].linked({"PoseidonT3": poseidon_t3}),
        encode(["address", "address"], [open_verifier, open_verifier]),
    )
    chain_id = int(chain.evm.env.cfg.chain_id)
    stranger = "0x" + "99" * 20
    chain.evm.set_balance(stranger, 10**20)
    own = binding(chain_id, probe, chain.SENDER, "0x" + "00" * 20)
    bundle, _ = pool_statements.prove_open(
        GROWN, 0, E18, OWNER, own, viewing_key=VIEW, keepers=KEEPERS, frontier=LeanIMT().frontier(), settings=settings
    )
    cd = calldata.from_proof(bundle.proof, bundle.public_signals)
    data = keccak(b"open(uint256[2],uint256[2][2],uint256[2],uint256[36])")[:4] + cd.args_encoded()
    with pytest.raises(RuntimeError):
        chain.evm.message_call(stranger, probe, data, gas=10**7)
    chain.transact(probe, data)  # its own sender
    with pytest.raises(Reverted):  # the same note twice: InternalLeanIMT's LeafAlreadyExists
        chain.transact(probe, data)
