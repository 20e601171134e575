"""PrivateMarginPool on pyrevm with real proofs and real OpenZeppelin ERC-20s: each operation end
to end (tokens, events, reserve state and notes against zkmargin.pool.model to the wei), and each
refusal with its own custom error."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from eth_abi.abi import decode, encode
from eth_hash.auto import keccak

from zkmargin import registry, solidity
from zkmargin.build import CircuitKeys
from zkmargin.evm import Chain, InProcessChain, Reverted
from zkmargin.field import R
from zkmargin.liquidation_step import AaveRevert
from zkmargin.pool import babyjub, cipher
from zkmargin.pool.contract import (
    INSERTION_ABI,
    PROOF_ABI,
    SEAL_ABI,
    ZERO_ADDRESS,
    DevAsset,
    Listing,
    PoolClient,
    Receipt,
    deploy,
    deploy_dev_assets,
    error_selector,
    insertion_tuple,
    open_calldata,
    set_feed_round,
    transition_calldata,
)
from zkmargin.pool.deploy import DEV_KEEPER
from zkmargin.pool.model import PoolModel
from zkmargin.pool.note import Note, new_secret, owner_tag
from zkmargin.pool.reserve import InterestRateData, ReserveState, RiskParameters
from zkmargin.pool.sealing import message_length, open_note_for_keeper
from zkmargin.pool.store import NoteCreated
from zkmargin.pool.transition import Op, PoolMarket, ReserveView, binding
from zkmargin.pool.tree import LeanIMT
from zkmargin.pool.wallet import decode_boxes, encode_boxes
from zkmargin.settings import Settings
from zkmargin.statements import pool as pool_statements
from zkmargin.toolchain import Toolchain

E6, E18 = 10**6, 10**18
T0 = 1_800_000_000
MAX_AGE = 2**31  # feeds never go stale in these tests; PriceOracle's own tests cover freshness
KEEPERS = (DEV_KEEPER.public,)  # the pool's registered keeper key

# reserve 0: an 18-decimal WETH-like asset, reserve 1: a 6-decimal USDC-like one
RESERVES = (
    (
        "Wrapped Ether",
        "WETH",
        18,
        2_000 * 10**8,
        RiskParameters(
            ltv=8000,
            liquidation_threshold=8250,
            liquidation_bonus=10500,
            liquidation_protocol_fee=1000,
            reserve_factor=1500,
        ),
        InterestRateData(
            optimal_usage_ratio=8000, base_variable_borrow_rate=0, variable_rate_slope1=400, variable_rate_slope2=8000
        ),
    ),
    (
        "USD Coin",
        "USDC",
        6,
        1 * 10**8,
        RiskParameters(
            ltv=7500,
            liquidation_threshold=7800,
            liquidation_bonus=10450,
            liquidation_protocol_fee=1000,
            reserve_factor=1000,
        ),
        InterestRateData(
            optimal_usage_ratio=9000, base_variable_borrow_rate=0, variable_rate_slope1=550, variable_rate_slope2=3500
        ),
    ),
)


def sel(signature: str) -> bytes:
    return keccak(signature.encode())[:4]


@dataclass
class Owner:
    """One owner: a spending key, a fresh address per role, and the notes it holds."""

    name: str
    address: str
    client: PoolClient
    sk: int = field(default_factory=new_secret)
    note: Note | None = None
    view_secret: int = field(default_factory=lambda: new_secret() % (babyjub.L - 1) + 1)

    @property
    def tag(self) -> int:
        return owner_tag(self.sk)

    @property
    def view(self) -> tuple[int, int]:
        return babyjub.public_key(self.view_secret)


@dataclass
class PoolWorld:
    """A deployed pool, its tokens and feeds, the model of it, and helpers to prove and submit."""

    chain: Chain
    pool: PoolClient
    tokens: list[str]
    feeds: list[str]
    model: PoolModel
    settings: Settings
    chain_id: int
    deployer: str
    now: Callable[[], int]
    proofs: list[float] = field(default_factory=list)
    gas: dict[str, list[int]] = field(default_factory=dict)

    def token_call(self, chain: Chain, i: int, signature: str, types: list[str], args: list[Any]) -> bytes:
        return chain.transact(self.tokens[i], sel(signature) + encode(types, args)).output

    def balance_of(self, i: int, who: str) -> int:
        out = self.chain.call(self.tokens[i], sel("balanceOf(address)") + encode(["address"], [who]))
        return int(decode(["uint256"], out)[0])

    def fund(self, owner: Owner, chain: Chain, amounts: tuple[int, int]) -> None:
        for i, amount in enumerate(amounts):
            self.token_call(chain, i, "mint(address,uint256)", ["address", "uint256"], [owner.address, amount])
            self.token_call(
                chain, i, "approve(address,uint256)", ["address", "uint256"], [self.pool.address, 2**256 - 1]
            )

    def set_price(self, i: int, price: int) -> None:
        set_feed_round(self.chain, self.feeds[i], price, self.now())
        self.model.prices[i] = price

    def _timed(self, f: Callable[[], Any]) -> Any:
        t0 = time.perf_counter()
        out = f()
        self.proofs.append(time.perf_counter() - t0)
        return out

    def prove_open(self, owner: Owner, asset: int, amount: int, market: PoolMarket | None = None) -> tuple[Any, Note]:
        b = binding(self.chain_id, self.pool.address, owner.address, ZERO_ADDRESS)
        m = market or self.model.market(self.now())
        return self._timed(
            lambda: pool_statements.prove_open(
                m,
                asset,
                amount,
                owner.tag,
                b,
                viewing_key=owner.view,
                keepers=KEEPERS,
                frontier=self.model.tree.frontier(),
                settings=self.settings,
            )
        )

    def prove(
        self,
        owner: Owner,
        op: Op,
        asset: int,
        amount: int,
        recipient: str = ZERO_ADDRESS,
        market: PoolMarket | None = None,
    ) -> tuple[Any, Note]:
        assert owner.note is not None
        b = binding(self.chain_id, self.pool.address, owner.address, recipient)
        m = market or self.model.market(self.now())
        path = self.model.tree.proof(owner.note.commitment)
        return self._timed(
            lambda: pool_statements.prove_transition(
                owner.note,
                owner.sk,
                path,
                op,
                asset,
                amount,
                m,
                b,
                keepers=KEEPERS,
                frontier=self.model.tree.frontier(),
                settings=self.settings,
            )
        )

    def open(self, owner: Owner, asset: int, amount: int) -> Receipt:
        bundle, note = self.prove_open(owner, asset, amount)
        rc = owner.client.open(self.tokens[asset], bundle)
        scaled = self.model.open(asset, amount, note, self.now())
        self._check_receipt(rc, "open", note, scaled, amount, owner, None)
        owner.note = note
        return rc

    def op(self, owner: Owner, op: Op, asset: int, amount: int, recipient: str | None = None) -> Receipt:
        assert owner.note is not None
        to = recipient if op in (Op.WITHDRAW, Op.BORROW) else None
        bundle, new = self.prove(owner, op, asset, amount, to or ZERO_ADDRESS)
        rc = owner.client.transact(op, self.tokens[asset], bundle, to)
        scaled = self.model.transact(op, owner.note, new, asset, amount, self.now())
        self._check_receipt(rc, op.name.lower(), new, scaled, amount, owner, owner.note.nullifier, to)
        owner.note = new
        return rc

    def _check_receipt(
        self,
        rc: Receipt,
        name: str,
        note: Note,
        scaled: int,
        amount: int,
        owner: Owner,
        nullifier: int | None,
        to: str | None = None,
    ) -> None:
        who = to or owner.address
        self.gas.setdefault(name, []).append(rc.gas_used)
        created = rc.one("NoteCreated").args
        assert created["commitment"] == note.commitment
        check_sealed(created, note, owner)
        assert created["leafIndex"] == self.model.tree.index_of(note.commitment)
        if nullifier is None:
            assert not rc.named("NullifierSpent")
        else:
            assert rc.one("NullifierSpent").args["nullifier"] == nullifier
        event = {"open": "Supply", "deposit": "Supply", "withdraw": "Withdraw", "borrow": "Borrow", "repay": "Repay"}[
            name
        ]
        args = rc.one(event).args
        assert args["amount"] == amount and args["scaledAmount"] == scaled
        assert (args.get("from") or args.get("to")).lower() == who.lower()

    def check_state(self, owners: list[Owner]) -> None:
        """Reserves, tree and tokens equal the model's, to the wei."""
        now = self.now()
        for i, a in enumerate(self.tokens):
            d = self.pool.reserve_data(a)
            r = self.model.reserves[i]
            assert (d["liquidityIndex"], d["variableBorrowIndex"]) == (r.liquidity_index, r.variable_borrow_index)
            assert (d["currentLiquidityRate"], d["currentVariableBorrowRate"]) == (
                r.current_liquidity_rate,
                r.current_variable_borrow_rate,
            )
            assert (
                d["scaledTotalSupply"],
                d["scaledTotalVariableDebt"],
                d["accruedToTreasury"],
                d["treasuryScaled"],
            ) == (
                r.scaled_total_supply,
                r.scaled_total_variable_debt,
                r.accrued_to_treasury,
                r.treasury_scaled,
            )
            assert d["virtualUnderlyingBalance"] == self.balance_of(i, self.pool.address) == self.model.balances[i]
        assert self.pool.current_root() == self.model.tree.root and self.pool.note_count() == self.model.tree.size
        assert {o.note.commitment for o in owners if o.note} <= set(self.model.notes)
        assert self.pool.market() == self.model.market(now)


def check_sealed(created: dict[str, Any], note: Note, owner: Owner) -> None:
    """NoteCreated's encryptedOpening, built by the pool from the proven seal: the keeper reads
    the note, and the owner's box (the first) opens with the owner's viewing secret."""
    event = NoteCreated("0x", 0, created["commitment"], created["leafIndex"], decode_boxes(created["encryptedOpening"]))
    # the pool writes the bytes word by word: they are exactly the canonical abi.encode(Box[])
    assert created["encryptedOpening"] == encode_boxes(event.boxes) and len(created["encryptedOpening"]) == 1088
    assert open_note_for_keeper(event, DEV_KEEPER) == note
    assert cipher.open_box(event.boxes[0], owner.view_secret, message_length(2)) == note.fields()


def make_world(chain: Chain, chain_id: int, settings: Settings, now: Callable[[], int], deployer: str) -> PoolWorld:
    dev = [DevAsset(name, symbol, decimals, price) for name, symbol, decimals, price, _, _ in RESERVES]
    tokens, feeds = deploy_dev_assets(chain, dev, now(), settings)
    prices = [d.price for d in dev]
    reserves = []
    treasury = "0x" + "7e" * 20
    listings = [Listing(tokens[i], RESERVES[i][4], RESERVES[i][5], feeds[i], MAX_AGE) for i in range(len(RESERVES))]
    pool = deploy(chain, listings, treasury, settings=settings, keeper_key=DEV_KEEPER.public)
    for i, (_, _, decimals, _, risk, rates) in enumerate(RESERVES):
        reserves.append(ReserveState.listed(decimals, risk, rates, pool.reserve_data(tokens[i])["lastUpdateTimestamp"]))
    return PoolWorld(chain, pool, tokens, feeds, PoolModel.listed(reserves, prices), settings, chain_id, deployer, now)


# --- pyrevm fixtures ---


@dataclass
class Pyrevm:
    world: PoolWorld
    chain: InProcessChain

    def owner(self, name: str, seed: int) -> Owner:
        address = "0x" + f"{seed:02x}" * 20
        view = self.chain.as_sender(address)
        o = Owner(name, address, self.world.pool.as_chain(view))
        self.world.fund(o, view, (1_000 * E18, 10_000_000 * E6))
        return o

    def at(self, ts: int) -> None:
        self.chain.set_timestamp(ts)


@pytest.fixture
def env(keys: Callable[[str], CircuitKeys], tc: Toolchain) -> Pyrevm:
    keys("pool_open_2")
    keys("pool_transition_2")
    chain = InProcessChain(timestamp=T0)
    world = make_world(chain, int(chain.evm.env.cfg.chain_id), Settings(toolchain=tc), chain.timestamp, chain.SENDER)
    return Pyrevm(world, chain)


def refused(error: str, types: tuple[str, ...], call: Callable[[], Any]) -> bytes:
    with pytest.raises(Reverted) as e:
        call()
    assert e.value.data[:4] == error_selector(error, *types), (error, e.value.data.hex())
    return e.value.data


# --- end to end ---


def test_each_operation_end_to_end(env: Pyrevm) -> None:
    """open, deposit, borrow, repay and withdraw, each a real proof: exact tokens to and from the
    right addresses, the events a wallet restores from, the reserves and tree equal to the model,
    and each spent nullifier refused when replayed."""
    w = env.world
    alice, bob = env.owner("alice", 0xA1), env.owner("bob", 0xB0)
    recipient = "0x" + "c1" * 20  # a fresh address: the tokens out go there, not to the sender
    w.open(bob, 1, 500_000 * E6)  # USDC liquidity for alice to borrow
    w.open(alice, 0, 10 * E18)
    w.check_state([alice, bob])
    env.at(T0 + 3_600)
    w.op(alice, Op.DEPOSIT, 0, 2 * E18)
    w.op(alice, Op.BORROW, 1, 15_000 * E6, recipient)
    assert w.balance_of(1, recipient) == 15_000 * E6
    w.check_state([alice, bob])
    env.at(T0 + 30 * 86_400)  # interest accrues on alice's debt
    supply, debt = w.model.note_balances(alice.note, w.now())  # type: ignore[arg-type]
    assert debt[1] > 15_000 * E6 and supply[0] == 12 * E18  # nobody borrows WETH: its index stays 1 ray
    spent = alice.note.nullifier  # type: ignore[union-attr]
    bundle, new = w.prove(alice, Op.REPAY, 1, 5_000 * E6)
    rc = alice.client.transact(Op.REPAY, w.tokens[1], bundle, None)
    w.model.transact(Op.REPAY, alice.note, new, 1, 5_000 * E6, w.now())  # type: ignore[arg-type]
    alice.note = new
    assert rc.one("Repay").args["amount"] == 5_000 * E6
    refused(
        "NullifierAlreadySpent",
        ("uint256",),
        lambda: alice.client.transact(Op.REPAY, w.tokens[1], bundle, None),
    )
    assert w.pool.nullifier_spent(spent)
    w.op(alice, Op.WITHDRAW, 0, 3 * E18, recipient)
    assert w.balance_of(0, recipient) == 3 * E18
    w.check_state([alice, bob])
    for i in range(2):  # the tokens held are the notes' and the treasury's, with the pool's surplus
        assert 0 <= w.model.surplus(i, w.now())
    print("pool gas per operation (pyrevm, small tree):", w.gas)


def test_a_proof_whose_tree_grew_is_inserted_on_chain(env: Pyrevm) -> None:
    """Two proofs made against the same tree: the first mined takes the proven append (the pool's
    root becomes the proof's newRoot, no hashing); the second's tree has grown meanwhile, so the pool
    inserts its note on-chain instead, and it still succeeds. The tree equals the model's either
    way. A proof whose append was tampered with (newRoot, newNode) is refused by the verifier."""
    w = env.world
    alice, bob, carol = env.owner("alice", 0xA1), env.owner("bob", 0xB0), env.owner("carol", 0xCA)
    w.open(bob, 1, 500_000 * E6)
    w.open(alice, 0, 10 * E18)
    deposit, new = w.prove(alice, Op.DEPOSIT, 0, E18)
    opening, carols = w.prove_open(carol, 0, 2 * E18)
    names = registry.get("pool_transition_2").public_signal_names()
    for name in ("newRoot", "newNode"):
        k = names.index(name)
        forged = replace(
            deposit, public_signals=[str((int(v) + (i == k)) % R) for i, v in enumerate(deposit.public_signals)]
        )
        refused("InvalidProof", (), lambda: alice.client.transact(Op.DEPOSIT, w.tokens[0], forged, None))

    carol.client.open(w.tokens[0], opening)  # first: its tree is the pool's
    w.model.open(0, 2 * E18, carols, w.now())
    carol.note = carols
    assert w.pool.current_root() == insertion_tuple(opening)[2] == w.model.tree.root
    rc = alice.client.transact(Op.DEPOSIT, w.tokens[0], deposit, None)  # its tree has one note less
    w.model.transact(Op.DEPOSIT, alice.note, new, 0, E18, w.now())  # type: ignore[arg-type]
    alice.note = new
    assert rc.one("NoteCreated").args["leafIndex"] == 3
    assert w.pool.current_root() == w.model.tree.root != insertion_tuple(deposit)[2]
    w.check_state([alice, bob, carol])
    recipient = "0x" + "c1" * 20
    borrow, after = w.prove(alice, Op.BORROW, 1, 1_000 * E6, recipient)  # against that tree: proven again
    alice.client.transact(Op.BORROW, w.tokens[1], borrow, recipient)
    w.model.transact(Op.BORROW, alice.note, after, 1, 1_000 * E6, w.now())
    alice.note = after
    assert w.pool.current_root() == insertion_tuple(borrow)[2] == w.model.tree.root
    w.check_state([alice, bob, carol])


def test_refusals_each_with_its_own_error(env: Pyrevm) -> None:
    """Unknown root, a note not in the tree, a spent nullifier, another sender, another recipient,
    a proof at other prices, indexes moved since proving, amounts and field elements past their
    widths: each refused, by the contract's own error or by the verifier (InvalidProof)."""
    w = env.world
    alice, bob = env.owner("alice", 0xA1), env.owner("bob", 0xB0)
    stranger = env.owner("stranger", 0x99)
    recipient = "0x" + "c1" * 20
    w.open(bob, 1, 100_000 * E6)
    w.open(alice, 0, 10 * E18)
    assert alice.note is not None
    env.at(T0 + 60)
    bundle, new = w.prove(alice, Op.BORROW, 1, 10_000 * E6, recipient)
    borrow = w.tokens[1]

    def submit(client: PoolClient, to: str = recipient, **over: int) -> Receipt:
        return client.transact(Op.BORROW, borrow, bundle, to, **over)

    refused("UnknownRoot", ("uint256",), lambda: submit(alice.client, root=12345))
    refused("AmountTooLarge", ("uint256", "uint256"), lambda: submit(alice.client, amount=2**128))
    refused("NotInField", ("uint256",), lambda: submit(alice.client, nullifier=2**254))
    refused("InvalidProof", (), lambda: submit(stranger.client))  # copied from the mempool by another sender
    refused("InvalidProof", (), lambda: submit(alice.client, to=stranger.address))  # pointed at another recipient
    refused("InvalidProof", (), lambda: submit(alice.client, amount=10_001 * E6))  # another amount
    submit(alice.client)
    w.model.transact(Op.BORROW, alice.note, new, 1, 10_000 * E6, w.now())
    refused("NullifierAlreadySpent", ("uint256",), lambda: submit(alice.client))
    alice.note = new

    # time passes between proving and mining: the indexes moved, the proof no longer verifies; a
    # wallet proves against the pending block's timestamp, or proves again
    rb, rnew = w.prove(alice, Op.REPAY, 1, 1_000 * E6)
    env.at(T0 + 61)
    assert w.model.market(T0 + 61).reserves[1] != w.model.market(T0 + 60).reserves[1]
    refused("InvalidProof", (), lambda: alice.client.transact(Op.REPAY, borrow, rb, None))
    env.at(T0 + 60)  # the block it was proven for (nothing touched the reserves meanwhile): accepted
    alice.client.transact(Op.REPAY, borrow, rb, None)
    w.model.transact(Op.REPAY, alice.note, rnew, 1, 1_000 * E6, w.now())
    alice.note = rnew

    # a note that was never inserted: its membership proof is against a root the pool never had
    ghost = Note((E18, 0), (0, 0), 1, alice.tag, 77, alice.view)
    tree = LeanIMT()
    tree.insert(ghost.commitment)
    market = w.model.market(w.now())
    b = binding(w.chain_id, w.pool.address, alice.address, recipient)
    gb, gnew = pool_statements.prove_transition(
        ghost,
        alice.sk,
        tree.proof(ghost.commitment),
        Op.WITHDRAW,
        0,
        E18 // 2,
        market,
        b,
        keepers=KEEPERS,
        frontier=tree.frontier(),
        settings=w.settings,
    )
    refused("UnknownRoot", ("uint256",), lambda: alice.client.transact(Op.WITHDRAW, w.tokens[0], gb, recipient))

    # a borrow that breaks the LTV check at the pool's prices: the prover refuses it, and a proof
    # made at a higher collateral price than the feed's is refused by the verifier
    with pytest.raises(AaveRevert, match="CollateralCannotCoverNewBorrow"):
        w.prove(alice, Op.BORROW, 1, 7_200 * E6, recipient)
    rich = PoolMarket((ReserveView(**{**vars(market.reserves[0]), "price": 3_000 * 10**8}), market.reserves[1]))
    fake, fnew = w.prove(alice, Op.BORROW, 1, 7_200 * E6, recipient, market=rich)
    refused("InvalidProof", (), lambda: alice.client.transact(Op.BORROW, borrow, fake, recipient))
    # a withdraw leaving HF < 1 at the pool's prices: refused by the prover
    with pytest.raises(AaveRevert, match="HealthFactorLowerThanLiquidationThreshold"):
        w.prove(alice, Op.WITHDRAW, 0, 9 * E18, recipient)
    # the price moved between proving and submitting: the same proof no longer verifies
    ok, onew = w.prove(alice, Op.WITHDRAW, 0, E18, recipient)
    w.set_price(0, 1_999 * 10**8)
    refused("InvalidProof", (), lambda: alice.client.transact(Op.WITHDRAW, w.tokens[0], ok, recipient))
    w.check_state([alice, bob])


def test_open_refusals(env: Pyrevm) -> None:
    """An open proof sent by another address, for another amount, or past the amount width."""
    w = env.world
    alice = env.owner("alice", 0xA1)
    stranger = env.owner("stranger", 0x99)
    bundle, note = w.prove_open(alice, 0, E18)
    refused("InvalidProof", (), lambda: stranger.client.open(w.tokens[0], bundle))
    data = open_calldata(w.tokens[1], bundle)  # the other reserve
    refused("InvalidProof", (), lambda: alice.client.chain.transact(w.pool.address, data))
    big = sel(f"open(address,uint256,uint256,{INSERTION_ABI},{PROOF_ABI},{SEAL_ABI})") + encode(
        ["address", "uint256", "uint256", INSERTION_ABI, PROOF_ABI, SEAL_ABI],
        [w.tokens[0], 2**128, note.commitment, (0, 0, 0, 0), ([0, 0], [[0, 0], [0, 0]], [0, 0]), ([0, 0], [0] * 20)],
    )
    refused("AmountTooLarge", ("uint256", "uint256"), lambda: alice.client.chain.transact(w.pool.address, big))
    rc = alice.client.open(w.tokens[0], bundle)
    assert rc.one("NoteCreated").args["leafIndex"] == 0


def test_borrow_waits_for_the_sequencer(env: Pyrevm) -> None:
    """With an L2 sequencer-uptime feed, borrow is refused while the sequencer is down and during
    its grace period (checked before anything else: no proof needed to see it), as v3.5's sentinel."""
    w = env.world
    contracts = solidity.compile_reference_contracts(w.settings.tc())
    uptime = env.chain.deploy(contracts["MockSequencerUptimeFeed"].bytecode)
    listings = [Listing(w.tokens[i], RESERVES[i][4], RESERVES[i][5], w.feeds[i], MAX_AGE) for i in range(2)]
    pool = deploy(
        env.chain,
        listings,
        "0x" + "7e" * 20,
        settings=w.settings,
        keeper_key=DEV_KEEPER.public,
        sequencer_feed=uptime,
        grace_period=3600,
    )
    now = env.chain.timestamp()

    def status(down: bool, since: int) -> None:
        env.chain.transact(uptime, sel("setStatus(bool,uint256)") + encode(["bool", "uint256"], [down, since]))

    signature = f"borrow(uint256,uint256,address,uint256,address,{INSERTION_ABI},{PROOF_ABI},{SEAL_ABI})"
    data = sel(signature) + encode(
        ["uint256", "uint256", "address", "uint256", "address", INSERTION_ABI, PROOF_ABI, SEAL_ABI],
        [2, 3, w.tokens[1], E6, "0x" + "c1" * 20, (1, 0, 0, 0), ([0, 0], [[0, 0], [0, 0]], [0, 0]), ([0, 0], [0] * 20)],
    )
    status(True, now - 10)
    refused("SequencerDown", ("int256",), lambda: env.chain.transact(pool.address, data))
    status(False, now - 3600)
    refused("GracePeriodNotOver", ("uint256", "uint256"), lambda: env.chain.transact(pool.address, data))
    status(False, now - 3601)  # past the grace period: the borrow reaches the pool's own checks
    refused("UnknownRoot", ("uint256",), lambda: env.chain.transact(pool.address, data))


def test_a_stale_price_refuses_every_transition(env: Pyrevm) -> None:
    """Feeds older than their maxAge: open (which reads no price) still works, every transition
    is refused with PriceOracle's StalePrice before the verifier runs (no valid proof needed)."""
    w = env.world
    listings = [Listing(w.tokens[i], RESERVES[i][4], RESERVES[i][5], w.feeds[i], 3600) for i in range(2)]
    pool = deploy(env.chain, listings, "0x" + "7e" * 20, settings=w.settings, keeper_key=DEV_KEEPER.public)
    alice = env.owner("alice", 0xA1)
    view = env.chain.as_sender(alice.address)
    w.token_call(view, 0, "approve(address,uint256)", ["address", "uint256"], [pool.address, 2**256 - 1])
    client = pool.as_chain(view)
    market = w.model.market(w.now())
    b = binding(w.chain_id, pool.address, alice.address, ZERO_ADDRESS)
    bundle, note = pool_statements.prove_open(
        market,
        0,
        E18,
        alice.tag,
        b,
        viewing_key=alice.view,
        keepers=KEEPERS,
        frontier=LeanIMT().frontier(),
        settings=w.settings,
    )
    client.open(w.tokens[0], bundle)
    env.at(T0 + 3601)  # the feeds were answered at T0
    data = transition_calldata(Op.DEPOSIT, w.tokens[0], bundle, root=client.current_root(), nullifier=5)
    refused("StalePrice", ("address", "uint256", "uint256"), lambda: view.transact(pool.address, data))
    env.at(T0 + 3600)  # exactly maxAge old is still fresh: the pool gets as far as the verifier
    refused("InvalidProof", (), lambda: view.transact(pool.address, data))
