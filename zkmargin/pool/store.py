"""The wallet's local note store: one SQLite file per wallet.

What it guarantees:
- Nothing is lost between sending a transaction and seeing its receipt. `prepare` stores the
  new note's opening (status pending) and the intended operation in one committed transaction
  BEFORE the caller sends anything; the caller records the hash with `mark_sent` (a signed
  transaction's hash is known before it is broadcast). A process killed at any point leaves a
  database that the chain's events reconcile.
- Reconciliation is idempotent. `apply_block` takes a block's decoded pool events in log order:
  NoteCreated(commitment, leafIndex, sealed boxes) makes a pending note live (and its operation
  confirmed) or, for a note this database lacks, opens the boxes with the viewing key and
  restores it when one is the owner's and its opening hashes to the commitment;
  NullifierSpent(nullifier) marks the owner's note with that nullifier spent. A block already
  applied (same number and hash) is skipped, so replays change nothing, and a fresh database
  fed the chain's events ends with the same notes as the original.
- Reorgs roll back. Every applied block's hash is kept (the last KEEP_BLOCKS); a block whose
  parent hash differs from the stored one, or a known number with another hash, raises
  ReorgDetected. `rollback_to(n)` undoes every effect of blocks above n: notes they restored
  are removed, notes of our own operations go back to pending (their operations to sent),
  spends are undone. The caller then re-applies the new chain from n + 1.

SQLite: WAL, synchronous=FULL (a pending note must survive a power cut, not only a crash),
foreign keys on, `PRAGMA user_version` = SCHEMA_VERSION, and a busy timeout after which a
locked database raises StoreLocked naming the file. Field elements are stored as decimal text.

The note's own algebra (its commitment and its nullifier) belongs to the notes module: the
store takes it as a NoteCodec.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..errors import InputError, ZkMarginError
from ..field import R
from .cipher import DecryptionError, SealedBox, open_box

SCHEMA_VERSION = 1
KEEP_BLOCKS = 1024  # block hashes kept for reorg detection (far deeper than any confirmation depth)
DEFAULT_BUSY_TIMEOUT = 5.0
NOTE_STATUSES = ("pending", "live", "spent")
OP_STATUSES = ("prepared", "sent", "confirmed", "failed")

_SCHEMA = f"""
CREATE TABLE notes (
    commitment    TEXT PRIMARY KEY,
    opening       TEXT NOT NULL,              -- JSON list of decimal field elements
    status        TEXT NOT NULL CHECK (status IN {NOTE_STATUSES}),
    leaf_index    INTEGER,                    -- NULL while pending
    nullifier     TEXT UNIQUE,                -- known once the leaf index is
    created_tx    TEXT,
    created_block INTEGER,
    spent_tx      TEXT,
    spent_block   INTEGER,
    CHECK ((status = 'pending') = (leaf_index IS NULL)),
    CHECK ((status = 'spent') = (spent_block IS NOT NULL))
);
CREATE TABLE operations (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    kind           TEXT NOT NULL,
    asset          TEXT NOT NULL,
    amount         TEXT NOT NULL,
    spent_nullifier TEXT,                     -- NULL for an open (no note spent)
    new_commitment TEXT NOT NULL REFERENCES notes(commitment),
    tx_hash        TEXT,
    raw_tx         BLOB,                      -- the signed transaction, to rebroadcast after a crash
    status         TEXT NOT NULL CHECK (status IN {OP_STATUSES}),
    created_at     REAL NOT NULL
);
CREATE INDEX operations_by_commitment ON operations(new_commitment);
CREATE TABLE blocks (
    number INTEGER PRIMARY KEY,
    hash   TEXT NOT NULL
);
"""


class StoreError(ZkMarginError):
    """The note database is unusable (damaged, from a newer zkmargin) or was misused."""


class StoreLocked(StoreError):
    """Another process held the database longer than the busy timeout."""


class ReorgDetected(StoreError):
    """The chain no longer contains a block the store applied; roll back and re-apply."""

    def __init__(self, number: int, stored_hash: str, chain_hash: str) -> None:
        super().__init__(
            f"reorg: block {number} is {chain_hash} on the chain but {stored_hash} in the note store; "
            f"roll back to a common ancestor (rollback_to) and apply the new blocks"
        )
        self.number = number
        self.stored_hash = stored_hash
        self.chain_hash = chain_hash


class NoteCodec(Protocol):
    """The notes module's algebra the store needs."""

    @property
    def length(self) -> int:
        """Field elements of a note opening."""
        ...

    def commitment(self, opening: Sequence[int]) -> int: ...

    def nullifier(self, opening: Sequence[int], leaf_index: int) -> int: ...


@dataclass(frozen=True)
class NoteCreated:
    tx_hash: str
    log_index: int
    commitment: int
    leaf_index: int
    boxes: tuple[SealedBox, ...]  # the opening sealed to the owner and to each keeper


@dataclass(frozen=True)
class NullifierSpent:
    tx_hash: str
    log_index: int
    nullifier: int


Event = NoteCreated | NullifierSpent


@dataclass(frozen=True)
class Block:
    number: int
    hash: str
    parent_hash: str
    events: tuple[Event, ...] = ()


@dataclass(frozen=True)
class StoredNote:
    commitment: int
    opening: tuple[int, ...]
    status: str
    leaf_index: int | None
    nullifier: int | None
    created_tx: str | None
    created_block: int | None
    spent_tx: str | None
    spent_block: int | None


@dataclass(frozen=True)
class Operation:
    id: int
    kind: str
    asset: str
    amount: int
    spent_nullifier: int | None
    new_commitment: int
    tx_hash: str | None
    status: str
    raw_tx: bytes | None = None


@dataclass(frozen=True)
class Cursor:
    block: int
    hash: str


def _fe(v: int, field: str) -> str:
    if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < R:
        raise InputError(field, f"{v!r} is not a field element (0 <= v < r)")
    return str(v)


def _opt_int(v: str | None) -> int | None:
    return None if v is None else int(v)


class NoteStore:
    """A wallet's note database. `viewing_secret` opens restored notes; `codec` hashes them."""

    def __init__(
        self, path: str | Path, codec: NoteCodec, viewing_secret: int, busy_timeout: float = DEFAULT_BUSY_TIMEOUT
    ) -> None:
        self.path = Path(path)
        self.codec = codec
        self.viewing_secret = viewing_secret
        self.busy_timeout = busy_timeout
        try:
            # isolation_level=None: transactions are ours (BEGIN IMMEDIATE), not the module's
            self._db = sqlite3.connect(self.path, timeout=busy_timeout, isolation_level=None)
        except sqlite3.Error as e:
            raise StoreError(f"cannot open the note store {self.path}: {e}") from None
        try:
            with self._locked():
                self._db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
                mode = self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if mode != "wal":
                    raise StoreError(f"{self.path}: cannot use write-ahead logging (journal mode {mode})")
                self._db.execute("PRAGMA synchronous = FULL")
                self._db.execute("PRAGMA foreign_keys = ON")
            self._migrate()
        except BaseException:
            self._db.close()
            raise

    # --- plumbing ---

    @contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.OperationalError as e:
            if "locked" in str(e) or "busy" in str(e):
                raise StoreLocked(
                    f"the note store {self.path} is locked by another process (waited {self.busy_timeout:g} s): "
                    f"is another zkmargin wallet or keeper using it?"
                ) from None
            raise StoreError(f"note store {self.path}: {e}") from None
        except sqlite3.DatabaseError as e:
            raise StoreError(f"note store {self.path} is damaged or not a note store: {e}") from None

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken up front (BEGIN IMMEDIATE) so lock waits happen here."""
        with self._locked():
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _migrate(self) -> None:
        with self._tx() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                tables = db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
                if tables:
                    raise StoreError(f"{self.path} is an SQLite database but not a zkmargin note store")
                # one statement at a time: executescript would COMMIT our transaction first
                for stmt in _SCHEMA.split(";"):
                    if stmt.strip():
                        db.execute(stmt)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            elif version != SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path} has note store schema version {version}; this zkmargin reads {SCHEMA_VERSION}"
                )

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> NoteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the owner's own operations ---

    def prepare(
        self, kind: str, asset: str, amount: int, spent_nullifier: int | None, new_opening: Sequence[int]
    ) -> int:
        """Store the new note (pending) and the operation (prepared) durably; call before sending.
        Returns the operation id. Preparing the same new note again is refused."""
        if len(new_opening) != self.codec.length:
            raise InputError("opening", f"a note opening has {self.codec.length} elements, got {len(new_opening)}")
        opening = [_fe(v, f"opening[{i}]") for i, v in enumerate(new_opening)]
        commitment = self.codec.commitment([int(v) for v in opening])
        if not isinstance(amount, int) or amount < 0:
            raise InputError("amount", "must be a non-negative integer")
        with self._tx() as db:
            if db.execute("SELECT 1 FROM notes WHERE commitment = ?", (str(commitment),)).fetchone():
                raise StoreError(f"note {commitment} is already in the store (a new note needs a fresh salt)")
            db.execute(
                "INSERT INTO notes (commitment, opening, status) VALUES (?, ?, 'pending')",
                (str(commitment), json.dumps(opening)),
            )
            cur = db.execute(
                "INSERT INTO operations (kind, asset, amount, spent_nullifier, new_commitment, status, created_at) "
                "VALUES (?, ?, ?, ?, ?, 'prepared', ?)",
                (
                    kind,
                    asset,
                    str(amount),
                    None if spent_nullifier is None else _fe(spent_nullifier, "spent_nullifier"),
                    str(commitment),
                    time.time(),
                ),
            )
            op_id = cur.lastrowid
        assert op_id is not None
        return op_id

    def mark_sent(self, op_id: int, tx_hash: str, raw_tx: bytes | None = None) -> None:
        """Record the signed transaction (its hash, and the raw bytes so that a wallet restarted
        after a crash can broadcast the very same transaction again); call before broadcasting."""
        with self._tx() as db:
            cur = db.execute(
                "UPDATE operations SET tx_hash = ?, raw_tx = ?, status = 'sent' "
                "WHERE id = ? AND status IN ('prepared', 'sent')",
                (tx_hash, raw_tx, op_id),
            )
            if cur.rowcount != 1:
                raise StoreError(f"operation {op_id} is not waiting to be sent")

    def abandon(self, op_id: int) -> None:
        """The operation's transaction reverted or was never sent and never will be: mark it
        failed and drop its note if the chain never created it."""
        with self._tx() as db:
            row = db.execute("SELECT new_commitment, status FROM operations WHERE id = ?", (op_id,)).fetchone()
            if row is None or row[1] == "confirmed":
                raise StoreError(f"operation {op_id} is unknown or already confirmed on chain")
            db.execute("UPDATE operations SET status = 'failed' WHERE id = ?", (op_id,))
            others = db.execute(
                "SELECT count(*) FROM operations WHERE new_commitment = ? AND status != 'failed'", (row[0],)
            ).fetchone()[0]
            if not others:
                db.execute("DELETE FROM operations WHERE id = ?", (op_id,))
                db.execute("DELETE FROM notes WHERE commitment = ? AND status = 'pending'", (row[0],))

    # --- the chain ---

    def cursor(self) -> Cursor | None:
        with self._locked():
            row = self._db.execute("SELECT number, hash FROM blocks ORDER BY number DESC LIMIT 1").fetchone()
        return None if row is None else Cursor(int(row[0]), str(row[1]))

    def block_hash(self, number: int) -> str | None:
        """The stored hash of an applied block (to find the fork point after ReorgDetected)."""
        with self._locked():
            row = self._db.execute("SELECT hash FROM blocks WHERE number = ?", (number,)).fetchone()
        return None if row is None else str(row[0])

    def common_ancestor(self, chain_hash: Callable[[int], str | None]) -> int | None:
        """The highest applied block the chain still has (chain_hash(n): the chain's hash of
        block n, None past its head), walking back from the cursor; None if none of the kept
        blocks is on the chain. Sync calls it before applying new blocks: roll back to it."""
        with self._locked():
            rows = self._db.execute("SELECT number, hash FROM blocks ORDER BY number DESC").fetchall()
        for number, stored in rows:
            if chain_hash(int(number)) == stored:
                return int(number)
        return None

    def apply_blocks(self, blocks: Iterable[Block]) -> None:
        """Apply consecutive blocks in one transaction (all or nothing, cursor included)."""
        with self._tx() as db:
            for b in blocks:
                self._apply(db, b)

    def apply_block(self, block: Block) -> None:
        self.apply_blocks([block])

    def _apply(self, db: sqlite3.Connection, b: Block) -> None:
        known = db.execute("SELECT hash FROM blocks WHERE number = ?", (b.number,)).fetchone()
        if known is not None:
            if known[0] != b.hash:
                raise ReorgDetected(b.number, known[0], b.hash)
            return  # already applied: a replay changes nothing
        last = db.execute("SELECT number, hash FROM blocks ORDER BY number DESC LIMIT 1").fetchone()
        if last is not None:
            if b.number < last[0]:
                raise StoreError(f"block {b.number} is older than the cursor ({last[0]}) and was never applied")
            parent = db.execute("SELECT hash FROM blocks WHERE number = ?", (b.number - 1,)).fetchone()
            if parent is not None and parent[0] != b.parent_hash:
                raise ReorgDetected(b.number - 1, parent[0], b.parent_hash)
        for ev in b.events:
            if isinstance(ev, NoteCreated):
                self._note_created(db, b, ev)
            else:
                self._nullifier_spent(db, b, ev)
        db.execute("INSERT INTO blocks (number, hash) VALUES (?, ?)", (b.number, b.hash))
        db.execute("DELETE FROM blocks WHERE number <= ?", (b.number - KEEP_BLOCKS,))

    def _note_created(self, db: sqlite3.Connection, b: Block, ev: NoteCreated) -> None:
        c = _fe(ev.commitment, "commitment")
        row = db.execute("SELECT opening, status FROM notes WHERE commitment = ?", (c,)).fetchone()
        if row is None:
            restored = self._open(ev)
            if restored is None:
                return  # not ours
            opening = restored
            db.execute(
                "INSERT INTO notes (commitment, opening, status) VALUES (?, ?, 'pending')",
                (c, json.dumps([str(v) for v in opening])),
            )
        elif row[1] != "pending":
            return  # already live or spent: this is a replay
        else:
            opening = [int(v) for v in json.loads(row[0])]
        nullifier = _fe(self.codec.nullifier(opening, ev.leaf_index), "nullifier")
        db.execute(
            "UPDATE notes SET status = 'live', leaf_index = ?, nullifier = ?, created_tx = ?, created_block = ? "
            "WHERE commitment = ?",
            (ev.leaf_index, nullifier, ev.tx_hash, b.number, c),
        )
        db.execute(
            "UPDATE operations SET status = 'confirmed', tx_hash = ? WHERE new_commitment = ? AND status != 'failed'",
            (ev.tx_hash, c),
        )

    def _open(self, ev: NoteCreated) -> list[int] | None:
        """The opening if one of the event's boxes is sealed to our viewing key and it hashes to
        the event's commitment; None otherwise (a box that opens but does not hash is ignored:
        the transition circuit makes that impossible, and a store must not trust it)."""
        for box in ev.boxes:
            try:
                opening = open_box(box, self.viewing_secret, self.codec.length)
            except DecryptionError:
                continue
            except InputError:
                continue  # a malformed ephemeral key: not a box anyone can open
            if self.codec.commitment(opening) == ev.commitment:
                return opening
        return None

    def _nullifier_spent(self, db: sqlite3.Connection, b: Block, ev: NullifierSpent) -> None:
        db.execute(
            "UPDATE notes SET status = 'spent', spent_tx = ?, spent_block = ? WHERE nullifier = ? AND status = 'live'",
            (ev.tx_hash, b.number, _fe(ev.nullifier, "nullifier")),
        )

    def rollback_to(self, number: int) -> None:
        """Undo every block above `number` (a reorg's common ancestor)."""
        with self._tx() as db:
            n = number
            db.execute(
                "UPDATE notes SET status = 'live', spent_tx = NULL, spent_block = NULL WHERE spent_block > ?", (n,)
            )
            # notes of our own operations go back to pending, their operations to sent (or prepared)
            db.execute(
                "UPDATE operations SET status = CASE WHEN tx_hash IS NULL THEN 'prepared' ELSE 'sent' END "
                "WHERE status = 'confirmed' AND new_commitment IN (SELECT commitment FROM notes WHERE created_block > ?)",
                (n,),
            )
            db.execute(
                "UPDATE notes SET status = 'pending', leaf_index = NULL, nullifier = NULL, created_tx = NULL, "
                "created_block = NULL WHERE created_block > ? AND commitment IN (SELECT new_commitment FROM operations)",
                (n,),
            )
            # notes the store only knew from the rolled-back blocks are forgotten
            db.execute("DELETE FROM notes WHERE created_block > ?", (n,))
            db.execute("DELETE FROM blocks WHERE number > ?", (n,))

    # --- reading ---

    def notes(self, status: str | None = None) -> list[StoredNote]:
        q = "SELECT commitment, opening, status, leaf_index, nullifier, created_tx, created_block, spent_tx, spent_block FROM notes"
        args: tuple[str, ...] = ()
        if status is not None:
            q, args = q + " WHERE status = ?", (status,)
        with self._locked():
            rows = self._db.execute(q + " ORDER BY created_block IS NULL, created_block, leaf_index, commitment", args)
            return [
                StoredNote(
                    int(r[0]),
                    tuple(int(v) for v in json.loads(r[1])),
                    r[2],
                    r[3],
                    _opt_int(r[4]),
                    r[5],
                    r[6],
                    r[7],
                    r[8],
                )
                for r in rows
            ]

    def operations(self, status: str | None = None) -> list[Operation]:
        q = "SELECT id, kind, asset, amount, spent_nullifier, new_commitment, tx_hash, status, raw_tx FROM operations"
        args: tuple[str, ...] = ()
        if status is not None:
            q, args = q + " WHERE status = ?", (status,)
        with self._locked():
            rows = self._db.execute(q + " ORDER BY id", args)
            return [Operation(r[0], r[1], r[2], int(r[3]), _opt_int(r[4]), int(r[5]), r[6], r[7], r[8]) for r in rows]
