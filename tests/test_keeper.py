"""The keeper (zkmargin.pool.keeper, `zkmargin keeper`).

Node-free: a keeper reads exactly the notes sealed to its key that hash to the event's commitment;
its store restores any owner's note and replays idempotently; the choice of liquidation is the
most profitable one the model accepts, none for a healthy note.

On anvil with real proofs (PrivateMarginPool deployed as `zkmargin devnet up` deploys it; every
note is sealed to the keeper key the pool was deployed with, and its proof shows it): a supplier and five borrowers of varied health,
then WETH falls 30% in one price update.
  - `keeper run --once` liquidates exactly the three failing notes (the two healthy ones and the
    supplier untouched), tokens are conserved (the liquidator pays what the pool receives, the pool
    pays what the liquidator receives), each call's amounts and the deficit's insurance and
    socialized parts equal the model's;
  - two keepers at once (two processes, two accounts, one key) liquidate each failing note exactly
    once between them;
  - a keeper SIGKILLed with its first liquidation sent but not mined, then restarted, finishes with
    no double liquidation and its database settled;
  - a reorg shallower than the confirmation depth leaves the keeper's state equal to a fresh
    keeper's; a keeper without confirmations that applied the dropped block rolls back to the same.
Each anvil test starts from the same snapshot (evm_snapshot / evm_revert) of the positions.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from eth_abi.abi import decode, encode
from eth_account import Account
from eth_hash.auto import keccak

from zkmargin import paths, solidity
from zkmargin.aave_math import RAY
from zkmargin.build import CircuitKeys
from zkmargin.cli.devnet import parse_public_key
from zkmargin.cli.main import cli
from zkmargin.errors import InputError
from zkmargin.evm import ANVIL_DEV_KEY, RpcChain, start_anvil
from zkmargin.pool import deploy
from zkmargin.pool.cipher import seal
from zkmargin.pool.deploy import config_from_json
from zkmargin.pool.keeper import KeeperStore, best_liquidation, notes_from_event
from zkmargin.pool.keys import KeeperKeys, OwnerKeys, load_keeper_keys, write_key_file
from zkmargin.pool.liquidation import LiquidationMarket, liquidate_note
from zkmargin.pool.model import PoolModel
from zkmargin.pool.note import Note, owner_tag
from zkmargin.pool.reserve import RESERVE_DATA_ABI, ReserveState
from zkmargin.pool.store import Block, NoteCreated, NullifierSpent
from zkmargin.pool.transition import PoolMarket, ReserveView
from zkmargin.pool.wallet import NULLIFIER_SPENT, Wallet
from zkmargin.settings import Settings
from zkmargin.toolchain import Toolchain

from .test_wallet import World as WalletWorld

ROOT = Path(__file__).resolve().parent.parent
E6, E18 = 10**6, 10**18
WETH_PRICE, DROPPED = 3_500 * 10**8, 2_450 * 10**8  # a 30% fall
DEFICIT_COVERED = keccak(b"DeficitCovered(address,uint256,uint256)")
LIQUIDATION = keccak(b"Liquidation(address,address,uint256,uint256,uint256,address)")

# name -> (WETH supplied, USDC borrowed); at 2450 USD: HF of F1 0.92, F2 0.73 (its collateral does
# not cover debt + bonus: a deficit), F3 0.94; H1 1.017, H2 1.63. Every value < 2000 USD: close factor 100%
FAILING = {"F1": (E18 // 2, 1_100 * E6), "F2": (E18 // 2, 1_400 * E6), "F3": (3 * E18 // 10, 650 * E6)}
HEALTHY = {"H1": (E18 // 2, 1_000 * E6), "H2": (4 * E18 // 10, 500 * E6)}


# --- node-free -------------------------------------------------------------------------------


VIEWING = OwnerKeys.generate().viewing_public


def _note(tag: int = 5, salt: int = 7) -> Note:
    return Note((E18, 0), (0, 1_000 * E6), 1, owner_tag(tag), salt, VIEWING)


def test_notes_from_event_reads_only_boxes_to_its_key_that_hash() -> None:
    keeper, other = KeeperKeys.generate(), KeeperKeys.generate()
    note = _note()
    mine = seal(note.fields(), keeper.public, 1234)
    theirs = seal(note.fields(), other.public, 99)
    lie = seal(_note(salt=8).fields(), keeper.public, 77)  # opens, but is another note
    ev = lambda *boxes: NoteCreated("0x01", 0, note.commitment, 0, tuple(boxes))  # noqa: E731
    assert notes_from_event(ev(theirs, mine), keeper, 2) == note
    assert notes_from_event(ev(theirs), keeper, 2) is None
    assert notes_from_event(ev(lie), keeper, 2) is None
    assert notes_from_event(ev(), keeper, 2) is None
    # a note of another reserve count is not one of this pool's
    three = Note((E18, 0, 0), (0, 1, 0), 1, owner_tag(5), 7, VIEWING)
    ev3 = NoteCreated("0x01", 0, three.commitment, 0, (seal(three.fields(), keeper.public, 5),))
    assert notes_from_event(ev3, keeper, 3) == three
    assert notes_from_event(ev3, keeper, 2) is None


def test_keeper_store_restores_any_owner_and_replays_idempotently(tmp_path: Path) -> None:
    keeper = KeeperKeys.generate()
    a, b = _note(tag=1), _note(tag=2, salt=9)
    events = tuple(
        NoteCreated(f"0x0{i}", i, n.commitment, i, (seal(n.fields(), keeper.public, 10 + i),))
        for i, n in enumerate((a, b))
    )
    blocks = [Block(1, "0xa1", "0xa0", events), Block(2, "0xa2", "0xa1", (NullifierSpent("0x03", 0, a.nullifier),))]
    with KeeperStore(tmp_path / "k.sqlite", keeper, 2) as store:
        store.apply_blocks(blocks)
        store.apply_blocks(blocks)  # a replay changes nothing
        assert [s.commitment for s in store.notes("live")] == [b.commitment]
        assert [s.commitment for s in store.notes("spent")] == [a.commitment]
        store.rollback_to(1)
        assert {s.commitment for s in store.notes("live")} == {a.commitment, b.commitment}


def _market(weth: int) -> LiquidationMarket:
    return LiquidationMarket(
        PoolMarket((ReserveView(weth, RAY, RAY, 18, 8050, 8300), ReserveView(10**8, RAY, RAY, 6, 7500, 7800))),
        (10500, 10450),
        (1000, 1000),
    )


def test_best_liquidation_none_when_healthy_else_the_most_profitable() -> None:
    note = Note((E18 // 2, 0), (0, 1_100 * E6), 1, owner_tag(3), 11, VIEWING)
    assert best_liquidation(note, _market(WETH_PRICE)) is None
    choice = best_liquidation(note, _market(DROPPED))
    assert choice is not None and (choice.collateral, choice.debt) == (0, 1)
    liq = liquidate_note(note, _market(DROPPED), 0, 1, 1_100 * E6)
    assert choice.liquidation == liq and choice.debt_to_cover == 1_100 * E6
    # the bonus value: 5% of what was repaid, less the protocol's 10% of it, in 8-decimal USD
    assert choice.bonus_value == liq.collateral_to_liquidator * DROPPED // E18 - liq.debt_repaid * 10**8 // E6
    assert choice.bonus_value > 0
    # two collaterals: the one paying the higher bonus (WETH 5%) is chosen over USDC (4.5%)
    both = Note((E18 // 2, 600 * E6), (0, 1_600 * E6), 3, owner_tag(3), 12, VIEWING)
    best = best_liquidation(both, _market(DROPPED))
    assert best is not None and best.collateral == 0


def test_keeper_init_and_hostile_command_lines(tmp_path: Path) -> None:
    key = tmp_path / "keeper.json"
    r = CliRunner().invoke(cli, ["keeper", "init", "--keeper-key", str(key), "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert (key.stat().st_mode & 0o777) == 0o600
    assert [str(v) for v in load_keeper_keys(key).public] == out["publicKey"]
    again = CliRunner().invoke(cli, ["keeper", "init", "--keeper-key", str(key), "--json"])
    assert again.exit_code == 2 and json.loads(again.stdout)["field"] == "keyfile"
    base = ["keeper", "run", "--keeper-key", str(key), "--db", str(tmp_path / "k.sqlite"), "--json"]
    bad = CliRunner().invoke(cli, [*base, "--recipient", "0x12"])
    assert bad.exit_code == 2 and json.loads(bad.stdout)["field"] == "--recipient"
    for share in ("2/2", "1", "a/b"):
        bad = CliRunner().invoke(cli, [*base, "--share", share])
        assert bad.exit_code == 2 and json.loads(bad.stdout)["field"] == "--share"
    # a pool's keeper key (devnet up/deploy --keeper-public-key) must be a point of the prime-order subgroup
    assert parse_public_key(",".join(out["publicKey"])) == load_keeper_keys(key).public
    for text in ("1,2", "x,y", "0,1"):
        with pytest.raises(InputError) as e:
            parse_public_key(text)
        assert e.value.field == "--keeper-public-key"


# --- on anvil --------------------------------------------------------------------------------


def _config() -> Any:
    raw = json.loads((paths.FIXTURES_DIR / "devnet.json").read_text())
    raw["name"] = "keeper tests"
    return config_from_json(raw)


@dataclass
class World(WalletWorld):
    """The wallet tests' anvil world (rpc, funded accounts, token balances) with a keeper key
    and the positions the keepers are run against."""

    tc: Toolchain
    keeper_file: Path
    keeper: KeeperKeys
    notes: dict[str, Note] = field(default_factory=dict)
    snapshot: str = ""

    def position(self, name: str, key: str, weth: int, usdc_debt: int) -> Note:
        with Wallet(
            self.tmp / "owners" / name,
            RpcChain(self.url, key),
            self.deployment,
            keys=OwnerKeys.generate(),
            settings=Settings(toolchain=self.tc),
        ) as w:
            if weth:
                w.operate("deposit", "WETH", weth)
            if usdc_debt:
                w.operate("borrow", "USDC", usdc_debt, recipient="0x000000000000000000000000000000000000bEEF")
            ((_, note),) = w.live_notes()
        return note

    def reset(self) -> None:
        """Back to the positions before any price fall (a snapshot is used up by its revert)."""
        assert self.rpc("evm_revert", self.snapshot) is True
        self.snapshot = self.rpc("evm_snapshot")
        deploy.refresh_prices(self.chain, self.deployment)  # fresh rounds after the clock moved on

    def call(self, to: str, sig: str, types: list[str], args: list[Any], out: str, block: str = "latest") -> Any:
        return decode([out], self.chain.call(to, keccak(sig.encode())[:4] + encode(types, args), block))[0]

    def spent(self, note: Note) -> bool:
        return bool(self.call(self.deployment.pool, "nullifierSpent(uint256)", ["uint256"], [note.nullifier], "bool"))

    def keeper_args(self, key: str, db: Path, *extra: str) -> list[str]:
        return [
            "keeper",
            "run",
            "--rpc-url",
            self.url,
            "--deployment",
            str(self.file),
            "--private-key",
            key,
            "--keeper-key",
            str(self.keeper_file),
            "--db",
            str(db),
            "--json",
            "-q",
            *extra,
        ]

    def run_keeper(self, key: str, db: Path, *extra: str) -> list[dict[str, Any]]:
        r = CliRunner().invoke(cli, self.keeper_args(key, db, "--once", *extra), catch_exceptions=False)
        assert r.exit_code == 0, r.output
        return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]

    def spawn_keeper(self, key: str, db: Path, log: Path, *extra: str) -> subprocess.Popen[bytes]:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        argv = [sys.executable, "-m", "zkmargin.cli.main", *self.keeper_args(key, db, *extra)]
        with log.open("wb") as out:
            return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)

    def approve(self, key: str, symbol: str) -> None:
        data = keccak(b"approve(address,uint256)")[:4] + encode(
            ["address", "uint256"], [self.deployment.pool, 2**256 - 1]
        )
        RpcChain(self.url, key).transact(self.deployment.asset(symbol).token, data)

    def nullifiers_spent_since(self, block: int) -> list[int]:
        logs = self.rpc(
            "eth_getLogs",
            {
                "address": self.deployment.pool,
                "fromBlock": hex(block),
                "toBlock": "latest",
                "topics": ["0x" + NULLIFIER_SPENT.hex()],
            },
        )
        return [int(g["topics"][1], 16) for g in logs]


@pytest.fixture(scope="module")
def world(
    keys: Callable[[str], CircuitKeys], tc: Toolchain, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    for circuit in ("pool_open_2", "pool_transition_2", "pool_liquidation_2"):
        keys(circuit)
    tmp = tmp_path_factory.mktemp("keeper")
    with start_anvil(tc) as url:
        chain = RpcChain(url, ANVIL_DEV_KEY)
        keeper = KeeperKeys.generate()
        write_key_file(tmp / "keeper.json", keeper)
        d, _ = deploy.deploy_to_file(
            chain,
            _config(),
            lambda: solidity.compile_reference_contracts(tc),
            tmp / "deployment.json",
            settings=Settings(toolchain=tc),
            keeper_key=keeper.public,
        )
        w = World(url, chain, d, tmp / "deployment.json", tmp, tc, tmp / "keeper.json", keeper)
        owner = w.account()
        w.notes["supplier"] = _supply(w, owner)
        for name, (weth, debt) in {**FAILING, **HEALTHY}.items():
            w.notes[name] = w.position(name, owner, weth, debt)
        w.snapshot = w.rpc("evm_snapshot")
        yield w


def _supply(w: World, key: str) -> Note:
    with Wallet(
        w.tmp / "owners" / "supplier",
        RpcChain(w.url, key),
        w.deployment,
        keys=OwnerKeys.generate(),
        settings=Settings(toolchain=w.tc),
    ) as wallet:
        wallet.operate("deposit", "USDC", 100_000 * E6)
        ((_, note),) = wallet.live_notes()
    return note


def _liquidations(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["event"] == "liquidation"]


def _reserve_states(w: World, block: int) -> list[ReserveState]:
    out = []
    for a in w.deployment.assets:
        raw = w.call(w.deployment.pool, "getReserveData(address)", ["address"], [a.token], RESERVE_DATA_ABI, hex(block))
        out.append(ReserveState.from_reserve_data(raw))
    return out


def _check_against_model(w: World, event: dict[str, Any], note: Note) -> None:
    """The liquidation's amounts and its DeficitCovered events equal PoolModel.liquidate's, run on
    the reserves as they stood in the block before, at the liquidation block's timestamp."""
    receipt = w.rpc("eth_getTransactionReceipt", event["txHash"])
    block = int(receipt["blockNumber"], 16)
    ts = int(w.rpc("eth_getBlockByNumber", hex(block), False)["timestamp"], 16)
    prices = [
        int(w.call(w.deployment.pool, "getAssetPrice(address)", ["address"], [a.token], "uint256", hex(block - 1)))
        for a in w.deployment.assets
    ]
    model = PoolModel.listed(_reserve_states(w, block - 1), prices)
    model.notes[note.commitment] = note
    symbols = [a.symbol for a in w.deployment.assets]
    c, d = symbols.index(event["collateralAsset"]), symbols.index(event["debtAsset"])
    liq = liquidate_note(note, model.liquidation_market(ts), c, d, int(event["debtToCover"]))
    assert (str(liq.debt_repaid), str(liq.collateral_to_liquidator), str(liq.protocol_fee)) == (
        event["debtRepaid"],
        event["collateralToLiquidator"],
        event["protocolFee"],
    )
    covers = model.liquidate(liq, c, d, ts)
    on_chain = {}
    for g in receipt["logs"]:
        if bytes.fromhex(g["topics"][0][2:]) == DEFICIT_COVERED:
            asset = "0x" + g["topics"][1][-40:]
            insured, socialized = decode(["uint256", "uint256"], bytes.fromhex(g["data"][2:]))
            on_chain[[a.token.lower() for a in w.deployment.assets].index(asset.lower())] = (insured, socialized)
    assert on_chain == {i: (cv.from_insurance, cv.socialized) for i, cv in covers.items()}
    assert [str(x) for x in liq.deficit] == event["deficit"]


def test_once_liquidates_exactly_the_failing_notes(world: World) -> None:
    w = world
    w.reset()
    key = w.account()
    me = Account.from_key(key).address
    before = {(s, who): w.balance(s, who) for s in ("WETH", "USDC") for who in (me, w.deployment.pool)}
    drop_block = int(w.rpc("eth_blockNumber"), 16) + 1
    deploy.set_price(w.chain, w.deployment, "WETH", DROPPED)
    events = w.run_keeper(key, w.tmp / "once.sqlite", "--confirmations", "1")
    done = _liquidations(events)
    by_note = {int(e["note"]): e for e in done}
    failing = {w.notes[n].commitment for n in FAILING}
    assert set(by_note) == failing and len(done) == len(failing)
    for name in FAILING:
        assert w.spent(w.notes[name])
    for name in (*HEALTHY, "supplier"):
        assert not w.spent(w.notes[name])
    assert sorted(w.nullifiers_spent_since(drop_block)) == sorted(w.notes[n].nullifier for n in FAILING)
    # most profitable first
    values = [int(e["bonusValue"]) for e in done]
    assert values == sorted(values, reverse=True)
    # tokens: the liquidator pays exactly what the pool receives, and the reverse for collateral
    repaid = sum(int(e["debtRepaid"]) for e in done)
    seized = sum(int(e["collateralToLiquidator"]) for e in done)
    assert w.balance("USDC", me) == before["USDC", me] - repaid
    assert w.balance("USDC", w.deployment.pool) == before["USDC", w.deployment.pool] + repaid
    assert w.balance("WETH", me) == before["WETH", me] + seized
    assert w.balance("WETH", w.deployment.pool) == before["WETH", w.deployment.pool] - seized
    deficits = [e for e in done if any(int(x) for x in e["deficit"])]
    assert [int(e["note"]) for e in deficits] == [w.notes["F2"].commitment]
    for e in done:
        _check_against_model(w, e, next(n for n in w.notes.values() if n.commitment == int(e["note"])))
    # status events carry the counts; a second run finds nothing left
    status = [e for e in events if e["event"] == "status"]
    assert status[0]["liquidatable"] == 3 and status[0]["tracked"] == 1 + len(FAILING) + len(HEALTHY)
    again = w.run_keeper(key, w.tmp / "once.sqlite", "--confirmations", "0")
    assert _liquidations(again) == []
    assert [e for e in again if e["event"] == "pass"][-1]["inFlight"] == 0


def test_a_key_the_pool_does_not_seal_to_is_refused(world: World) -> None:
    w = world
    other = w.tmp / "other-keeper.json"
    write_key_file(other, KeeperKeys.generate())
    args = w.keeper_args(w.account(), w.tmp / "other.sqlite", "--once")
    args[args.index("--keeper-key") + 1] = str(other)
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 2, r.output
    out = json.loads(r.stdout)
    assert out["field"] == "--keeper-key" and "seals notes to keeper key" in out["error"]


def test_two_keepers_liquidate_each_failing_note_once(world: World) -> None:
    w = world
    w.reset()
    keys = [w.account(), w.account()]
    drop_block = int(w.rpc("eth_blockNumber"), 16) + 1
    deploy.set_price(w.chain, w.deployment, "WETH", DROPPED)
    procs = [
        w.spawn_keeper(k, w.tmp / f"two-{i}.sqlite", w.tmp / f"two-{i}.log", "--once", "--share", f"{i}/2")
        for i, k in enumerate(keys)
    ]
    for p in procs:
        assert p.wait(timeout=600) == 0
    done = []
    for i in range(2):
        lines = (w.tmp / f"two-{i}.log").read_text().splitlines()
        done += _liquidations([json.loads(x) for x in lines if x.startswith("{")])
    assert sorted(int(e["note"]) for e in done) == sorted(w.notes[n].commitment for n in FAILING)
    assert sorted(w.nullifiers_spent_since(drop_block)) == sorted(w.notes[n].nullifier for n in FAILING)
    for name in (*HEALTHY, "supplier"):
        assert not w.spent(w.notes[name])


def test_killed_keeper_restarts_without_double_liquidation(world: World) -> None:
    w = world
    w.reset()
    key = w.account()
    for symbol in ("WETH", "USDC"):  # so that with mining stopped, the keeper's one transaction is a liquidation
        w.approve(key, symbol)
    drop_block = int(w.rpc("eth_blockNumber"), 16) + 1
    deploy.set_price(w.chain, w.deployment, "WETH", DROPPED)
    db = w.tmp / "killed.sqlite"
    w.rpc("evm_setAutomine", False)
    try:
        proc = w.spawn_keeper(key, db, w.tmp / "killed.log", "--once", "--receipt-timeout", "600")
        tx = None
        deadline = time.monotonic() + 300
        while tx is None:
            assert proc.poll() is None, (w.tmp / "killed.log").read_text()
            assert time.monotonic() < deadline, "the keeper never sent a liquidation"
            if db.exists():
                con = sqlite3.connect(db)
                try:
                    row = con.execute("SELECT tx_hash FROM operations WHERE status = 'sent'").fetchone()
                except sqlite3.OperationalError:
                    row = None  # the schema is still being created
                con.close()
                if row is not None and w.rpc("eth_getTransactionByHash", row[0]) is not None:
                    tx = row[0]
            time.sleep(0.2)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        w.rpc("evm_mine")
    finally:
        w.rpc("evm_setAutomine", True)
    receipt = w.rpc("eth_getTransactionReceipt", tx)
    assert receipt is not None and int(receipt["status"], 16) == 1
    events = w.run_keeper(key, db, "--confirmations", "1")
    done = _liquidations(events)
    assert len(done) == len(FAILING) - 1  # the killed run's one is not made again
    spent = w.nullifiers_spent_since(drop_block)
    assert sorted(spent) == sorted(w.notes[n].nullifier for n in FAILING)  # each exactly once
    for name in (*HEALTHY, "supplier"):
        assert not w.spent(w.notes[name])
    for _ in range(2):
        w.rpc("evm_mine")
    settled = w.run_keeper(key, db, "--confirmations", "1")
    assert _liquidations(settled) == []
    con = sqlite3.connect(db)
    assert con.execute("SELECT status, count(*) FROM operations GROUP BY status").fetchall() == [
        ("confirmed", len(FAILING))
    ]
    con.close()


def _state(db: Path) -> tuple[list[tuple[str, str]], list[tuple[str, int]]]:
    con = sqlite3.connect(db)
    try:
        notes = con.execute("SELECT commitment, status FROM notes ORDER BY commitment").fetchall()
        blocks = con.execute("SELECT hash, number FROM blocks ORDER BY number").fetchall()
    finally:
        con.close()
    return notes, blocks


def test_reorg_shallower_than_confirmations_does_not_corrupt(world: World) -> None:
    w = world
    w.reset()
    key = w.account()
    deep, shallow = w.tmp / "reorg-k0.sqlite", w.tmp / "reorg-k3.sqlite"
    w.run_keeper(key, deep, "--confirmations", "0")
    w.run_keeper(key, shallow, "--confirmations", "3")
    snap = w.rpc("evm_snapshot")
    dropped = w.position("dropped", w.account(), E18 // 10, 0)  # a note in a block the reorg drops
    w.rpc("evm_mine")
    w.run_keeper(key, deep, "--confirmations", "0")  # applies the dropped note
    w.run_keeper(key, shallow, "--confirmations", "3")  # does not yet: fewer than 3 blocks on top
    assert dropped.commitment in {int(c) for c, _ in _state(deep)[0]}
    assert dropped.commitment not in {int(c) for c, _ in _state(shallow)[0]}
    assert w.rpc("evm_revert", snap) is True
    for _ in range(6):  # another chain, longer than the dropped one
        w.rpc("evm_mine")
    w.run_keeper(key, deep, "--confirmations", "0")
    w.run_keeper(key, shallow, "--confirmations", "3")
    fresh = w.tmp / "reorg-fresh.sqlite"
    w.run_keeper(key, fresh, "--confirmations", "3")
    notes, blocks = _state(shallow)
    assert notes == _state(fresh)[0] and dropped.commitment not in {int(c) for c, _ in notes}
    assert _state(deep)[0] == notes  # rolled back to the fork point, then the new chain
    for h, n in blocks[-5:]:
        assert w.rpc("eth_getBlockByNumber", hex(n), False)["hash"] == h
