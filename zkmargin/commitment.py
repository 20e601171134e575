"""Commitment to a lending position (layout v2).

For a circuit with N asset slots (the market's assets in order, then padding):
    commitment = Poseidon6(TAG, Poseidon_N(collateral[0..N-1]), Poseidon_N(debt[0..N-1]),
                           collateralFlags, eModeCategory, salt)
with TAG = int.from_bytes(b"zkmargin/lending/v2", "big"), collateral and debt the scaled aToken and
variable-debt balances (actual amounts are the scaled balances at indexes of 1 ray; padding
slots hold 0), collateralFlags the "use as collateral" bitmap (bit i = slot i) and eModeCategory
the user's category (0: none). Mirrors PositionCommitment in circuits/lib/position.circom.
"""

from __future__ import annotations

import secrets

from .field import R
from .model import Market, Position
from .poseidon import poseidon

LENDING_TAG = int.from_bytes(b"zkmargin/lending/v2", "big")


def slot_amounts(position: Position, market: Market, n_slots: int) -> tuple[list[int], list[int]]:
    assert len(market.assets) <= n_slots
    pad = [0] * (n_slots - len(market.assets))
    coll = [position.collateral.get(s, 0) for s in market.symbols] + pad
    debt = [position.debt.get(s, 0) for s in market.symbols] + pad
    return coll, debt


def commit_amounts(collateral: list[int], debt: list[int], salt: int, flags: int = 0, emode: int = 0) -> int:
    return poseidon([LENDING_TAG, poseidon(collateral), poseidon(debt), flags, emode, salt])


def commitment(position: Position, market: Market, n_slots: int) -> int:
    coll, debt = slot_amounts(position, market, n_slots)
    return commit_amounts(coll, debt, position.salt, position.flags(market), position.emode_category)


def new_salt() -> int:
    """A uniformly random field element from the OS CSPRNG."""
    return secrets.randbelow(R)


def to_hex(v: int) -> str:
    return f"0x{v:064x}"
