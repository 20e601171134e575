"""Liquidation of a private-pool note: the model of PoolLiquidation (circuits/lib/pool_liquidation.circom)
and its witness inputs.

One Aave v3.5.0 liquidation call (LiquidationLogic.executeLiquidationCall :167-431) on a note's
scaled balances at the pool's current indexes and prices: the model *is* zkmargin.liquidation_step's
`liquidate` at rules v3.5, run on the note as a scaled Position with the pool's reserves as a
Market (no eMode, no isolation: the pool has neither), the liquidator receiving the underlying
(receiveAToken = false: the pool has no aTokens). So every rule (HF < 1, the close factor, the
bonus, the collateral cap, the protocol fee and its cap, MustNotLeaveDust, the zero burns, the
deficit of _burnBadDebt, zkmargin's "repay at least one unit") and every refusal are the step's.

What the pool adds:
  - the note is a leaf of the tree under `root` and is spent as its `nullifier`; no spending key:
    whoever holds the opening (the owner, the keepers of issue #15) may liquidate a failing note;
  - the successor note keeps the owner's tag and viewing key (it is sealed to that key and the
    keepers: zkmargin.pool.sealing) and takes the salt
        new_salt = Poseidon(DOMAIN_LIQUIDATION_SALT, salt, nullifier)
    so the owner, who knows the old opening, recomputes the new note from the proof's public inputs
    alone (`successor_from_public`), and nobody without the opening can. The nullifier makes the
    salts of two liquidations differ whenever the notes differ (README, "Liquidation in the pool").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Final

from ..errors import InputError
from ..field import R
from ..limits import BPS
from ..liquidation_step import BONUS_BITS, LiquidationOutcome, liquidate
from ..model import Asset, Market, Position
from ..poseidon import poseidon
from ..witness import InputValue
from .babyjub import Point
from .note import Note
from .sealing import NoteSeal, seal_note
from .transition import SEAL_PUBLIC, PoolMarket, public_signals
from .tree import MAX_DEPTH, MerkleProof

Inputs = dict[str, InputValue]

#: int.from_bytes(b"zkmargin/pool/liq-salt/v1", "big"): < 2^200, a field element
DOMAIN_LIQUIDATION_SALT: Final = int.from_bytes(b"zkmargin/pool/liq-salt/v1", "big")

#: public signals in the circuit's order (circuits/circuits.json "pool_liquidation_2"), arrays of N
LIQUIDATION_PUBLIC: Final = (
    "root",
    "nullifier",
    "newCommitment",
    "collateralAsset",
    "debtAsset",
    "debtToCover",
    "debtRepaid",
    "collateralToLiquidator",
    "protocolFee",
    "deficit[]",
    "binding",
    "price[]",
    "liquidityIndex[]",
    "borrowIndex[]",
    "decimals[]",
    "liqThreshold[]",
    "liquidationBonus[]",
    "liquidationProtocolFee[]",
    *SEAL_PUBLIC,
)


def liquidation_salt(salt: int, nullifier: int) -> int:
    """Poseidon(DOMAIN_LIQUIDATION_SALT, salt, nullifier): the salt of a liquidated note's successor."""
    return poseidon([DOMAIN_LIQUIDATION_SALT, salt, nullifier])


@dataclass(frozen=True)
class LiquidationMarket:
    """The reserves as a liquidation sees them: PoolMarket's values plus each reserve's
    liquidation bonus (bps, including the 100%: 10500 = 5%) and liquidation protocol fee (bps of
    the bonus), as the pool's reserve configuration holds them."""

    market: PoolMarket
    liquidation_bonus: tuple[int, ...]
    protocol_fee: tuple[int, ...]

    def __post_init__(self) -> None:
        n = self.market.n
        if len(self.liquidation_bonus) != n or len(self.protocol_fee) != n:
            raise InputError("market", f"needs one liquidation bonus and one protocol fee per reserve ({n})")
        for i, (bonus, fee) in enumerate(zip(self.liquidation_bonus, self.protocol_fee, strict=True)):
            if not 0 <= bonus < 2**BONUS_BITS:
                raise InputError(f"liquidationBonus[{i}]", f"must be in [0, 2^{BONUS_BITS}) (bps)")
            if not 0 <= fee <= BPS:
                raise InputError(f"liquidationProtocolFee[{i}]", f"must be in [0, {BPS}] (bps)")

    @property
    def n(self) -> int:
        return self.market.n

    def public(self) -> Inputs:
        """The market's public inputs of PoolLiquidation (PoolTransition's without the LTV)."""
        pub = self.market.public()
        del pub["ltv"]
        return {
            **pub,
            "liquidationBonus": list(self.liquidation_bonus),
            "liquidationProtocolFee": list(self.protocol_fee),
        }

    def as_model(self) -> Market:
        m, _ = self.market.as_model()
        assets = tuple(
            Asset(a.symbol, a.decimals, a.liquidation_threshold, bonus, fee, ltv=a.ltv)
            for a, bonus, fee in zip(m.assets, self.liquidation_bonus, self.protocol_fee, strict=True)
        )
        return replace(m, assets=assets)


def as_position(note: Note) -> Position:
    """A note as zkmargin.model sees a position: scaled balances, reserve i = symbol 'R<i>'."""
    syms = [f"R{i}" for i in range(note.n_reserves)]
    return Position(
        dict(zip(syms, note.scaled_collateral, strict=True)),
        dict(zip(syms, note.scaled_debt, strict=True)),
        note.salt,
        use_as_collateral=frozenset(s for i, s in enumerate(syms) if note.flag(i)),
        scaled=True,
    )


@dataclass(frozen=True)
class NoteLiquidation:
    """One liquidation of a note: the step's outcome and the successor note."""

    old: Note
    new: Note
    nullifier: int
    outcome: LiquidationOutcome

    @property
    def debt_repaid(self) -> int:
        return self.outcome.debt_repaid

    @property
    def collateral_to_liquidator(self) -> int:
        return self.outcome.collateral_to_liquidator

    @property
    def protocol_fee(self) -> int:
        return self.outcome.protocol_fee

    @property
    def deficit(self) -> tuple[int, ...]:
        return self.outcome.deficit


def _check_reserve(field: str, i: int, n: int) -> None:
    if not 0 <= i < n:
        raise InputError(field, f"must be a reserve index in [0, {n})")


def liquidate_note(
    note: Note, market: LiquidationMarket, collateral_asset: int, debt_asset: int, debt_to_cover: int
) -> NoteLiquidation:
    """The note after one v3.5.0 liquidation call; AaveRevert / StatementFalse where the pool must
    refuse it (the step's refusals), InputError for values the circuit cannot hold."""
    if note.n_reserves != market.n:
        raise InputError("note", f"has {note.n_reserves} reserves, the market {market.n}")
    _check_reserve("collateralAsset", collateral_asset, market.n)
    _check_reserve("debtAsset", debt_asset, market.n)
    m, prices = market.market.as_model()
    model_market = market.as_model()
    nf = note.nullifier
    salt = liquidation_salt(note.salt, nf)
    outcome = liquidate(
        as_position(note), model_market, prices, f"R{collateral_asset}", f"R{debt_asset}", debt_to_cover, salt
    )
    p = outcome.new_position
    syms = m.symbols
    new = Note(
        tuple(p.collateral.get(s, 0) for s in syms),
        tuple(p.debt.get(s, 0) for s in syms),
        p.flags(model_market),
        note.owner_tag,
        salt,
        note.viewing_key,
    )
    return NoteLiquidation(note, new, nf, outcome)


def successor_from_public(
    note: Note,
    market: LiquidationMarket,
    collateral_asset: int,
    debt_asset: int,
    debt_to_cover: int,
    new_commitment: int,
) -> NoteLiquidation:
    """The owner's view: the liquidation that spent `note`, recomputed from the old opening and the
    proof's public inputs alone (the market values, the reserves, `debtToCover`; the pool's event
    carries them), checked against its public `newCommitment`. The model is deterministic given
    those, and the successor's salt comes from the old salt and the nullifier, so no witness of the
    prover's is needed. InputError if the recomputed successor is not `new_commitment` (another
    note, or other market values than the proof's)."""
    liq = liquidate_note(note, market, collateral_asset, debt_asset, debt_to_cover)
    if liq.new.commitment != new_commitment:
        raise InputError("newCommitment", "is not this note's successor under these public inputs")
    return liq


@dataclass(frozen=True)
class LiquidationWitness:
    liquidation: NoteLiquidation
    inputs: Inputs
    seal: NoteSeal

    def public(self) -> list[int]:
        return public_signals(LIQUIDATION_PUBLIC, self.inputs)


def _check_binding(b: int) -> None:
    if not 0 <= b < R:
        raise InputError("binding", "must be a field element")


def liquidation_inputs(
    note: Note,
    proof: MerkleProof,
    market: LiquidationMarket,
    collateral_asset: int,
    debt_asset: int,
    debt_to_cover: int,
    binding_: int,
    keepers: Sequence[Point],
    *,
    ephemeral_secret: int | None = None,
) -> LiquidationWitness:
    """PoolLiquidation's inputs (the model's refusals raised first), the successor sealed to the
    owner's viewing key (the spent note's) and the keepers."""
    _check_binding(binding_)
    if proof.leaf != note.commitment or proof.computed_root() != proof.root:
        raise InputError("proof", "is not a membership proof of this note")
    if len(proof.siblings) != MAX_DEPTH:
        raise InputError("proof", f"must have {MAX_DEPTH} siblings (zero-padded)")
    liq = liquidate_note(note, market, collateral_asset, debt_asset, debt_to_cover)
    seal, seal_inputs = seal_note(liq.new, keepers, ephemeral_secret=ephemeral_secret)
    o = liq.outcome
    inputs: Inputs = {
        "root": proof.root,
        "nullifier": liq.nullifier,
        "newCommitment": liq.new.commitment,
        "collateralAsset": collateral_asset,
        "debtAsset": debt_asset,
        "debtToCover": debt_to_cover,
        "debtRepaid": o.debt_repaid,
        "collateralToLiquidator": o.collateral_to_liquidator,
        "protocolFee": o.protocol_fee,
        "deficit": list(o.deficit),
        "binding": binding_,
        **market.public(),
        **seal_inputs,
        "ownerTag": note.owner_tag,
        "salt": note.salt,
        "viewKey": list(note.viewing_key),
        "collateralFlags": note.collateral_flags,
        "scaledCollateral": list(note.scaled_collateral),
        "scaledDebt": list(note.scaled_debt),
        "pathLength": proof.length,
        "pathIndex": proof.index,
        "siblings": list(proof.siblings),
    }
    return LiquidationWitness(liq, inputs, seal)
