"""The owner's wallet (zkmargin.pool.wallet, `zkmargin wallet`).

Node-free: the note codec refuses other owners' openings, encryptedOpening round-trips and
garbage decodes to nothing, the liquidation price and the uniform drop are exact on both sides
(HF < 1 at the reported price, >= 1 one unit above), hostile command lines exit 2 naming the field.

On anvil with real proofs (PrivateMarginPool deployed from the devnet's config by
zkmargin.pool.deploy, as `zkmargin devnet up` deploys it): init, open + deposit, borrow, 30 days, show (balances
and HF equal the model's at the chain's indexes), repay, withdraw; a wallet restored from the
chain with its keys alone on a fresh database shows the same notes; two owners on one pool do not
see each other's notes; a wallet process killed (SIGKILL) between sending and the receipt loses
nothing: the next sync makes the note live.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from eth_abi.abi import decode, encode
from eth_account import Account
from eth_hash.auto import keccak

from zkmargin import paths, solidity
from zkmargin.aave_math import RAY, atoken_balance, vtoken_balance
from zkmargin.build import CircuitKeys
from zkmargin.cli.main import cli
from zkmargin.evm import ANVIL_DEV_KEY, RpcChain, start_anvil
from zkmargin.limits import WAD
from zkmargin.pool import deploy
from zkmargin.pool.cipher import seal
from zkmargin.pool.deploy import DEV_KEEPER, AssetDeployment, Deployment, config_from_json
from zkmargin.pool.keys import OwnerKeys, load_owner_keys
from zkmargin.pool.note import Note, owner_tag
from zkmargin.pool.sealing import seal_note
from zkmargin.pool.transition import PoolMarket, ReserveView, account_data
from zkmargin.pool.wallet import (
    Wallet,
    WalletCodec,
    WalletError,
    decode_boxes,
    encode_boxes,
    liquidatable,
    liquidation_price,
    uniform_drop,
)
from zkmargin.settings import Settings
from zkmargin.toolchain import Toolchain

ROOT = Path(__file__).resolve().parent.parent
E6, E18 = 10**6, 10**18
DAY = 86_400
VIEW = OwnerKeys(b"\x07" * 32).viewing_public


# --- node-free -----------------------------------------------------------------------------


def test_codec_restores_only_this_owners_valid_notes() -> None:
    mine, theirs = owner_tag(11), owner_tag(12)
    codec = WalletCodec(2, mine)
    note = Note((5, 0), (0, 3), 1, mine, 99, VIEW)
    assert codec.length == len(note.fields()) == 9
    assert codec.commitment(note.fields()) == note.commitment
    assert codec.note(note.fields()) == note
    assert codec.nullifier(note.fields(), 0) == note.nullifier
    other = Note((5, 0), (0, 3), 1, theirs, 99, VIEW)
    assert codec.commitment(other.fields()) == -1  # sealed to our key by someone else: not ours
    bad = note.fields()
    bad[3] = 2**128  # past the balance width: not a note at all
    assert codec.commitment(bad) == -1
    assert codec.commitment(note.fields()[:7]) == -1  # a v1 opening (no viewing key): not a note of this pool


def test_encrypted_opening_round_trip_and_garbage() -> None:
    keys = OwnerKeys.generate()
    box = seal([1, 2, 3, 4, 5, 6, 7], keys.viewing_public, 12345)
    assert decode_boxes(encode_boxes([box])) == (box,)
    assert decode_boxes(encode_boxes([box, box]))[1] == box
    # every blob the pool emits for an N = 2 note (owner's box and keeper's) has one length
    sealed = [
        seal_note(Note((v, 0), (0, v), 1, 5, 6, OwnerKeys.generate().viewing_public), [DEV_KEEPER.public])[0]
        for v in (0, 2**127)
    ]
    assert len(encode_boxes(sealed[0].boxes())) == len(encode_boxes(sealed[1].boxes())) == 1088
    for junk in (b"", b"\x00" * 31, b"\xff" * 64, encode(["uint256"], [2**200]), os.urandom(300)):
        assert decode_boxes(junk) == ()


def _market(prices: tuple[int, int]) -> PoolMarket:
    # reserve 0: 18 decimals, LT 83%; reserve 1: 6 decimals, LT 78%
    return PoolMarket(
        (
            ReserveView(prices[0], RAY + RAY // 7, RAY + RAY // 5, 18, 8050, 8300),
            ReserveView(prices[1], RAY + 3, RAY + RAY // 11, 6, 7500, 7800),
        )
    )


def test_liquidation_price_and_uniform_drop_are_exact_boundaries() -> None:
    note = Note((10 * E18, 0), (0, 15_000 * E6), 1, owner_tag(5), 7, VIEW)
    market = _market((3_500 * 10**8, 10**8))
    assert not liquidatable(note, market)
    p = liquidation_price(note, market, 0)
    assert p is not None and p < market.reserves[0].price
    at = PoolMarket((ReserveView(p, *_rest(market.reserves[0])), market.reserves[1]))
    above = PoolMarket((ReserveView(p + 1, *_rest(market.reserves[0])), market.reserves[1]))
    assert liquidatable(note, at) and not liquidatable(note, above)
    d = uniform_drop(note, market, {0})
    assert d is not None and 0 < d < 1_000_000
    # with one collateral asset the uniform drop is that asset's drop, to the ppm
    keep = lambda ppm: PoolMarket(  # noqa: E731
        (ReserveView(market.reserves[0].price * ppm // 10**6, *_rest(market.reserves[0])), market.reserves[1])
    )
    assert liquidatable(note, keep(10**6 - d)) and not liquidatable(note, keep(10**6 - d + 1))
    # the debt asset's price going down never liquidates; no debt: nothing to report
    assert liquidation_price(note, market, 1) is None
    assert uniform_drop(Note((E18, 0), (0, 0), 1, owner_tag(5), 7, VIEW), market, {0}) is None
    # already below 1: a drop of 0, at the current price
    poor = _market((1_500 * 10**8, 10**8))
    assert liquidatable(note, poor) and uniform_drop(note, poor, {0}) == 0
    assert liquidation_price(note, poor, 0) == poor.reserves[0].price


def _rest(r: ReserveView) -> tuple[int, int, int, int, int]:
    return r.liquidity_index, r.variable_borrow_index, r.decimals, r.ltv, r.liquidation_threshold


def _invoke(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_init_writes_a_private_key_file_and_refuses_to_overwrite(tmp_path: Path) -> None:
    d = tmp_path / "w"
    r = _invoke("wallet", "init", "--wallet-dir", str(d), "--devnet-dir", str(tmp_path / "nodevnet"), "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["database"] is None and (d / "keys.json").stat().st_mode & 0o777 == 0o600
    before = (d / "keys.json").read_bytes()
    load_owner_keys(d / "keys.json")
    r = _invoke("wallet", "init", "--wallet-dir", str(d), "--devnet-dir", str(tmp_path / "nodevnet"), "--json")
    assert r.exit_code == 2 and json.loads(r.stdout)["field"] == "keyfile"
    assert (d / "keys.json").read_bytes() == before


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["deposit", "WETH", "1.5.5"], "AMOUNT"),
        (["deposit", "WETH", "1e5"], "AMOUNT"),
        (["deposit", "WETH", "0"], "AMOUNT"),
        (["deposit", "USDC", "1.0000001"], "AMOUNT"),
        (["deposit", "WETH", "9" * 40], "AMOUNT"),
        (["deposit", "DOGE", "1"], "ASSET"),
        (["borrow", "WETH", "1", "--to", "0x1234"], "--to"),
        (["withdraw", "WETH", "1", "--note", "abc"], "--note"),
        (["sync", "--private-key", "0xzz"], "--private-key"),
    ],
)
def test_hostile_command_lines_exit_2_naming_the_field(tmp_path: Path, args: list[str], field: str) -> None:
    dep = tmp_path / "deployment.json"
    dep.write_text(json.dumps(_fake_deployment().to_json()))
    # a node that does not exist: every refusal here comes before any RPC call, or is the RPC's own
    cmd = ["wallet", *args, "--deployment", str(dep), "--rpc-url", "http://127.0.0.1:9", "--rpc-timeout", "1"]
    cmd += ["--wallet-dir", str(tmp_path / "w"), "--json"]
    r = _invoke(*cmd)
    assert r.exit_code == 2, r.output
    out = json.loads(r.stdout)
    assert out["field"] == field, out
    assert "Traceback" not in r.output


@pytest.mark.parametrize("command", [["init"], ["show"], ["deposit", "WETH", "1"]])
def test_a_deployment_without_the_private_pool_is_refused(tmp_path: Path, command: list[str]) -> None:
    dep = tmp_path / "deployment.json"
    doc = _fake_deployment().to_json()
    doc["pool"]["contract"] = "LiquidationVerifierRegistry"
    dep.write_text(json.dumps(doc))
    extra = [] if command == ["init"] else ["--rpc-url", "http://127.0.0.1:9", "--rpc-timeout", "1"]
    r = _invoke("wallet", *command, "--deployment", str(dep), *extra, "--wallet-dir", str(tmp_path / "w"), "--json")
    assert r.exit_code == 2 and json.loads(r.stdout)["field"] == "--deployment", r.output
    assert "PrivateMarginPool" in json.loads(r.stdout)["error"]
    assert not (tmp_path / "w" / "keys.json").exists()


def test_unreachable_node_is_exit_2_on_rpc_url(tmp_path: Path) -> None:
    dep = tmp_path / "deployment.json"
    dep.write_text(json.dumps(_fake_deployment().to_json()))
    r = _invoke(
        "wallet", "show", "--deployment", str(dep), "--rpc-url", "http://127.0.0.1:9", "--rpc-timeout", "1", "--json"
    )
    assert r.exit_code == 2 and json.loads(r.stdout)["field"] == "--rpc-url"


def _config() -> Any:
    raw = json.loads((paths.FIXTURES_DIR / "devnet.json").read_text())
    raw["name"] = "wallet tests"
    return config_from_json(raw)


def _fake_deployment() -> Deployment:
    config = _config()
    a = "0x" + "11" * 20
    return Deployment(
        31337,
        "PrivateMarginPool",
        a,
        a,
        1,
        tuple(AssetDeployment(c.symbol, a, a) for c in config.assets),
        None,
        config,
    )


# --- on anvil ------------------------------------------------------------------------------


@dataclass
class World:
    url: str
    chain: RpcChain
    deployment: Deployment
    file: Path
    tmp: Path

    def rpc(self, method: str, *params: object) -> Any:
        return self.chain.request(method, *params)

    def account(self) -> str:
        """A fresh funded account's key: ETH for gas and the faucet's tokens."""
        acct = Account.create()
        self.rpc("anvil_setBalance", acct.address, hex(10**22))
        deploy.mint(self.chain, self.deployment, acct.address)
        return "0x" + bytes(acct.key).hex()

    def warp(self, seconds: int) -> None:
        self.rpc("evm_increaseTime", seconds)
        self.rpc("evm_mine")
        deploy.refresh_prices(self.chain, self.deployment)

    def wallet(self, directory: Path, key: str, *args: str) -> Any:
        r = _invoke(
            "wallet",
            *args,
            "--wallet-dir",
            str(directory),
            "--rpc-url",
            self.url,
            "--deployment",
            str(self.file),
            "--private-key",
            key,
            "--json",
            "-q",
        )
        assert r.exit_code == 0, r.output
        return json.loads(r.stdout)

    def balance(self, symbol: str, who: str) -> int:
        data = keccak(b"balanceOf(address)")[:4] + encode(["address"], [who])
        return int(decode(["uint256"], self.chain.call(self.deployment.asset(symbol).token, data))[0])

    def market_now(self) -> PoolMarket:
        """The chain's own views (getReserveNormalized*, getAssetPrice) at the latest block: what
        `show` must agree with, computed without the wallet's reserve model."""
        pool = self.deployment.pool
        views = []
        for a, c in zip(self.deployment.assets, self.deployment.config.assets, strict=True):

            def u(sig: str, token: str = a.token) -> int:
                data = keccak(sig.encode())[:4] + encode(["address"], [token])
                return int(decode(["uint256"], self.chain.call(pool, data))[0])

            views.append(
                ReserveView(
                    u("getAssetPrice(address)"),
                    u("getReserveNormalizedIncome(address)"),
                    u("getReserveNormalizedVariableDebt(address)"),
                    c.decimals,
                    c.risk.ltv,
                    c.risk.liquidation_threshold,
                )
            )
        return PoolMarket(tuple(views))


@pytest.fixture(scope="module")
def world(
    keys: Callable[[str], CircuitKeys], tc: Toolchain, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    keys("pool_open_2")
    keys("pool_transition_2")
    tmp = tmp_path_factory.mktemp("wallet")
    with start_anvil(tc) as url:
        chain = RpcChain(url, ANVIL_DEV_KEY)
        # the devnet's own deployment path: tokens, feeds and PrivateMarginPool from the config
        d, deployed_now = deploy.deploy_to_file(
            chain,
            _config(),
            lambda: solidity.compile_reference_contracts(tc),
            tmp / "deployment.json",
            settings=Settings(toolchain=tc),
        )
        assert deployed_now and d.pool_contract == "PrivateMarginPool"
        f = tmp / "deployment.json"
        assert deploy.load_deployment(f) == d
        yield World(url, chain, d, f, tmp)


def _notes(shown: dict[str, Any]) -> dict[str, Any]:
    return {n["commitment"]: n for n in shown["notes"]}


def test_wallet_lifecycle_restore_and_two_owners(world: World) -> None:
    w = world
    alice, bob = w.account(), w.account()
    alice_addr, bob_addr = Account.from_key(alice).address, Account.from_key(bob).address
    da, db = w.tmp / "alice", w.tmp / "bob"
    for d in (da, db):
        r = _invoke("wallet", "init", "--wallet-dir", str(d), "--deployment", str(w.file), "--json")
        assert r.exit_code == 0, r.output
        assert Path(json.loads(r.stdout)["database"]).exists()

    # bob supplies the USDC alice borrows; alice opens with WETH then adds to the same note
    opened = w.wallet(db, bob, "deposit", "USDC", "100000")
    assert opened["kind"] == "open" and opened["spentNote"] is None
    first = w.wallet(da, alice, "deposit", "WETH", "10")
    assert first["kind"] == "open"
    weth0 = w.balance("WETH", alice_addr)
    second = w.wallet(da, alice, "deposit", "WETH", "2.5")
    assert second["kind"] == "deposit" and second["spentNote"] == first["newNote"]
    assert w.balance("WETH", alice_addr) == weth0 - 25 * E18 // 10

    fresh = Account.create().address  # a fresh recipient, as the privacy notes advise
    borrowed = w.wallet(da, alice, "borrow", "USDC", "20000", "--to", fresh)
    assert borrowed["recipient"] == fresh and w.balance("USDC", fresh) == 20_000 * E6

    w.warp(30 * DAY)
    shown = w.wallet(da, alice, "show")
    assert len(shown["notes"]) == 1
    n = shown["notes"][0]
    assert n["commitment"] == borrowed["newNote"] and n["status"] == "live"
    # the model's HF and balances at the chain's own index views, for the note the wallet holds
    keys_a = load_owner_keys(da / "keys.json")
    con = sqlite3.connect(next(da.glob("notes-*.sqlite")))
    (opening,) = con.execute("SELECT opening FROM notes WHERE commitment = ?", (n["commitment"],)).fetchone()
    con.close()
    note = WalletCodec(2, owner_tag(keys_a.spending_key)).note([int(v) for v in json.loads(opening)])
    market = w.market_now()
    acct = account_data(note, market)
    assert int(n["healthFactor"]) == acct.health.health_factor
    assert acct.health.health_factor > WAD
    assert n["assets"][0]["supplied"] == str(
        atoken_balance(note.scaled_collateral[0], market.reserves[0].liquidity_index)
    )
    debt = vtoken_balance(note.scaled_debt[1], market.reserves[1].variable_borrow_index)
    assert n["assets"][1]["borrowed"] == str(debt) and debt > 20_000 * E6  # interest accrued
    assert n["assets"][0]["liquidationPrice"] is not None and 0 < n["uniformCollateralDropPpm"] < 10**6

    repaid = w.wallet(da, alice, "repay", "USDC", "5000")
    assert repaid["kind"] == "repay"
    withdrawn = w.wallet(da, alice, "withdraw", "WETH", "1", "--to", fresh)
    assert w.balance("WETH", fresh) == E18
    after = _notes(w.wallet(da, alice, "show"))
    assert list(after) == [withdrawn["newNote"]]

    # restored from the chain with the keys alone, on a fresh database
    restored = w.tmp / "alice-restored"
    restored.mkdir()
    shutil.copy2(da / "keys.json", restored / "keys.json")
    sync = w.wallet(restored, alice, "sync")
    assert sync["liveNotes"] == 1
    assert _notes(w.wallet(restored, alice, "show")) == _notes(w.wallet(da, alice, "show"))

    # two owners on one pool: each sees its own notes only
    bob_notes = _notes(w.wallet(db, bob, "show"))
    assert list(bob_notes) == [opened["newNote"]]
    assert not set(bob_notes) & set(after)
    con = sqlite3.connect(next(db.glob("notes-*.sqlite")))
    held = {r[0] for r in con.execute("SELECT commitment FROM notes")}
    con.close()
    assert held == {opened["newNote"]}
    del bob_addr


@pytest.mark.parametrize("node_lost_it", [False, True], ids=["mined-later", "dropped-then-rebroadcast"])
def test_kill_between_send_and_receipt_then_sync_reconciles(world: World, node_lost_it: bool) -> None:
    """SIGKILL while the wallet waits for the receipt (mining stopped). Then either the node mines
    the transaction, or it lost it (anvil_dropTransaction, as a restarted node would): sync
    rebroadcasts the very bytes the store kept, and the note becomes live."""
    w = world
    key = w.account()
    d = w.tmp / f"carol-{node_lost_it}"
    assert _invoke("wallet", "init", "--wallet-dir", str(d), "--deployment", str(w.file)).exit_code == 0
    first = w.wallet(d, key, "deposit", "WETH", "3")
    # the deposit's approval is done now, so that with mining stopped the wallet's one transaction
    # is the pool call itself
    approve = keccak(b"approve(address,uint256)")[:4] + encode(["address", "uint256"], [w.deployment.pool, 2**255])
    RpcChain(w.url, key).transact(w.deployment.asset("WETH").token, approve)
    w.rpc("evm_setAutomine", False)
    try:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        argv = [sys.executable, "-m", "zkmargin.cli.main", "wallet", "deposit", "WETH", "1", "--wallet-dir", str(d)]
        argv += ["--rpc-url", w.url, "--deployment", str(w.file), "--private-key", key, "--receipt-timeout", "600"]
        log = (d / "wallet.log").open("wb")
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        db = next(d.glob("notes-*.sqlite"))
        tx = None
        deadline = time.monotonic() + 300
        while tx is None:
            assert proc.poll() is None, (d / "wallet.log").read_text()
            assert time.monotonic() < deadline, "the wallet never sent its transaction"
            con = sqlite3.connect(db)
            row = con.execute("SELECT tx_hash FROM operations WHERE status = 'sent'").fetchone()
            con.close()
            if row is not None and w.rpc("eth_getTransactionByHash", row[0]) is not None:
                tx = row[0]  # recorded and broadcast, waiting for a receipt that cannot come
            time.sleep(0.2)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL
        con = sqlite3.connect(db)
        assert con.execute("SELECT status FROM notes WHERE status = 'pending'").fetchall() == [("pending",)]
        con.close()
        if node_lost_it:
            w.rpc("anvil_dropTransaction", tx)
            assert w.rpc("eth_getTransactionByHash", tx) is None
    finally:
        w.rpc("evm_setAutomine", True)
    if node_lost_it:
        synced = w.wallet(d, key, "sync")  # rebroadcasts; automine mines it at the pinned time
        assert synced["rebroadcast"] == 1 and synced["pending"] == [tx]
    else:
        w.rpc("evm_mine")
    deadline = time.monotonic() + 30
    while (receipt := w.rpc("eth_getTransactionReceipt", tx)) is None and time.monotonic() < deadline:
        time.sleep(0.1)  # anvil mines an automined transaction just after accepting it
    assert receipt is not None and int(receipt["status"], 16) == 1
    synced = w.wallet(d, key, "sync")
    assert synced["pending"] == [] and synced["liveNotes"] == 1
    notes = w.wallet(d, key, "show")["notes"]
    assert len(notes) == 1 and notes[0]["commitment"] != first["newNote"]
    assert int(notes[0]["assets"][0]["supplied"]) >= 4 * E18 - 1


def _signed(w: World, key: str, to: str, data: bytes, nonce: int) -> tuple[str, bytes]:
    tx = {"to": to, "data": data, "value": 0, "gas": 300_000, "gasPrice": 10**10, "nonce": nonce, "chainId": 31337}
    s = Account.from_key(key).sign_transaction(tx)
    return "0x" + bytes(s.hash).hex(), bytes(s.raw_transaction)


def test_sync_settles_operations_that_never_landed(world: World) -> None:
    """Three crashes the events cannot settle: before signing (prepared: nothing left the
    machine), after signing but before broadcasting while another transaction took the nonce, and
    a transaction mined but reverted. Sync abandons each, dropping its pending note."""
    w = world
    key = w.account()
    addr = Account.from_key(key).address
    d = w.tmp / "dave"
    assert _invoke("wallet", "init", "--wallet-dir", str(d), "--deployment", str(w.file)).exit_code == 0
    keys_d = load_owner_keys(d / "keys.json")
    chain = RpcChain(w.url, key)
    with Wallet(d, chain, w.deployment) as wallet:
        tag = owner_tag(keys_d.spending_key)
        notes = [Note((i + 1, 0), (0, 0), 1, tag, 1000 + i, keys_d.viewing_public) for i in range(3)]
        ops = [wallet.store.prepare("deposit", "WETH", 1, None, n.fields()) for n in notes]
        nonce = int(str(w.rpc("eth_getTransactionCount", addr, "latest")), 16)
        # ops[1]: signed at `nonce`, never broadcast; another transaction then takes that nonce
        h1, raw1 = _signed(w, key, w.deployment.pool, b"\x00\x00\x00\x01", nonce)
        wallet.store.mark_sent(ops[1], h1, raw1)
        chain.transact(addr, b"")  # a plain transfer to itself at `nonce`
        # ops[2]: broadcast and mined, but the pool reverts it (an unknown selector)
        h2, raw2 = _signed(w, key, w.deployment.pool, b"\x00\x00\x00\x02", nonce + 1)
        wallet.store.mark_sent(ops[2], h2, raw2)
        w.rpc("eth_sendRawTransaction", "0x" + raw2.hex())
        deadline = time.monotonic() + 30
        while w.rpc("eth_getTransactionReceipt", h2) is None and time.monotonic() < deadline:
            time.sleep(0.1)
        report = wallet.sync()
        assert report.abandoned == 3 and report.pending == () and report.rebroadcast == 0
        assert wallet.store.notes() == [] and wallet.store.operations() == []
        # the model refuses a borrow with no collateral before anything is proven
        with pytest.raises(WalletError, match="no live note"):
            wallet.operate("borrow", "USDC", 1)


def test_refusals_before_proving_exit_1_naming_the_error(world: World) -> None:
    w = world
    key = w.account()
    d = w.tmp / "erin"
    assert _invoke("wallet", "init", "--wallet-dir", str(d), "--deployment", str(w.file)).exit_code == 0
    w.wallet(d, key, "deposit", "WETH", "1")
    base = ["--wallet-dir", str(d), "--rpc-url", w.url, "--deployment", str(w.file), "--private-key", key, "--json"]
    r = _invoke("wallet", "borrow", "USDC", "2900", *base)  # HF would stay >= 1, but past 80.5% LTV of 3500
    assert r.exit_code == 1 and json.loads(r.stdout)["type"] == "TransactionFailed"
    assert "CollateralCannotCoverNewBorrow" in json.loads(r.stdout)["error"]
    r = _invoke("wallet", "borrow", "USDC", "3000", *base)  # past the liquidation threshold
    assert r.exit_code == 1 and "HealthFactorLowerThanLiquidationThreshold" in json.loads(r.stdout)["error"]
    r = _invoke("wallet", "withdraw", "WETH", "2", *base)
    assert r.exit_code == 1 and "NotEnoughAvailableUserBalance" in json.loads(r.stdout)["error"]
    r = _invoke("wallet", "repay", "USDC", "1", *base)
    assert r.exit_code == 1 and "RepayExceedsDebt" in json.loads(r.stdout)["error"]
    r = _invoke("wallet", "show", "--note", "1", *base)
    assert r.exit_code == 2  # show takes no --note: a usage error
    r = _invoke("wallet", "withdraw", "WETH", "0.5", "--note", "12345", *base)
    assert r.exit_code == 2 and json.loads(r.stdout)["field"] == "--note"


def test_a_node_that_cannot_be_pinned_gets_the_proof_in_its_block(world: World) -> None:
    """Without evm_setNextBlockTimestamp (any public node), the wallet proves for a timestamp
    PROVING_LEAD seconds ahead and sends when the node's pending block reaches it: with debt in the
    pool the indexes move every second, so only the exact block time verifies."""
    w = world
    lender, key = w.account(), w.account()
    for name, k, sym, amount in (("frank", lender, "USDC", "50000"), ("gina", key, "WETH", "5")):
        assert _invoke("wallet", "init", "--wallet-dir", str(w.tmp / name), "--deployment", str(w.file)).exit_code == 0
        w.wallet(w.tmp / name, k, "deposit", sym, amount)
    w.wallet(w.tmp / "gina", key, "borrow", "USDC", "1000")  # debt: the indexes now move every second
    w.warp(DAY)
    with Wallet(w.tmp / "gina", RpcChain(w.url, key), w.deployment, pin_timestamp=False) as wallet:
        before = wallet.head()
        res = wallet.operate("repay", "USDC", 500 * E6)
        assert res.attempts == 1 and res.block > before
        assert len(wallet.live_notes()) == 1 and wallet.live_notes()[0][0].commitment == res.new_commitment


def test_a_note_landing_while_proving_is_proven_again(world: World) -> None:
    """Another owner's note lands between the proof and its transaction: the proof still verifies,
    but its append is stale (the pool would hash the note in on-chain), so the wallet proves once
    more against the grown tree; the transaction then appends as proven (no PoseidonT3 call)."""
    w = world
    ivy, jack = w.account(), w.account()
    for name in ("ivy", "jack"):
        assert _invoke("wallet", "init", "--wallet-dir", str(w.tmp / name), "--deployment", str(w.file)).exit_code == 0
    w.wallet(w.tmp / "ivy", ivy, "deposit", "WETH", "2")
    with Wallet(w.tmp / "ivy", RpcChain(w.url, ivy), w.deployment) as wallet:
        build = wallet._build
        landed: list[str] = []

        def build_then_land(*args: Any) -> Any:
            out = build(*args)
            if not landed:  # jack opens a note after ivy's first proof was made
                landed.append(w.wallet(w.tmp / "jack", jack, "deposit", "USDC", "100")["txHash"])
            return out

        wallet._build = build_then_land  # type: ignore[method-assign]
        res = wallet.operate("deposit", "WETH", E18)
    assert landed and res.attempts == 2
    frames = w.rpc("debug_traceTransaction", res.tx_hash, {"tracer": "callTracer"})

    def calls(frame: dict[str, Any]) -> list[dict[str, Any]]:
        return [frame, *(c for sub in frame.get("calls", []) for c in calls(sub))]

    assert [c for c in calls(frames) if c["type"] == "DELEGATECALL"] == []  # no on-chain hashing
    shown = w.wallet(w.tmp / "ivy", ivy, "show")
    assert [n["commitment"] for n in shown["notes"]] == [str(res.new_commitment)]


def test_a_reorg_rolls_the_wallet_back(world: World) -> None:
    """The chain drops the block of a deposit (evm_snapshot / evm_revert, then other blocks at those
    heights) and the account's nonce is used by another transaction: sync rolls back to the fork
    point, the spent note is live again, the dropped operation is abandoned."""
    w = world
    key = w.account()
    addr = Account.from_key(key).address
    d = w.tmp / "hank"
    assert _invoke("wallet", "init", "--wallet-dir", str(d), "--deployment", str(w.file)).exit_code == 0
    first = w.wallet(d, key, "deposit", "WETH", "2")
    approve = keccak(b"approve(address,uint256)")[:4] + encode(["address", "uint256"], [w.deployment.pool, 2**255])
    RpcChain(w.url, key).transact(w.deployment.asset("WETH").token, approve)  # the deposit: one transaction
    snap = w.rpc("evm_snapshot")
    second = w.wallet(d, key, "deposit", "WETH", "1")
    assert [n["commitment"] for n in w.wallet(d, key, "show")["notes"]] == [second["newNote"]]
    assert w.rpc("evm_revert", snap) is True
    assert w.rpc("eth_getTransactionReceipt", second["txHash"]) is None
    RpcChain(w.url, key).transact(addr, b"")  # the nonce of the dropped deposit, taken
    for _ in range(3):
        w.rpc("evm_mine")
    with Wallet(d, RpcChain(w.url, key), w.deployment) as wallet:
        report = wallet.sync()
        assert report.rolled_back_to is not None and report.rolled_back_to < second["block"]
        assert report.abandoned == 1 and report.pending == ()
        assert [s.commitment for s, _ in wallet.live_notes()] == [int(first["newNote"])]
        assert [o.status for o in wallet.store.operations()] == ["confirmed"]


def test_key_file_refusals(tmp_path: Path) -> None:
    dep = tmp_path / "deployment.json"
    dep.write_text(json.dumps(_fake_deployment().to_json()))
    key = tmp_path / "key"
    base = ["wallet", "sync", "--deployment", str(dep), "--rpc-url", "http://127.0.0.1:9", "--json"]
    for mode, text in ((0o644, ANVIL_DEV_KEY), (0o600, "not a key"), (0o600, ANVIL_DEV_KEY + "00")):
        key.write_text(text)
        key.chmod(mode)
        r = _invoke(*base, "--key-file", str(key))
        assert r.exit_code == 2 and json.loads(r.stdout)["field"] == "--key-file", r.output
        assert ANVIL_DEV_KEY[2:] not in r.output  # a key is never echoed
    key.write_text(ANVIL_DEV_KEY)
    key.chmod(0o600)
    r = _invoke(*base, "--key-file", str(key), "--private-key", ANVIL_DEV_KEY)
    assert r.exit_code == 2 and json.loads(r.stdout)["field"] == "--key-file"
