"""The private pool's operations as statements: `pool_open` (a first deposit creates a note),
`pool_transition` (deposit, withdraw, borrow or repay spends a note of the tree and creates its
successor) and `pool_liquidation` (one Aave v3.5.0 liquidation call on a failing note, by whoever
holds its opening). The models and the witness inputs are zkmargin/pool/transition.py and
zkmargin/pool/liquidation.py; the circuits PoolOpen / PoolTransition in circuits/lib/pool.circom,
PoolLiquidation in circuits/lib/pool_liquidation.circom. The pool contract supplies every public input
from its own state (the market, the root it knows, the binding of chain, pool, sender and recipient),
so no verifier-side pinning applies: `pins` is empty.

Every new note is sealed (zkmargin.pool.sealing) to its owner's viewing key and to the pool's
keeper keys, which each request names (`keepers`: the keys the pool registered, in its order); the
seal is public (keeperKey, ephemeralPublicKey, ciphertext after each circuit's own signals) and
`sealing.seal_signals` reads it back from a bundle's claim."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import api, registry
from ..errors import InputError
from ..pool.babyjub import Point
from ..pool.liquidation import LiquidationMarket, NoteLiquidation, liquidation_inputs
from ..pool.note import Note, new_secret
from ..pool.transition import Op, PoolMarket, open_inputs, transition_inputs
from ..pool.tree import Frontier, MerkleProof
from ..registry import CircuitSpec
from ..statement import Statement, StatementInputs, register

#: the pool circuits follow one version of Aave's rules (circuits.json "rules")
POOL_RULES = "aave-v3.5"

if TYPE_CHECKING:
    from ..bundle import Bundle, Claim
    from ..settings import Settings


@dataclass(frozen=True)
class OpenRequest:
    market: PoolMarket
    asset: int
    amount: int
    owner_tag: int
    salt: int
    binding: int
    viewing_key: Point
    keepers: tuple[Point, ...]
    frontier: Frontier
    ephemeral_secret: int | None = None


@dataclass(frozen=True)
class TransitionRequest:
    note: Note
    sk: int
    proof: MerkleProof
    op: Op
    asset: int
    amount: int
    market: PoolMarket
    new_salt: int
    binding: int
    keepers: tuple[Point, ...]
    frontier: Frontier
    ephemeral_secret: int | None = None


@dataclass(frozen=True)
class LiquidationRequest:
    note: Note
    proof: MerkleProof
    market: LiquidationMarket
    collateral_asset: int
    debt_asset: int
    debt_to_cover: int
    binding: int
    keepers: tuple[Point, ...]
    ephemeral_secret: int | None = None


def _spec(statement: str, n: int) -> CircuitSpec:
    """The circuit for a pool of exactly n reserves (a note has one slot per reserve: no padding)."""
    spec = registry.for_assets(statement, n, POOL_RULES)
    if spec.n_assets != n:
        raise InputError("market", f"{statement} circuits exist for {spec.n_assets} reserves, the pool has {n}")
    return spec


def _context(**extra: Any) -> dict[str, Any]:
    return {"note": "informational, not bound by the proof", "created_at": int(time.time()), **extra}


def _reserves(claim: Claim, *names: str) -> list[dict[str, str]]:
    n = sum(1 for k in claim.signals if k.startswith("liquidityIndex["))
    return [{name: str(claim.signals[f"{name}[{i}]"]) for name in names} for i in range(n)]


def _append(claim: Claim) -> dict[str, Any]:
    """NoteInsertion's claim: the new note appended to the tree of `treeSize` leaves under `root`."""
    s = claim.signals
    return {
        "root": f"0x{s['root']:064x}",
        "treeSize": s["treeSize"],
        "newRoot": f"0x{s['newRoot']:064x}",
        "newNode": f"0x{s['newNode']:064x}",
    }


class PoolOpenStatement(Statement[OpenRequest]):
    name = "pool_open"
    summary = "a first deposit into the private pool created the note `newCommitment`"

    def inputs(self, request: OpenRequest) -> StatementInputs:
        w = open_inputs(
            request.market,
            request.asset,
            request.amount,
            request.owner_tag,
            request.salt,
            request.binding,
            request.viewing_key,
            request.keepers,
            frontier=request.frontier,
            ephemeral_secret=request.ephemeral_secret,
        )
        return StatementInputs(_spec(self.name, request.market.n), w.inputs, _context(op="open"))

    def describe(self, claim: Claim) -> str:
        s = claim.signals
        return (
            f"new note 0x{s['newCommitment']:064x} holds a deposit of {s['amount']} of reserve {s['asset']} "
            f"(scaled at its liquidity index), bound to 0x{s['binding']:064x}"
        )

    def claim_json(self, claim: Claim) -> dict[str, Any]:
        s = claim.signals
        return {
            "newCommitment": f"0x{s['newCommitment']:064x}",
            "asset": s["asset"],
            "amount": str(s["amount"]),
            "binding": f"0x{s['binding']:064x}",
            "reserves": _reserves(claim, "liquidityIndex", "ltv"),
            "append": _append(claim),
        }


class PoolTransitionStatement(Statement[TransitionRequest]):
    name = "pool_transition"
    summary = (
        "the owner of a note under `root` spent it (`nullifier`) and created `newCommitment` by one "
        "deposit, withdraw, borrow or repay of `amount` (Aave v3.5.0 rounding and checks)"
    )

    def inputs(self, request: TransitionRequest) -> StatementInputs:
        w = transition_inputs(
            request.note,
            request.sk,
            request.proof,
            request.op,
            request.asset,
            request.amount,
            request.market,
            request.new_salt,
            request.binding,
            request.keepers,
            frontier=request.frontier,
            ephemeral_secret=request.ephemeral_secret,
        )
        return StatementInputs(_spec(self.name, request.market.n), w.inputs, _context(op=request.op.name.lower()))

    def describe(self, claim: Claim) -> str:
        s = claim.signals
        op = Op(s["op"]).name.lower() if s["op"] < len(Op) else f"op {s['op']}"
        return (
            f"{op} of {s['amount']} of reserve {s['asset']}: note with nullifier 0x{s['nullifier']:064x} "
            f"under root 0x{s['root']:064x} -> new note 0x{s['newCommitment']:064x}, "
            f"bound to 0x{s['binding']:064x}"
        )

    def claim_json(self, claim: Claim) -> dict[str, Any]:
        s = claim.signals
        return {
            "root": f"0x{s['root']:064x}",
            "nullifier": f"0x{s['nullifier']:064x}",
            "newCommitment": f"0x{s['newCommitment']:064x}",
            "op": Op(s["op"]).name.lower() if s["op"] < len(Op) else s["op"],
            "asset": s["asset"],
            "amount": str(s["amount"]),
            "binding": f"0x{s['binding']:064x}",
            "reserves": _reserves(claim, "price", "liquidityIndex", "borrowIndex", "decimals", "ltv", "liqThreshold"),
            "append": _append(claim),
        }


class PoolLiquidationStatement(Statement[LiquidationRequest]):
    name = "pool_liquidation"
    summary = (
        "a note under `root` with HF < 1 was liquidated (spent as `nullifier`) by one Aave v3.5.0 liquidation "
        "call of the public amounts; its owner's successor note is `newCommitment`"
    )

    def inputs(self, request: LiquidationRequest) -> StatementInputs:
        return self.plan(request)[0]

    def plan(self, request: LiquidationRequest) -> tuple[StatementInputs, NoteLiquidation]:
        """The circuit inputs and the model's liquidation (with the successor note)."""
        w = liquidation_inputs(
            request.note,
            request.proof,
            request.market,
            request.collateral_asset,
            request.debt_asset,
            request.debt_to_cover,
            request.binding,
            request.keepers,
            ephemeral_secret=request.ephemeral_secret,
        )
        si = StatementInputs(_spec(self.name, request.market.n), w.inputs, _context(op="liquidation"))
        return si, w.liquidation

    def describe(self, claim: Claim) -> str:
        s = claim.signals
        n = sum(1 for k in s if k.startswith("deficit["))
        deficits = [(i, s[f"deficit[{i}]"]) for i in range(n) if s[f"deficit[{i}]"]]
        tail = (
            ", no collateral left: deficit " + ", ".join(f"{v} of reserve {i}" for i, v in deficits) if deficits else ""
        )
        return (
            f"liquidation of the note with nullifier 0x{s['nullifier']:064x} under root 0x{s['root']:064x} "
            f"(HF < 1): repaid {s['debtRepaid']} of reserve {s['debtAsset']} (asked {s['debtToCover']}), "
            f"{s['collateralToLiquidator']} of reserve {s['collateralAsset']} to the liquidator + "
            f"{s['protocolFee']} protocol fee{tail} -> new note 0x{s['newCommitment']:064x}, "
            f"bound to 0x{s['binding']:064x}"
        )

    def claim_json(self, claim: Claim) -> dict[str, Any]:
        s = claim.signals
        n = sum(1 for k in s if k.startswith("deficit["))
        return {
            "root": f"0x{s['root']:064x}",
            "nullifier": f"0x{s['nullifier']:064x}",
            "newCommitment": f"0x{s['newCommitment']:064x}",
            "collateralAsset": s["collateralAsset"],
            "debtAsset": s["debtAsset"],
            **{k: str(s[k]) for k in ("debtToCover", "debtRepaid", "collateralToLiquidator", "protocolFee")},
            "deficit": [str(s[f"deficit[{i}]"]) for i in range(n)],
            "binding": f"0x{s['binding']:064x}",
            "reserves": _reserves(
                claim,
                "price",
                "liquidityIndex",
                "borrowIndex",
                "decimals",
                "liqThreshold",
                "liquidationBonus",
                "liquidationProtocolFee",
            ),
        }


POOL_OPEN = PoolOpenStatement()
POOL_TRANSITION = PoolTransitionStatement()
POOL_LIQUIDATION = PoolLiquidationStatement()
register(POOL_OPEN)
register(POOL_TRANSITION)
register(POOL_LIQUIDATION)


def prove_open(
    market: PoolMarket,
    asset: int,
    amount: int,
    owner_tag: int,
    binding: int,
    *,
    viewing_key: Point,
    keepers: Sequence[Point],
    frontier: Frontier,
    salt: int | None = None,
    ephemeral_secret: int | None = None,
    settings: Settings | None = None,
) -> tuple[Bundle, Note]:
    """Prove a first deposit; returns the bundle and the new note's opening (salt and ephemeral
    secret from the OS CSPRNG unless given), sealed to `viewing_key` and `keepers` (the seal is in
    the bundle's public signals: sealing.seal_signals) and appended to the tree `frontier`
    describes (the pool's current tree: LeanIMT.frontier)."""
    w = open_inputs(
        market,
        asset,
        amount,
        owner_tag,
        new_secret() if salt is None else salt,
        binding,
        viewing_key,
        keepers,
        frontier=frontier,
        ephemeral_secret=ephemeral_secret,
    )
    si = StatementInputs(_spec(POOL_OPEN.name, market.n), w.inputs, _context(op="open"))
    return api.prove_inputs(si, settings), w.note


def prove_transition(
    note: Note,
    sk: int,
    proof: MerkleProof,
    op: Op,
    asset: int,
    amount: int,
    market: PoolMarket,
    binding: int,
    *,
    keepers: Sequence[Point],
    frontier: Frontier,
    new_salt: int | None = None,
    ephemeral_secret: int | None = None,
    settings: Settings | None = None,
) -> tuple[Bundle, Note]:
    """Prove one owner operation on a note; returns the bundle and the successor note's opening,
    sealed to the owner's viewing key (the note's) and `keepers`, and appended to the tree
    `frontier` describes (the one `proof` is in)."""
    salt = new_secret() if new_salt is None else new_salt
    w = transition_inputs(
        note,
        sk,
        proof,
        op,
        asset,
        amount,
        market,
        salt,
        binding,
        keepers,
        frontier=frontier,
        ephemeral_secret=ephemeral_secret,
    )
    si = StatementInputs(_spec(POOL_TRANSITION.name, market.n), w.inputs, _context(op=op.name.lower()))
    return api.prove_inputs(si, settings), w.new


def prove_liquidation(
    note: Note,
    proof: MerkleProof,
    market: LiquidationMarket,
    collateral_asset: int,
    debt_asset: int,
    debt_to_cover: int,
    binding: int,
    *,
    keepers: Sequence[Point],
    ephemeral_secret: int | None = None,
    settings: Settings | None = None,
) -> tuple[Bundle, NoteLiquidation]:
    """Prove one liquidation of a note whose opening the caller holds (no spending key needed).

    Returns the bundle and the model's liquidation: its `new` note is the owner's successor
    (salt derived from the old salt and the nullifier, which the owner recomputes from the proof's
    public inputs with `zkmargin.pool.liquidation.successor_from_public`), sealed to the owner's
    viewing key (the spent note's) and `keepers`."""
    request = LiquidationRequest(
        note, proof, market, collateral_asset, debt_asset, debt_to_cover, binding, tuple(keepers), ephemeral_secret
    )
    si, liq = POOL_LIQUIDATION.plan(request)
    return api.prove_inputs(si, settings), liq
