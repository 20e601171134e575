"""Owner operations on notes: the model of PoolOpen / PoolTransition (circuits/lib/pool.circom) and
their witness inputs.

Each operation follows aave-v3-origin v3.5.0 (6138e1f; paths under src/contracts/protocol/) with
the pool's simplifications (no eMode, no isolation, no siloed borrowing, exact amounts: no
type(uint256).max):

  deposit   SupplyLogic.executeSupply :41-95       scaled += rayDivFloor(amount, liquidityIndex),
            != 0 (ValidationLogic.validateSupply :71); first supply with LTV != 0 sets the flag
            (:73-85, validateUseAsCollateral :573-588)
  withdraw  SupplyLogic.executeWithdraw :109-179    scaled -= rayDivCeil(amount, liquidityIndex),
            != 0 and <= balance (validateWithdraw :103-104); flag cleared at 0 (:158-161); flag on
            and any debt: validateHFAndLtvzero (:461-485)
  borrow    BorrowLogic.executeBorrow :43-129       debt += rayDivCeil(amount, variableBorrowIndex),
            != 0 (validateBorrow :141); validateHFAndLtv (:409-447)
  repay     BorrowLogic.executeRepay :142-247       debt -= rayDivFloor(amount, variableBorrowIndex),
            != 0 (ScaledBalanceTokenBase._burnScaled :112); amount <= rayMulCeil(debt, index) (Aave caps
            the amount at the debt, :174-176; the pool moves exactly the public amount and refuses)

Every refusal here is a refusal of the circuit (tests/test_pool_transition.py checks both sides).
Account data come from zkmargin.model.evaluate under the v3.5 rules (collateral floors, debt ceils).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import IntEnum
from typing import Final

from ..aave_math import RAY, percent_div_ceil, ray_div_ceil, ray_div_floor, vtoken_balance
from ..errors import InputError
from ..field import R
from ..limits import AMOUNT_BITS, BPS, INDEX_BITS, LT_BITS, MAX_DECIMALS, PRICE_BITS, WAD
from ..liquidation_step import AaveRevert
from ..model import Asset, Health, Market, Position, PricePoint, PriceSnapshot, evaluate
from ..witness import InputValue
from .babyjub import Point
from .note import Note, owner_tag
from .sealing import NoteSeal, seal_note
from .tree import MAX_DEPTH, Frontier, MerkleProof

Inputs = dict[str, InputValue]


class Op(IntEnum):
    """The public input `op` of PoolTransition."""

    DEPOSIT = 0
    WITHDRAW = 1
    BORROW = 2
    REPAY = 3


@dataclass(frozen=True)
class ReserveView:
    """What a proof uses of one reserve: the values the pool contract supplies as public inputs."""

    price: int  # base currency, 8 decimals
    liquidity_index: int  # ray
    variable_borrow_index: int  # ray
    decimals: int
    ltv: int  # bps
    liquidation_threshold: int  # bps


@dataclass(frozen=True)
class PoolMarket:
    reserves: tuple[ReserveView, ...]

    def __post_init__(self) -> None:
        for i, r in enumerate(self.reserves):
            checks = (
                ("price", 0 < r.price < 2**PRICE_BITS, f"in (0, 2^{PRICE_BITS})"),
                (
                    "liquidityIndex",
                    RAY <= r.liquidity_index < RAY + 2**INDEX_BITS,
                    f"in [1 ray, 1 ray + 2^{INDEX_BITS})",
                ),
                (
                    "borrowIndex",
                    RAY <= r.variable_borrow_index < RAY + 2**INDEX_BITS,
                    f"in [1 ray, 1 ray + 2^{INDEX_BITS})",
                ),
                ("decimals", 0 <= r.decimals <= MAX_DECIMALS, f"in [0, {MAX_DECIMALS}]"),
                ("ltv", 0 <= r.ltv <= BPS, f"in [0, {BPS}] (bps)"),
                ("liqThreshold", 0 <= r.liquidation_threshold <= BPS, f"in [0, {BPS}] (bps)"),
            )
            for name, ok, allowed in checks:
                if not ok:
                    raise InputError(f"{name}[{i}]", f"must be {allowed}")
        assert BPS < 2**LT_BITS

    @property
    def n(self) -> int:
        return len(self.reserves)

    def public(self) -> Inputs:
        """The market's public inputs of PoolTransition, in the registry's names."""
        rs = self.reserves
        return {
            "price": [r.price for r in rs],
            "liquidityIndex": [r.liquidity_index for r in rs],
            "borrowIndex": [r.variable_borrow_index for r in rs],
            "decimals": [r.decimals for r in rs],
            "ltv": [r.ltv for r in rs],
            "liqThreshold": [r.liquidation_threshold for r in rs],
        }

    def as_model(self) -> tuple[Market, PriceSnapshot]:
        """The same reserves as zkmargin.model sees a market (v3.5 rules, reserve i = symbol 'R<i>')."""
        assets = tuple(
            Asset(f"R{i}", r.decimals, r.liquidation_threshold, 10000, ltv=r.ltv) for i, r in enumerate(self.reserves)
        )
        prices = {
            f"R{i}": PricePoint(r.price, 0, 0, r.liquidity_index, r.variable_borrow_index)
            for i, r in enumerate(self.reserves)
        }
        return Market("pool", assets, "aave-v3.5"), PriceSnapshot(prices)


@dataclass(frozen=True)
class AccountData:
    """calculateUserAccountData of a note (v3.5, no eMode)."""

    health: Health
    ltv_weighted: int  # sum over counted collateral of value * LTV
    has_zero_ltv_collateral: bool

    @property
    def avg_ltv(self) -> int:
        tc = self.health.total_collateral
        return self.ltv_weighted // tc if tc else 0


def account_data(note: Note, market: PoolMarket) -> AccountData:
    m, prices = market.as_model()
    syms = m.symbols
    pos = Position(
        dict(zip(syms, note.scaled_collateral, strict=True)),
        dict(zip(syms, note.scaled_debt, strict=True)),
        note.salt,
        use_as_collateral=frozenset(s for i, s in enumerate(syms) if note.flag(i)),
        scaled=True,
    )
    h = evaluate(pos, m, prices)
    lw = sum(v.collateral_value * r.ltv for v, r in zip(h.valuations, market.reserves, strict=True) if v.counted)
    zero = any(v.counted and r.ltv == 0 for v, r in zip(h.valuations, market.reserves, strict=True))
    return AccountData(h, lw, zero)


def _check_amount(amount: int) -> None:
    if not 0 <= amount < 2**AMOUNT_BITS:
        raise InputError("amount", f"must be in [0, 2^{AMOUNT_BITS}) (token base units)")


def _check_asset(asset: int, n: int) -> None:
    if not 0 <= asset < n:
        raise InputError("asset", f"must be a reserve index in [0, {n})")


def open_note(market: PoolMarket, asset: int, amount: int, owner: int, salt: int, viewing_key: Point) -> Note:
    """PoolOpen: a first deposit of `amount` of reserve `asset` into a new note of the owner with
    tag `owner` and viewing key `viewing_key`."""
    _check_asset(asset, market.n)
    _check_amount(amount)
    r = market.reserves[asset]
    scaled = ray_div_floor(amount, r.liquidity_index)
    if scaled == 0:
        raise AaveRevert("InvalidAmount", f"a deposit of {amount} mints 0 scaled units at index {r.liquidity_index}")
    coll = tuple(scaled if i == asset else 0 for i in range(market.n))
    flags = (1 << asset) if r.ltv != 0 else 0
    return Note(coll, (0,) * market.n, flags, owner, salt, viewing_key)


def apply(note: Note, op: Op, asset: int, amount: int, market: PoolMarket, new_salt: int) -> Note:
    """The note after `op` of `amount` on reserve `asset`; AaveRevert when the pool must refuse it."""
    if note.n_reserves != market.n:
        raise InputError("note", f"has {note.n_reserves} reserves, the market {market.n}")
    _check_asset(asset, market.n)
    _check_amount(amount)
    r = market.reserves[asset]
    coll, debt, flags = list(note.scaled_collateral), list(note.scaled_debt), note.collateral_flags
    if op == Op.DEPOSIT:
        scaled = ray_div_floor(amount, r.liquidity_index)
        if scaled == 0:
            raise AaveRevert("InvalidAmount", "the deposit mints 0 scaled units")
        if coll[asset] == 0 and r.ltv != 0:
            flags |= 1 << asset
        coll[asset] += scaled
    elif op == Op.WITHDRAW:
        scaled = ray_div_ceil(amount, r.liquidity_index)
        if scaled == 0:
            raise AaveRevert("InvalidAmount", "a withdraw of 0")
        if scaled > coll[asset]:
            raise AaveRevert("NotEnoughAvailableUserBalance", f"the withdraw burns {scaled} > {coll[asset]} scaled")
        coll[asset] -= scaled
        if coll[asset] == 0:
            flags &= ~(1 << asset)
    elif op == Op.BORROW:
        scaled = ray_div_ceil(amount, r.variable_borrow_index)
        if scaled == 0:
            raise AaveRevert("InvalidAmount", "a borrow of 0")
        debt[asset] += scaled
    elif op == Op.REPAY:
        owed = vtoken_balance(debt[asset], r.variable_borrow_index)
        if amount > owed:
            raise AaveRevert("RepayExceedsDebt", f"repaying {amount} > the debt {owed} (the pool does not cap it)")
        scaled = ray_div_floor(amount, r.variable_borrow_index)
        if scaled == 0:
            raise AaveRevert("InvalidBurnAmount", "the repay burns 0 scaled units")
        debt[asset] -= scaled
    else:
        raise InputError("op", "must be 0 (deposit), 1 (withdraw), 2 (borrow) or 3 (repay)")
    for kind, book in (("scaledCollateral", coll), ("scaledDebt", debt)):
        if book[asset] >= 2**AMOUNT_BITS:
            raise InputError(f"{kind}[{asset}]", f"would reach 2^{AMOUNT_BITS}")
    new = replace(note, scaled_collateral=tuple(coll), scaled_debt=tuple(debt), collateral_flags=flags, salt=new_salt)
    acct = account_data(new, market)  # InputError for balances or values past the circuit's widths
    h = acct.health
    if op == Op.BORROW or (op == Op.WITHDRAW and note.flag(asset)):
        if h.is_below(WAD):
            raise AaveRevert("HealthFactorLowerThanLiquidationThreshold", f"HF after would be {h.health_factor}")
    if op == Op.WITHDRAW and note.flag(asset) and h.total_debt != 0:
        if acct.has_zero_ltv_collateral and r.ltv != 0:
            raise AaveRevert("LtvValidationFailed", "LTV-0 collateral must be withdrawn first")
    if op == Op.BORROW:
        if acct.avg_ltv == 0:
            raise AaveRevert("LtvValidationFailed", "the collateral's average LTV is 0")
        if h.total_collateral < percent_div_ceil(h.total_debt, acct.avg_ltv):
            raise AaveRevert(
                "CollateralCannotCoverNewBorrow",
                f"collateral {h.total_collateral} < percentDivCeil({h.total_debt}, {acct.avg_ltv})",
            )
    return new


def binding(chain_id: int, pool: str, sender: str, recipient: str) -> int:
    """uint256(keccak256(abi.encode(block.chainid, address(pool), msg.sender, recipient))) >> 8."""
    from eth_abi.abi import encode
    from eth_hash.auto import keccak

    digest = keccak(encode(["uint256", "address", "address", "address"], [chain_id, pool, sender, recipient]))
    return int.from_bytes(digest, "big") >> 8


def _check_binding(b: int) -> None:
    if not 0 <= b < R:
        raise InputError("binding", "must be a field element")


@dataclass(frozen=True)
class OpenWitness:
    note: Note
    inputs: Inputs
    seal: NoteSeal

    def public(self) -> list[int]:
        return public_signals(OPEN_PUBLIC, self.inputs)


@dataclass(frozen=True)
class TransitionWitness:
    old: Note
    new: Note
    inputs: Inputs
    seal: NoteSeal

    def public(self) -> list[int]:
        return public_signals(TRANSITION_PUBLIC, self.inputs)


#: the seal of the new note, public after each pool circuit's own signals (flattened)
SEAL_PUBLIC: Final = ("keeperKey", "ephemeralPublicKey", "ciphertext")
#: public signals in the circuits' order (circuits/circuits.json), arrays of N
#: the append of the new note to the pool's tree (NoteInsertion), before the seal
INSERTION_PUBLIC: Final = ("treeSize", "newRoot", "newNode")
OPEN_PUBLIC: Final = (
    "newCommitment",
    "asset",
    "amount",
    "binding",
    "liquidityIndex[]",
    "ltv[]",
    "root",
    *INSERTION_PUBLIC,
    *SEAL_PUBLIC,
)
TRANSITION_PUBLIC: Final = (
    "root",
    "nullifier",
    "newCommitment",
    "op",
    "asset",
    "amount",
    "binding",
    "price[]",
    "liquidityIndex[]",
    "borrowIndex[]",
    "decimals[]",
    "ltv[]",
    "liqThreshold[]",
    *INSERTION_PUBLIC,
    *SEAL_PUBLIC,
)


def public_signals(names: tuple[str, ...], inputs: Inputs) -> list[int]:
    out: list[int] = []
    for name in names:
        v = inputs[name.removesuffix("[]")]
        out += list(v) if isinstance(v, (list, tuple)) else [v]  # type: ignore[list-item]
    return out


def _check_frontier(frontier: Frontier) -> None:
    if len(frontier.nodes) != MAX_DEPTH:
        raise InputError("frontier", f"must have {MAX_DEPTH} nodes (the circuits' tree depth)")


def insertion_inputs(frontier: Frontier, commitment: int) -> Inputs:
    """NoteInsertion's public values for appending `commitment` (the root is the caller's)."""
    _check_frontier(frontier)
    appended = frontier.append(commitment)
    return {"treeSize": frontier.size, "newRoot": appended.root, "newNode": appended.node}


def open_inputs(
    market: PoolMarket,
    asset: int,
    amount: int,
    owner: int,
    salt: int,
    binding_: int,
    viewing_key: Point,
    keepers: Sequence[Point],
    *,
    frontier: Frontier,
    ephemeral_secret: int | None = None,
) -> OpenWitness:
    """PoolOpen's inputs for a first deposit (the model's refusals raised first), the new note
    sealed to `viewing_key` and the keepers (zkmargin.pool.sealing) and appended to the tree
    `frontier` describes (the pool's current one: LeanIMT.frontier)."""
    _check_binding(binding_)
    _check_frontier(frontier)
    note = open_note(market, asset, amount, owner, salt, viewing_key)
    seal, seal_inputs = seal_note(note, keepers, ephemeral_secret=ephemeral_secret)
    pub = market.public()
    inputs: Inputs = {
        "newCommitment": note.commitment,
        "asset": asset,
        "amount": amount,
        "binding": binding_,
        "liquidityIndex": pub["liquidityIndex"],
        "ltv": pub["ltv"],
        "root": frontier.root,
        **insertion_inputs(frontier, note.commitment),
        **seal_inputs,
        "ownerTag": owner,
        "salt": salt,
        "viewKey": list(viewing_key),
        "frontier": list(frontier.nodes),
    }
    return OpenWitness(note, inputs, seal)


def transition_inputs(
    old: Note,
    sk: int,
    proof: MerkleProof,
    op: Op,
    asset: int,
    amount: int,
    market: PoolMarket,
    new_salt: int,
    binding_: int,
    keepers: Sequence[Point],
    *,
    frontier: Frontier,
    ephemeral_secret: int | None = None,
) -> TransitionWitness:
    """PoolTransition's inputs (the model's refusals raised first), the new note sealed to the
    owner's viewing key (the old note's) and the keepers, and appended to the tree `frontier`
    describes, the one `proof` is a membership proof in (both from one LeanIMT)."""
    _check_binding(binding_)
    if owner_tag(sk) != old.owner_tag:
        raise InputError("sk", "is not the spending key of this note")
    if proof.leaf != old.commitment or proof.computed_root() != proof.root:
        raise InputError("proof", "is not a membership proof of this note")
    if len(proof.siblings) != MAX_DEPTH:
        raise InputError("proof", f"must have {MAX_DEPTH} siblings (zero-padded)")
    _check_frontier(frontier)
    if frontier.root != proof.root:
        raise InputError("frontier", "is not of the tree the membership proof is in (another root)")
    new = apply(old, op, asset, amount, market, new_salt)
    seal, seal_inputs = seal_note(new, keepers, ephemeral_secret=ephemeral_secret)
    inputs: Inputs = {
        "root": proof.root,
        "nullifier": old.nullifier,
        "newCommitment": new.commitment,
        "op": int(op),
        "asset": asset,
        "amount": amount,
        "binding": binding_,
        **market.public(),
        **insertion_inputs(frontier, new.commitment),
        **seal_inputs,
        "sk": sk,
        "salt": old.salt,
        "viewKey": list(old.viewing_key),
        "collateralFlags": old.collateral_flags,
        "scaledCollateral": list(old.scaled_collateral),
        "scaledDebt": list(old.scaled_debt),
        "pathLength": proof.length,
        "pathIndex": proof.index,
        "siblings": list(proof.siblings),
        "newSalt": new_salt,
        "frontier": list(frontier.nodes),
    }
    return TransitionWitness(old, new, inputs, seal)
