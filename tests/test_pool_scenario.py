"""Three owners, two assets (18 and 6 decimals), on anvil: opens, deposits, borrows, time passing
with evm_increaseTime, interest, the treasury's share, repays (one of a whole debt) and withdraws,
every one a real proof sent as a real transaction from the owner's own address.

After every step: each reserve's stored state (indexes, rates, scaled totals, treasury) equals
zkmargin.pool.model's to the wei, the pool's token balance equals the model's, every owner's note
equals the model's and its balances read at the chain's indexes equal the model's, and the tokens
held cover the notes and the treasury: surplus = held - (notes' supply + treasury - notes' debt)
is never negative and differs from the interest borrowers paid that no supplier was credited
(compounding against linear accrual, as in Aave) by at most PoolModel.rounding_bound wei.

Each transaction is proven against the timestamp of the block it will land in (pinned with
evm_setNextBlockTimestamp), as a wallet must: a proof made for an earlier block uses indexes the
pool no longer has once interest accrues (tests/test_pool_contract.py shows the refusal).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from eth_account import Account

from zkmargin.aave_math import vtoken_balance
from zkmargin.build import CircuitKeys
from zkmargin.evm import ANVIL_DEV_KEY, EventLog, RpcChain, start_anvil
from zkmargin.pool.deploy import DEV_KEEPER
from zkmargin.pool.sealing import open_note_for_keeper, open_sealed
from zkmargin.pool.store import NoteCreated
from zkmargin.pool.transition import Op
from zkmargin.pool.tree import LeanIMT
from zkmargin.pool.wallet import decode_boxes
from zkmargin.settings import Settings
from zkmargin.toolchain import Toolchain

from .test_pool_contract import E6, E18, Owner, PoolWorld, make_world

DAY = 86_400


class Anvil:
    def __init__(self, url: str, tc: Toolchain) -> None:
        self.url = url
        self.chain = RpcChain(url, ANVIL_DEV_KEY)
        self.world: PoolWorld = make_world(
            self.chain,
            int(self.chain.chain_id),
            Settings(toolchain=tc),
            self.latest,
            Account.from_key(ANVIL_DEV_KEY).address,
        )

    def rpc(self, method: str, *params: object) -> object:
        res = self.chain.w3.provider.make_request(method, list(params))  # type: ignore[arg-type]
        assert "error" not in res, res
        return res.get("result")

    def latest(self) -> int:
        return int(self.chain.w3.eth.get_block("latest")["timestamp"])

    def owner(self, name: str) -> Owner:
        acct = Account.create()
        self.rpc("anvil_setBalance", acct.address, hex(10**22))
        chain = RpcChain(self.url, acct.key.hex())
        o = Owner(name, acct.address, self.world.pool.as_chain(chain))
        self.world.fund(o, chain, (1_000 * E18, 10_000_000 * E6))
        return o

    def pin_next_block(self) -> int:
        """The next block's timestamp, fixed now so that the proof made for it stays valid."""
        ts = self.latest() + 1
        self.rpc("evm_setNextBlockTimestamp", ts)
        self.world.now = lambda: ts
        return ts

    def increase_time(self, seconds: int) -> None:
        self.rpc("evm_increaseTime", seconds)
        self.rpc("evm_mine")
        self.world.now = self.latest


@pytest.fixture
def anvil(keys: Callable[[str], CircuitKeys], tc: Toolchain) -> Iterator[Anvil]:
    keys("pool_open_2")
    keys("pool_transition_2")
    with start_anvil(tc) as url:
        yield Anvil(url, tc)


def check(a: Anvil, owners: list[Owner]) -> dict[str, int]:
    w = a.world
    w.now = a.latest
    w.check_state(owners)  # reserves, rates, totals, treasury, tokens held, tree and root: exact
    now = a.latest()
    market = w.pool.market()  # the chain's indexes now
    for o in owners:
        assert o.note is not None and w.model.notes[o.note.commitment] == o.note
        supply, debt = w.model.note_balances(o.note, now)
        chain_supply = [
            s * r.liquidity_index // 10**27 for s, r in zip(o.note.scaled_collateral, market.reserves, strict=True)
        ]
        chain_debt = [
            vtoken_balance(s, r.variable_borrow_index) for s, r in zip(o.note.scaled_debt, market.reserves, strict=True)
        ]
        assert (supply, debt) == (chain_supply, chain_debt), o.name
    slack = {}
    for i in range(2):
        surplus = w.model.surplus(i, now)
        unallocated = w.model.pending_unallocated(i, now)
        bound = w.model.rounding_bound(i, now)
        assert surplus >= 0, (i, surplus)
        assert abs(surplus - unallocated) <= bound, (i, surplus, unallocated, bound)
        slack[f"reserve{i}"] = surplus - unallocated
    return slack


def test_three_owners_two_assets_on_anvil(anvil: Anvil) -> None:
    a, w = anvil, anvil.world
    alice, bob, carol = a.owner("alice"), a.owner("bob"), a.owner("carol")
    owners = [alice, bob, carol]
    fresh = [Account.create().address for _ in range(6)]  # a fresh recipient per withdrawal/borrow
    slack: list[dict[str, int]] = []

    def step(f: Callable[[], object], active: list[Owner]) -> None:
        a.pin_next_block()
        f()
        slack.append(check(a, active))

    step(lambda: w.open(alice, 0, 20 * E18), [alice])
    step(lambda: w.open(bob, 1, 200_000 * E6), [alice, bob])
    step(lambda: w.open(carol, 0, 5 * E18), owners)
    step(lambda: w.op(carol, Op.DEPOSIT, 1, 50_000 * E6), owners)
    step(lambda: w.op(alice, Op.BORROW, 1, 20_000 * E6, fresh[0]), owners)
    step(lambda: w.op(bob, Op.BORROW, 0, 10 * E18, fresh[1]), owners)
    step(lambda: w.op(carol, Op.BORROW, 0, 3 * E18, fresh[2]), owners)
    assert w.balance_of(1, fresh[0]) == 20_000 * E6 and w.balance_of(0, fresh[1]) == 10 * E18

    a.increase_time(30 * DAY)
    slack.append(check(a, owners))
    before = [r.variable_borrow_index for r in w.model.reserves]
    step(lambda: w.op(alice, Op.REPAY, 1, 5_000 * E6), owners)
    # as in Aave, an operation updates only the reserve it acts on: WETH's stored index has not
    # moved (check_state compared it with the chain's), the index a proof reads for it has
    weth = w.model.reserves[0]
    assert w.model.reserves[1].variable_borrow_index > before[1] and weth.variable_borrow_index == before[0]
    assert w.model.market(w.now()).reserves[0].variable_borrow_index > before[0]
    step(lambda: w.op(bob, Op.DEPOSIT, 0, 2 * E18), owners)
    assert all(r.variable_borrow_index > b for r, b in zip(w.model.reserves, before, strict=True))  # interest accrued

    a.increase_time(90 * DAY)
    slack.append(check(a, owners))
    a.pin_next_block()
    w.pool.mint_to_treasury()
    w.model.mint_to_treasury(w.now())
    slack.append(check(a, owners))
    assert all(r.treasury_scaled > 0 for r in w.model.reserves)

    step(lambda: w.op(carol, Op.REPAY, 0, E18), owners)
    step(lambda: w.op(alice, Op.WITHDRAW, 0, 5 * E18, fresh[3]), owners)

    def repay_all() -> None:  # the whole debt at the block's index: the note's WETH debt goes to 0
        assert bob.note is not None
        owed = vtoken_balance(bob.note.scaled_debt[0], w.model.market(w.now()).reserves[0].variable_borrow_index)
        w.op(bob, Op.REPAY, 0, owed)
        assert bob.note.scaled_debt[0] == 0

    step(repay_all, owners)
    step(lambda: w.op(carol, Op.WITHDRAW, 1, 10_000 * E6, fresh[4]), owners)
    assert w.balance_of(0, fresh[3]) == 5 * E18 and w.balance_of(1, fresh[4]) == 10_000 * E6

    # what a wallet on a fresh machine has: the pool's NoteCreated events rebuild the tree (same
    # root as the chain's) and carry each live note's sealed opening at its leaf index
    created = [
        e.args
        for e in (
            w.pool.decoder.decode(EventLog(lg["address"], tuple(bytes(t) for t in lg["topics"]), bytes(lg["data"])))
            for lg in a.chain.w3.eth.get_logs(
                {"address": a.chain.w3.to_checksum_address(w.pool.address), "fromBlock": 0}
            )
        )
        if e is not None and e.name == "NoteCreated"
    ]
    tree = LeanIMT()
    for args in sorted(created, key=lambda x: x["leafIndex"]):
        assert tree.insert(args["commitment"]) == args["leafIndex"]
    assert tree.root == w.pool.current_root()
    # the keeper reads every note ever created, spent ones included; each owner its own live note
    read = {}
    for args in created:
        event = NoteCreated("0x", 0, args["commitment"], args["leafIndex"], decode_boxes(args["encryptedOpening"]))
        opened = open_note_for_keeper(event, DEV_KEEPER)
        assert opened is not None and opened.commitment == args["commitment"]
        read[args["commitment"]] = event
    for o in owners:
        assert o.note is not None and open_sealed(read[o.note.commitment], o.view_secret) == o.note
    print("scenario gas:", {k: max(v) for k, v in w.gas.items()}, "slack (surplus - unallocated interest):", slack)
