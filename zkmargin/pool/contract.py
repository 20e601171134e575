"""A Python client of contracts/PrivateMarginPool.sol: deploy (the two pool verifiers, PoseidonT3
linked into the pool, the reserves listed with their feeds) and one call per operation, each
returning the transaction's decoded events.

The client does not prove: proofs come from zkmargin.statements.pool (prove_open /
prove_transition) against `market()`, the public inputs the pool will assemble itself at the
timestamp of the block the transaction lands in (see the README's "The private margin pool",
Timing: prove against the pending block's timestamp, or prove again after an InvalidProof), and
against the pool's current note tree (`frontier=`: the proof appends its note; if another note
lands first the pool inserts it on-chain instead, at more gas).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi.abi import decode, encode
from eth_hash.auto import keccak

from .. import api, build, calldata, registry, solidity
from ..bundle import Bundle
from ..errors import InputError
from ..evm import Chain, EventLog, TxResult
from ..settings import Settings
from .babyjub import Point
from .liquidation import LiquidationMarket
from .reserve import RESERVE_DATA_ABI, InterestRateData, RiskParameters
from .sealing import check_keeper_keys
from .transition import Op, PoolMarket, ReserveView

POOL_CONTRACT = "PrivateMarginPool"
OPEN_CIRCUIT = "pool_open_2"
TRANSITION_CIRCUIT = "pool_transition_2"
LIQUIDATION_CIRCUIT = "pool_liquidation_2"
N_RESERVES = 2
ZERO_ADDRESS = "0x" + "00" * 20

PROOF_ABI = "(uint256[2],uint256[2][2],uint256[2])"
#: PrivateMarginPool.Seal: ephemeralKey, ciphertext[2 * 10] (owner's, then the keeper's)
SEAL_ABI = "(uint256[2],uint256[20])"
#: the seal's public signals after each pool circuit's own: keeperKey 2, ephemeralPublicKey 2, ciphertext 20
SEAL_SIGNALS = 24
#: NoteTree.Insertion: root, size, newRoot, newNode (NoteInsertion's signals, just before the seal)
INSERTION_ABI = "(uint256,uint256,uint256,uint256)"
_TAIL = f"{INSERTION_ABI},{PROOF_ABI},{SEAL_ABI}"
_SIGNATURES = {
    "open": f"open(address,uint256,uint256,{_TAIL})",
    Op.DEPOSIT: f"deposit(uint256,uint256,address,uint256,{_TAIL})",
    Op.WITHDRAW: f"withdraw(uint256,uint256,address,uint256,address,{_TAIL})",
    Op.BORROW: f"borrow(uint256,uint256,address,uint256,address,{_TAIL})",
    Op.REPAY: f"repay(uint256,uint256,address,uint256,{_TAIL})",
}
LIQUIDATE_CALL = "(uint256,uint256,uint256,address,address,uint256,uint256,uint256,uint256,uint256[2],address)"
LIQUIDATE_SIGNATURE = f"liquidate({LIQUIDATE_CALL},{PROOF_ABI},{SEAL_ABI})"
#: ops whose tokens come in from the sender; the proof binds recipient address(0) for them
PAYS_IN = frozenset({Op.DEPOSIT, Op.REPAY})


@dataclass(frozen=True)
class Listing:
    """One reserve as the pool's constructor lists it (reserve id = circuit slot = list order)."""

    asset: str
    risk: RiskParameters
    rates: InterestRateData
    feed: str
    max_age: int

    def encoded(self) -> tuple[Any, ...]:
        r, q = self.risk, self.rates
        return (
            self.asset,
            (r.ltv, r.liquidation_threshold, r.liquidation_bonus, r.liquidation_protocol_fee, r.reserve_factor),
            (q.optimal_usage_ratio, q.base_variable_borrow_rate, q.variable_rate_slope1, q.variable_rate_slope2),
            self.feed,
            self.max_age,
        )


@dataclass(frozen=True)
class Event:
    name: str
    args: dict[str, Any]
    address: str


@dataclass(frozen=True)
class Receipt:
    gas_used: int
    events: tuple[Event, ...]

    def named(self, name: str) -> list[Event]:
        return [e for e in self.events if e.name == name]

    def one(self, name: str) -> Event:
        found = self.named(name)
        if len(found) != 1:
            raise AssertionError(f"expected one {name} event, got {len(found)}: {[e.name for e in self.events]}")
        return found[0]


def _canonical(t: dict[str, Any]) -> str:
    """The ABI type string of an ABI JSON entry (tuples expanded)."""
    ty: str = t["type"]
    if ty.startswith("tuple"):
        return "(" + ",".join(_canonical(c) for c in t["components"]) + ")" + ty[len("tuple") :]
    return ty


class EventDecoder:
    """Decodes logs by topic 0 with a compiled contract's ABI (every contract it inherits included)."""

    def __init__(self, abi: list[dict[str, Any]]) -> None:
        self._events: dict[bytes, dict[str, Any]] = {}
        for e in abi:
            if e["type"] == "event":
                sig = f"{e['name']}({','.join(_canonical(i) for i in e['inputs'])})"
                self._events[keccak(sig.encode())] = e

    def decode(self, log: EventLog) -> Event | None:
        e = self._events.get(log.topics[0]) if log.topics else None
        if e is None:
            return None
        indexed = [i for i in e["inputs"] if i["indexed"]]
        plain = [i for i in e["inputs"] if not i["indexed"]]
        args: dict[str, Any] = {}
        for i, topic in zip(indexed, log.topics[1:], strict=True):
            args[i["name"]] = decode([_canonical(i)], topic)[0]
        for i, v in zip(plain, decode([_canonical(i) for i in plain], log.data), strict=True):
            args[i["name"]] = v
        return Event(e["name"], args, log.address)


def _selector(signature: str) -> bytes:
    return keccak(signature.encode())[:4]


def _proof_tuple(bundle: Bundle) -> tuple[Any, ...]:
    cd = calldata.from_proof(bundle.proof, bundle.public_signals)
    return (list(cd.a), [list(r) for r in cd.b], list(cd.c))


def seal_tuple(bundle: Bundle) -> tuple[Any, ...]:
    """PrivateMarginPool.Seal from a pool proof's last public signals: (ephemeralKey, ciphertext);
    the keeper key before them is the pool's own, which it supplies itself."""
    pub = [int(s) for s in bundle.public_signals]
    seal = pub[len(pub) - SEAL_SIGNALS + 2 :]
    return (seal[:2], seal[2:])


def insertion_tuple(bundle: Bundle, *, root: int | None = None) -> tuple[int, int, int, int]:
    """NoteTree.Insertion from an owner proof's public signals: the tree's root (a transition's
    first signal, an open's just before treeSize) and treeSize, newRoot, newNode before the seal."""
    pub = [int(s) for s in bundle.public_signals]
    end = len(pub) - SEAL_SIGNALS
    size, new_root, new_node = pub[end - 3 : end]
    if root is None:
        root = pub[end - 4] if bundle.circuit == OPEN_CIRCUIT else pub[0]
    return (root, size, new_root, new_node)


def open_calldata(asset: str, bundle: Bundle) -> bytes:
    """open(asset, amount, newCommitment, tree, proof, seal), all read from a PoolOpen proof."""
    pub = [int(s) for s in bundle.public_signals]
    args = [asset, pub[2], pub[0], insertion_tuple(bundle), _proof_tuple(bundle), seal_tuple(bundle)]
    types = ["address", "uint256", "uint256", INSERTION_ABI, PROOF_ABI, SEAL_ABI]
    return _selector(_SIGNATURES["open"]) + encode(types, args)


def transition_calldata(
    op: Op,
    asset: str,
    bundle: Bundle,
    recipient: str | None = None,
    *,
    root: int | None = None,
    nullifier: int | None = None,
    amount: int | None = None,
) -> bytes:
    """deposit / withdraw / borrow / repay(nullifier, newCommitment, asset, amount[, recipient],
    tree, proof, seal), all read from a PoolTransition proof (`root`, `nullifier`, `amount`
    replace the proof's: tests of the pool's refusals)."""
    pub = [int(s) for s in bundle.public_signals]
    head: list[Any] = [
        pub[1] if nullifier is None else nullifier,
        pub[2],
        asset,
        pub[5] if amount is None else amount,
    ]
    types = ["uint256", "uint256", "address", "uint256"]
    if op in PAYS_IN:
        if recipient not in (None, ZERO_ADDRESS):
            raise InputError("recipient", f"{op.name.lower()} pays in: it has no recipient")
    else:
        if recipient is None:
            raise InputError("recipient", f"{op.name.lower()} needs the address the tokens go to")
        head.append(recipient)
        types.append("address")
    tail = [insertion_tuple(bundle, root=root), _proof_tuple(bundle), seal_tuple(bundle)]
    return _selector(_SIGNATURES[op]) + encode([*types, INSERTION_ABI, PROOF_ABI, SEAL_ABI], [*head, *tail])


def trusted_vkey(circuit_id: str, settings: Settings) -> dict[str, Any]:
    """The verification key of a registered pool circuit as this installation built it."""
    return build.build(registry.get(circuit_id), settings.tc()).vkey()


def liquidation_calldata(assets: Sequence[str], bundle: Bundle, recipient: str, **overrides: int) -> bytes:
    """liquidate(LiquidationCall, proof, seal) with every LiquidationCall field and the seal read
    from a pool_liquidation_2 proof's public signals (reserve ids mapped to `assets`, the pool's
    listing order); `overrides` replace a field by its Solidity name (tests)."""
    pub = [int(x) for x in bundle.public_signals]
    n = N_RESERVES
    fields: dict[str, Any] = {
        "root": pub[0],
        "nullifier": pub[1],
        "newCommitment": pub[2],
        "collateralAsset": assets[pub[3]],
        "debtAsset": assets[pub[4]],
        "debtToCover": pub[5],
        "debtRepaid": pub[6],
        "collateralToLiquidator": pub[7],
        "protocolFee": pub[8],
        "deficit": pub[9 : 9 + n],
        "recipient": recipient,
    }
    for k, v in overrides.items():
        if k not in fields:
            raise InputError(k, "is not a LiquidationCall field")
        fields[k] = v
    return _selector(LIQUIDATE_SIGNATURE) + encode(
        [LIQUIDATE_CALL, PROOF_ABI, SEAL_ABI],
        [tuple(fields.values()), _proof_tuple(bundle), seal_tuple(bundle)],
    )


class PoolClient:
    """One deployed PrivateMarginPool on `chain`; `as_chain(other)` talks to it from another
    sender (an InProcessChain view from `as_sender`, or an RpcChain with another key)."""

    def __init__(self, chain: Chain, address: str, contracts: dict[str, solidity.Compiled]) -> None:
        self.chain, self.address, self.contracts = chain, address, contracts
        self.decoder = EventDecoder(contracts[POOL_CONTRACT].abi)
        self.assets: tuple[str, ...] = tuple(
            decode(["address[]"], self._call("getReservesList()"))[0]  # listing order = circuit slots
        )

    def as_chain(self, chain: Chain) -> PoolClient:
        return PoolClient(chain, self.address, self.contracts)

    # --- reads ---

    def _call(self, signature: str, types: Sequence[str] = (), args: Sequence[Any] = ()) -> bytes:
        return self.chain.call(self.address, _selector(signature) + encode(list(types), list(args)))

    def _uint(self, signature: str, types: Sequence[str] = (), args: Sequence[Any] = ()) -> int:
        return int(decode(["uint256"], self._call(signature, types, args))[0])

    def reserve_data(self, asset: str) -> dict[str, int]:
        """Reserves.ReserveData of `asset` as stored (indexes as of its last update)."""
        names = (
            "liquidityIndex currentLiquidityRate variableBorrowIndex currentVariableBorrowRate lastUpdateTimestamp "
            "id decimals accruedToTreasury virtualUnderlyingBalance scaledTotalSupply scaledTotalVariableDebt "
            "treasuryScaled"
        ).split()
        raw = decode([RESERVE_DATA_ABI], self._call("getReserveData(address)", ["address"], [asset]))[0]
        out = dict(zip(names, (int(v) for v in raw[:12]), strict=True))
        out["ltv"], out["liquidationThreshold"] = int(raw[12][0]), int(raw[12][1])
        out["liquidationBonus"], out["liquidationProtocolFee"] = int(raw[12][2]), int(raw[12][3])
        return out

    def price(self, asset: str) -> int:
        return self._uint("getAssetPrice(address)", ["address"], [asset])

    def normalized_income(self, asset: str) -> int:
        return self._uint("getReserveNormalizedIncome(address)", ["address"], [asset])

    def normalized_debt(self, asset: str) -> int:
        return self._uint("getReserveNormalizedVariableDebt(address)", ["address"], [asset])

    def current_root(self) -> int:
        return self._uint("currentRoot()")

    def keeper_keys(self) -> tuple[Point, ...]:
        """The keeper keys the pool registered, in the order its proofs take them (one today)."""
        return ((self._uint("keeperKeyX()"), self._uint("keeperKeyY()")),)

    def note_count(self) -> int:
        return self._uint("noteCount()")

    def is_known_root(self, root: int) -> bool:
        return bool(decode(["bool"], self._call("isKnownRoot(uint256)", ["uint256"], [root]))[0])

    def nullifier_spent(self, nullifier: int) -> bool:
        return bool(decode(["bool"], self._call("nullifierSpent(uint256)", ["uint256"], [nullifier]))[0])

    def binding(self, sender: str, recipient: str = ZERO_ADDRESS) -> int:
        return self._uint("bindingOf(address,address)", ["address", "address"], [sender, recipient])

    def market(self) -> PoolMarket:
        """The public inputs the pool assembles in a block at the chain's current timestamp, the
        indexes as its _currentIndexes reads them (what updateState would store now):
        getReserveNormalizedIncome, and getReserveNormalizedVariableDebt while the reserve has debt,
        else the stored borrow index (updateState leaves it alone; the view would compound a base
        rate). Exact when the next block has this timestamp; PoolModel.market(t) is exact at any t."""
        views = []
        for a in self.assets:
            d = self.reserve_data(a)
            bi = self.normalized_debt(a) if d["scaledTotalVariableDebt"] else d["variableBorrowIndex"]
            views.append(
                ReserveView(
                    self.price(a), self.normalized_income(a), bi, d["decimals"], d["ltv"], d["liquidationThreshold"]
                )
            )
        return PoolMarket(tuple(views))

    def liquidation_market(self) -> LiquidationMarket:
        """PoolLiquidation's market inputs at the chain's current timestamp: market() plus each
        reserve's liquidation bonus and protocol fee (what a keeper proves against)."""
        data = [self.reserve_data(a) for a in self.assets]
        return LiquidationMarket(
            self.market(),
            tuple(d["liquidationBonus"] for d in data),
            tuple(d["liquidationProtocolFee"] for d in data),
        )

    # --- operations ---

    def _send(self, data: bytes) -> Receipt:
        res: TxResult = self.chain.transact(self.address, data)
        events = tuple(e for e in (self.decoder.decode(lg) for lg in res.logs) if e is not None)
        return Receipt(res.gas_used, events)

    def open(self, asset: str, bundle: Bundle) -> Receipt:
        """open(asset, amount, newCommitment, tree, proof, seal), all read from the proof's
        public signals (open_calldata)."""
        return self._send(open_calldata(asset, bundle))

    def transact(
        self,
        op: Op,
        asset: str,
        bundle: Bundle,
        recipient: str | None = None,
        **overrides: int,
    ) -> Receipt:
        """deposit / withdraw / borrow / repay with root, nullifier, newCommitment, amount and the
        seal read from the proof's public signals (`overrides` replace root, nullifier or amount: tests)."""
        return self._send(transition_calldata(op, asset, bundle, recipient, **overrides))

    def liquidate_calldata(
        self,
        bundle: Bundle,
        recipient: str,
        **overrides: int,
    ) -> bytes:
        """liquidation_calldata with this pool's assets."""
        return liquidation_calldata(self.assets, bundle, recipient, **overrides)

    def liquidate(self, bundle: Bundle, recipient: str, **overrides: int) -> Receipt:
        """PrivateMarginPool.liquidate from this client's sender (the liquidator the proof binds,
        with `recipient`): it pays the proof's debtRepaid of the debt asset (approve the pool first)."""
        return self._send(self.liquidate_calldata(bundle, recipient, **overrides))

    def reserve_deficit(self, asset: str) -> int:
        return self._uint("reserveDeficit(address)", ["address"], [asset])

    def mint_to_treasury(self) -> Receipt:
        return self._send(_selector("mintToTreasury(address[])") + encode(["address[]"], [list(self.assets)]))

    def withdraw_treasury(self, asset: str, amount: int, to: str) -> Receipt:
        sig = "withdrawTreasury(address,uint256,address)"
        return self._send(_selector(sig) + encode(["address", "uint256", "address"], [asset, amount, to]))


def deploy(
    chain: Chain,
    listings: Sequence[Listing],
    treasury: str,
    *,
    settings: Settings | None = None,
    keeper_key: Point,
    sequencer_feed: str = ZERO_ADDRESS,
    grace_period: int = 0,
) -> PoolClient:
    """Deploys the three pool verifiers (from this installation's keys), PoseidonT3, and the pool
    linked to it with `listings` (N_RESERVES of them, in circuit slot order) and the keeper's key
    every note is sealed to (checked here as the pool registers it, the subgroup included)."""
    (keeper_key,) = check_keeper_keys([keeper_key])
    settings = settings or Settings()
    if len(listings) != N_RESERVES:
        raise InputError("listings", f"the pool circuits are registered for {N_RESERVES} reserves, got {len(listings)}")
    contracts = solidity.compile_reference_contracts(settings.tc())
    open_v = api.deploy_verifier(chain, trusted_vkey(OPEN_CIRCUIT, settings), settings)
    transition_v = api.deploy_verifier(chain, trusted_vkey(TRANSITION_CIRCUIT, settings), settings)
    liquidation_v = api.deploy_verifier(chain, trusted_vkey(LIQUIDATION_CIRCUIT, settings), settings)
    poseidon_t3 = chain.deploy(contracts["PoseidonT3"].bytecode)
    ctor = encode(
        [
            "(address,(uint16,uint16,uint16,uint16,uint16),(uint16,uint32,uint32,uint32),address,uint32)[]",
            "address",
            "address",
            "uint256",
            "(address,address,address)",
            "uint256[2]",
        ],
        [
            [x.encoded() for x in listings],
            treasury,
            sequencer_feed,
            grace_period,
            (open_v, transition_v, liquidation_v),
            list(keeper_key),
        ],
    )
    address = chain.deploy(contracts[POOL_CONTRACT].linked({"PoseidonT3": poseidon_t3}), ctor)
    return PoolClient(chain, address, contracts)


@dataclass(frozen=True)
class DevAsset:
    """A test token and its feed (contracts/pool/test: MintableERC20, MockChainlinkFeed)."""

    name: str
    symbol: str
    decimals: int
    price: int  # 8 decimals


def set_feed_round(chain: Chain, feed: str, price: int, updated_at: int, round_id: int = 1) -> None:
    """MockChainlinkFeed.setRound: a complete round answered at `updated_at`."""
    chain.transact(
        feed,
        _selector("setRound(uint80,int256,uint256,uint256,uint80)")
        + encode(
            ["uint80", "int256", "uint256", "uint256", "uint80"], [round_id, price, updated_at, updated_at, round_id]
        ),
    )


def deploy_dev_assets(
    chain: Chain, assets: Sequence[DevAsset], now: int, settings: Settings | None = None
) -> tuple[list[str], list[str]]:
    """Test only: one MintableERC20 (anyone may mint) and one MockChainlinkFeed per asset, each
    feed answering the asset's price as of `now`. Returns (tokens, feeds)."""
    contracts = solidity.compile_reference_contracts((settings or Settings()).tc())
    tokens, feeds = [], []
    for a in assets:
        tokens.append(
            chain.deploy(
                contracts["MintableERC20"].bytecode,
                encode(["string", "string", "uint8"], [a.name, a.symbol, a.decimals]),
            )
        )
        feed = chain.deploy(contracts["MockChainlinkFeed"].bytecode, encode(["uint8"], [8]))
        set_feed_round(chain, feed, a.price, now)
        feeds.append(feed)
    return tokens, feeds


def error_selector(name: str, *types: str) -> bytes:
    """The 4-byte selector of a custom error, to compare with Reverted.data[:4]."""
    return _selector(f"{name}({','.join(types)})")
