"""The Python model of the whole PrivateMarginPool: its reserves (zkmargin.pool.reserve, to the
wei), its note tree and nullifier set, the tokens it holds per reserve, and, as only a model can
know them, the openings of every live note.

Every operation does what the contract does, in the contract's order: the state of the reserves it
acts on brought to `now` (ReserveLogic.updateState; as in Aave, no other reserve is written, so a
reserve's interest compounds once per operation on it, not once per operation on the pool), the
public inputs assembled from every reserve's indexes as updateState would make them at `now`,
without storing them (`market(now)`, the contract's _currentIndexes),
the note's change checked by zkmargin.pool.transition (the circuit's model), then the reserve's own
operation, whose scaled amount must equal the note's change (the same TokenMath rounding on the
same index; an inequality raises, since it would be a bug in one of them).

Solvency: `surplus(now)` = tokens held - (sum over notes of supply balances + the treasury's
balance - sum over notes of debt balances), every balance read as v3.5 reads it (collateral
floors, debt ceils). It is never negative; what it holds is the interest borrowers paid that no
supplier was credited (the variable-borrow index compounds, the liquidity index grows linearly:
`unallocated_interest`) plus each operation's and each read's rounding, all in the pool's favour.
`rounding_bound()` is the documented bound on the rounding part.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from ..aave_math import RAY, ray_mul_ceil, ray_mul_floor
from ..errors import ZkMarginError
from .liquidation import LiquidationMarket, NoteLiquidation
from .note import Note
from .reserve import DeficitCover, ReserveState
from .transition import Op, PoolMarket, ReserveView, apply, open_note
from .tree import LeanIMT


class ModelMismatch(ZkMarginError):
    """The circuit's model and the reserve's model disagree on a scaled amount."""


@dataclass
class PoolModel:
    reserves: list[ReserveState]
    prices: list[int]  # 8 decimals, as the feeds answer
    tree: LeanIMT = field(default_factory=LeanIMT)
    spent: set[int] = field(default_factory=set)
    notes: dict[int, Note] = field(default_factory=dict)  # live notes by commitment
    balances: list[int] = field(default_factory=list)  # tokens the pool holds, per reserve
    unallocated_interest: list[int] = field(default_factory=list)
    operations: int = 0
    #: per reserve, written-off debt neither insured nor socialized (Reserves.reserveDeficit)
    deficits: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = len(self.reserves)
        self.balances = self.balances or [0] * n
        self.unallocated_interest = self.unallocated_interest or [0] * n
        self.deficits = self.deficits or [0] * n

    @classmethod
    def listed(cls, reserves: Sequence[ReserveState], prices: Sequence[int]) -> PoolModel:
        return cls(list(reserves), list(prices))

    # --- state at `now` ---

    def _update(self, now: int, assets: Sequence[int]) -> None:
        """Reserves._updateState on the reserves an operation acts on (each once), recording the
        interest the debt accrued that the supply (notes and treasury) was not credited."""
        for i in dict.fromkeys(assets):
            r = self.reserves[i]
            u = r.update_state(now)
            debt_growth = ray_mul_ceil(r.scaled_total_variable_debt, u.variable_borrow_index) - ray_mul_ceil(
                r.scaled_total_variable_debt, r.variable_borrow_index
            )
            supply_growth = ray_mul_floor(r.scaled_total_supply, u.liquidity_index) - ray_mul_floor(
                r.scaled_total_supply, r.liquidity_index
            )
            # the treasury's unminted share is outside scaled_total_supply: it grows by its new
            # accrual and by the index, like any supply
            treasury_growth = ray_mul_floor(u.accrued_to_treasury, u.liquidity_index) - ray_mul_floor(
                r.accrued_to_treasury, r.liquidity_index
            )
            self.unallocated_interest[i] += debt_growth - supply_growth - treasury_growth
            self.reserves[i] = u

    def market(self, now: int) -> PoolMarket:
        """The public inputs the pool assembles in a block at `now` (without changing the model):
        each reserve's indexes as updateState would store them at `now` (Reserves._currentIndexes),
        whichever reserve the operation acts on."""
        views = []
        for r, p in zip(self.reserves, self.prices, strict=True):
            u = r.update_state(now)
            views.append(
                ReserveView(
                    p,
                    u.liquidity_index,
                    u.variable_borrow_index,
                    u.decimals,
                    u.risk.ltv,
                    u.risk.liquidation_threshold,
                )
            )
        return PoolMarket(tuple(views))

    def liquidation_market(self, now: int) -> LiquidationMarket:
        """PoolLiquidation's market inputs at `now`: market(now) plus each reserve's bonus and fee."""
        return LiquidationMarket(
            self.market(now),
            tuple(r.risk.liquidation_bonus for r in self.reserves),
            tuple(r.risk.liquidation_protocol_fee for r in self.reserves),
        )

    # --- operations (each returns the scaled amount the reserve computed) ---

    def open(self, asset: int, amount: int, note: Note, now: int) -> int:
        """open: `note` must be what PoolOpen proves for this deposit (else ModelMismatch)."""
        market = self.market(now)
        expected = open_note(market, asset, amount, note.owner_tag, note.salt, note.viewing_key)
        if expected != note:
            raise ModelMismatch(f"open: the note is not the deposit of {amount} into reserve {asset}")
        self._update(now, [asset])
        self.reserves[asset], scaled = self.reserves[asset].supply(amount, now)
        if scaled != note.scaled_collateral[asset]:
            raise ModelMismatch(f"open: reserve minted {scaled}, the note holds {note.scaled_collateral[asset]}")
        self._insert(note)
        self.balances[asset] += amount
        self.operations += 1
        return scaled

    def transact(self, op: Op, old: Note, new: Note, asset: int, amount: int, now: int) -> int:
        """deposit / withdraw / borrow / repay of `old` into `new` (new = the circuit's model of it)."""
        if old.commitment not in self.notes or old.nullifier in self.spent:
            raise ModelMismatch("the old note is not live")
        market = self.market(now)
        if apply(old, op, asset, amount, market, new.salt) != new:
            raise ModelMismatch(f"{op.name}: the new note is not the model's")
        self._update(now, [asset])
        r = self.reserves[asset]
        if op == Op.DEPOSIT:
            self.reserves[asset], scaled = r.supply(amount, now)
            delta = new.scaled_collateral[asset] - old.scaled_collateral[asset]
            self.balances[asset] += amount
        elif op == Op.WITHDRAW:
            self.reserves[asset], scaled = r.withdraw(amount, now)
            delta = old.scaled_collateral[asset] - new.scaled_collateral[asset]
            self.balances[asset] -= amount
        elif op == Op.BORROW:
            self.reserves[asset], scaled = r.borrow(amount, now)
            delta = new.scaled_debt[asset] - old.scaled_debt[asset]
            self.balances[asset] -= amount
        else:
            self.reserves[asset], scaled = r.repay(amount, now)
            delta = old.scaled_debt[asset] - new.scaled_debt[asset]
            self.balances[asset] += amount
        if scaled != delta:
            raise ModelMismatch(f"{op.name}: the reserve moved {scaled} scaled units, the note {delta}")
        self.spent.add(old.nullifier)
        del self.notes[old.commitment]
        self._insert(new)
        self.operations += 1
        return scaled

    def liquidate(self, liq: NoteLiquidation, collateral: int, debt: int, now: int) -> dict[int, DeficitCover]:
        """PrivateMarginPool.liquidate of the note `liq.old` (liq = liquidate_note at
        liquidation_market(now)): the reserves in the contract's order (_settleLiquidation), each
        scaled amount checked against the circuit's (ModelMismatch). Returns each written-off
        reserve's DeficitCover (the DeficitCovered event's amounts)."""
        old, o = liq.old, liq.outcome
        if old.commitment not in self.notes or old.nullifier in self.spent:
            raise ModelMismatch("the liquidated note is not live")
        n = len(self.reserves)
        # the debt reserve, the collateral reserve, then (in _burnLiquidatedDebt, at the same `now`)
        # every other reserve written off
        self._update(now, [debt, collateral, *(i for i in range(n) if o.deficit[i])])
        burned = [0] * n
        self.reserves[debt], burned[debt] = self.reserves[debt].burn_liquidated_debt(
            o.debt_repaid, o.deficit[debt], now
        )
        self.reserves[collateral], to_liquidator = self.reserves[collateral].withdraw(o.collateral_to_liquidator, now)
        to_treasury = 0
        if o.protocol_fee:
            self.reserves[collateral], to_treasury = self.reserves[collateral].fee_to_treasury(o.protocol_fee, now)
        for i in range(n):
            if i != debt and o.deficit[i]:
                self.reserves[i], burned[i] = self.reserves[i].burn_liquidated_debt(0, o.deficit[i], now)
        for name, ours, circuit in (
            ("scaled debt burnt", tuple(burned), o.scaled_debt_burned),
            ("liquidator's scaled collateral", to_liquidator, o.scaled_to_liquidator),
            ("treasury's scaled fee", to_treasury, o.scaled_to_treasury),
        ):
            if ours != circuit:
                raise ModelMismatch(f"liquidation: the reserves moved {ours} {name}, the circuit {circuit}")
        covers: dict[int, DeficitCover] = {}
        for i in range(n):
            if o.deficit[i]:
                self.reserves[i], covers[i] = self.reserves[i].cover_deficit(o.deficit[i], now)
                self.deficits[i] += covers[i].residual
        self.balances[debt] += o.debt_repaid
        self.balances[collateral] -= o.collateral_to_liquidator
        self.spent.add(old.nullifier)
        del self.notes[old.commitment]
        self._insert(liq.new)
        self.operations += 1
        return covers

    def mint_to_treasury(self, now: int) -> None:
        for i, r in enumerate(self.reserves):
            self.reserves[i], _ = r.mint_to_treasury(now)

    def _insert(self, note: Note) -> None:
        self.tree.insert(note.commitment)
        self.notes[note.commitment] = note

    # --- what the notes are worth ---

    def note_balances(self, note: Note, now: int) -> tuple[list[int], list[int]]:
        """A note's supply and debt per reserve at `now`, read as v3.5 reads aToken and variable
        debt balances (floor, ceil) at the indexes the pool would use."""
        m = self.market(now)
        supply = [ray_mul_floor(s, r.liquidity_index) for s, r in zip(note.scaled_collateral, m.reserves, strict=True)]
        debt = [ray_mul_ceil(s, r.variable_borrow_index) for s, r in zip(note.scaled_debt, m.reserves, strict=True)]
        return supply, debt

    def treasury_balance(self, asset: int, now: int) -> int:
        u = self.reserves[asset].update_state(now)
        return ray_mul_floor(u.treasury_scaled + u.accrued_to_treasury, u.liquidity_index)

    def surplus(self, asset: int, now: int) -> int:
        """Tokens held minus what the notes and the treasury are owed net of the notes' debt."""
        owed = self.treasury_balance(asset, now)
        for note in self.notes.values():
            supply, debt = self.note_balances(note, now)
            owed += supply[asset] - debt[asset]
        return self.balances[asset] - owed

    def pending_unallocated(self, asset: int, now: int) -> int:
        """unallocated_interest as it will be once the reserve is updated at `now`."""
        probe = replace(self, reserves=list(self.reserves), unallocated_interest=list(self.unallocated_interest))
        probe._update(now, range(len(self.reserves)))
        return probe.unallocated_interest[asset]

    def rounding_bound(self, asset: int, now: int) -> int:
        """The rounding part of the surplus is at most this many wei: per operation one scaled
        unit (the floor of a supply or repay, the ceil of a withdraw or borrow) and per note and
        for the treasury one wei per read, a scaled unit being worth ceil(index / RAY) wei."""
        u = self.reserves[asset].update_state(now)
        unit = max(-(-u.liquidity_index // RAY), -(-u.variable_borrow_index // RAY))
        return unit * (self.operations + 1) + 2 * (len(self.notes) + 1) + 2 * self.operations
