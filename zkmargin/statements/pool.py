"""The private pool's owner operations as statements: `pool_open` (a first deposit creates a note)
and `pool_transition` (deposit, withdraw, borrow or repay spends a note of the tree and creates its
successor). The model and the witness inputs are zkmargin/pool/transition.py; the circuits
PoolOpen / PoolTransition in circuits/lib/pool.circom. The pool contract supplies every public input
from its own state (the market, the root it knows, the binding of chain, pool, sender and recipient),
so no verifier-side pinning applies: `pins` is empty."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import api, registry
from ..errors import InputError
from ..pool.note import Note, new_secret
from ..pool.transition import Op, PoolMarket, open_inputs, transition_inputs
from ..pool.tree import MerkleProof
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


class PoolOpenStatement(Statement[OpenRequest]):
    name = "pool_open"
    summary = "a first deposit into the private pool created the note `newCommitment`"

    def inputs(self, request: OpenRequest) -> StatementInputs:
        w = open_inputs(request.market, request.asset, request.amount, request.owner_tag, request.salt, request.binding)
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
        }


POOL_OPEN = PoolOpenStatement()
POOL_TRANSITION = PoolTransitionStatement()
register(POOL_OPEN)
register(POOL_TRANSITION)


def prove_open(
    market: PoolMarket,
    asset: int,
    amount: int,
    owner_tag: int,
    binding: int,
    *,
    salt: int | None = None,
    settings: Settings | None = None,
) -> tuple[Bundle, Note]:
    """Prove a first deposit; returns the bundle and the new note's opening (salt from the OS
    CSPRNG unless given): the owner must keep it to spend the note."""
    w = open_inputs(market, asset, amount, owner_tag, new_secret() if salt is None else salt, binding)
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
    new_salt: int | None = None,
    settings: Settings | None = None,
) -> tuple[Bundle, Note]:
    """Prove one owner operation on a note; returns the bundle and the successor note's opening."""
    salt = new_secret() if new_salt is None else new_salt
    w = transition_inputs(note, sk, proof, op, asset, amount, market, salt, binding)
    si = StatementInputs(_spec(POOL_TRANSITION.name, market.n), w.inputs, _context(op=op.name.lower()))
    return api.prove_inputs(si, settings), w.new
