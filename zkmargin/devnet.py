"""A local dev chain that outlives the command that starts it: anvil from node_modules with its
state on disk, the pool deployed from a config (zkmargin.pool.deploy) and test tokens minted.

Everything lives in one directory (default $ZKMARGIN_DEVNET_DIR, else <data home>/devnet):

  anvil.pid        the running node: pid, its start time (so a reused pid is not mistaken for it), port
  state.json       anvil's state (--state: loaded at start, dumped on SIGTERM), also checkpointed
                   after every devnet command through anvil_dumpState, so a kill -9 loses only what
                   others did since
  clock.json       how far the chain's clock runs ahead of the wall clock (time warps): anvil's
                   state does not keep it, and without it a restarted chain's time would go back
  deployment.json  every address (zkmargin.pool.deploy.Deployment)
  anvil.log        the node's output
  .lock            held by every command that changes the directory: two `up`s never start two nodes

A pid file whose process is gone (kill -9, a reboot) is stale: `status` and `up` remove it.
"""

from __future__ import annotations

import gzip
import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from . import paths
from .errors import InputError, LockTimeout, ToolchainError, ZkMarginError
from .evm import ANVIL_DEV_KEY, RpcChain, RpcError
from .fsutil import file_lock, write_bytes_atomic, write_json_atomic
from .output_paths import check_outputs
from .pool import deploy as pool_deploy
from .pool.babyjub import Point
from .pool.deploy import Deployment, PoolConfig
from .proc import daemon_alive, process_start, spawn_daemon, stop_daemon
from .progress import NullProgress, Progress
from .settings import Settings
from .solidity import Compiled
from .strictjson import bounded_int, read_json
from .toolchain import Toolchain

DEFAULT_PORT: Final = 8545
HOST: Final = "127.0.0.1"
START_TIMEOUT: Final = 60.0  # seconds for anvil to answer (it loads the state first)
STOP_TIMEOUT: Final = 30.0  # seconds for anvil to dump its state and exit after SIGTERM
LOCK_WAIT: Final = 5.0  # seconds another devnet command may hold the directory before we give up
MAX_WARP: Final = 100 * 365 * 86400


class DevnetError(ZkMarginError):
    """The devnet is not in the state a command needs (not running, already running, busy)."""


def default_dir() -> Path:
    env = os.environ.get("ZKMARGIN_DEVNET_DIR")
    return Path(env).expanduser().resolve() if env else paths.data_home() / "devnet"


@dataclass(frozen=True)
class Layout:
    """The files of a devnet directory, named in one place."""

    root: Path

    @property
    def pid_file(self) -> Path:
        return self.root / "anvil.pid"

    @property
    def state(self) -> Path:
        return self.root / "state.json"

    @property
    def clock(self) -> Path:
        return self.root / "clock.json"

    @property
    def deployment(self) -> Path:
        return self.root / "deployment.json"

    @property
    def log(self) -> Path:
        return self.root / "anvil.log"

    @property
    def lock(self) -> Path:
        return self.root / ".lock"


@dataclass(frozen=True)
class Node:
    pid: int
    started: int | None  # process_start(pid) when it was spawned
    port: int

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def to_json(self) -> dict[str, Any]:
        return {"pid": self.pid, "started": self.started, "port": self.port}


def _read_node(layout: Layout) -> Node | None:
    if not layout.pid_file.exists():
        return None
    d = read_json(layout.pid_file, "devnet pid")
    try:
        if not isinstance(d, dict) or set(d) != {"pid", "started", "port"}:
            raise InputError("devnet pid", "must be an object with pid, started and port")
        started = d["started"]
        return Node(
            bounded_int(d["pid"], "pid", 1, 2**31),
            None if started is None else bounded_int(started, "started", 0, 2**63),
            bounded_int(d["port"], "port", 1, 65535),
        )
    except InputError as e:
        raise InputError(e.field, e.detail, source=f"devnet pid file {layout.pid_file}") from None


def _running(layout: Layout) -> tuple[Node | None, Node | None]:
    """(the running node, a stale record whose process is gone)."""
    node = _read_node(layout)
    if node is None:
        return None, None
    if daemon_alive(node.pid, node.started):
        return node, None
    return None, node


@contextmanager
def _locked(layout: Layout, progress: Progress) -> Iterator[None]:
    check_outputs({"--dir": layout.root}, directories=frozenset({"--dir"}))
    layout.root.mkdir(parents=True, exist_ok=True)
    try:
        with file_lock(layout.lock, progress, timeout=LOCK_WAIT):
            yield
    except LockTimeout:
        raise DevnetError(
            f"another zkmargin devnet command is using {layout.root} (it holds {layout.lock}); "
            f"try again when it has finished"
        ) from None


def _chain(node: Node) -> RpcChain:
    return RpcChain(node.url, ANVIL_DEV_KEY)


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # as a server binds: connections of a node stopped a moment ago (TIME_WAIT) do not count
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def _log_tail(layout: Layout, n: int = 1500) -> str:
    try:
        return layout.log.read_bytes()[-n:].decode("utf-8", "replace").strip()
    except OSError:
        return ""


def _wait_until_answers(node: Node, layout: Layout, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if not daemon_alive(node.pid):
            tail = _log_tail(layout)
            raise ToolchainError(
                f"anvil exited before answering on {node.url}"
                + (f"; its log ({layout.log}) ends with:\n{tail}" if tail else "")
                + (f"\n(if its state file {layout.state} is damaged, move it away or use `up --fresh`)")
            )
        try:
            RpcChain(node.url, timeout=2.0)
            return
        except RpcError:
            if time.monotonic() > deadline:
                raise ToolchainError(f"anvil did not answer on {node.url} within {timeout:g} s") from None
            time.sleep(0.2)


# --- the clock and the state on disk ---


def checkpoint(chain: RpcChain, layout: Layout) -> None:
    """Write the node's state (anvil_dumpState) and the clock's offset to disk, atomically."""
    raw = str(chain.request("anvil_dumpState"))
    data = bytes.fromhex(raw[2:] if raw.startswith("0x") else raw)
    if data[:2] == b"\x1f\x8b":  # anvil answers gzip; --state loads plain JSON
        data = gzip.decompress(data)
    write_bytes_atomic(layout.state, data)
    write_json_atomic(layout.clock, {"offset": chain.timestamp() - int(time.time())})


def _restore_clock(chain: RpcChain, layout: Layout) -> None:
    """Put the clock back where the warps left it: anvil's state keeps blocks, not the offset of
    its clock from the wall clock, so after a restart new blocks would be older than the last."""
    if not layout.clock.exists():
        return  # a new chain: its clock is the wall clock
    d = read_json(layout.clock, "devnet clock")
    if not isinstance(d, dict) or set(d) != {"offset"}:
        raise InputError("offset", "must be the only key of the object", source=f"devnet clock file {layout.clock}")
    offset = bounded_int(d["offset"], "offset", -(2**40), 2**40)
    now = int(time.time())
    target = max(now + max(offset, 0), chain.timestamp() + 1)
    if target > now:
        chain.request("evm_setTime", target)
        chain.request("evm_mine")  # reads (eth_call at latest) see the restored time from now on


# --- commands ---


@dataclass(frozen=True)
class Status:
    directory: Path
    node: Node | None
    stale_pid: int | None  # a pid file whose process was gone (removed)
    chain_id: int | None = None
    block: int | None = None
    timestamp: int | None = None
    deployment: Deployment | None = None
    deployed_now: bool = False  # `up` deployed (first start, or a chain that lost it)

    def to_json(self) -> dict[str, Any]:
        return {
            "directory": str(self.directory),
            "running": self.node is not None,
            "pid": self.node.pid if self.node else None,
            "rpcUrl": self.node.url if self.node else None,
            "chainId": self.chain_id,
            "block": self.block,
            "timestamp": self.timestamp,
            "stalePidRemoved": self.stale_pid,
            "deployedNow": self.deployed_now,
            "deployment": self.deployment.to_json() if self.deployment else None,
        }


def _deployment(layout: Layout) -> Deployment | None:
    return pool_deploy.load_deployment(layout.deployment) if layout.deployment.exists() else None


def up(
    directory: Path,
    *,
    port: int = DEFAULT_PORT,
    config_path: Path | None = None,
    toolchain: Toolchain,
    contracts: Callable[[], dict[str, Compiled]],
    fresh: bool = False,
    progress: Progress | None = None,
    keeper_key: Point | None = None,
) -> Status:
    """Start the devnet's anvil (refused if one runs), deploy from the config on first start
    (or when the chain has lost the deployment), mint test tokens, checkpoint. `contracts`
    compiles the contracts, called only when deploying. `config_path` (default: the packaged
    fixtures/devnet.json, or on a resumed chain the config it was deployed from) must be the
    deployment's own config on a resumed chain. With `fresh`, the state, clock and deployment of
    a stopped devnet are discarded first. `keeper_key` is the key the pool seals notes to
    (default: the public test key DEV_KEEPER); a resumed chain's must be it."""
    progress = progress or NullProgress()
    layout = Layout(directory)
    if not 1024 <= port <= 65535:
        raise InputError("--port", f"must be in [1024, 65535], got {port}")
    # a bad config is refused before anything starts
    config = pool_deploy.load_config(config_path) if config_path is not None else None
    with _locked(layout, progress):
        node, stale = _running(layout)
        if node is not None:
            raise DevnetError(
                f"a devnet already runs from {layout.root} (pid {node.pid}, {node.url}): "
                f"`zkmargin devnet down` stops it"
            )
        if stale is not None:
            layout.pid_file.unlink(missing_ok=True)
        if fresh:
            for p in (layout.state, layout.clock, layout.deployment):
                p.unlink(missing_ok=True)
        deployment = _deployment(layout)
        if config is None:
            config = deployment.config if deployment is not None else pool_deploy.load_config()
        if deployment is not None and deployment.config.sha256 != config.sha256:
            raise InputError(
                "--config",
                f"the devnet in {layout.root} was deployed from another config (sha256 "
                f"{deployment.config.sha256[:12]}, this one {config.sha256[:12]}): `up --fresh` starts a new chain",
            )
        if not _port_free(port):
            raise InputError("--port", f"{HOST}:{port} is already in use (pass another --port)")
        argv = toolchain.argv(
            "@foundry-rs/anvil", "--host", HOST, "--port", str(port), "--state", layout.state, "--silent"
        )
        pid = spawn_daemon(argv, log=layout.log, cwd=layout.root)
        node = Node(pid, process_start(pid), port)
        write_json_atomic(layout.pid_file, node.to_json())
        try:
            with progress.step(f"starting anvil on {node.url}"):
                _wait_until_answers(node, layout, START_TIMEOUT)
            chain = _chain(node)
            _restore_clock(chain, layout)
            deployed_now = False
            if deployment is None or not pool_deploy.has_code(chain, deployment.pool):
                compiled = contracts()
                deployment = pool_deploy.deploy(
                    chain, config, compiled, progress, Settings(toolchain=toolchain), keeper_key
                )
                pool_deploy.save_deployment(layout.deployment, deployment)
                deployed_now = True
            else:
                pool_deploy.check_chain(chain, deployment, str(layout.deployment))
                pool_deploy.check_keeper_key(chain, deployment, keeper_key, "--keeper-public-key")
                pool_deploy.refresh_stale_prices(chain, deployment)
            checkpoint(chain, layout)
        except BaseException:
            stop_daemon(pid, STOP_TIMEOUT)
            layout.pid_file.unlink(missing_ok=True)
            raise
        return Status(
            layout.root,
            node,
            stale.pid if stale else None,
            chain_id=int(chain.chain_id),
            block=_block_number(chain),
            timestamp=chain.timestamp(),
            deployment=deployment,
            deployed_now=deployed_now,
        )


def down(directory: Path, progress: Progress | None = None) -> tuple[Node | None, bool]:
    """Checkpoint, then SIGTERM (anvil dumps its state) and wait. Returns (the node stopped or
    None if none ran, whether it ended on SIGTERM rather than after SIGKILL)."""
    progress = progress or NullProgress()
    layout = Layout(directory)
    with _locked(layout, progress):
        node, stale = _running(layout)
        if node is None:
            if stale is not None:
                layout.pid_file.unlink(missing_ok=True)
            return None, True
        try:
            checkpoint(_chain(node), layout)
        except RpcError:
            pass  # a node that does not answer still gets its SIGTERM (and dumps its state then)
        with progress.step(f"stopping anvil (pid {node.pid})"):
            clean = stop_daemon(node.pid, STOP_TIMEOUT)
        layout.pid_file.unlink(missing_ok=True)
        return node, clean


def _block_number(chain: RpcChain) -> int:
    return int(str(chain.request("eth_blockNumber")), 16)


def status(directory: Path) -> Status:
    """Whether the devnet runs, its block and clock, its deployment. A stale pid file is removed
    (unless another command holds the directory)."""
    layout = Layout(directory)
    node, stale = _running(layout)
    if stale is not None:
        try:
            with _locked(layout, NullProgress()):
                node, stale = _running(layout)
                if stale is not None:
                    layout.pid_file.unlink(missing_ok=True)
        except DevnetError:
            pass
    deployment = _deployment(layout)
    if node is None:
        return Status(layout.root, None, stale.pid if stale else None, deployment=deployment)
    chain = _chain(node)
    return Status(
        layout.root,
        node,
        None,
        chain_id=int(chain.chain_id),
        block=_block_number(chain),
        timestamp=chain.timestamp(),
        deployment=deployment,
    )


@contextmanager
def _session(directory: Path, progress: Progress) -> Iterator[tuple[RpcChain, Deployment]]:
    """The running devnet's chain and deployment, locked; checkpointed after the block."""
    layout = Layout(directory)
    with _locked(layout, progress):
        node, _ = _running(layout)
        deployment = _deployment(layout)
        if node is None or deployment is None:
            raise DevnetError(f"no devnet runs from {layout.root}: `zkmargin devnet up` starts one")
        chain = _chain(node)
        pool_deploy.check_chain(chain, deployment, str(layout.deployment))
        yield chain, deployment
        checkpoint(chain, layout)


def parse_duration(text: str, field: str = "SECONDS") -> int:
    """'+3600', '3600', '90s', '15m', '12h', '30d' -> seconds (> 0, at most 100 years)."""
    s = text.strip()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    mult = 1
    if s[-1:] in units:
        mult, s = units[s[-1]], s[:-1]
    if s.startswith("+"):
        s = s[1:]
    n = bounded_int(s, field, 1, MAX_WARP, what="a duration: +SECONDS, or a number with s, m, h or d") if s else 0
    if not s or not 0 < n * mult <= MAX_WARP:
        raise InputError(field, f"must be a duration of 1 s to {MAX_WARP // (365 * 86400)} years, got {text[:40]!r}")
    return n * mult


def warp(directory: Path, seconds: int, *, refresh_prices: bool = True, progress: Progress | None = None) -> int:
    """Mines a block `seconds` after the latest one; then, unless refresh_prices is False, every
    feed posts its answer again at the new time (as a Chainlink feed does at its heartbeat), so
    prices stay fresh. Returns the new block's timestamp.

    evm_setNextBlockTimestamp rather than evm_increaseTime: a timestamp another client pinned for
    the next block (the wallet pins its proof's block time, and an operation the pool refused
    leaves that pin behind) would otherwise win over the increase and swallow the warp. anvil's
    clock then runs on from the new block."""
    if not 0 < seconds <= MAX_WARP:
        raise InputError("SECONDS", f"must be in [1, {MAX_WARP}]")
    progress = progress or NullProgress()
    with _session(directory, progress) as (chain, deployment):
        chain.request("evm_setNextBlockTimestamp", chain.timestamp() + seconds)
        chain.request("evm_mine")
        ts = chain.timestamp()
        if refresh_prices:
            pool_deploy.refresh_prices(chain, deployment)
        return ts


def set_price(directory: Path, symbol: str, price: int, progress: Progress | None = None) -> int:
    """A new round of `symbol`'s feed at `price` (8 decimals); returns the round id."""
    with _session(directory, progress or NullProgress()) as (chain, deployment):
        return pool_deploy.set_price(chain, deployment, symbol, price)


def fund(directory: Path, address: str, progress: Progress | None = None) -> tuple[dict[str, int], int]:
    """Mint each asset's faucet amount to `address` and top its ETH up to the config's faucetEth
    (anvil_setBalance). Returns ({symbol: base units}, the ETH balance in wei)."""
    with _session(directory, progress or NullProgress()) as (chain, deployment):
        minted = pool_deploy.mint(chain, deployment, address)
        want = deployment.config.faucet_eth
        have = int(str(chain.request("eth_getBalance", address, "latest")), 16)
        if have < want:
            chain.request("anvil_setBalance", address, hex(want))
            have = want
        return minted, have


def config_of(directory: Path) -> PoolConfig | None:
    d = _deployment(Layout(directory))
    return d.config if d else None
