"""The owner's wallet: keys (keys.py), the note store (store.py), the pool's state read from the
chain and predicted with the reserve model (reserve.py), the proofs (statements.pool) and the
transactions to PrivateMarginPool, over any JSON-RPC node.

An operation (`Wallet.operate`):
  1. sync (below); refuse while an earlier operation of this wallet is still unconfirmed;
  2. pick the live note (one position per wallet unless `note` names one; a deposit without a
     note opens one);
  3. choose the timestamp T of the block the transaction will land in and build the pool's public
     inputs at T exactly as the contract will (every reserve brought to T by `updateState` in the model,
     prices read in the pending block). On a dev node (anvil, hardhat) T is pinned with
     `evm_setNextBlockTimestamp`; elsewhere T is the pending block's timestamp. A preflight
     `eth_call` in the pending block catches a proof made for another T or root (InvalidProof,
     UnknownRoot): the wallet then proves once more at the new T, saying so;
  4. `store.prepare` (the new note's opening, durably) BEFORE anything is signed, sign, `mark_sent`
     (hash and raw bytes), broadcast, wait for the receipt (timeout, progress line), sync.
A crash anywhere loses nothing: the next sync abandons an operation never sent, rebroadcasts one
sent but unknown to the node, abandons one whose nonce another transaction took or that reverted,
and otherwise waits for its NoteCreated event, which makes the pending note live.

Sync reads `NoteCreated(leafIndex, commitment, encryptedOpening)` and `NullifierSpent(nullifier)`
from the pool's deployment block (or the store's cursor) to head minus the confirmation depth,
after checking for a reorg (store.common_ancestor, rollback_to). `encryptedOpening` holds the new
note's opening sealed to the owner's viewing key (ENCRYPTED_OPENING_ABI), so a fresh database
restores every note from the chain with the keys alone.

The library never prints: progress goes through a Progress, errors are ZkMarginError subclasses.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rlp  # type: ignore[import-untyped]
from eth_abi.abi import decode, encode
from eth_account import Account
from eth_hash.auto import keccak

from .. import paths
from ..aave_math import atoken_balance, percent_mul, vtoken_balance
from ..bundle import Bundle
from ..calldata import from_proof
from ..errors import InputError, StatementFalse, ZkMarginError
from ..evm import TX_GAS, Reverted, RpcChain, RpcError
from ..limits import AMOUNT_BITS, WAD
from ..liquidation_step import AaveRevert
from ..progress import NullProgress, Progress
from ..settings import Settings
from .babyjub import Point
from .cipher import SealedBox
from .contract import N_RESERVES, POOL_CONTRACT, open_calldata, transition_calldata
from .deploy import Deployment, check_chain
from .keys import OwnerKeys, load_owner_keys, write_key_file
from .note import Note
from .note import owner_tag as note_owner_tag
from .reserve import RESERVE_DATA_ABI, ReserveState
from .store import Block, NoteCreated, NoteStore, NullifierSpent, Operation, ReorgDetected, StoredNote
from .transition import Op, PoolMarket, ReserveView, account_data, apply, binding, open_note
from .tree import LeanIMT

KEYS_FILE = "keys.json"
LOCK_FILE = ".lock"
RECEIPT_TIMEOUT = 120.0  # seconds to wait for a receipt before giving up (the operation stays pending)
LOG_CHUNK = 5_000  # blocks per eth_getLogs request
ZERO_ADDRESS = "0x" + "00" * 20
PPM = 1_000_000  # resolution of the uniform price drop
#: seconds ahead of the pending block a proof aims at on a node whose next timestamp cannot be
#: pinned: about one transition proof on two busy cores (3.5-5 s end to end, 6 s seen here)
PROVING_LEAD = 8

NOTE_CREATED = keccak(b"NoteCreated(uint256,uint256,bytes)")
NULLIFIER_SPENT = keccak(b"NullifierSpent(uint256)")
#: encryptedOpening: abi.encode of the sealed boxes, the owner's first, then the keepers'; the pool
#: builds it from the seal the proof verified
ENCRYPTED_OPENING_ABI = "(uint256[2],uint256,uint256[])[]"

KINDS = ("deposit", "withdraw", "borrow", "repay")
OPS = {"deposit": Op.DEPOSIT, "withdraw": Op.WITHDRAW, "borrow": Op.BORROW, "repay": Op.REPAY}
PAYS_IN = frozenset({"deposit", "repay"})
#: the pool's and its tokens' custom errors, to name a revert
_ERRORS = [
    "AmountTooLarge(uint256,uint256)",
    "GracePeriodNotOver(uint256,uint256)",
    "IncompleteRound(address,uint80,uint80)",
    "InsufficientLiquidity(address,uint256,uint256)",
    "InvalidAmount()",
    "InvalidBurnAmount()",
    "InvalidProof()",
    "LeafAlreadyExists()",
    "LeafCannotBeZero()",
    "NoPriceFeed(address)",
    "NonPositivePrice(address,int256)",
    "NotInField(uint256)",
    "NullifierAlreadySpent(uint256)",
    "PriceFromFuture(address,uint256)",
    "RoundNotStarted(address,uint80)",
    "SequencerDown(int256)",
    "StalePrice(address,uint256,uint256)",
    "TreeFull()",
    "UnknownReserve(address)",
    "UnknownRoot(uint256)",
    "ReentrancyGuardReentrantCall()",
    "ERC20InsufficientBalance(address,uint256,uint256)",
    "ERC20InsufficientAllowance(address,uint256,uint256)",
    "SafeERC20FailedOperation(address)",
    "Error(string)",
]
ERROR_NAMES = {keccak(s.encode())[:4]: s.split("(")[0] for s in _ERRORS}
#: reverts that mean "the proof was made for another block": prove again at the new state
STALE_PROOF = frozenset({"InvalidProof", "UnknownRoot"})


class WalletError(ZkMarginError):
    """The wallet cannot do what was asked (no note, a pending operation, a locked wallet)."""


class TransactionFailed(StatementFalse):
    """The pool refuses the operation (the model, the preflight or a mined revert; the CLI's exit
    1, like every false statement); `error` names the pool's or Aave's error."""

    def __init__(self, error: str, detail: str) -> None:
        super().__init__(detail)
        self.error = error


def revert_name(data: bytes) -> str:
    return ERROR_NAMES.get(data[:4], f"0x{data[:4].hex()}" if data else "revert without data")


# --- files ---------------------------------------------------------------------------------


def default_dir() -> Path:
    env = os.environ.get("ZKMARGIN_WALLET_DIR")
    return Path(env).expanduser().resolve() if env else paths.data_home() / "wallet"


def database_path(directory: Path, deployment: Deployment) -> Path:
    """One note database per (chain, pool): a wallet's keys serve every pool."""
    return directory / f"notes-{deployment.chain_id}-{deployment.pool.lower()}.sqlite"


def check_deployment(deployment: Deployment) -> None:
    """The wallet speaks to PrivateMarginPool, whose circuits are registered for N_RESERVES."""
    if deployment.pool_contract != POOL_CONTRACT:
        raise InputError(
            "--deployment",
            f"deploys {deployment.pool_contract[:60]!r}, not {POOL_CONTRACT}: the wallet needs the private pool",
        )
    if len(deployment.assets) != N_RESERVES:
        raise InputError(
            "--deployment", f"lists {len(deployment.assets)} assets; the pool circuits are registered for {N_RESERVES}"
        )


def init(directory: Path, deployment: Deployment | None) -> tuple[Path, Path | None]:
    """Create the key file (0600, never over an existing one) and, given a deployment, its note
    database. Returns their paths."""
    if deployment is not None:
        check_deployment(deployment)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    key_path = directory / KEYS_FILE
    write_key_file(key_path, OwnerKeys.generate())
    db = None
    if deployment is not None:
        db = database_path(directory, deployment)
        keys = load_owner_keys(key_path)
        open_store(db, keys, len(deployment.assets)).close()
    return key_path, db


# --- the note codec the store needs --------------------------------------------------------


class WalletCodec:
    """A note opening is Note.fields(): ownerTag, salt, collateralFlags, scaledCollateral[N],
    scaledDebt[N], the viewing key (x, y). `commitment` returns -1 (matching no event) for an
    opening that is not a valid note of this owner: a box sealed to our viewing key by someone
    else restores nothing."""

    def __init__(self, n_reserves: int, owner: int) -> None:
        self.n, self.owner = n_reserves, owner

    @property
    def length(self) -> int:
        return 5 + 2 * self.n

    def note(self, opening: Sequence[int]) -> Note:
        if len(opening) != self.length:
            raise InputError("opening", f"has {len(opening)} elements, a note of this pool {self.length}")
        return Note.from_fields(list(opening))

    def commitment(self, opening: Sequence[int]) -> int:
        try:
            note = self.note(opening)
        except InputError:
            return -1
        return note.commitment if note.owner_tag == self.owner else -1

    def nullifier(self, opening: Sequence[int], leaf_index: int) -> int:
        return self.note(opening).nullifier


def open_store(path: Path, keys: OwnerKeys, n_reserves: int) -> NoteStore:
    codec = WalletCodec(n_reserves, note_owner_tag(keys.spending_key))
    return NoteStore(path, codec, keys.viewing_secret)


# --- encryptedOpening ----------------------------------------------------------------------


def encode_boxes(boxes: Sequence[SealedBox]) -> bytes:
    return encode([ENCRYPTED_OPENING_ABI], [[(list(b.ephemeral), b.nonce, list(b.ciphertext)) for b in boxes]])


def decode_boxes(data: bytes) -> tuple[SealedBox, ...]:
    """The boxes of an event's encryptedOpening; () for bytes that are not that encoding (anyone
    can call the pool with any bytes: nothing in them is trusted beyond what decrypts and hashes)."""
    try:
        raw = decode([ENCRYPTED_OPENING_ABI], data)[0]
        return tuple(SealedBox((int(e[0]), int(e[1])), int(n), tuple(int(c) for c in ct)) for e, n, ct in raw)
    except Exception:  # eth_abi raises several unrelated types on malformed input
        return ()


# --- what `show` reports -------------------------------------------------------------------


@dataclass(frozen=True)
class AssetLine:
    symbol: str
    decimals: int
    price: int
    supplied: int  # base units, floor at the current liquidity index
    borrowed: int  # base units, ceil at the current borrow index
    collateral: bool  # counted as collateral
    liquidation_price: int | None  # highest price (8 decimals) at which HF < 1, this price alone moving
    drop_ppm: int | None  # (price - liquidation_price) / price, in millionths


@dataclass(frozen=True)
class NoteReport:
    commitment: int
    leaf_index: int | None
    status: str
    assets: tuple[AssetLine, ...]
    total_collateral: int  # base currency, 8 decimals
    total_debt: int
    health_factor: int | None  # WAD; None without debt
    borrowing_power_left: int  # base currency: percentMul(TC, avgLTV) - TD, at least 0
    uniform_drop_ppm: int | None  # smallest uniform drop of every collateral price giving HF < 1
    timestamp: int

    def to_json(self) -> dict[str, Any]:
        return {
            "commitment": str(self.commitment),
            "leafIndex": self.leaf_index,
            "status": self.status,
            "timestamp": self.timestamp,
            "totalCollateralBase": str(self.total_collateral),
            "totalDebtBase": str(self.total_debt),
            "healthFactor": None if self.health_factor is None else str(self.health_factor),
            "borrowingPowerLeftBase": str(self.borrowing_power_left),
            "uniformCollateralDropPpm": self.uniform_drop_ppm,
            "assets": [
                {
                    "symbol": a.symbol,
                    "decimals": a.decimals,
                    "price": str(a.price),
                    "supplied": str(a.supplied),
                    "borrowed": str(a.borrowed),
                    "collateral": a.collateral,
                    "liquidationPrice": None if a.liquidation_price is None else str(a.liquidation_price),
                    "dropPpm": a.drop_ppm,
                }
                for a in self.assets
            ],
        }


def _with_prices(market: PoolMarket, prices: Sequence[int]) -> PoolMarket:
    return PoolMarket(tuple(ReserveView(p, *_rest(r)) for p, r in zip(prices, market.reserves, strict=True)))


def _rest(r: ReserveView) -> tuple[int, int, int, int, int]:
    return r.liquidity_index, r.variable_borrow_index, r.decimals, r.ltv, r.liquidation_threshold


def liquidatable(note: Note, market: PoolMarket) -> bool:
    """HF < 1, exactly as the pool's circuits compare it."""
    h = account_data(note, market).health
    return h.total_debt != 0 and h.is_below(WAD)


def _scaled_prices(market: PoolMarket, which: set[int], keep_ppm: int) -> list[int]:
    return [max(1, r.price * keep_ppm // PPM) if i in which else r.price for i, r in enumerate(market.reserves)]


def uniform_drop(note: Note, market: PoolMarket, collateral: set[int]) -> int | None:
    """The smallest drop d (millionths) of every collateral price at which HF < 1 (0 if it already
    is); None when no drop does it (no debt, or debt in the collateral assets only). Bisection on
    the integer d; HF is monotone in it as long as no dropped asset is also borrowed."""
    if liquidatable(note, market):
        return 0
    if not collateral or not liquidatable(note, _with_prices(market, _scaled_prices(market, collateral, 0))):
        return None
    lo, hi = 0, PPM  # not liquidatable at lo, liquidatable at hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if liquidatable(note, _with_prices(market, _scaled_prices(market, collateral, PPM - mid))):
            hi = mid
        else:
            lo = mid
    return hi


def liquidation_price(note: Note, market: PoolMarket, asset: int) -> int | None:
    """The highest price of `asset` (others fixed) at which HF < 1, if it is below the current one;
    None when no price in [1, current] gives HF < 1. Bisection on the integer price."""
    current = market.reserves[asset].price
    if liquidatable(note, market):
        return current

    def at(p: int) -> bool:
        prices = [r.price for r in market.reserves]
        prices[asset] = p
        return liquidatable(note, _with_prices(market, prices))

    if not at(1):
        return None
    lo, hi = 1, current  # liquidatable at lo, not at hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if at(mid):
            lo = mid
        else:
            hi = mid
    return lo


def report(note: Note, market: PoolMarket, symbols: Sequence[str], stored: StoredNote, timestamp: int) -> NoteReport:
    acct = account_data(note, market)
    h = acct.health
    counted = {i for i, v in enumerate(h.valuations) if v.counted and v.collateral_value > 0}
    lines = []
    for i, (sym, r) in enumerate(zip(symbols, market.reserves, strict=True)):
        liq = liquidation_price(note, market, i) if i in counted and h.total_debt else None
        lines.append(
            AssetLine(
                sym,
                r.decimals,
                r.price,
                atoken_balance(note.scaled_collateral[i], r.liquidity_index),
                vtoken_balance(note.scaled_debt[i], r.variable_borrow_index),
                i in counted,
                liq,
                None if liq is None else (r.price - liq) * PPM // r.price,
            )
        )
    power = max(0, percent_mul(h.total_collateral, acct.avg_ltv) - h.total_debt)
    return NoteReport(
        note.commitment,
        stored.leaf_index,
        stored.status,
        tuple(lines),
        h.total_collateral,
        h.total_debt,
        h.health_factor if h.total_debt else None,
        power,
        uniform_drop(note, market, counted) if h.total_debt else None,
        timestamp,
    )


# --- results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyncReport:
    block: int
    applied_blocks: int
    live_notes: int
    pending: tuple[str, ...]  # tx hashes still waiting
    abandoned: int
    rebroadcast: int
    rolled_back_to: int | None

    def to_json(self) -> dict[str, Any]:
        return {
            "block": self.block,
            "appliedBlocks": self.applied_blocks,
            "liveNotes": self.live_notes,
            "pending": list(self.pending),
            "abandoned": self.abandoned,
            "rebroadcast": self.rebroadcast,
            "rolledBackTo": self.rolled_back_to,
        }


@dataclass(frozen=True)
class OpResult:
    kind: str
    symbol: str
    amount: int
    tx_hash: str
    block: int
    gas_used: int
    spent: int | None  # commitment of the note spent (None for an open)
    new_commitment: int
    recipient: str | None
    timestamp: int
    attempts: int

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "asset": self.symbol,
            "amount": str(self.amount),
            "txHash": self.tx_hash,
            "block": self.block,
            "gasUsed": self.gas_used,
            "spentNote": None if self.spent is None else str(self.spent),
            "newNote": str(self.new_commitment),
            "recipient": self.recipient,
            "blockTimestamp": self.timestamp,
            "attempts": self.attempts,
        }


# --- the wallet ----------------------------------------------------------------------------


def _hex(n: int) -> str:
    return hex(n)


def _int(v: Any) -> int:
    return int(v, 16) if isinstance(v, str) else int(v)


def _raw_nonce(raw: bytes) -> int:
    """The nonce of a signed legacy (or typed: 1-byte prefix) transaction."""
    if raw and raw[0] < 0x7F:
        fields = rlp.decode(raw[1:])
        return int.from_bytes(fields[1], "big")
    return int.from_bytes(rlp.decode(raw)[0], "big")


# --- following the pool's events: shared by the wallet and the keeper (zkmargin.pool.keeper) ----


def call_contract(
    chain: RpcChain, to: str, signature: str, types: Sequence[str], args: Sequence[Any], block: str = "latest"
) -> bytes:
    """eth_call of `signature` with `args` ABI-encoded as `types`, at `block`."""
    return chain.call(to, keccak(signature.encode())[:4] + encode(list(types), list(args)), block)


def block_header(chain: RpcChain, tag: int | str) -> dict[str, Any] | None:
    b = chain.request("eth_getBlockByNumber", _hex(tag) if isinstance(tag, int) else tag, False)
    return dict(b) if b else None


def fetch_logs(chain: RpcChain, pool: str, start: int, end: int, topics: list[Any]) -> list[dict[str, Any]]:
    """The pool's logs in [start, end] matching `topics`, in chain order (LOG_CHUNK blocks a request)."""
    out: list[dict[str, Any]] = []
    lo = start
    while lo <= end:
        hi = min(end, lo + LOG_CHUNK - 1)
        got = chain.request(
            "eth_getLogs", {"address": pool, "fromBlock": _hex(lo), "toBlock": _hex(hi), "topics": topics}
        )
        out += [dict(g) for g in got or []]
        lo = hi + 1
    out.sort(key=lambda g: (_int(g["blockNumber"]), _int(g["logIndex"])))
    return out


def decode_log(log: dict[str, Any]) -> NoteCreated | NullifierSpent | None:
    """NoteCreated (with its sealed boxes) or NullifierSpent from a raw JSON-RPC log; None for any
    other log or one that does not decode (anyone can emit garbage at no cost to us)."""
    topics = [bytes.fromhex(str(t)[2:]) for t in log["topics"]]
    data = bytes.fromhex(str(log["data"])[2:])
    tx, li = str(log["transactionHash"]), _int(log["logIndex"])
    try:
        if topics[0] == NOTE_CREATED and len(topics) == 2:
            commitment, enc = decode(["uint256", "bytes"], data)
            return NoteCreated(tx, li, int(commitment), int.from_bytes(topics[1], "big"), decode_boxes(enc))
        if topics[0] == NULLIFIER_SPENT and len(topics) == 2:
            return NullifierSpent(tx, li, int.from_bytes(topics[1], "big"))
    except Exception:  # an event this follower cannot decode is not one of ours
        return None
    return None


@dataclass(frozen=True)
class Followed:
    target: int  # the last block applied (head minus the confirmation depth)
    applied_blocks: int
    rolled_back_to: int | None


def follow(chain: RpcChain, store: NoteStore, pool: str, first_block: int, confirmations: int) -> Followed:
    """Apply the pool's NoteCreated / NullifierSpent events to `store` from its cursor (else from
    `first_block`) up to head - `confirmations`, one SQLite transaction per LOG_CHUNK range, cursor
    and block hashes included. A reorg is found first (the stored hashes against the chain's) and
    rolled back to the common ancestor; a block that changes while it is read raises WalletError
    (ReorgDetected from the store when it changed between two reads): call again."""
    head = _int(chain.request("eth_blockNumber"))
    target = head - confirmations
    rolled = None

    def chain_hash(n: int) -> str | None:
        b = block_header(chain, n)
        return None if b is None else str(b["hash"])

    cur = store.cursor()
    if cur is not None:
        ancestor = store.common_ancestor(chain_hash)
        if ancestor != cur.block:
            rolled = ancestor if ancestor is not None else first_block - 1
            store.rollback_to(rolled)
    cur = store.cursor()
    start = cur.block + 1 if cur is not None else first_block
    applied = 0
    lo = start
    while lo <= target:
        hi = min(target, lo + LOG_CHUNK - 1)
        logs = fetch_logs(chain, pool, lo, hi, [[_topic(NOTE_CREATED), _topic(NULLIFIER_SPENT)]])
        by_block: dict[int, list[dict[str, Any]]] = {}
        for g in logs:
            by_block.setdefault(_int(g["blockNumber"]), []).append(g)
        blocks = []
        for number in sorted({*by_block, hi}):
            header = block_header(chain, number)
            if header is None:
                raise WalletError(f"block {number} vanished while following the pool (a reorg?); run again")
            events = []
            for g in by_block.get(number, []):
                if str(g["blockHash"]) != str(header["hash"]):
                    raise WalletError(f"block {number} changed while following the pool (a reorg?); run again")
                ev = decode_log(g)
                if ev is not None:
                    events.append(ev)
            blocks.append(Block(number, str(header["hash"]), str(header["parentHash"]), tuple(events)))
        store.apply_blocks(blocks)
        applied += len(blocks)
        lo = hi + 1
    return Followed(max(target, start - 1), applied, rolled)


def _nonce_taken(chain: RpcChain, raw: bytes) -> bool:
    sender = Account.recover_transaction(raw)
    mined = _int(chain.request("eth_getTransactionCount", sender, "latest"))
    return mined > _raw_nonce(raw)


def reconcile(chain: RpcChain, store: NoteStore) -> tuple[tuple[str, ...], int, int]:
    """Operations the events did not settle: never sent (abandon), reverted (abandon), nonce
    taken by another transaction (abandon), unknown to the node (rebroadcast the same bytes).
    Returns (tx hashes still pending, abandoned, rebroadcast)."""
    pending: list[str] = []
    abandoned = rebroadcast = 0
    for op in store.operations():
        if op.status == "prepared":  # the crash came before signing: nothing left the machine
            store.abandon(op.id)
            abandoned += 1
        elif op.status == "sent":
            assert op.tx_hash is not None
            receipt = chain.request("eth_getTransactionReceipt", op.tx_hash)
            if receipt is not None:
                if _int(receipt["status"]) != 1:
                    store.abandon(op.id)
                    abandoned += 1
                else:
                    pending.append(op.tx_hash)  # mined, its events not yet confirmed deep enough
                continue
            if chain.request("eth_getTransactionByHash", op.tx_hash) is not None:
                pending.append(op.tx_hash)
                continue
            if op.raw_tx and _nonce_taken(chain, op.raw_tx):
                store.abandon(op.id)
                abandoned += 1
                continue
            if op.raw_tx:
                try:
                    chain.request("eth_sendRawTransaction", "0x" + op.raw_tx.hex())
                    rebroadcast += 1
                except RpcError:
                    pass  # "already known" and the like: it stays pending, the next sync looks again
            pending.append(op.tx_hash)
    return tuple(pending), abandoned, rebroadcast


def read_market(
    chain: RpcChain, deployment: Deployment, timestamp: int, block: str = "latest"
) -> tuple[PoolMarket, tuple[ReserveState, ...]]:
    """The public inputs the pool assembles in a block at `timestamp`: every reserve brought to it
    by the reserve model (what the pool's updateState stores for the acting reserve and
    _currentIndexes reads for the others), the feeds' prices read in `block`; with
    the reserve states (their risk parameters give a liquidation's bonus and protocol fee)."""
    views, states = [], []
    pool = deployment.pool
    for i, a in enumerate(deployment.assets):
        data = keccak(b"getReserveData(address)")[:4] + encode(["address"], [a.token])
        raw = decode([RESERVE_DATA_ABI], chain.call(pool, data))[0]
        state, rid = ReserveState.from_reserve_data(raw), int(raw[5])
        if rid != i:
            raise WalletError(f"the pool lists {a.symbol} as reserve {rid}, the deployment file as {i}")
        if timestamp >= state.last_update_timestamp:
            state = state.update_state(timestamp)
        try:
            price_call = keccak(b"getAssetPrice(address)")[:4] + encode(["address"], [a.token])
            price = int(decode(["uint256"], chain.call(pool, price_call, block))[0])
        except Reverted as e:
            raise TransactionFailed(
                revert_name(e.data), f"the pool refuses the price of {a.symbol}: {revert_name(e.data)}"
            ) from None
        views.append(
            ReserveView(
                price,
                state.liquidity_index,
                state.variable_borrow_index,
                state.decimals,
                state.risk.ltv,
                state.risk.liquidation_threshold,
            )
        )
        states.append(state)
    return PoolMarket(tuple(views)), tuple(states)


def is_dev_node(chain: RpcChain) -> bool:
    """anvil, hardhat or ganache: the next block's timestamp can be pinned."""
    try:
        version = str(chain.request("web3_clientVersion")).lower()
    except RpcError:
        return False
    return version.startswith(("anvil", "hardhat", "ganache"))


def next_timestamp(chain: RpcChain, lead: int) -> int:
    """The timestamp a transaction sent now aims at: the pending block's, plus `lead` seconds."""
    pending = block_header(chain, "pending")
    latest = block_header(chain, "latest")
    assert latest is not None
    base = _int(pending["timestamp"]) if pending else _int(latest["timestamp"]) + 1
    return max(base + lead, _int(latest["timestamp"]) + 1)


def await_block_time(chain: RpcChain, ts: int) -> bool:
    """On a node that cannot be pinned: wait until its pending block has timestamp `ts` (the one
    proven for); False if it is already past it."""
    deadline = time.monotonic() + PROVING_LEAD * 4 + 60
    while True:
        pending = block_header(chain, "pending")
        now = _int(pending["timestamp"]) if pending else chain.timestamp() + 1
        if now == ts:
            return True
        if now > ts or time.monotonic() > deadline:
            return False
        time.sleep(0.2)


def sign_transaction(chain: RpcChain, data: bytes, to: str) -> tuple[str, bytes]:
    """A legacy transaction from `chain`'s account (TX_GAS, eth_gasPrice, the pending nonce),
    signed: (hash, raw bytes). Stored before it is broadcast, so a crash between the two is settled
    by `reconcile`."""
    acct = chain.account
    if acct is None:
        raise InputError("--private-key", "sending a transaction needs a private key (or ZKMARGIN_PRIVATE_KEY)")
    tx = {
        "to": to,
        "data": data,
        "value": 0,
        "gas": TX_GAS,
        "gasPrice": _int(chain.request("eth_gasPrice")),
        "nonce": _int(chain.request("eth_getTransactionCount", acct.address, "pending")),
        "chainId": int(chain.chain_id),
    }
    signed = acct.sign_transaction(tx)
    return "0x" + bytes(signed.hash).hex(), bytes(signed.raw_transaction)


def await_receipt(chain: RpcChain, tx_hash: str, timeout: float, poll: float = 0.25) -> dict[str, Any] | None:
    """The transaction's receipt, polled every `poll` seconds; None after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        receipt = chain.request("eth_getTransactionReceipt", tx_hash)
        if receipt is not None:
            return dict(receipt)
        if time.monotonic() > deadline:
            return None
        time.sleep(poll)


class Wallet:
    """One owner's wallet on one deployed pool. `chain` signs with the sending account."""

    def __init__(
        self,
        directory: Path,
        chain: RpcChain,
        deployment: Deployment,
        *,
        keys: OwnerKeys | None = None,
        settings: Settings | None = None,
        progress: Progress | None = None,
        confirmations: int = 0,
        receipt_timeout: float = RECEIPT_TIMEOUT,
        pin_timestamp: bool | None = None,
    ) -> None:
        self.directory = directory
        self.chain, self.deployment = chain, deployment
        self.progress = progress or NullProgress()
        self.settings = settings
        if confirmations < 0:
            raise InputError("--confirmations", "must be >= 0")
        self.confirmations, self.receipt_timeout = confirmations, receipt_timeout
        key_path = directory / KEYS_FILE
        if keys is None:
            if not key_path.exists():
                raise InputError("--wallet-dir", f"no key file {key_path}: run `zkmargin wallet init` first")
            keys = load_owner_keys(key_path)
        self.keys = keys
        check_deployment(deployment)
        self.symbols = tuple(a.symbol for a in deployment.assets)
        self.tokens = tuple(a.token for a in deployment.assets)
        self.owner = note_owner_tag(keys.spending_key)
        self.codec = WalletCodec(len(self.symbols), self.owner)
        check_chain(chain, deployment, "--deployment")
        self._pin = pin_timestamp
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._lock_fd = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            raise WalletError(
                f"another zkmargin wallet process is using {directory}; try again when it is done"
            ) from None
        try:
            self.store = NoteStore(database_path(directory, deployment), self.codec, keys.viewing_secret)
        except BaseException:
            os.close(self._lock_fd)
            raise

    def close(self) -> None:
        self.store.close()
        os.close(self._lock_fd)

    def __enter__(self) -> Wallet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- chain reads ---

    @property
    def sender(self) -> str:
        if self.chain.account is None:
            raise InputError("--private-key", "sending a transaction needs a private key (or ZKMARGIN_PRIVATE_KEY)")
        return str(self.chain.account.address)

    def _call(self, to: str, signature: str, types: Sequence[str], args: Sequence[Any], block: str = "latest") -> bytes:
        return call_contract(self.chain, to, signature, types, args, block)

    def _block(self, tag: int | str) -> dict[str, Any] | None:
        return block_header(self.chain, tag)

    def head(self) -> int:
        return _int(self.chain.request("eth_blockNumber"))

    def market(self, timestamp: int, block: str = "latest") -> PoolMarket:
        """The public inputs the pool assembles in a block at `timestamp` (read_market)."""
        return read_market(self.chain, self.deployment, timestamp, block)[0]

    def _logs(self, start: int, end: int, topics: list[Any]) -> list[dict[str, Any]]:
        return fetch_logs(self.chain, self.deployment.pool, start, end, topics)

    def _decode_event(self, log: dict[str, Any]) -> NoteCreated | NullifierSpent | None:
        return decode_log(log)

    def tree(self) -> LeanIMT:
        """The note tree rebuilt from every NoteCreated, checked against the pool's current root."""
        for _ in range(2):
            head = self.head()
            tree = LeanIMT()
            for g in self._logs(self.deployment.block, head, [_topic(NOTE_CREATED)]):
                ev = self._decode_event(g)
                if isinstance(ev, NoteCreated):
                    if ev.leaf_index != tree.size:
                        raise WalletError(
                            f"NoteCreated leaf {ev.leaf_index} arrived out of order (tree has {tree.size})"
                        )
                    tree.insert(ev.commitment)
            root = self._current_root(_hex(head))
            if root == (tree.root if tree.size else 0):
                return tree
        raise WalletError(
            "the note tree rebuilt from the pool's events does not match its current root (the chain moved?); try again"
        )

    # --- sync ---

    def sync(self) -> SyncReport:
        with self.progress.step("syncing the note store with the chain"):
            try:
                return self._sync()
            except ReorgDetected:  # the chain reorganised while we read it: roll back, once more
                return self._sync()

    def _sync(self) -> SyncReport:
        f = follow(self.chain, self.store, self.deployment.pool, self.deployment.block, self.confirmations)
        pending, abandoned, rebroadcast = reconcile(self.chain, self.store)
        return SyncReport(
            f.target, f.applied_blocks, len(self.store.notes("live")), pending, abandoned, rebroadcast, f.rolled_back_to
        )

    # --- notes ---

    def live_notes(self) -> list[tuple[StoredNote, Note]]:
        return [(s, self.codec.note(s.opening)) for s in self.store.notes("live")]

    def pick(self, commitment: int | None) -> tuple[StoredNote, Note] | None:
        live = self.live_notes()
        if commitment is not None:
            for s, n in live:
                if s.commitment == commitment:
                    return s, n
            raise InputError("--note", f"no live note {commitment} in this wallet (`zkmargin wallet show` lists them)")
        if len(live) > 1:
            raise InputError("--note", f"the wallet holds {len(live)} live notes: name one (`zkmargin wallet show`)")
        return live[0] if live else None

    def show(self) -> list[NoteReport]:
        """Every live (and pending) note at the latest block's timestamp and prices."""
        latest = self._block("latest")
        assert latest is not None
        ts = _int(latest["timestamp"])
        market = self.market(ts)
        return [
            report(self.codec.note(s.opening), market, self.symbols, s, ts)
            for s in self.store.notes()
            if s.status != "spent"
        ]

    # --- operations ---

    def asset_index(self, symbol: str) -> int:
        if symbol not in self.symbols:
            raise InputError("ASSET", f"unknown asset {symbol[:40]!r} (the pool lists: {', '.join(self.symbols)})")
        return self.symbols.index(symbol)

    def _is_dev_node(self) -> bool:
        if self._pin is None:
            self._pin = is_dev_node(self.chain)
        return self._pin

    def _next_timestamp(self, lead: int) -> int:
        return next_timestamp(self.chain, lead)

    def _await_block_time(self, ts: int) -> bool:
        return await_block_time(self.chain, ts)

    def _approve(self, token: str, amount: int) -> None:
        allowed = int(
            decode(
                ["uint256"],
                self._call(
                    token, "allowance(address,address)", ["address", "address"], [self.sender, self.deployment.pool]
                ),
            )[0]
        )
        if allowed >= amount:
            return
        data = keccak(b"approve(address,uint256)")[:4] + encode(["address", "uint256"], [self.deployment.pool, amount])
        with self.progress.step(f"approving the pool to take {amount} base units"):
            h, _ = self._sign_and_send(data, to=token)
            receipt = self._wait(h)
        if _int(receipt["status"]) != 1:
            raise TransactionFailed("approve", f"the token refused approve (transaction {h})")

    def _sign(self, data: bytes, to: str) -> tuple[str, bytes]:
        return sign_transaction(self.chain, data, to)

    def _sign_and_send(self, data: bytes, to: str) -> tuple[str, bytes]:
        h, raw = self._sign(data, to)
        self.chain.request("eth_sendRawTransaction", "0x" + raw.hex())
        return h, raw

    def _wait(self, tx_hash: str) -> dict[str, Any]:
        receipt = await_receipt(self.chain, tx_hash, self.receipt_timeout)
        if receipt is None:
            raise WalletError(
                f"no receipt for {tx_hash} within {self.receipt_timeout:g} s; the operation stays pending: "
                f"`zkmargin wallet sync` settles it when it is mined (or rebroadcasts it)"
            )
        return receipt

    def _current_root(self, block: str = "latest") -> int:
        return int(decode(["uint256"], self._call(self.deployment.pool, "currentRoot()", [], [], block))[0])

    def _preflight(self, data: bytes) -> None:
        try:
            self.chain.call(self.deployment.pool, data, "pending")
        except Reverted as e:
            name = revert_name(e.data)
            raise TransactionFailed(name, f"the pool would refuse the transaction: {name}") from None

    def operate(
        self,
        kind: str,
        symbol: str,
        amount: int,
        *,
        recipient: str | None = None,
        note: int | None = None,
        new_note: bool = False,
    ) -> OpResult:
        """deposit (opens a note when the wallet has none, or with new_note), withdraw, borrow or
        repay `amount` base units of `symbol`."""
        if kind not in KINDS:
            raise InputError("kind", f"must be one of {', '.join(KINDS)}")
        if not 0 < amount < 2**AMOUNT_BITS:
            raise InputError("AMOUNT", f"must be in [1, 2^{AMOUNT_BITS}) base units")
        asset = self.asset_index(symbol)
        sender = self.sender
        sync = self.sync()
        if sync.pending:
            raise WalletError(
                f"an earlier operation is still pending ({', '.join(sync.pending)}): `zkmargin wallet sync` until it settles"
            )
        if kind in PAYS_IN:
            if recipient not in (None, ZERO_ADDRESS):
                raise InputError("--to", f"{kind} pays in from the sending account: it has no recipient")
            recipient = None
        else:
            recipient = recipient or sender
        picked = None if (new_note and kind == "deposit") else self.pick(note)
        if picked is None and kind != "deposit":
            raise WalletError("the wallet has no live note: `zkmargin wallet deposit` opens one")
        if kind in PAYS_IN:
            self._approve(self.tokens[asset], amount)
        opening = picked is None
        bind = binding(int(self.chain.chain_id), self.deployment.pool, sender, recipient or ZERO_ADDRESS)
        pin = self._is_dev_node()
        lead = 0 if pin else PROVING_LEAD
        attempts = 0
        while True:
            attempts += 1
            started = time.monotonic()
            ts = self._next_timestamp(lead)
            market = self.market(ts, "latest")
            data, new, spent_nullifier, tree_root = self._build(
                kind, picked, asset, amount, market, bind, recipient, ts
            )
            missed: str | None = None
            if pin:
                try:
                    self.chain.request("evm_setNextBlockTimestamp", _hex(ts))
                except RpcError:
                    missed = "a block was mined meanwhile"
            elif not self._await_block_time(ts):
                missed = f"the chain's clock passed {ts} while proving"
            if missed is None:
                try:
                    self._preflight(data)
                except TransactionFailed as e:
                    if e.error not in STALE_PROOF:
                        raise
                    missed = f"the pool refused the proof ({e.error})"
            if missed is None and attempts == 1 and self._current_root() != tree_root:
                # the proof still verifies, but its append is stale: the pool would hash the note
                # into the tree on-chain (Poseidon per one bit of its index), so prove once more
                missed = "another note landed while proving"
            if missed is None:
                break
            if attempts > 1:
                raise WalletError(f"{missed} twice: the pool's state keeps moving; try again")
            # a dev node is pinned again; elsewhere aim further ahead by the proving time just measured
            lead = 0 if pin else int(time.monotonic() - started) + 2
            with self.progress.step(f"{missed}; proving again"):
                pass
        op_id = self.store.prepare(kind if not opening else "open", symbol, amount, spent_nullifier, new.fields())
        tx_hash, raw = self._sign(data, self.deployment.pool)
        self.store.mark_sent(op_id, tx_hash, raw)
        self.chain.request("eth_sendRawTransaction", "0x" + raw.hex())
        with self.progress.step(f"waiting for the receipt of {tx_hash}"):
            receipt = self._wait(tx_hash)
        if _int(receipt["status"]) != 1:
            self.store.abandon(op_id)
            raise TransactionFailed("reverted", f"transaction {tx_hash} reverted on chain; the wallet dropped its note")
        self.sync()
        block = self._block(_int(receipt["blockNumber"]))
        return OpResult(
            "open" if opening else kind,
            symbol,
            amount,
            tx_hash,
            _int(receipt["blockNumber"]),
            _int(receipt["gasUsed"]),
            None if picked is None else picked[0].commitment,
            new.commitment,
            recipient,
            _int(block["timestamp"]) if block else ts,
            attempts,
        )

    def _build(
        self,
        kind: str,
        picked: tuple[StoredNote, Note] | None,
        asset: int,
        amount: int,
        market: PoolMarket,
        bind: int,
        recipient: str | None,
        ts: int,
    ) -> tuple[bytes, Note, int | None, int]:
        """The proof and the calldata (with the new opening sealed to the owner's viewing key and
        appended to the wallet's view of the tree); returns (calldata, new note, the nullifier
        spent, the root of the tree the proof appends to). The prover reports its own progress."""
        if picked is None:
            with self.progress.step(f"checking the open against the pool's state at block time {ts}"):
                self._check_model(lambda: open_note(market, asset, amount, self.owner, 1, self.keys.viewing_public))
            with self.progress.step("note tree"):
                tree = self.tree()
            bundle, new = _prove_open(
                market,
                asset,
                amount,
                self.owner,
                bind,
                self.keys.viewing_public,
                self.keeper_keys(),
                tree,
                self.settings,
            )
            return open_calldata(self.tokens[asset], bundle), new, None, tree.root
        old = picked[1]
        op = OPS[kind]
        with self.progress.step(f"checking the {kind} against the pool's state at block time {ts}; note tree"):
            self._check_model(lambda: apply(old, op, asset, amount, market, 1))
            tree = self.tree()
        bundle, new = _prove_transition(
            old, self.keys.spending_key, tree, op, asset, amount, market, bind, self.keeper_keys(), self.settings
        )
        return transition_calldata(op, self.tokens[asset], bundle, recipient), new, old.nullifier, tree.root

    def keeper_keys(self) -> tuple[Point, ...]:
        """The keeper keys the pool registered (every new note is sealed to them and to the
        owner's viewing key; the proof shows it)."""
        x = int(decode(["uint256"], self._call(self.deployment.pool, "keeperKeyX()", [], []))[0])
        y = int(decode(["uint256"], self._call(self.deployment.pool, "keeperKeyY()", [], []))[0])
        return ((x, y),)

    @staticmethod
    def _check_model(f: Callable[[], Note]) -> None:
        """The model's refusal, named, before any proving (the circuit would refuse the same)."""
        try:
            f()
        except AaveRevert as e:
            raise TransactionFailed(e.name, f"the pool would refuse it: {e}") from None

    def pending_operations(self) -> list[Operation]:
        return [o for o in self.store.operations() if o.status in ("prepared", "sent")]


def _topic(t: bytes) -> str:
    return "0x" + t.hex()


def _proof_tuple(bundle: Bundle) -> tuple[Any, ...]:
    cd = from_proof(bundle.proof, bundle.public_signals)
    return (list(cd.a), [list(r) for r in cd.b], list(cd.c))


def _prove_open(
    market: PoolMarket,
    asset: int,
    amount: int,
    owner: int,
    bind: int,
    viewing_key: Point,
    keepers: Sequence[Point],
    tree: LeanIMT,
    settings: Settings | None,
) -> tuple[Bundle, Note]:
    from ..statements import pool as pool_statements

    return pool_statements.prove_open(
        market,
        asset,
        amount,
        owner,
        bind,
        viewing_key=viewing_key,
        keepers=keepers,
        frontier=tree.frontier(),
        settings=settings,
    )


def _prove_transition(
    old: Note,
    sk: int,
    tree: LeanIMT,
    op: Op,
    asset: int,
    amount: int,
    market: PoolMarket,
    bind: int,
    keepers: Sequence[Point],
    settings: Settings | None,
) -> tuple[Bundle, Note]:
    from ..statements import pool as pool_statements

    return pool_statements.prove_transition(
        old,
        sk,
        tree.proof(old.commitment),
        op,
        asset,
        amount,
        market,
        bind,
        keepers=keepers,
        frontier=tree.frontier(),
        settings=settings,
    )
