"""A keeper: follows a PrivateMarginPool, reads the notes sealed to its key, and liquidates every
note whose health factor falls below 1, most profitable first (`zkmargin keeper run`).

State (one SQLite file, `KeeperStore`: the wallet's NoteStore schema and guarantees, with a codec
that takes any owner's note):
  - the cursor and the last KEEP_BLOCKS block hashes: the pool's events are applied from the start
    block up to head - `confirmations`, one transaction per block range (zkmargin.pool.wallet.follow,
    the wallet's own event follower), so a kill loses nothing and repeats nothing, and a reorg of
    the applied blocks is rolled back to the fork point before anything else is read;
  - the live notes with their openings (NoteCreated boxes that open with the keeper's secret and
    hash to the event's commitment: `notes_from_event`) and their nullifiers; NullifierSpent marks
    them spent, whoever spent them;
  - the liquidations in flight, as the wallet keeps its operations: `prepare` stores the successor
    note (pending) and the operation before anything is signed, `mark_sent` the signed bytes before
    they are broadcast; the next pass (`reconcile`) settles each: mined (the successor becomes live
    when its NoteCreated is confirmed), reverted or never sent (dropped), lost by the node
    (the same bytes broadcast again).

A pass (`run_pass`, on every new block: a price update is a block too):
  1. follow the events and reconcile the liquidations in flight;
  2. bring every reserve to the timestamp of the block the next transaction lands in (the reserve
     model, exactly as the pool's updateState / _currentIndexes) with the feeds' latest prices: the market a proof
     must be made for;
  3. every live note not already in flight: if HF < 1 at that market, the (collateral, debt) pair
     and the `debtToCover` (the whole debt: Aave caps it at the close factor) that pay the
     liquidator the most (bonus value = collateral received minus debt repaid, in the base
     currency); candidates sorted by that value, highest first;
     with `share` I/N, the notes whose nullifier is I mod N come first (N keepers split the work
     and still cover each other);
  4. each candidate in turn: its nullifier already spent at head (another keeper) -> dropped;
     otherwise prove at the next block's timestamp (the liquidator's address and `recipient`
     bound in the proof), preflight with eth_call in the pending block, send, wait for the
     receipt. `NullifierAlreadySpent` (preflight or mined) -> dropped as lost to another keeper,
     never retried; `InvalidProof` / `UnknownRoot` (the chain moved while proving) -> proven again,
     at most MAX_ATTEMPTS times in a pass; any other refusal -> reported and left for the next pass.

Proofs go through one warm prover (zkmargin.warm_prover.ProverPool: the key loaded once for the
keeper's life). One liquidation per block: a proof is valid only in the block whose timestamp it
was made for (indexes move every second) and each liquidation changes the reserves, so proofs are
not made ahead of the liquidations before them (pipelining them through the model's prediction of
each block is future work).

Every note the pool creates is sealed to the pool's keeper key, and the proof that creates it shows
the box decrypts to exactly the committed note (zkmargin.pool.sealing): a keeper holding that key
reads every note, and an owner cannot hide one. `Keeper` refuses a key file that is not the pool's.
`notes_from_event` is the one function that turns an event into a note.

The library never prints: `on_event` receives one dict per event (the CLI writes them as JSON
lines, and a status line on stderr).
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_abi.abi import decode, encode
from eth_hash.auto import keccak

from .. import build
from ..aave_math import vtoken_balance
from ..api import make_bundle
from ..bundle import Bundle
from ..errors import InputError, StatementFalse, ZkMarginError
from ..evm import Reverted, RpcChain
from ..liquidation_step import AaveRevert
from ..settings import Settings
from ..warm_prover import ProverPool
from ..witness import WitnessCalculator
from . import babyjub
from .contract import N_RESERVES, liquidation_calldata
from .deploy import Deployment, check_chain, read_keeper_key
from .keys import KeeperKeys
from .liquidation import LiquidationMarket, NoteLiquidation, liquidate_note
from .note import Note
from .sealing import message_length, open_note_for_keeper
from .store import NoteCreated, NoteStore, StoredNote
from .transition import binding
from .tree import LeanIMT
from .wallet import (
    NOTE_CREATED,
    PROVING_LEAD,
    RECEIPT_TIMEOUT,
    STALE_PROOF,
    _topic,
    await_block_time,
    await_receipt,
    call_contract,
    check_deployment,
    decode_log,
    fetch_logs,
    follow,
    is_dev_node,
    liquidatable,
    next_timestamp,
    read_market,
    reconcile,
    revert_name,
    sign_transaction,
)

DEFAULT_CONFIRMATIONS = 2
MAX_ATTEMPTS = 3  # proofs of one note in one pass before it waits for the next pass
MAX_ONCE_PASSES = 8  # --once: passes until one has nothing left to do
POLL_SECONDS = 1.0
APPROVE_ALL = 2**256 - 1


class KeeperError(ZkMarginError):
    """The keeper cannot go on (another process holds its database, the tree does not match the pool)."""


# --- notes the keeper can read ---------------------------------------------------------------


class KeeperCodec:
    """A note opening (Note.fields(), 2N + 5 elements) of any owner: the keeper holds every
    owner's notes."""

    def __init__(self, n_reserves: int) -> None:
        self.n = n_reserves

    @property
    def length(self) -> int:
        return message_length(self.n)

    def note(self, opening: Sequence[int]) -> Note:
        if len(opening) != self.length:
            raise InputError("opening", f"has {len(opening)} elements, a note of this pool {self.length}")
        return Note.from_fields(list(opening))

    def commitment(self, opening: Sequence[int]) -> int:
        try:
            return self.note(opening).commitment
        except InputError:
            return -1  # not a note: matches no event

    def nullifier(self, opening: Sequence[int], leaf_index: int) -> int:
        return self.note(opening).nullifier


def notes_from_event(event: NoteCreated, keys: KeeperKeys, n_reserves: int) -> Note | None:
    """The note a NoteCreated event publishes, read with the keeper's key: every note the pool
    creates carries a box sealed to the pool's keeper key, and its proof shows that box decrypts to
    exactly the committed note (zkmargin.pool.sealing). Still, nothing in an event is trusted
    beyond what authenticates and hashes to the commitment, and a note of another reserve count
    than this pool's is not one of its notes."""
    note = open_note_for_keeper(event, keys)
    return note if note is not None and note.n_reserves == n_reserves else None


class KeeperStore(NoteStore):
    """The keeper's database: the note store's schema, cursor, reorg rollback and operations (here:
    liquidations), restoring any owner's note that `notes_from_event` reads."""

    def __init__(self, path: str | Path, keys: KeeperKeys, n_reserves: int) -> None:
        super().__init__(path, KeeperCodec(n_reserves), keys.secret)
        self.keys, self.n = keys, n_reserves

    def _open(self, ev: NoteCreated) -> list[int] | None:
        note = notes_from_event(ev, self.keys, self.n)
        return None if note is None else note.fields()


# --- choosing what to liquidate --------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    collateral: int
    debt: int
    debt_to_cover: int
    liquidation: NoteLiquidation
    bonus_value: int  # base currency (8 decimals): collateral received - debt repaid


def _value(amount: int, market: LiquidationMarket, reserve: int) -> int:
    r = market.market.reserves[reserve]
    return int(amount * r.price // 10**r.decimals)


def best_liquidation(note: Note, market: LiquidationMarket) -> Choice | None:
    """The most profitable liquidation call of a note at `market`, or None when HF >= 1 (or no call
    the pool would accept exists). Every (collateral with its flag on, debt owed) pair is tried with
    the whole debt as debtToCover; the model refuses exactly what the circuit and the pool refuse."""
    if not liquidatable(note, market.market):
        return None
    best: Choice | None = None
    for c in range(note.n_reserves):
        if not note.flag(c) or note.scaled_collateral[c] == 0:
            continue
        for d in range(note.n_reserves):
            if note.scaled_debt[d] == 0:
                continue
            cover = vtoken_balance(note.scaled_debt[d], market.market.reserves[d].variable_borrow_index)
            try:
                liq = liquidate_note(note, market, c, d, cover)
            except (AaveRevert, StatementFalse, InputError):
                continue
            value = _value(liq.collateral_to_liquidator, market, c) - _value(liq.debt_repaid, market, d)
            if best is None or value > best.bonus_value:
                best = Choice(c, d, cover, liq, value)
    return best


# --- reports ----------------------------------------------------------------------------------


@dataclass
class PassReport:
    block: int  # the last block applied
    head: int
    tracked: int  # live notes
    liquidatable: int
    in_flight: int
    liquidated: int = 0
    lost: int = 0
    failed: int = 0
    rolled_back_to: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "event": "pass",
            "block": self.block,
            "head": self.head,
            "tracked": self.tracked,
            "liquidatable": self.liquidatable,
            "inFlight": self.in_flight,
            "liquidated": self.liquidated,
            "lost": self.lost,
            "failed": self.failed,
            "rolledBackTo": self.rolled_back_to,
        }


def _int(v: Any) -> int:
    return int(v, 16) if isinstance(v, str) else int(v)


# --- the keeper -------------------------------------------------------------------------------


class Keeper:
    """One keeper process on one pool: `chain` signs as the liquidator (it pays the debt repaid and,
    unless `recipient` says otherwise, receives the collateral)."""

    def __init__(
        self,
        chain: RpcChain,
        deployment: Deployment,
        keys: KeeperKeys,
        db: Path,
        *,
        from_block: int | None = None,
        confirmations: int = DEFAULT_CONFIRMATIONS,
        recipient: str | None = None,
        settings: Settings | None = None,
        receipt_timeout: float = RECEIPT_TIMEOUT,
        on_event: Callable[[dict[str, Any]], None] | None = None,
        pin_timestamp: bool | None = None,
        share: tuple[int, int] = (0, 1),
    ) -> None:
        check_deployment(deployment)
        if not (share[1] >= 1 and 0 <= share[0] < share[1]):
            raise InputError("--share", "must be I/N with 0 <= I < N")
        #: keeper I of N takes first the notes whose nullifier is I mod N, then the others (a
        #: partner that stopped leaves nothing behind): N keepers split the work instead of racing
        self.share = share
        if confirmations < 0:
            raise InputError("--confirmations", "must be >= 0")
        if chain.account is None:
            raise InputError("--private-key", "a keeper sends transactions: it needs a private key")
        if from_block is not None and from_block < 0:
            raise InputError("--from-block", "must be >= 0")
        check_chain(chain, deployment, "--deployment")
        registered = read_keeper_key(chain, deployment)
        if registered != keys.public:
            raise InputError(
                "--keeper-key",
                f"the pool seals notes to keeper key {registered[0]},{registered[1]}, not to this key's "
                f"{keys.public[0]},{keys.public[1]}: a keeper reads a pool's notes only with the key it was "
                "deployed with (`devnet up --keeper-public-key`, `devnet deploy --keeper-public-key`)",
            )
        #: the keys every successor is sealed to besides its owner's (the pool's, in its order)
        self.keeper_keys: tuple[babyjub.Point, ...] = (registered,)
        self.chain, self.deployment, self.keys = chain, deployment, keys
        self.sender = str(chain.account.address)
        self.recipient = recipient or self.sender
        self.confirmations, self.receipt_timeout = confirmations, receipt_timeout
        self.first_block = deployment.block if from_block is None else from_block
        self.settings = settings or Settings()
        self.on_event = on_event or (lambda _e: None)
        self.symbols = tuple(a.symbol for a in deployment.assets)
        self.tokens = tuple(a.token for a in deployment.assets)
        self.binding = binding(int(chain.chain_id), deployment.pool, self.sender, self.recipient)
        self._pin = is_dev_node(chain) if pin_timestamp is None else pin_timestamp
        self._tree, self._tree_block = LeanIMT(), deployment.block - 1
        self._prover: ProverPool | None = None
        self._keys: build.CircuitKeys | None = None
        self._calc: WitnessCalculator | None = None
        self._approved: set[int] = set()
        db = Path(db)
        db.parent.mkdir(parents=True, exist_ok=True)
        self._lock_fd = os.open(db.with_name(db.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            raise KeeperError(f"another keeper process is using {db}") from None
        try:
            self.store = KeeperStore(db, keys, N_RESERVES)
        except BaseException:
            os.close(self._lock_fd)
            raise

    def close(self) -> None:
        if self._prover is not None:
            self._prover.close()
        self.store.close()
        os.close(self._lock_fd)

    def __enter__(self) -> Keeper:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- chain reads ---

    def head(self) -> int:
        return _int(self.chain.request("eth_blockNumber"))

    def _call(self, to: str, signature: str, types: Sequence[str], args: Sequence[Any], block: str = "latest") -> bytes:
        return call_contract(self.chain, to, signature, types, args, block)

    def nullifier_spent(self, nullifier: int) -> bool:
        out = self._call(self.deployment.pool, "nullifierSpent(uint256)", ["uint256"], [nullifier])
        return bool(decode(["bool"], out)[0])

    def market(self, timestamp: int) -> LiquidationMarket:
        """PoolLiquidation's market in a block at `timestamp` (prices: the feeds' latest rounds)."""
        market, states = read_market(self.chain, self.deployment, timestamp)
        return LiquidationMarket(
            market,
            tuple(s.risk.liquidation_bonus for s in states),
            tuple(s.risk.liquidation_protocol_fee for s in states),
        )

    def tree(self, head: int) -> LeanIMT:
        """The note tree at `head`, extended from the last call's and checked against currentRoot
        (rebuilt from the deployment block when it does not match: a reorg)."""
        for rebuild in (False, True):
            if rebuild:
                self._tree, self._tree_block = LeanIMT(), self.deployment.block - 1
            ok = True
            if self._tree_block < head:
                for g in fetch_logs(
                    self.chain, self.deployment.pool, self._tree_block + 1, head, [_topic(NOTE_CREATED)]
                ):
                    ev = decode_log(g)
                    if isinstance(ev, NoteCreated):
                        if ev.leaf_index != self._tree.size:
                            ok = False
                            break
                        self._tree.insert(ev.commitment)
                self._tree_block = head
            root_raw = self._call(self.deployment.pool, "currentRoot()", [], [], hex(head))
            if ok and int(decode(["uint256"], root_raw)[0]) == (self._tree.root if self._tree.size else 0):
                return self._tree
        raise KeeperError("the note tree rebuilt from the pool's events does not match its current root")

    # --- one pass ---

    def live(self) -> list[tuple[StoredNote, Note]]:
        codec = KeeperCodec(N_RESERVES)
        return [(s, codec.note(s.opening)) for s in self.store.notes("live")]

    def in_flight(self) -> set[int]:
        """Nullifiers of the notes this keeper has a liquidation of not yet settled."""
        return {
            o.spent_nullifier
            for o in self.store.operations()
            if o.status in ("prepared", "sent") and o.spent_nullifier is not None
        }

    def candidates(self, market: LiquidationMarket) -> list[tuple[StoredNote, Note, Choice]]:
        """Every live note not in flight that the pool would let be liquidated at `market`: this
        keeper's share first, each part most profitable first (ties: the older leaf first)."""
        busy = self.in_flight()
        out = []
        for s, note in self.live():
            if s.nullifier in busy:
                continue
            choice = best_liquidation(note, market)
            if choice is not None:
                out.append((s, note, choice))
        i, n = self.share
        out.sort(key=lambda t: ((t[0].nullifier or 0) % n != i, -t[2].bonus_value, t[0].leaf_index or 0))
        return out

    def run_pass(self) -> PassReport:
        followed = follow(self.chain, self.store, self.deployment.pool, self.first_block, self.confirmations)
        _pending, _abandoned, _rebroadcast = reconcile(self.chain, self.store)
        head = self.head()
        ts = next_timestamp(self.chain, 0 if self._pin else PROVING_LEAD)
        found = self.candidates(self.market(ts))
        report = PassReport(
            followed.target,
            head,
            len(self.store.notes("live")),
            len(found),
            len(self.in_flight()),
            rolled_back_to=followed.rolled_back_to,
        )
        self.on_event({**report.to_json(), "event": "status"})
        for stored, note, _choice in found:
            outcome = self.liquidate(stored, note)
            if outcome == "liquidated":
                report.liquidated += 1
            elif outcome == "lost":
                report.lost += 1
            elif outcome != "healthy":
                report.failed += 1
        report.in_flight = len(self.in_flight())
        self.on_event(report.to_json())
        return report

    def run(self, *, once: bool = False, poll: float = POLL_SECONDS, stop: Callable[[], bool] | None = None) -> None:
        """Passes on every new block until `stop()`; with `once`, passes until one finds nothing
        left it can do (at most MAX_ONCE_PASSES)."""
        self.warm()
        last: int | None = None
        passes = 0
        while stop is None or not stop():
            head = self.head()
            if once or head != last:
                report = self.run_pass()
                passes += 1
                last = head
                # --once goes on while a pass liquidated something (a successor may need another
                # call) or failed for a passing reason (the chain moved under its proofs)
                progress = report.liquidated or report.failed
                if once and (report.liquidatable == 0 or not progress or passes >= MAX_ONCE_PASSES):
                    return
                if once:
                    continue
            time.sleep(poll)

    # --- one liquidation ---

    def _emit(self, kind: str, stored: StoredNote, **fields: Any) -> None:
        self.on_event({"event": kind, "note": str(stored.commitment), "nullifier": str(stored.nullifier), **fields})

    def liquidate(self, stored: StoredNote, note: Note) -> str:
        """Prove and send the best liquidation of one note; returns "liquidated", "lost" (another
        keeper spent it: never retried), "healthy" (no longer liquidatable at the next block),
        "stale" (the chain kept moving under MAX_ATTEMPTS proofs) or "refused" (another revert)."""
        assert stored.nullifier is not None
        for attempt in range(1, MAX_ATTEMPTS + 1):
            if self.nullifier_spent(stored.nullifier):
                self._emit("lost", stored, reason="nullifier already spent at head")
                return "lost"
            for reserve in range(N_RESERVES):  # before the timestamp is chosen: an approve mines a block
                self._approve(reserve)
            head = self.head()
            ts = next_timestamp(self.chain, 0 if self._pin else PROVING_LEAD)
            market = self.market(ts)
            choice = best_liquidation(note, market)
            if choice is None:
                self._emit("healthy", stored, reason="not liquidatable at the next block")
                return "healthy"
            tree = self.tree(head)
            started = time.monotonic()
            bundle, liq = self._prove(note, tree, market, choice)
            proving = time.monotonic() - started
            data = liquidation_calldata(self.tokens, bundle, self.recipient)
            missed = self._aim(ts)
            if missed is None:
                try:
                    self.chain.call(self.deployment.pool, data, "pending")
                except Reverted as e:
                    name = revert_name(e.data)
                    if name == "NullifierAlreadySpent":
                        self._emit("lost", stored, reason="NullifierAlreadySpent (preflight)")
                        return "lost"
                    if name not in STALE_PROOF:
                        self._emit("refused", stored, error=name)
                        return "refused"
                    missed = f"the pool refused the proof ({name})"
            if missed is not None:
                self._emit("retry", stored, attempt=attempt, reason=missed)
                continue
            outcome = self._send(stored, liq, choice, data, proving)
            if outcome != "retry":
                return outcome
        self._emit("stale", stored, reason=f"the chain moved under {MAX_ATTEMPTS} proofs; next pass")
        return "stale"

    def _aim(self, ts: int) -> str | None:
        """Make the transaction land at `ts`: pinned on a dev node, awaited elsewhere. None if it will."""
        if self._pin:
            try:
                self.chain.request("evm_setNextBlockTimestamp", hex(ts))
            except ZkMarginError:
                return "a block was mined meanwhile"
            return None
        return None if await_block_time(self.chain, ts) else f"the chain's clock passed {ts} while proving"

    def _send(self, stored: StoredNote, liq: NoteLiquidation, choice: Choice, data: bytes, proving: float) -> str:
        assert stored.nullifier is not None
        new = liq.new
        if any(s.commitment == new.commitment for s in self.store.notes()):
            # the very same successor exists: another keeper with this key made this very call
            self._emit("lost", stored, reason="successor already on chain")
            return "lost"
        op_id = self.store.prepare("liquidate", self.symbols[choice.debt], liq.debt_repaid, liq.nullifier, new.fields())
        tx_hash, raw = self._sign(data, self.deployment.pool)
        self.store.mark_sent(op_id, tx_hash, raw)
        self.chain.request("eth_sendRawTransaction", "0x" + raw.hex())
        receipt = self._wait(tx_hash)
        if receipt is None:  # still pending: the next pass's reconcile settles it
            self._emit("pending", stored, txHash=tx_hash)
            return "pending"
        if _int(receipt["status"]) != 1:
            self.store.abandon(op_id)
            if self.nullifier_spent(liq.nullifier):
                self._emit("lost", stored, reason="NullifierAlreadySpent (mined)", txHash=tx_hash)
                return "lost"
            self._emit("retry", stored, reason=f"transaction {tx_hash} reverted", txHash=tx_hash)
            return "retry"
        self._emit(
            "liquidation",
            stored,
            txHash=tx_hash,
            block=_int(receipt["blockNumber"]),
            gasUsed=_int(receipt["gasUsed"]),
            collateralAsset=self.symbols[choice.collateral],
            debtAsset=self.symbols[choice.debt],
            debtToCover=str(choice.debt_to_cover),
            debtRepaid=str(liq.debt_repaid),
            collateralToLiquidator=str(liq.collateral_to_liquidator),
            protocolFee=str(liq.protocol_fee),
            deficit=[str(x) for x in liq.deficit],
            bonusValue=str(choice.bonus_value),
            provingSeconds=round(proving, 3),
            newNote=str(new.commitment),
        )
        return "liquidated"

    # --- proving, signing ---

    def warm(self) -> None:
        """Build (or load) the liquidation circuit's keys and start the warm prover now, so that the
        first liquidation after a price fall does not pay for it."""
        if self._prover is not None:
            return
        from .. import registry
        from ..statements.pool import POOL_LIQUIDATION, POOL_RULES

        spec = registry.for_assets(POOL_LIQUIDATION.name, N_RESERVES, POOL_RULES)
        with self.settings.active():
            tc = self.settings.tc()
            self._keys = build.build(spec, tc, self.settings.ptau, self.settings.progress)
            self._calc = WitnessCalculator(self._keys.compiled.wasm)
            self._prover = ProverPool(self._keys, tc, size=1)

    def _prove(
        self, note: Note, tree: LeanIMT, market: LiquidationMarket, choice: Choice
    ) -> tuple[Bundle, NoteLiquidation]:
        from ..statements.pool import POOL_LIQUIDATION, LiquidationRequest

        request = LiquidationRequest(
            note,
            tree.proof(note.commitment),
            market,
            choice.collateral,
            choice.debt,
            choice.debt_to_cover,
            self.binding,
            self.keeper_keys,
        )
        si, liq = POOL_LIQUIDATION.plan(request)
        self.warm()
        assert self._keys is not None and self._calc is not None and self._prover is not None
        if si.spec.id != self._keys.compiled.spec.id:
            raise KeeperError(
                f"the liquidation needs circuit {si.spec.id}, the warm prover holds {self._keys.compiled.spec.id}"
            )
        with self.settings.active(), self.settings.progress.step("proving a liquidation (warm prover)"):
            witness = self._calc.calculate(si.inputs)
            proof, public = self._prover.prove_many([witness])[0]
        return make_bundle(self._keys, proof, public, si.context), liq

    def _approve(self, reserve: int) -> None:
        if reserve in self._approved:
            return
        token = self.tokens[reserve]
        raw = self._call(
            token, "allowance(address,address)", ["address", "address"], [self.sender, self.deployment.pool]
        )
        if int(decode(["uint256"], raw)[0]) < 2**255:
            data = keccak(b"approve(address,uint256)")[:4] + encode(
                ["address", "uint256"], [self.deployment.pool, APPROVE_ALL]
            )
            tx_hash, raw_tx = self._sign(data, token)
            self.chain.request("eth_sendRawTransaction", "0x" + raw_tx.hex())
            receipt = self._wait(tx_hash)
            if receipt is None or _int(receipt["status"]) != 1:
                raise KeeperError(f"the {self.symbols[reserve]} token did not accept approve ({tx_hash})")
        self._approved.add(reserve)

    def _sign(self, data: bytes, to: str) -> tuple[str, bytes]:
        return sign_transaction(self.chain, data, to)

    def _wait(self, tx_hash: str) -> dict[str, Any] | None:
        return await_receipt(self.chain, tx_hash, self.receipt_timeout, poll=0.1)
