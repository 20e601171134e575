"""The wallet's keys and note store: key files, crash safety, idempotent reconciliation, reorgs,
restoring a wallet from chain events with its keys alone. Real SQLite files throughout."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from zkmargin.errors import InputError
from zkmargin.field import R
from zkmargin.pool import babyjub, cipher, keys
from zkmargin.pool.keys import KeeperKeys, OwnerKeys
from zkmargin.pool.store import (
    Block,
    NoteCreated,
    NoteStore,
    NullifierSpent,
    ReorgDetected,
    StoreError,
    StoreLocked,
)
from zkmargin.poseidon import poseidon

from .conftest import REPO_ROOT

DOMAIN_OWNER = 0x6F776E6572  # a stand-in: the notes module owns the real constant


class ToyCodec:
    """A stand-in for the notes module: opening of 7 elements (scaledCollateral[2],
    scaledDebt[2], collateralFlags, ownerTag, salt), commitment Poseidon(opening), nullifier
    Poseidon(sk, commitment, leafIndex)."""

    length = 7

    def __init__(self, spending_key: int) -> None:
        self.sk = spending_key

    def commitment(self, opening: Sequence[int]) -> int:
        return poseidon(list(opening))

    def nullifier(self, opening: Sequence[int], leaf_index: int) -> int:
        return poseidon([self.sk, self.commitment(opening), leaf_index])


OWNER = OwnerKeys(bytes(range(32)))
OTHER = OwnerKeys(bytes(range(1, 33)))
KEEPER = KeeperKeys(b"k" * 32)
CODEC = ToyCodec(OWNER.spending_key)


def opening(keys_: OwnerKeys, coll: int, debt: int, salt: int) -> list[int]:
    return [coll, 0, 0, debt, 1, keys.owner_tag(keys_.spending_key, DOMAIN_OWNER), salt]


def created(keys_: OwnerKeys, op: list[int], leaf: int, tx: str, eph: int) -> NoteCreated:
    boxes = tuple(cipher.seal(op, pub, eph) for pub in (keys_.viewing_public, KEEPER.public))
    return NoteCreated(tx, 0, poseidon(op), leaf, boxes)


def spent(keys_: OwnerKeys, op: list[int], leaf: int, tx: str) -> NullifierSpent:
    return NullifierSpent(tx, 0, poseidon([keys_.spending_key, poseidon(op), leaf]))


def h(n: int, fork: str = "") -> str:
    return f"0x{fork}{n:04x}"


def chain(blocks: list[tuple[NoteCreated | NullifierSpent, ...]], start: int = 1, fork: str = "") -> list[Block]:
    return [
        Block(start + i, h(start + i, fork), h(start + i - 1, fork if i else ""), evs) for i, evs in enumerate(blocks)
    ]


def open_store(path: Path, keys_: OwnerKeys = OWNER, **kw: float) -> NoteStore:
    return NoteStore(path, ToyCodec(keys_.spending_key), keys_.viewing_secret, **kw)


def snapshot(store: NoteStore) -> list[tuple[object, ...]]:
    return [
        (n.commitment, n.opening, n.status, n.leaf_index, n.nullifier, n.created_tx, n.created_block, n.spent_tx)
        for n in store.notes()
    ]


# A history: deposit (note A, leaf 0), someone else's note (leaf 1), borrow (spend A, note B,
# leaf 2), a note sealed to us that does not hash to its commitment (ignored), repay (spend B,
# note C, leaf 4).
A = opening(OWNER, 1000, 0, 11)
B = opening(OWNER, 1000, 300, 22)
C = opening(OWNER, 1000, 100, 33)
X = opening(OTHER, 5, 0, 44)


def history() -> list[Block]:
    bogus = created(OWNER, opening(OWNER, 9, 9, 9), 3, "0xbad", 5)
    bogus = replace(bogus, commitment=poseidon(opening(OWNER, 9, 9, 10)))
    return chain(
        [
            (created(OWNER, A, 0, "0xa", 101),),
            (created(OTHER, X, 1, "0xx", 102),),
            (spent(OWNER, A, 0, "0xb"), created(OWNER, B, 2, "0xb", 103)),
            (bogus,),
            (spent(OWNER, B, 2, "0xc"), created(OWNER, C, 4, "0xc", 104)),
        ]
    )


# --- keys ------------------------------------------------------------------------------------


def test_key_material_is_deterministic_and_domain_separated() -> None:
    k = OwnerKeys(bytes(32))
    assert k.spending_key == OwnerKeys(bytes(32)).spending_key
    assert 0 < k.spending_key < R and 1 <= k.viewing_secret < babyjub.L
    assert k.viewing_public == babyjub.public_key(k.viewing_secret)
    assert len({k.spending_key, k.viewing_secret, KeeperKeys(bytes(32)).secret}) == 3
    assert keys.owner_tag(k.spending_key, DOMAIN_OWNER) == poseidon([DOMAIN_OWNER, k.spending_key])
    assert OwnerKeys.generate().seed != OwnerKeys.generate().seed
    assert "seed" not in repr(k) or bytes(32).hex() not in repr(k)


def test_key_files_round_trip_0600_and_never_overwrite(tmp_path: Path) -> None:
    owner, keeper = OwnerKeys.generate(), KeeperKeys.generate()
    op, kp = tmp_path / "owner.json", tmp_path / "keeper.json"
    keys.write_key_file(op, owner)
    keys.write_key_file(kp, keeper)
    assert stat.S_IMODE(op.stat().st_mode) == 0o600
    assert keys.load_owner_keys(op) == owner and keys.load_keeper_keys(kp) == keeper
    before = op.read_bytes()
    with pytest.raises(InputError, match="refusing to overwrite") as e:
        keys.write_key_file(op, OwnerKeys.generate())
    assert e.value.field == "keyfile" and op.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keeper.json", "owner.json"]  # no temporary left
    with pytest.raises(InputError, match="format"):
        keys.load_owner_keys(kp)  # a keeper file is not an owner file


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda d: d.update(seed="00" * 31), "seed"),
        (lambda d: d.update(seed="zz" * 32), "seed"),
        (lambda d: d.update(seed=12), "seed"),
        (lambda d: d.pop("seed"), "seed"),
        (lambda d: d.update(extra=1), "extra"),
        (lambda d: d.update(format="zkmargin.pool.owner-keys/2"), "format"),
        (lambda d: d.update(viewingPublicKey=[str(v) for v in OTHER.viewing_public]), "viewingPublicKey"),
        (lambda d: d.update(viewingPublicKey=["1", "2"]), "viewingPublicKey"),
        (lambda d: d.update(viewingPublicKey=["0", "1"]), "viewingPublicKey"),
        (lambda d: d.update(viewingPublicKey=[1, 2]), "viewingPublicKey"),
    ],
)
def test_key_file_loading_is_strict(tmp_path: Path, edit: object, field: str) -> None:
    doc = OWNER.to_json()
    edit(doc)  # type: ignore[operator]
    p = tmp_path / "owner.json"
    p.write_text(json.dumps(doc))
    p.chmod(0o600)
    with pytest.raises(InputError) as e:
        keys.load_owner_keys(p)
    assert e.value.field == field and str(p) in str(e.value)


def test_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "owner.json"
    keys.write_key_file(p, OWNER)
    p.chmod(0o644)
    with pytest.raises(InputError, match="chmod 600") as e:
        keys.load_owner_keys(p)
    assert e.value.field == "permissions"


# --- the store -------------------------------------------------------------------------------


def test_pending_then_live_then_spent(tmp_path: Path) -> None:
    with open_store(tmp_path / "w.db") as st:
        op = st.prepare("deposit", "WETH", 1000, None, A)
        assert [n.status for n in st.notes()] == ["pending"] and st.operations()[0].status == "prepared"
        st.mark_sent(op, "0xa")
        st.apply_block(history()[0])
        (note,) = st.notes()
        assert (note.status, note.leaf_index, note.created_block) == ("live", 0, 1)
        assert st.operations()[0].status == "confirmed"
        st.apply_blocks(history()[1:3])
        assert [n.status for n in st.notes()] == ["spent", "live"]  # A spent by the borrow, B restored
        assert st.cursor() is not None and st.cursor() == st.cursor()


def test_pragmas_and_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    open_store(path).close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == 1
    db.execute("PRAGMA user_version = 99")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="schema version 99"):
        open_store(path)
    other = tmp_path / "other.db"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="not a zkmargin note store"):
        open_store(other)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(StoreError):
        open_store(junk)


def test_lock_wait_ends_with_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    st = open_store(path, busy_timeout=0.2)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreLocked, match=r"locked by another process \(waited 0.2 s\)") as e:
            st.prepare("deposit", "WETH", 1, None, A)
        assert str(path) in str(e.value)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    st.prepare("deposit", "WETH", 1, None, A)  # free again
    st.close()


def test_replays_are_idempotent(tmp_path: Path) -> None:
    with open_store(tmp_path / "w.db") as st:
        st.prepare("deposit", "WETH", 1000, None, A)
        blocks = history()
        st.apply_blocks(blocks)
        once = snapshot(st)
        st.apply_blocks(blocks)
        for b in blocks:
            st.apply_block(b)
        assert snapshot(st) == once
        assert [o.status for o in st.operations()] == ["confirmed"]


def test_fresh_store_restored_from_events_equals_the_original(tmp_path: Path) -> None:
    blocks = history()
    with open_store(tmp_path / "original.db") as orig:
        # the owner's own wallet: each new note prepared before its transaction
        for i, (note, tx) in enumerate(((A, "0xa"), (B, "0xb"), (C, "0xc"))):
            op = orig.prepare(["deposit", "borrow", "repay"][i], "WETH", 1, None, note)
            orig.mark_sent(op, tx)
        orig.apply_blocks(blocks)
        original = snapshot(orig)
    with open_store(tmp_path / "restored.db") as fresh:
        fresh.apply_blocks(blocks)
        assert snapshot(fresh) == original
        assert [n.status for n in fresh.notes()] == ["spent", "spent", "live"]
        assert fresh.notes("live")[0].opening == tuple(C)
        assert fresh.operations() == []  # intents are local; the notes are what the chain restores
    with open_store(tmp_path / "theirs.db", OTHER) as theirs:  # the other owner sees only X
        theirs.apply_blocks(blocks)
        assert [n.opening for n in theirs.notes()] == [tuple(X)]


_CHILD = """
import sys, time
from tests.test_pool_store import A, open_store
st = open_store(__import__("pathlib").Path(sys.argv[1]))
op = st.prepare("deposit", "WETH", 1000, None, A)
print("prepared", flush=True)
if sys.argv[2] == "sent":
    st.mark_sent(op, "0xa", b"signed raw transaction")
    print("sent", flush=True)
time.sleep(600)  # waiting for the receipt: killed here
"""


@pytest.mark.parametrize("stage", ["prepared", "sent"])
def test_killed_before_the_receipt_loses_nothing(tmp_path: Path, stage: str) -> None:
    """A wallet process SIGKILLed after storing the pending note (and, in one case, after
    recording the sent transaction) but before the receipt: the note is there, and the chain's
    events make it live."""
    path = tmp_path / "w.db"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    with subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(path), stage], stdout=subprocess.PIPE, text=True, env=env, cwd=REPO_ROOT
    ) as child:
        try:
            assert child.stdout is not None
            lines = [child.stdout.readline().strip() for _ in range(1 if stage == "prepared" else 2)]
            assert lines[-1] == stage
            child.send_signal(signal.SIGKILL)
        finally:
            child.kill()
            child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    with open_store(path) as st:
        (note,) = st.notes()
        assert (note.status, note.opening) == ("pending", tuple(A))
        (op,) = st.operations()
        assert op.status == stage and op.tx_hash == ("0xa" if stage == "sent" else None)
        assert op.raw_tx == (b"signed raw transaction" if stage == "sent" else None)  # can be rebroadcast
        st.apply_block(history()[0])
        assert [(n.status, n.leaf_index) for n in st.notes()] == [("live", 0)]
        assert st.operations()[0].status == "confirmed" and st.operations()[0].tx_hash == "0xa"


def test_reorg_rolls_back_and_the_new_chain_applies(tmp_path: Path) -> None:
    blocks = history()
    with open_store(tmp_path / "w.db") as st:
        op = st.prepare("repay", "WETH", 200, None, C)
        st.mark_sent(op, "0xc")
        st.apply_blocks(blocks)
        assert [n.status for n in st.notes()] == ["spent", "spent", "live"]
        # blocks 3..5 replaced: the borrow is re-mined in block 4, the repay not yet
        fork = chain([(), (spent(OWNER, A, 0, "0xb"), created(OWNER, B, 2, "0xb", 103))], start=3, fork="f")
        assert fork[0].parent_hash == h(2)  # the fork starts on block 2
        with pytest.raises(ReorgDetected) as e:
            st.apply_block(fork[0])
        assert e.value.number == 3 and st.block_hash(3) == h(3)
        on_chain = {1: h(1), 2: h(2), **{b.number: b.hash for b in fork}}
        assert st.common_ancestor(on_chain.get) == 2
        st.rollback_to(2)
        assert st.cursor() is not None and st.cursor().block == 2  # type: ignore[union-attr]
        # B (restored in block 3) is forgotten, A live again, our repay's note C pending again
        assert {n.opening: n.status for n in st.notes()} == {tuple(A): "live", tuple(C): "pending"}
        assert [(o.status, o.tx_hash) for o in st.operations()] == [("sent", "0xc")]
        st.apply_blocks(fork)
        assert {n.opening: (n.status, n.created_block) for n in st.notes()} == {
            tuple(A): ("spent", 1),
            tuple(B): ("live", 4),
            tuple(C): ("pending", None),
        }
        # a block whose parent is not the stored block is a reorg too
        with pytest.raises(ReorgDetected):
            st.apply_block(Block(5, h(5, "g"), h(4, "other"), ()))


def test_abandoned_operation_drops_its_pending_note(tmp_path: Path) -> None:
    with open_store(tmp_path / "w.db") as st:
        op = st.prepare("borrow", "USDC", 5, 123, B)
        st.mark_sent(op, "0xreverted")
        st.abandon(op)
        assert st.notes() == [] and st.operations() == []
        op = st.prepare("deposit", "WETH", 1000, None, A)
        st.apply_block(history()[0])
        with pytest.raises(StoreError, match="confirmed"):
            st.abandon(op)
        with pytest.raises(StoreError, match="already in the store"):
            st.prepare("deposit", "WETH", 1000, None, A)
        with pytest.raises(InputError, match="opening"):
            st.prepare("deposit", "WETH", 1, None, A[:6])
