"""Deploy the pool from a config file against any JSON-RPC node, and the writes a dev chain needs
afterwards (mint test tokens, post a price round).

A deployment config (fixtures/devnet.json) lists the assets, exactly as many as the pool circuits
are registered for (contract.N_RESERVES; symbol, decimals, initial price, feed heartbeat, Aave
risk parameters and interest-rate curve, test-token amount), an optional L2
sequencer-uptime feed, the treasury and how many dev accounts get test tokens. `deploy` creates
one MintableERC20 and one MockChainlinkFeed per asset, then PrivateMarginPool over them
(zkmargin.pool.contract.deploy: both pool verifiers from this installation's keys, PoseidonT3
linked), and returns a Deployment: every address, the chain id and the config it came from, which `save_deployment` writes atomically and later commands read back
with `load_deployment`. A deployment file is bound to its chain: reusing it on another chain is
refused, and so is reusing it on the same chain id once its pool has no code there.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from eth_abi.abi import decode, encode
from eth_utils.crypto import keccak
from web3 import Web3

from .. import paths
from ..errors import InputError, ZkMarginError
from ..evm import Reverted, RpcChain
from ..fsutil import write_json_atomic
from ..limits import MAX_DECIMALS, PRICE_BITS, PRICE_DECIMALS
from ..loaders import _obj, parse_scaled
from ..progress import NullProgress, Progress
from ..settings import Settings
from ..solidity import Compiled
from ..strictjson import bounded_int, json_path, kind_of, read_json
from . import contract as pool_contract
from .babyjub import Point
from .keys import KeeperKeys
from .reserve import RESERVE_DATA_ABI, InterestRateData, RiskParameters

FORMAT_VERSION: Final = 1
DEFAULT_CONFIG: Final = paths.FIXTURES_DIR / "devnet.json"
TOKEN_CONTRACT: Final = "MintableERC20"
FEED_CONTRACT: Final = "MockChainlinkFeed"
SEQUENCER_CONTRACT: Final = "MockSequencerUptimeFeed"
MAX_PRICE: Final = 2**PRICE_BITS - 1  # what the circuits carry (limits.PRICE_BITS)
MAX_AMOUNT: Final = 2**128 - 1  # per mint: the reserves keep uint128 amounts
MAX_AGE_LIMIT: Final = 2**32 - 1  # PriceOracle.PriceFeed.maxAge is a uint32
MAX_DEV_ACCOUNTS: Final = 100
#: the keeper key a deployment registers unless given one: a well-known test key (like anvil's dev
#: accounts), so anyone can read every note of such a pool. A real deployment passes its keeper's key.
DEV_KEEPER: Final = KeeperKeys(keccak(b"zkmargin devnet keeper (insecure, public)"))
_SYMBOL = re.compile(r"[A-Za-z0-9._-]{1,32}\Z")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}\Z")


class DeploymentError(ZkMarginError):
    """A deployment file does not belong to this chain, or the chain no longer holds it."""


# --- the config ---


@dataclass(frozen=True)
class AssetConfig:
    symbol: str
    name: str
    decimals: int
    price: int  # 8 decimals (PriceOracle.PRICE_DECIMALS)
    max_age: int  # seconds: the feed's heartbeat, older rounds are stale
    risk: RiskParameters
    rates: InterestRateData
    faucet: int  # base units minted to each dev account and by `fund`


@dataclass(frozen=True)
class PoolConfig:
    name: str
    assets: tuple[AssetConfig, ...]
    sequencer_grace_period: int | None  # None: no L2 sequencer-uptime feed (an L1)
    treasury: str
    dev_accounts: int  # the node's first N accounts get test tokens at deployment
    faucet_eth: int  # wei `fund` tops a dev-node address up to, so that it can pay gas
    source: dict[str, Any]  # the JSON it was read from, kept in the deployment file

    def asset(self, symbol: str, field: str = "SYMBOL") -> AssetConfig:
        for a in self.assets:
            if a.symbol == symbol:
                return a
        raise InputError(field, f"unknown asset {symbol[:40]!r} (the config has {', '.join(self.symbols)})")

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(a.symbol for a in self.assets)

    @property
    def sha256(self) -> str:
        return paths.sha256_json(self.source)


def _str(value: Any, field: str, what: str) -> str:
    if not isinstance(value, str):
        raise InputError(field, f"must be {what}, got {kind_of(value)}")
    return value


def parse_address(value: Any, field: str) -> str:
    """A 20-byte address (0x + 40 hex digits; mixed case must be a valid EIP-55 checksum),
    returned checksummed."""
    s = _str(value, field, "an address (0x + 40 hex digits)")
    if not _ADDRESS.match(s):
        raise InputError(field, f"must be an address (0x + 40 hex digits), got {s[:50]!r}")
    if s[2:] != s[2:].lower() and s[2:] != s[2:].upper() and not Web3.is_checksum_address(s):
        raise InputError(field, "mixed-case address with a wrong EIP-55 checksum")
    return str(Web3.to_checksum_address(s))


def _amount(value: Any, field: str, decimals: int, what: str) -> int:
    """A decimal string in whole tokens ("1000", "0.5"), exact in `decimals` places."""
    text = _str(value, field, f"a decimal string of {what}")
    return parse_scaled(text, field, decimals, 0, MAX_AMOUNT, what)


def _risk(value: Any, field: str) -> RiskParameters:
    keys = {"ltv", "liquidationThreshold", "liquidationBonus", "liquidationProtocolFee", "reserveFactor"}
    d = _obj(value, field, keys, keys)
    bps = {k: bounded_int(d[k], json_path(field, k), 0, 2**16 - 1, what="basis points (a uint16)") for k in keys}
    risk = RiskParameters(
        bps["ltv"],
        bps["liquidationThreshold"],
        bps["liquidationBonus"],
        bps["liquidationProtocolFee"],
        bps["reserveFactor"],
    )
    _renamed(risk.validate, field)
    return risk


def _rates(value: Any, field: str) -> InterestRateData:
    keys = {"optimalUsageRatio", "baseVariableBorrowRate", "variableRateSlope1", "variableRateSlope2"}
    d = _obj(value, field, keys, keys)
    n = {
        k: bounded_int(d[k], json_path(field, k), 0, 2**16 - 1 if k == "optimalUsageRatio" else 2**32 - 1) for k in keys
    }
    rates = InterestRateData(
        n["optimalUsageRatio"], n["baseVariableBorrowRate"], n["variableRateSlope1"], n["variableRateSlope2"]
    )
    _renamed(rates.validate, field)
    return rates


_CAMEL = re.compile(r"_([a-z0-9])")


def _renamed(validate: Any, field: str) -> None:
    """Run a model's validate(field) and report its snake_case parameter as the file's camelCase key."""
    try:
        validate(field)
    except InputError as e:
        raise InputError(_CAMEL.sub(lambda m: m.group(1).upper(), e.field), e.detail) from None


def _asset(value: Any, field: str) -> AssetConfig:
    keys = {"symbol", "name", "decimals", "price", "feedMaxAge", "risk", "rates", "faucet"}
    d = _obj(value, field, keys, keys - {"name"})
    symbol = _str(d["symbol"], json_path(field, "symbol"), "a symbol")
    if not _SYMBOL.match(symbol):
        raise InputError(json_path(field, "symbol"), "asset symbols are 1-32 characters of A-Z a-z 0-9 . _ -")
    name = _str(d.get("name", symbol), json_path(field, "name"), "a token name")
    if not 0 < len(name) <= 64:
        raise InputError(json_path(field, "name"), "must be 1 to 64 characters")
    decimals = bounded_int(d["decimals"], json_path(field, "decimals"), 0, MAX_DECIMALS)
    price = bounded_int(
        d["price"],
        json_path(field, "price"),
        1,
        MAX_PRICE,
        what=f'a positive price with {PRICE_DECIMALS} decimals below 2^{PRICE_BITS} (e.g. "350000000000" = 3500.0)',
    )
    max_age = bounded_int(d["feedMaxAge"], json_path(field, "feedMaxAge"), 1, MAX_AGE_LIMIT, what="seconds > 0")
    return AssetConfig(
        symbol,
        name,
        decimals,
        price,
        max_age,
        _risk(d["risk"], json_path(field, "risk")),
        _rates(d["rates"], json_path(field, "rates")),
        _amount(d["faucet"], json_path(field, "faucet"), decimals, f"whole {symbol}, at most {decimals} decimals"),
    )


def config_from_json(data: Any) -> PoolConfig:
    keys = {"version", "name", "assets", "sequencer", "treasury", "devAccounts", "faucetEth"}
    d = _obj(data, "", keys, {"assets", "treasury", "devAccounts"})
    if "version" in d and bounded_int(d["version"], "version", 0, 2**32) != FORMAT_VERSION:
        raise InputError("version", f"unsupported format version (this zkmargin reads {FORMAT_VERSION})")
    name = _str(d.get("name", "devnet"), "name", "a name")
    if not 0 < len(name) <= 64:
        raise InputError("name", "must be 1 to 64 characters")
    raw_assets = d["assets"]
    if not isinstance(raw_assets, list) or not raw_assets:
        raise InputError("assets", f"must be a non-empty array of assets, got {kind_of(raw_assets)}")
    if len(raw_assets) != pool_contract.N_RESERVES:
        raise InputError(
            "assets",
            f"the pool circuits are registered for {pool_contract.N_RESERVES} reserves, got {len(raw_assets)} assets",
        )
    assets = tuple(_asset(a, json_path("assets", i)) for i, a in enumerate(raw_assets))
    seen: set[str] = set()
    for i, a in enumerate(assets):
        if a.symbol in seen:
            raise InputError(json_path(json_path("assets", i), "symbol"), f"duplicate symbol {a.symbol}")
        seen.add(a.symbol)
    grace: int | None = None
    if d.get("sequencer") is not None:
        seq = _obj(d["sequencer"], "sequencer", {"gracePeriod"}, {"gracePeriod"})
        grace = bounded_int(seq["gracePeriod"], "sequencer.gracePeriod", 0, 2**32 - 1, what="seconds")
    return PoolConfig(
        name=name,
        assets=assets,
        sequencer_grace_period=grace,
        treasury=parse_address(d["treasury"], "treasury"),
        dev_accounts=bounded_int(d["devAccounts"], "devAccounts", 0, MAX_DEV_ACCOUNTS),
        faucet_eth=_amount(d.get("faucetEth", "0"), "faucetEth", 18, "whole ETH, at most 18 decimals"),
        source=d,
    )


def load_config(path: str | Path = DEFAULT_CONFIG) -> PoolConfig:
    """The deployment config at `path`; InputError naming the file and the field."""
    data = read_json(path, "devnet config")
    try:
        return config_from_json(data)
    except InputError as e:
        raise InputError(e.field, e.detail, source=f"devnet config file {path}") from None


# --- the deployment ---


@dataclass(frozen=True)
class AssetDeployment:
    symbol: str
    token: str
    feed: str


@dataclass(frozen=True)
class Deployment:
    chain_id: int
    pool_contract: str
    pool: str
    deployer: str
    block: int  # the pool's deployment block: where a follower of its events starts
    assets: tuple[AssetDeployment, ...]
    sequencer_feed: str | None
    config: PoolConfig

    def asset(self, symbol: str, field: str = "SYMBOL") -> AssetDeployment:
        for a in self.assets:
            if a.symbol == symbol:
                return a
        raise InputError(field, f"unknown asset {symbol[:40]!r} (deployed: {', '.join(a.symbol for a in self.assets)})")

    def to_json(self) -> dict[str, Any]:
        return {
            "version": FORMAT_VERSION,
            "chainId": self.chain_id,
            "pool": {"contract": self.pool_contract, "address": self.pool, "block": self.block},
            "deployer": self.deployer,
            "assets": {a.symbol: {"token": a.token, "feed": a.feed} for a in self.assets},
            "sequencerFeed": self.sequencer_feed,
            "configSha256": self.config.sha256,
            "config": self.config.source,
        }


def deployment_from_json(data: Any) -> Deployment:
    keys = {"version", "chainId", "pool", "deployer", "assets", "sequencerFeed", "configSha256", "config"}
    d = _obj(data, "", keys, keys)
    if bounded_int(d["version"], "version", 0, 2**32) != FORMAT_VERSION:
        raise InputError("version", f"unsupported format version (this zkmargin reads {FORMAT_VERSION})")
    try:
        config = config_from_json(d["config"])
    except InputError as e:
        raise InputError(f"config.{e.field}", e.detail) from None
    sha = _str(d["configSha256"], "configSha256", "a sha256")
    if sha != config.sha256:
        raise InputError("configSha256", "does not match the config in the file (edited by hand?)")
    pool = _obj(d["pool"], "pool", {"contract", "address", "block"}, {"contract", "address", "block"})
    assets = _obj(d["assets"], "assets", set(config.symbols), set(config.symbols))
    deployed = []
    for sym in config.symbols:
        f = json_path("assets", sym)
        a = _obj(assets[sym], f, {"token", "feed"}, {"token", "feed"})
        deployed.append(
            AssetDeployment(
                sym, parse_address(a["token"], json_path(f, "token")), parse_address(a["feed"], f + ".feed")
            )
        )
    seq = d["sequencerFeed"]
    if (seq is None) != (config.sequencer_grace_period is None):
        raise InputError("sequencerFeed", "must be an address exactly when the config has a sequencer")
    return Deployment(
        chain_id=bounded_int(d["chainId"], "chainId", 1, 2**64 - 1),
        pool_contract=_str(pool["contract"], "pool.contract", "a contract name"),
        pool=parse_address(pool["address"], "pool.address"),
        deployer=parse_address(d["deployer"], "deployer"),
        block=bounded_int(pool["block"], "pool.block", 0, 2**64 - 1),
        assets=tuple(deployed),
        sequencer_feed=None if seq is None else parse_address(seq, "sequencerFeed"),
        config=config,
    )


def load_deployment(path: str | Path) -> Deployment:
    data = read_json(path, "deployment")
    try:
        return deployment_from_json(data)
    except InputError as e:
        raise InputError(e.field, e.detail, source=f"deployment file {path}") from None


def save_deployment(path: str | Path, deployment: Deployment) -> None:
    write_json_atomic(path, deployment.to_json())


# --- talking to the contracts ---


def _sel(signature: str) -> bytes:
    return keccak(text=signature)[:4]


def send(chain: RpcChain, to: str, signature: str, args: Sequence[Any] = ()) -> bytes:
    types = signature[signature.index("(") + 1 : -1]
    return chain.transact(to, _sel(signature) + encode(_split_types(types), list(args))).output


def call(chain: RpcChain, to: str, signature: str, args: Sequence[Any], out: Sequence[str]) -> tuple[Any, ...]:
    types = signature[signature.index("(") + 1 : -1]
    return tuple(decode(list(out), chain.call(to, _sel(signature) + encode(_split_types(types), list(args)))))


def _split_types(types: str) -> list[str]:
    """'address,(uint16,uint16),uint32' -> ['address', '(uint16,uint16)', 'uint32']."""
    out, depth, cur = [], 0, ""
    for c in types:
        if c == "," and depth == 0:
            out.append(cur)
            cur = ""
            continue
        depth += c == "("
        depth -= c == ")"
        cur += c
    if cur:
        out.append(cur)
    return out


def _deploy(chain: RpcChain, contracts: dict[str, Compiled], name: str, types: list[str], args: list[Any]) -> str:
    return chain.deploy(contracts[name].bytecode, encode(types, args))


def has_code(chain: RpcChain, address: str) -> bool:
    return str(chain.request("eth_getCode", address, "latest")) not in ("0x", "")


def check_chain(chain: RpcChain, deployment: Deployment, source: str) -> None:
    """DeploymentError unless `chain` is the deployment's chain and still holds its pool."""
    if chain.chain_id != deployment.chain_id:
        raise DeploymentError(
            f"{source} was deployed on chain {deployment.chain_id}, but {chain.url} is chain {chain.chain_id}: "
            f"point at that chain, or deploy to this one with another deployment file"
        )
    if not has_code(chain, deployment.pool):
        raise DeploymentError(
            f"{source}: chain {chain.chain_id} at {chain.url} has no contract at the pool address {deployment.pool} "
            f"(a node restarted without its state?): remove the file to deploy anew"
        )


def deploy(
    chain: RpcChain,
    config: PoolConfig,
    contracts: dict[str, Compiled],
    progress: Progress | None = None,
    settings: Settings | None = None,
    keeper_key: Point | None = None,
) -> Deployment:
    """Tokens, feeds (each with a first round at the initial price), the sequencer feed if the
    config has one, then PrivateMarginPool (its verifiers from the pool circuits' keys, built
    first if `settings`' cache lacks them; every note sealed to `keeper_key`, DEV_KEEPER's unless
    given); test tokens to the node's first `devAccounts` accounts. Needs a chain with a private
    key that pays for it."""
    progress = progress or NullProgress()
    settings = settings or Settings()
    if chain.account is None:
        raise InputError("--private-key", "deploying needs a private key (or ZKMARGIN_PRIVATE_KEY)")
    deployed: list[AssetDeployment] = []
    for a in config.assets:
        with progress.step(f"deploying {a.symbol} (token and price feed)"):
            token = _deploy(
                chain, contracts, TOKEN_CONTRACT, ["string", "string", "uint8"], [a.name, a.symbol, a.decimals]
            )
            feed = _deploy(chain, contracts, FEED_CONTRACT, ["uint8"], [PRICE_DECIMALS])
            _post_round(chain, feed, a.price)
            deployed.append(AssetDeployment(a.symbol, token, feed))
    sequencer = None
    if config.sequencer_grace_period is not None:
        with progress.step("deploying the sequencer-uptime feed"):
            sequencer = _deploy(chain, contracts, SEQUENCER_CONTRACT, [], [])
            # up since long enough that borrowing is allowed from the start
            since = max(chain.timestamp() - config.sequencer_grace_period - 1, 1)
            send(chain, sequencer, "setStatus(bool,uint256)", [False, since])
    with progress.step("loading the pool circuits' keys (built on first use)"):
        for circuit in (
            pool_contract.OPEN_CIRCUIT,
            pool_contract.TRANSITION_CIRCUIT,
            pool_contract.LIQUIDATION_CIRCUIT,
        ):
            pool_contract.trusted_vkey(circuit, settings)  # built here on first use, cached after
    with progress.step(f"deploying the pool ({pool_contract.POOL_CONTRACT}, its verifiers, PoseidonT3)"):
        listings = [
            pool_contract.Listing(a.token, c.risk, c.rates, a.feed, c.max_age)
            for a, c in zip(deployed, config.assets, strict=True)
        ]
        client = pool_contract.deploy(
            chain,
            listings,
            config.treasury,
            settings=settings,
            keeper_key=DEV_KEEPER.public if keeper_key is None else keeper_key,
            sequencer_feed=sequencer or pool_contract.ZERO_ADDRESS,
            grace_period=config.sequencer_grace_period or 0,
        )
        block = int(str(chain.request("eth_blockNumber")), 16)
    deployment = Deployment(
        chain_id=int(chain.chain_id),
        pool_contract=pool_contract.POOL_CONTRACT,
        pool=client.address,
        deployer=chain.account.address,
        block=block,
        assets=tuple(deployed),
        sequencer_feed=sequencer,
        config=config,
    )
    accounts = dev_accounts(chain)[: config.dev_accounts]
    if accounts:
        with progress.step(f"minting test tokens to {len(accounts)} dev accounts"):
            for acct in accounts:
                mint(chain, deployment, acct)
    return deployment


def deploy_to_file(
    chain: RpcChain,
    config: PoolConfig,
    contracts: Callable[[], dict[str, Compiled]],
    path: Path,
    progress: Progress | None = None,
    settings: Settings | None = None,
    keeper_key: Point | None = None,
) -> tuple[Deployment, bool]:
    """Idempotent per chain: the deployment in `path` if it is this chain's and made from this
    config (checked, nothing sent), else a new deployment written there atomically. Refused
    (DeploymentError) when `path` holds another chain's deployment, or one this chain lost;
    InputError when it was made from another config. Returns (deployment, whether deployed now).
    `contracts` compiles the contracts and is called only when deploying. `keeper_key` (default
    DEV_KEEPER's) must be the existing deployment's when one is there."""
    if path.exists():
        existing = load_deployment(path)
        check_chain(chain, existing, str(path))
        if existing.config.sha256 != config.sha256:
            raise InputError(
                "--config",
                f"{path} was deployed from another config (sha256 {existing.config.sha256[:12]}, this one "
                f"{config.sha256[:12]}): write the new deployment to another file",
            )
        check_keeper_key(chain, existing, keeper_key, "--keeper-public-key")
        return existing, False
    deployment = deploy(chain, config, contracts(), progress, settings, keeper_key)
    save_deployment(path, deployment)
    return deployment, True


def dev_accounts(chain: RpcChain) -> list[str]:
    """The node's unlocked accounts (eth_accounts; anvil's ten dev accounts), checksummed."""
    return [str(Web3.to_checksum_address(a)) for a in chain.request("eth_accounts") or []]


def mint(chain: RpcChain, deployment: Deployment, to: str) -> dict[str, int]:
    """Each asset's faucet amount of test tokens to `to`; returns {symbol: base units}."""
    out = {}
    for a in deployment.assets:
        amount = deployment.config.asset(a.symbol).faucet
        if amount:
            send(chain, a.token, "mint(address,uint256)", [to, amount])
        out[a.symbol] = amount
    return out


def _post_round(chain: RpcChain, feed: str, price: int, round_id: int = 1) -> None:
    # updatedAt = the latest block's time: the transaction's own block is at or after it
    now = chain.timestamp()
    send(chain, feed, "setRound(uint80,int256,uint256,uint256,uint80)", [round_id, price, now, now, round_id])


def latest_round(chain: RpcChain, feed: str) -> tuple[int, int, int]:
    """(roundId, answer, updatedAt) of a feed."""
    r = call(chain, feed, "latestRoundData()", [], ["uint80", "int256", "uint256", "uint256", "uint80"])
    return int(r[0]), int(r[1]), int(r[3])


def set_price(chain: RpcChain, deployment: Deployment, symbol: str, price: int) -> int:
    """Posts a new round (the next roundId) with `price` (8 decimals) to the asset's mock feed,
    timestamped now; returns the round id."""
    if not 0 < price <= MAX_PRICE:
        raise InputError("VALUE", f"must be a positive price below 2^{PRICE_BITS} / 1e{PRICE_DECIMALS}")
    feed = deployment.asset(symbol).feed
    round_id = latest_round(chain, feed)[0] + 1
    _post_round(chain, feed, price, round_id)
    return round_id


def refresh_prices(chain: RpcChain, deployment: Deployment) -> None:
    """Re-posts every feed's current answer as a new round timestamped now, as a Chainlink feed
    does at its heartbeat when the price has not moved."""
    for a in deployment.assets:
        round_id, answer, _ = latest_round(chain, a.feed)
        _post_round(chain, a.feed, answer, round_id + 1)


def refresh_stale_prices(chain: RpcChain, deployment: Deployment) -> list[str]:
    """Re-posts the answer of every feed whose last round is past its asset's max age (a chain
    resumed after hours down: a live feed would have posted at its heartbeat); returns the symbols."""
    now = chain.timestamp()
    stale = []
    for a in deployment.assets:
        round_id, answer, updated = latest_round(chain, a.feed)
        if now - updated > deployment.config.asset(a.symbol).max_age:
            _post_round(chain, a.feed, answer, round_id + 1)
            stale.append(a.symbol)
    return stale


@dataclass(frozen=True)
class ReserveView:
    symbol: str
    decimals: int
    price: int | None  # None when getAssetPrice reverts (stale, ...)
    liquidity_index: int
    variable_borrow_index: int
    risk: RiskParameters
    rates: InterestRateData
    raw: tuple[Any, ...]  # Reserves.ReserveData as getReserveData returns it


def read_keeper_key(chain: RpcChain, deployment: Deployment) -> Point:
    """The keeper key the pool seals every new note to (set at deployment)."""
    (x,) = call(chain, deployment.pool, "keeperKeyX()", [], ["uint256"])
    (y,) = call(chain, deployment.pool, "keeperKeyY()", [], ["uint256"])
    return int(x), int(y)


def check_keeper_key(chain: RpcChain, deployment: Deployment, keeper_key: Point | None, field: str) -> None:
    """An existing deployment asked for with a keeper key must have been made with that key (a
    pool's keeper key is fixed at deployment)."""
    if keeper_key is None:
        return
    registered = read_keeper_key(chain, deployment)
    if registered != tuple(keeper_key):
        raise InputError(
            field,
            f"the pool {deployment.pool} seals notes to keeper key {registered[0]},{registered[1]}, "
            f"fixed at deployment: deploy a new pool for another key",
        )


def read_reserve(chain: RpcChain, deployment: Deployment, symbol: str) -> ReserveView:
    """What the pool holds for an asset: its ReserveData and the price it reads."""
    token = deployment.asset(symbol).token
    (data,) = call(chain, deployment.pool, "getReserveData(address)", [token], [RESERVE_DATA_ABI])
    try:
        (price,) = call(chain, deployment.pool, "getAssetPrice(address)", [token], ["uint256"])
    except Reverted:
        price = None
    risk, rates = data[12], data[13]
    return ReserveView(
        symbol=symbol,
        decimals=int(data[6]),
        price=None if price is None else int(price),
        liquidity_index=int(data[0]),
        variable_borrow_index=int(data[2]),
        risk=RiskParameters(*(int(x) for x in risk)),
        rates=InterestRateData(*(int(x) for x in rates)),
        raw=tuple(data),
    )
