"""`zkmargin devnet` on a real anvil from node_modules: up deploys from fixtures/devnet.json and the
contracts read back what the config says; prices, time warps (interest accrued exactly as
zkmargin.pool.reserve predicts after a wallet's real supply and borrow), funding; down then up
resumes the same chain; two ups, a bad config (a three-asset one among them: the pool circuits
are registered for two) and hostile arguments are refused with exit 2 naming the field; a kill -9
of the node is recovered from. The deploy-from-config also runs against the devnet's node as
"any RPC". The pool deployed is PrivateMarginPool, so the tests build its circuits' keys first.

One devnet serves the module (starting one takes a second once the contracts are compiled); the
tests that stop or kill it come last and leave it running again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from eth_account import Account

from cli.main import cli
from zkmargin import devnet, proc, solidity
from zkmargin.build import CircuitKeys
from zkmargin.errors import InputError
from zkmargin.evm import ANVIL_DEV_KEY, RpcChain, free_port
from zkmargin.fsutil import file_lock
from zkmargin.pool import deploy as pool_deploy
from zkmargin.pool.deploy import Deployment, PoolConfig
from zkmargin.pool.keys import KeeperKeys
from zkmargin.pool.reserve import ReserveState
from zkmargin.pool.wallet import Wallet
from zkmargin.pool.wallet import init as wallet_init
from zkmargin.settings import Settings
from zkmargin.toolchain import Toolchain

from .conftest import REPO_ROOT

CONFIG = pool_deploy.DEFAULT_CONFIG
# deploys the "any RPC" copy, funded by `devnet fund`
OTHER_KEY = "0x" + "11" * 32


class Net:
    def __init__(self, directory: Path, port: int) -> None:
        self.dir, self.port = directory, port

    def run(self, *args: str, json_out: bool = False) -> Result:
        """`zkmargin devnet <command> --dir D [--json] <arguments...>`: options before the
        arguments, so that `--` may come among them."""
        return CliRunner().invoke(
            cli, [*args[:2], "--dir", str(self.dir), *(["--json"] if json_out else []), *args[2:]]
        )

    def ok(self, *args: str) -> dict[str, Any]:
        res = self.run(*args, json_out=True)
        assert res.exit_code == 0, res.output
        out: dict[str, Any] = json.loads(res.stdout)
        return out

    def up(self) -> dict[str, Any]:
        """`devnet up` on this devnet's port, or on a fresh one if another process took it since
        it was picked (free_port cannot reserve it: other test processes may bind it meanwhile)."""
        for _ in range(3):
            res = self.run("devnet", "up", "--port", str(self.port), json_out=True)
            if res.exit_code == 2 and "already in use" in json.loads(res.stdout).get("error", ""):
                self.port = free_port()
                continue
            assert res.exit_code == 0, res.output
            out: dict[str, Any] = json.loads(res.stdout)
            return out
        raise AssertionError(f"no free port for the devnet after 3 tries: {res.output}")

    @property
    def deployment(self) -> Deployment:
        return pool_deploy.load_deployment(self.dir / "deployment.json")

    @property
    def chain(self) -> RpcChain:
        return RpcChain(f"http://127.0.0.1:{self.port}", ANVIL_DEV_KEY)

    def pid(self) -> int:
        return int(json.loads((self.dir / "anvil.pid").read_text())["pid"])


@pytest.fixture(scope="module")
def pool_keys(keys: Callable[[str], CircuitKeys]) -> None:
    """The pool circuits' keys, which `up` deploys the pool's verifiers from."""
    keys("pool_open_2")
    keys("pool_transition_2")


@pytest.fixture(scope="module")
def net(tc: Toolchain, pool_keys: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    n = Net(tmp_path_factory.mktemp("devnet"), free_port())
    first = n.up()
    assert first["deployedNow"] is True
    yield n
    n.run("devnet", "down")


def _call(chain: RpcChain, to: str, sig: str, args: list[Any], out: list[str]) -> tuple[Any, ...]:
    return pool_deploy.call(chain, to, sig, args, out)


def _balance(chain: RpcChain, token: str, who: str) -> int:
    return int(_call(chain, token, "balanceOf(address)", [who], ["uint256"])[0])


def _model(raw: tuple[Any, ...], config: PoolConfig, symbol: str) -> ReserveState:
    """The Python model holding exactly the contract's ReserveData (whose parameters are the config's)."""
    state = ReserveState.from_reserve_data(raw)
    a = config.asset(symbol)
    assert (state.risk, state.rates) == (a.risk, a.rates)
    return state


def _reserve_raw(net: Net, symbol: str) -> tuple[Any, ...]:
    return pool_deploy.read_reserve(net.chain, net.deployment, symbol).raw


# --- the deployment, read back from the contracts ---


def test_up_deploys_what_the_config_says(net: Net) -> None:
    config = pool_deploy.load_config(CONFIG)
    d = net.deployment
    chain = net.chain
    assert d.chain_id == chain.chain_id == 31337
    assert d.pool_contract == "PrivateMarginPool"
    assert [a.symbol for a in d.assets] == ["WETH", "USDC"]
    treasury = _call(chain, d.pool, "treasury()", [], ["address"])[0]
    assert treasury.lower() == config.treasury.lower()
    listed = _call(chain, d.pool, "getReservesList()", [], ["address[]"])[0]
    assert [x.lower() for x in listed] == [a.token.lower() for a in d.assets]
    accounts = pool_deploy.dev_accounts(chain)[: config.dev_accounts]
    assert len(accounts) == 4
    for a in d.assets:
        want = config.asset(a.symbol)
        assert _call(chain, a.token, "decimals()", [], ["uint8"])[0] == want.decimals
        assert _call(chain, a.token, "symbol()", [], ["string"])[0] == a.symbol
        assert _call(chain, a.feed, "decimals()", [], ["uint8"])[0] == 8
        view = pool_deploy.read_reserve(chain, d, a.symbol)
        assert view.decimals == want.decimals
        assert view.risk == want.risk and view.rates == want.rates
        assert view.liquidity_index == view.variable_borrow_index == 10**27
        price = _call(chain, d.pool, "getAssetPrice(address)", [a.token], ["uint256"])[0]
        assert price == want.price == view.price
        for acct in accounts:
            assert _balance(chain, a.token, acct) >= want.faucet
    st = net.ok("devnet", "status")
    assert st["running"] is True and st["rpcUrl"] == f"http://127.0.0.1:{net.port}"
    assert st["deployment"]["pool"]["address"] == d.pool and st["block"] >= d.block


def test_up_prints_url_and_addresses(net: Net) -> None:
    res = net.run("devnet", "status")
    assert res.exit_code == 0, res.output
    assert f"running: http://127.0.0.1:{net.port}" in res.stdout
    for a in net.deployment.assets:
        assert a.token in res.stdout and a.feed in res.stdout


def test_two_ups_are_refused(net: Net) -> None:
    pid = net.pid()
    res = net.run("devnet", "up", "--port", str(free_port()))
    assert res.exit_code == 2
    assert "already runs" in res.output and str(pid) in res.output and "Traceback" not in res.output
    assert net.pid() == pid
    # while another devnet command holds the directory, an up is refused instead of racing it
    with file_lock(net.dir / ".lock"):
        res = net.run("devnet", "up", "--port", str(free_port()))
    assert res.exit_code == 2 and "another zkmargin devnet command" in res.output
    assert net.pid() == pid


# --- prices, time, funding ---


def test_price_update_is_read_by_the_pool(net: Net) -> None:
    d = net.deployment
    weth = d.asset("WETH")
    before = pool_deploy.latest_round(net.chain, weth.feed)[0]
    out = net.ok("devnet", "price", "WETH", "2875.5")
    assert out["roundId"] == before + 1 and out["price"] == "287550000000"
    assert _call(net.chain, d.pool, "getAssetPrice(address)", [weth.token], ["uint256"])[0] == 287_550_000_000
    net.ok("devnet", "price", "WETH", "3500")
    assert pool_deploy.read_reserve(net.chain, d, "WETH").price == 350_000_000_000


def test_time_warp_accrues_interest_as_the_model_says(net: Net, tmp_path: Path) -> None:
    """A wallet supplies and borrows USDC through the pool (real proofs), the devnet warps 30
    days: the contract's normalized variable debt and income, and its stored reserve after the
    next operation (a repay), equal zkmargin.pool.reserve's to the wei."""
    d = net.deployment
    chain = net.chain
    config = d.config
    model = _model(_reserve_raw(net, "USDC"), config, "USDC")
    wallet_init(tmp_path / "w", d)
    with Wallet(tmp_path / "w", chain, d) as w:
        w.operate("deposit", "USDC", 500_000 * 10**6)
        model, _ = model.supply(500_000 * 10**6, chain.timestamp())
        w.operate("borrow", "USDC", 300_000 * 10**6)
        model, _ = model.borrow(300_000 * 10**6, chain.timestamp())
        assert _model(_reserve_raw(net, "USDC"), config, "USDC") == model
        assert model.current_variable_borrow_rate > 0

        usdc = d.asset("USDC").token
        debt_before = _call(chain, d.pool, "getReserveNormalizedVariableDebt(address)", [usdc], ["uint256"])[0]
        out = net.ok("devnet", "time", "+30d")
        assert out["advanced"] == 30 * 86400
        now = chain.timestamp()
        assert now >= out["timestamp"] >= model.last_update_timestamp + 30 * 86400
        debt = _call(chain, d.pool, "getReserveNormalizedVariableDebt(address)", [usdc], ["uint256"])[0]
        income = _call(chain, d.pool, "getReserveNormalizedIncome(address)", [usdc], ["uint256"])[0]
        assert debt > debt_before
        assert debt == model.normalized_variable_debt(now)
        assert income == model.normalized_income(now)
        w.operate("repay", "USDC", 1_000 * 10**6)
        model, _ = model.repay(1_000 * 10**6, chain.timestamp())
        assert _model(_reserve_raw(net, "USDC"), config, "USDC") == model
    # the feeds were re-posted at the new time (as at a heartbeat): prices are still readable
    assert all(pool_deploy.read_reserve(chain, d, a.symbol).price is not None for a in d.assets)


def test_time_warp_with_stale_prices(net: Net) -> None:
    out = net.ok("devnet", "time", "2h", "--stale-prices")
    assert out["advanced"] == 7200 and out["pricesRefreshed"] is False
    d = net.deployment
    assert pool_deploy.read_reserve(net.chain, d, "WETH").price is None  # StalePrice: 3600 s max age
    assert pool_deploy.read_reserve(net.chain, d, "USDC").price == 10**8  # 86400 s max age
    net.ok("devnet", "time", "+1")  # re-posts: fresh again
    assert pool_deploy.read_reserve(net.chain, d, "WETH").price == 350_000_000_000


def test_fund_mints_and_pays_gas(net: Net) -> None:
    who = "0x" + "42" * 20
    out = net.ok("devnet", "fund", who)
    d = net.deployment
    config = d.config
    for a in d.assets:
        assert _balance(net.chain, a.token, who) == config.asset(a.symbol).faucet
        assert out["minted"][a.symbol] == str(config.asset(a.symbol).faucet)
    assert int(out["ethWei"]) == config.faucet_eth == 100 * 10**18


# --- hostile input: exit 2 naming the field, no traceback ---


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["devnet", "price", "WETH", "abc"], "VALUE"),
        (["devnet", "price", "WETH", "--", "-1"], "VALUE"),
        (["devnet", "price", "WETH", "0"], "VALUE"),
        (["devnet", "price", "WETH", "1e999999"], "VALUE"),
        (["devnet", "price", "WETH", "1.000000001"], "VALUE"),
        (["devnet", "price", "DOGE", "1"], "SYMBOL"),
        (["devnet", "time", "+abc"], "+SECONDS"),
        (["devnet", "time", "0"], "+SECONDS"),
        (["devnet", "time", "-5"], "+SECONDS"),
        (["devnet", "time", "+99999999999999999999999"], "+SECONDS"),
        (["devnet", "fund", "0x1234"], "ADDRESS"),
        (["devnet", "fund", "0x" + "aB" * 20], "ADDRESS"),  # mixed case, bad checksum
        (["devnet", "up", "--port", "80"], "--port"),
    ],
)
def test_hostile_arguments(net: Net, args: list[str], field: str) -> None:
    res = net.run(*args, json_out=True)
    assert res.exit_code == 2, res.output
    out = json.loads(res.stdout)
    assert out["field"] == field, out
    assert "Traceback" not in res.output


def test_port_in_use_is_refused(net: Net, tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["devnet", "up", "--dir", str(tmp_path), "--port", str(net.port), "--json"])
    assert res.exit_code == 2
    assert json.loads(res.stdout)["field"] == "--port"
    assert not (tmp_path / "anvil.pid").exists()


def _edit(config: dict[str, Any], path: list[str | int], value: Any) -> dict[str, Any]:
    target: Any = config
    for k in path[:-1]:
        target = target[k]
    if value is KeyError:
        del target[path[-1]]
    elif isinstance(target, list) and path[-1] == len(target):
        target.append({**target[-1], "symbol": "WBTC", **value})
    else:
        target[path[-1]] = value
    return config


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (["assets", 0, "risk", "ltv"], 9000, "assets[0].risk.ltv"),  # above the liquidation threshold
        (["assets", 1, "rates", "optimalUsageRatio"], 9950, "assets[1].rates.optimalUsageRatio"),
        (["assets", 1, "rates", "variableRateSlope1"], 7000, "assets[1].rates.variableRateSlope1"),
        (["assets", 0, "price"], "0", "assets[0].price"),
        (["assets", 0, "price"], 3500.5, "assets[0].price"),
        (["assets", 0, "decimals"], 19, "assets[0].decimals"),
        (["assets", 0, "feedMaxAge"], 0, "assets[0].feedMaxAge"),
        (["assets", 1, "faucet"], "0.0000001", "assets[1].faucet"),
        (["assets", 1, "symbol"], "WETH", "assets[1].symbol"),
        (["assets", 0, "risk", "colour"], 1, "assets[0].risk.colour"),
        (["assets", 0, "rates"], KeyError, "assets[0].rates"),
        (["treasury"], "0x1234", "treasury"),
        (["devAccounts"], -1, "devAccounts"),
        (["sequencer"], {"gracePeriod": "soon"}, "sequencer.gracePeriod"),
        # the pool circuits are registered for two reserves: a third asset is refused up front
        (["assets", 2], {}, "assets"),
    ],
)
def test_bad_config_is_refused_naming_the_field(tmp_path: Path, path: list[str | int], value: Any, field: str) -> None:
    config = _edit(json.loads(CONFIG.read_text()), path, value)
    bad = tmp_path / "devnet.json"
    bad.write_text(json.dumps(config))
    with pytest.raises(InputError) as e:
        pool_deploy.load_config(bad)
    assert e.value.field == field
    d = tmp_path / "net"
    res = CliRunner().invoke(cli, ["devnet", "up", "--dir", str(d), "--config", str(bad), "--port", "18999", "--json"])
    assert res.exit_code == 2, res.output
    assert json.loads(res.stdout)["field"] == field
    assert not (d / "anvil.pid").exists()  # refused before anything started


def test_config_fixture_is_mainnet_like() -> None:
    config = pool_deploy.load_config(CONFIG)
    weth, usdc = config.asset("WETH"), config.asset("USDC")
    assert (weth.decimals, usdc.decimals) == (18, 6)
    assert weth.max_age == 3600 and usdc.max_age == 86400  # Chainlink's ETH/USD and USDC/USD heartbeats
    assert config.sequencer_grace_period is None


# --- deploy against any RPC ---


def test_deploy_against_any_rpc_is_idempotent_per_chain(net: Net, tmp_path: Path) -> None:
    out = tmp_path / "deployment.json"
    net.ok("devnet", "fund", Account.from_key(OTHER_KEY).address)
    url = f"http://127.0.0.1:{net.port}"
    args = ["devnet", "deploy", "--rpc-url", url, "--private-key", OTHER_KEY, "--deployment", str(out), "--json"]
    keeper, other_keeper = KeeperKeys.generate().public, KeeperKeys.generate().public
    for bad in ("1,2", "x", f"{keeper[0]},{keeper[1] + 1}"):  # off the curve, not a key
        res = CliRunner().invoke(cli, [*args, "--keeper-public-key", bad])
        assert res.exit_code == 2 and json.loads(res.stdout)["field"] == "--keeper-public-key", res.output
    assert not out.exists()
    first = CliRunner().invoke(cli, [*args, "--keeper-public-key", f"{keeper[0]},{keeper[1]}"])
    assert first.exit_code == 0, first.output
    d1 = json.loads(first.stdout)
    assert d1["deployedNow"] is True
    assert d1["deployment"]["pool"]["address"] != net.deployment.pool
    assert pool_deploy.read_keeper_key(net.chain, pool_deploy.load_deployment(out)) == keeper
    # the devnet's pool seals to the public test key
    assert pool_deploy.read_keeper_key(net.chain, net.deployment) == pool_deploy.DEV_KEEPER.public
    again = json.loads(CliRunner().invoke(cli, args).stdout)
    assert again["deployedNow"] is False and again["deployment"] == d1["deployment"]
    # a keeper key is fixed at deployment: asking the existing deployment for another is refused
    res = CliRunner().invoke(cli, [*args, "--keeper-public-key", f"{other_keeper[0]},{other_keeper[1]}"])
    assert res.exit_code == 2 and json.loads(res.stdout)["field"] == "--keeper-public-key", res.output
    # the same file pointed at another chain id is refused with a clear error
    other = json.loads(out.read_text())
    other["chainId"] = 10
    out.write_text(json.dumps(other))
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 2
    assert "deployed on chain 10" in json.loads(res.stdout)["error"]
    # a damaged deployment file names its field
    other["chainId"] = 31337
    other["pool"]["address"] = "0xnope"
    out.write_text(json.dumps(other))
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 2 and json.loads(res.stdout)["field"] == "pool.address"


# --- stop, resume, crash (last: they restart the module's devnet) ---


def _snapshot(net: Net) -> dict[str, Any]:
    d = net.deployment
    chain = net.chain
    accounts = pool_deploy.dev_accounts(chain)[:4]
    return {
        "pool": d.pool,
        "assets": [(a.token, a.feed) for a in d.assets],
        "balances": [_balance(chain, a.token, acct) for a in d.assets for acct in [*accounts, d.pool]],
        "reserves": [_reserve_raw(net, a.symbol) for a in d.assets],
        "prices": [pool_deploy.read_reserve(chain, d, a.symbol).price for a in d.assets],
    }


def test_down_then_up_keeps_the_chain(net: Net) -> None:
    net.ok("devnet", "time", "+30d")  # the clock runs ahead of the wall clock: up must keep that
    before = _snapshot(net)
    ts = net.chain.timestamp()
    out = net.ok("devnet", "down")
    assert out["clean"] is True
    st = net.ok("devnet", "status")
    assert st["running"] is False and not (net.dir / "anvil.pid").exists()
    assert net.ok("devnet", "down")["stopped"] is None  # stopping a stopped devnet is not an error
    again = net.up()
    assert again["deployedNow"] is False
    assert _snapshot(net) == before
    # the clock resumes where the warps left it, not at the wall clock
    assert net.chain.timestamp() >= ts > time.time() + 29 * 86400


def test_kill_9_then_status_and_up_recover(net: Net) -> None:
    before = _snapshot(net)
    pid = net.pid()
    os.killpg(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while proc.daemon_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    st = net.ok("devnet", "status")
    assert st["running"] is False and st["stalePidRemoved"] == pid
    assert not (net.dir / "anvil.pid").exists()
    again = net.up()
    assert again["running"] is True and again["deployedNow"] is False
    assert _snapshot(net) == before  # every devnet command checkpoints: nothing it did was lost
    # killed again, and `up` straight away: it removes the stale pid file itself
    pid = net.pid()
    os.killpg(pid, signal.SIGKILL)
    while proc.daemon_alive(pid) and time.monotonic() < deadline + 10:
        time.sleep(0.05)
    again = net.up()
    assert again["stalePidRemoved"] == pid and again["pid"] != pid
    assert _snapshot(net) == before


def test_up_after_hours_down_reposts_stale_feeds(net: Net) -> None:
    """The chain's clock runs on while the devnet is down (here: two hours more, written into
    clock.json as if they had passed); `up` re-posts the feeds that went stale meanwhile."""
    d = net.deployment
    rounds = {a.symbol: pool_deploy.latest_round(net.chain, a.feed)[0] for a in d.assets}
    net.ok("devnet", "down")
    clock = net.dir / "clock.json"
    clock.write_text(json.dumps({"offset": json.loads(clock.read_text())["offset"] + 7200}))
    net.up()
    after = {a.symbol: pool_deploy.latest_round(net.chain, a.feed)[0] for a in d.assets}
    assert after == {"WETH": rounds["WETH"] + 1, "USDC": rounds["USDC"]}
    assert all(pool_deploy.read_reserve(net.chain, d, a.symbol).price is not None for a in d.assets)


def test_commands_need_a_running_devnet(tmp_path: Path) -> None:
    for args in (["time", "+1"], ["price", "WETH", "1"], ["fund", "0x" + "42" * 20]):
        res = CliRunner().invoke(cli, ["devnet", args[0], "--dir", str(tmp_path), *args[1:]])
        assert res.exit_code == 2 and "no devnet runs from" in res.output, res.output
    res = CliRunner().invoke(cli, ["devnet", "down", "--dir", str(tmp_path)])
    assert res.exit_code == 0 and "no devnet runs" in res.output


def test_damaged_pid_file_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "anvil.pid").write_text('{"pid": "many"}')
    res = CliRunner().invoke(cli, ["devnet", "status", "--dir", str(tmp_path)])
    assert res.exit_code == 2 and "anvil.pid" in res.output and "Traceback" not in res.output


def test_a_damaged_state_file_is_reported_with_anvils_words(tc: Toolchain, tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text("garbage{")
    res = CliRunner().invoke(cli, ["devnet", "up", "--dir", str(tmp_path), "--port", str(free_port())])
    assert res.exit_code == 2
    assert "anvil exited before answering" in res.output and "failed to parse json" in res.output
    assert not (tmp_path / "anvil.pid").exists()


def test_a_recycled_pid_is_not_taken_for_the_node(tmp_path: Path) -> None:
    """A pid file naming a live process that is not the node (its start time differs) is stale."""
    d = tmp_path / "net"
    d.mkdir()
    (d / "anvil.pid").write_text(json.dumps({"pid": os.getpid(), "started": 1, "port": 1}))
    st = devnet.status(d)
    assert st.node is None and st.stale_pid == os.getpid()
    assert not (d / "anvil.pid").exists()


def test_deploy_with_a_sequencer_feed(net: Net, tc: Toolchain, tmp_path: Path) -> None:
    """An L2 config: the sequencer-uptime feed is deployed up for longer than its grace period, so
    borrowing is allowed from the start; the deployment file round-trips."""
    raw = json.loads(CONFIG.read_text())
    raw["sequencer"] = {"gracePeriod": 3600}
    raw["devAccounts"] = 0
    config = pool_deploy.config_from_json(raw)
    key = "0x" + "22" * 32
    net.ok("devnet", "fund", Account.from_key(key).address)
    chain = RpcChain(f"http://127.0.0.1:{net.port}", key)
    d, now = pool_deploy.deploy_to_file(
        chain,
        config,
        lambda: solidity.compile_reference_contracts(tc),
        tmp_path / "l2.json",
        settings=Settings(toolchain=tc),
    )
    assert now and d.sequencer_feed is not None
    assert _call(chain, d.pool, "isBorrowAllowed()", [], ["bool"])[0] is True
    assert pool_deploy.load_deployment(tmp_path / "l2.json") == d


def test_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "not-a-dir"
    f.write_text("")
    res = CliRunner().invoke(cli, ["devnet", "up", "--dir", str(f), "--port", str(free_port()), "--json"])
    assert res.exit_code == 2
    assert json.loads(res.stdout)["field"] == "--dir"


def test_two_concurrent_ups_start_one_node(tc: Toolchain, pool_keys: None, tmp_path: Path) -> None:
    """Two `zkmargin devnet up` processes at once on one directory: one starts the node, the
    other is refused (by the lock, or by the pid file once the first is up)."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    port = free_port()
    argv = [sys.executable, "-m", "zkmargin.cli.main", "devnet", "up", "--dir", str(tmp_path), "--port", str(port)]
    try:
        procs = [
            subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)
        ]
        results = [(p.wait(timeout=120), p.communicate()) for p in procs]
        codes = sorted(code for code, _ in results)
        assert codes == [0, 2], results
        refused = next(err for code, (_, err) in results if code == 2)
        assert "already runs" in refused or "another zkmargin devnet command" in refused
        assert devnet.status(tmp_path).node is not None
    finally:
        devnet.down(tmp_path)
    assert devnet.status(tmp_path).node is None
