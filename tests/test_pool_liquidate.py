"""PrivateMarginPool.liquidate on pyrevm with real pool_liquidation_2 proofs and real OpenZeppelin
ERC-20s: a partial liquidation end to end, bad debt covered by the insurance fund (all of it, part
of it, none of it) and socialized, the refusals, and tokens conserved after every step; every
amount against zkmargin.pool.model to the wei."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from eth_abi.abi import encode

from zkmargin import liquidation_step, solidity
from zkmargin.aave_math import RAY, WAD, atoken_burn_scaled, ray_mul_floor
from zkmargin.build import CircuitKeys
from zkmargin.errors import ZkMarginError
from zkmargin.evm import InProcessChain
from zkmargin.liquidation_step import AaveRevert
from zkmargin.pool.contract import LIQUIDATE_CALL, LIQUIDATE_SIGNATURE, Listing, Receipt, deploy
from zkmargin.pool.liquidation import LiquidationMarket, NoteLiquidation, successor_from_public
from zkmargin.pool.note import Note
from zkmargin.pool.reserve import DeficitCover
from zkmargin.pool.transition import Op, PoolMarket, ReserveView, binding
from zkmargin.settings import Settings
from zkmargin.statements import pool as pool_statements
from zkmargin.toolchain import Toolchain

from .test_pool_contract import (
    E6,
    E18,
    KEEPERS,
    MAX_AGE,
    RESERVES,
    T0,
    Owner,
    PoolWorld,
    Pyrevm,
    check_sealed,
    make_world,
    refused,
    sel,
)

WETH, USDC = 0, 1
TREASURY = "0x" + "7e" * 20  # make_world's
GAS: list[int] = []


@pytest.fixture
def lenv(keys: Callable[[str], CircuitKeys], tc: Toolchain) -> Pyrevm:
    for c in ("pool_open_2", "pool_transition_2", "pool_liquidation_2"):
        keys(c)
    chain = InProcessChain(timestamp=T0)
    world = make_world(chain, int(chain.evm.env.cfg.chain_id), Settings(toolchain=tc), chain.timestamp, chain.SENDER)
    return Pyrevm(world, chain)


def prove_liquidation(
    w: PoolWorld,
    liquidator: Owner,
    note: Note,
    debt_to_cover: int,
    recipient: str,
    market: LiquidationMarket | None = None,
) -> tuple[Any, NoteLiquidation]:
    b = binding(w.chain_id, w.pool.address, liquidator.address, recipient)
    m = market or w.model.liquidation_market(w.now())
    path = w.model.tree.proof(note.commitment)
    return w._timed(  # type: ignore[no-any-return]
        lambda: pool_statements.prove_liquidation(
            note, path, m, WETH, USDC, debt_to_cover, b, keepers=KEEPERS, settings=w.settings
        )
    )


def check_conserved(w: PoolWorld) -> None:
    """Per reserve: tokens held - (notes' and treasury's supply - notes' debt) is the interest no
    supplier was credited, minus what bad debt left uncovered (reserveDeficit), within the
    rounding bound (README, "Solvency, to the wei"; a socialization adds at most one wei per note read)."""
    now = w.now()
    for i in range(2):
        off = w.model.surplus(i, now) + w.model.deficits[i] - w.model.unallocated_interest[i]
        assert abs(off) <= w.model.rounding_bound(i, now), (i, off)
        assert w.pool.reserve_deficit(w.tokens[i]) == w.model.deficits[i]


def liquidate(
    env: Pyrevm, liquidator: Owner, owner: Owner, debt_to_cover: int, recipient: str
) -> tuple[Receipt, NoteLiquidation, dict[int, DeficitCover], list[int]]:
    """Prove, submit and apply to the model one liquidation of `owner`'s note; check the tokens,
    the events and the whole state against the model."""
    w = env.world
    assert owner.note is not None
    bundle, liq = prove_liquidation(w, liquidator, owner.note, debt_to_cover, recipient)
    paid_before = w.balance_of(USDC, liquidator.address)
    got_before = w.balance_of(WETH, recipient)
    rc = liquidator.client.liquidate(bundle, recipient)
    covers = w.model.liquidate(liq, WETH, USDC, w.now())
    GAS.append(rc.gas_used)
    ev = rc.one("Liquidation").args
    assert (ev["debtRepaid"], ev["collateralToLiquidator"], ev["protocolFee"]) == (
        liq.debt_repaid,
        liq.collateral_to_liquidator,
        liq.protocol_fee,
    )
    assert ev["liquidator"].lower() == liquidator.address.lower()
    assert paid_before - w.balance_of(USDC, liquidator.address) == liq.debt_repaid
    assert w.balance_of(WETH, recipient) - got_before == liq.collateral_to_liquidator
    assert rc.one("NullifierSpent").args["nullifier"] == owner.note.nullifier
    created = rc.one("NoteCreated").args
    assert created["commitment"] == liq.new.commitment
    check_sealed(created, liq.new, owner)  # the successor: sealed to the keeper and to the owner's key
    got = {
        w.tokens.index(e.args["asset"]): (e.args["fromInsurance"], e.args["socialized"])
        for e in rc.named("DeficitCovered")
    }
    assert got == {i: (c.from_insurance, c.socialized) for i, c in covers.items()}
    owner.note = liq.new
    w.check_state([owner])
    check_conserved(w)
    return rc, liq, covers, [int(x) for x in bundle.public_signals]


def market_from_public(signals: list[int]) -> LiquidationMarket:
    """What the owner reads from the proof's public inputs (the pool's call carries them)."""
    p = signals
    views = tuple(ReserveView(p[12 + i], p[14 + i], p[16 + i], p[18 + i], 0, p[20 + i]) for i in range(2))
    return LiquidationMarket(PoolMarket(views), (p[22], p[23]), (p[24], p[25]))


def test_partial_liquidation_end_to_end(lenv: Pyrevm) -> None:
    """A close-factor-capped partial liquidation: the liquidator pays USDC and its recipient gets
    WETH, the treasury's scaled WETH grows by rayDivCeil(fee), the new note is the model's, the owner
    recomputes it from the public inputs alone and keeps spending it."""
    w = lenv.world
    alice, bob, keeper = lenv.owner("alice", 0xA1), lenv.owner("bob", 0xB0), lenv.owner("keeper", 0x11)
    recipient = "0x" + "c2" * 20
    w.open(bob, USDC, 100_000 * E6)
    w.open(alice, WETH, 10 * E18)
    w.op(alice, Op.BORROW, USDC, 15_000 * E6, "0x" + "c1" * 20)
    lenv.at(T0 + 7 * 86_400)
    w.set_price(WETH, 1_800 * 10**8)  # HF 0.99: above 0.95, both sides >= 2000 USD, so 50% close factor
    old = alice.note
    assert old is not None
    assert w.pool.liquidation_market() == w.model.liquidation_market(w.now())  # what a keeper reads
    treasury_before = w.pool.reserve_data(w.tokens[WETH])["treasuryScaled"]
    rc, liq, covers, signals = liquidate(lenv, keeper, alice, 10_000 * E6, recipient)
    assert liq.outcome.close_factor_applied and not covers and not rc.named("DeficitCovered")
    assert 0 < liq.debt_repaid <= 10_000 * E6 and liq.protocol_fee > 0
    d = w.pool.reserve_data(w.tokens[WETH])
    assert d["treasuryScaled"] - treasury_before == atoken_burn_scaled(liq.protocol_fee, d["liquidityIndex"])
    # the owner: from the proof's public inputs and its old opening, the successor and its commitment
    # (the pool assembled exactly these from its state and the call, or the verifier refuses)
    mine = successor_from_public(old, market_from_public(signals), WETH, USDC, 10_000 * E6, liq.new.commitment)
    assert mine.new == liq.new and mine.new.owner_tag == old.owner_tag
    w.op(alice, Op.REPAY, USDC, 1_000 * E6)  # the owner's key spends the successor
    check_conserved(w)
    print("liquidation gas (partial):", rc.gas_used)


def supply_of(w: PoolWorld, o: Owner) -> int:
    assert o.note is not None
    return w.model.note_balances(o.note, w.now())[0][USDC]


def test_bad_debt_insurance_then_socialization(lenv: Pyrevm) -> None:
    """Three notes whose WETH no longer covers their USDC debt, liquidated in one block: the first
    deficit is covered by the insurance fund alone, the second by what is left of it and then
    socialized, the third (fund empty) socialized alone. Every amount equals the model's; the two
    suppliers lose pro rata; the scaled debt drops by each note's whole debt."""
    w = lenv.world
    bob, carol, dave = lenv.owner("bob", 0xB0), lenv.owner("carol", 0xCA), lenv.owner("dave", 0xDA)
    keeper = lenv.owner("keeper", 0x11)
    out = "0x" + "c1" * 20
    w.open(bob, USDC, 500_000 * E6)
    w.open(carol, USDC, 100_000 * E6)
    w.open(dave, WETH, 1_000 * E18)
    w.op(dave, Op.BORROW, USDC, 520_000 * E6, out)
    victims = []
    for k, weth in enumerate((4, 20, 4)):
        v = lenv.owner(f"v{k}", 0x20 + k)
        w.open(v, WETH, weth * E18)
        w.op(v, Op.BORROW, USDC, 1_500 * weth * E6, out)
        victims.append(v)
    lenv.at(T0 + 180 * 86_400)  # 94% usage: the reserve factor fills the insurance fund
    w.set_price(WETH, 1_000 * 10**8)  # every victim's debt now exceeds its collateral
    usdc = w.tokens[USDC]
    seen = []
    for k, v in enumerate(victims):
        assert v.note is not None
        scaled_debt = v.note.scaled_debt[USDC]
        before = w.pool.reserve_data(usdc)
        index = w.pool.normalized_income(usdc)  # what updateState stores in this block
        sb, sc = supply_of(w, bob), supply_of(w, carol)
        rc, liq, covers, _ = liquidate(lenv, keeper, v, 10**12, "0x" + "c3" * 20)
        after = w.pool.reserve_data(usdc)
        cover = covers[USDC]
        assert liq.deficit[USDC] > 0 and liq.new.scaled_debt == (0, 0) and liq.new.scaled_collateral[WETH] == 0
        assert before["scaledTotalVariableDebt"] - after["scaledTotalVariableDebt"] == scaled_debt
        assert before["virtualUnderlyingBalance"] + liq.debt_repaid == after["virtualUnderlyingBalance"]
        assert cover.from_insurance + cover.socialized == liq.deficit[USDC] and cover.residual == 0
        drop = index - after["liquidityIndex"]
        if k == 0:  # the fund covers it all: no supplier loses anything
            assert cover.from_insurance == liq.deficit[USDC] and drop == 0
            assert (supply_of(w, bob), supply_of(w, carol)) == (sb, sc)
        else:
            assert drop > 0 and after["treasuryScaled"] == 0
            if k == 1:
                assert 0 < cover.from_insurance < liq.deficit[USDC]
            else:
                assert cover.from_insurance == 0
            # pro rata: each supplier's note loses scaled x drop / RAY (to the wei, floor either side)
            for o, was in ((bob, sb), (carol, sc)):
                assert o.note is not None
                assert abs((was - supply_of(w, o)) - o.note.scaled_collateral[USDC] * drop // RAY) <= 1
            lost = (sb - supply_of(w, bob), sc - supply_of(w, carol))
            assert abs(lost[0] * sc - lost[1] * sb) <= sb + sc  # the same fraction of each
            # the whole supply fell by the socialized amount, or one wei more (rounding for solvency)
            sts = after["scaledTotalSupply"]
            fall = ray_mul_floor(sts, index) - ray_mul_floor(sts, after["liquidityIndex"])
            assert cover.socialized <= fall <= cover.socialized + 1
        seen.append((cover.from_insurance, cover.socialized))
    assert seen[0][1] == 0 and seen[1][0] > 0 and seen[1][1] > 0 and seen[2][0] == 0
    print("deficits (fromInsurance, socialized):", seen, "gas:", GAS[-3:])


def test_liquidation_refusals(lenv: Pyrevm, monkeypatch: pytest.MonkeyPatch) -> None:
    """A healthy note cannot be proven; a proof at other prices, or sent by another address, is
    refused by the verifier; a nullifier the owner spent first makes it NullifierAlreadySpent."""
    w = lenv.world
    alice, bob = lenv.owner("alice", 0xA1), lenv.owner("bob", 0xB0)
    keeper, thief = lenv.owner("keeper", 0x11), lenv.owner("thief", 0x66)
    recipient = "0x" + "c2" * 20
    w.open(bob, USDC, 100_000 * E6)
    w.open(alice, WETH, 10 * E18)
    w.op(alice, Op.BORROW, USDC, 15_000 * E6, "0x" + "c1" * 20)
    assert alice.note is not None
    with pytest.raises(AaveRevert, match="HealthFactorNotBelowThreshold"):  # HF 1.1: the prover refuses
        prove_liquidation(w, keeper, alice.note, 5_000 * E6, recipient)
    monkeypatch.setattr(liquidation_step, "WAD", 2 * WAD)  # a model that would let it through
    with pytest.raises(ZkMarginError, match="Assert Failed.*HealthFactorCompare"):  # the circuit: HF < 1
        prove_liquidation(w, keeper, alice.note, 5_000 * E6, recipient)
    monkeypatch.undo()
    # a proof at a price the feed does not answer (WETH at 1,700 while the feed says 2,000)
    real = w.model.liquidation_market(w.now())
    views = list(real.market.reserves)
    views[WETH] = replace(views[WETH], price=1_700 * 10**8)
    fake = LiquidationMarket(PoolMarket(tuple(views)), real.liquidation_bonus, real.protocol_fee)
    bundle, _ = prove_liquidation(w, keeper, alice.note, 5_000 * E6, recipient, market=fake)
    refused("InvalidProof", (), lambda: keeper.client.liquidate(bundle, recipient))
    w.set_price(WETH, 1_700 * 10**8)
    bundle, _ = prove_liquidation(w, keeper, alice.note, 5_000 * E6, recipient)
    refused("InvalidProof", (), lambda: thief.client.liquidate(bundle, recipient))  # a copy from the mempool
    refused("InvalidProof", (), lambda: keeper.client.liquidate(bundle, "0x" + "66" * 20))  # another recipient
    w.op(alice, Op.REPAY, USDC, 1_000 * E6)  # the owner spends the note first
    refused("NullifierAlreadySpent", ("uint256",), lambda: keeper.client.liquidate(bundle, recipient))
    check_conserved(w)


def test_liquidation_waits_for_the_sequencer(lenv: Pyrevm) -> None:
    """With an L2 sequencer-uptime feed a liquidation is refused while the sequencer is down and
    during its grace period, before anything else (the proof shows HF < 1, not HF < 0.95, so v3.5's
    exemption cannot be claimed); past the grace period the call reaches the pool's own checks."""
    w = lenv.world
    contracts = solidity.compile_reference_contracts(w.settings.tc())
    uptime = lenv.chain.deploy(contracts["MockSequencerUptimeFeed"].bytecode)
    listings = [Listing(w.tokens[i], RESERVES[i][4], RESERVES[i][5], w.feeds[i], MAX_AGE) for i in range(2)]
    pool = deploy(
        lenv.chain,
        listings,
        TREASURY,
        settings=w.settings,
        keeper_key=KEEPERS[0],
        sequencer_feed=uptime,
        grace_period=3600,
    )
    now = lenv.chain.timestamp()

    def status(down: bool, since: int) -> None:
        lenv.chain.transact(uptime, sel("setStatus(bool,uint256)") + encode(["bool", "uint256"], [down, since]))

    call = (1, 2, 3, w.tokens[WETH], w.tokens[USDC], E6, E6, E18, 0, [0, 0], "0x" + "c1" * 20)
    data = sel(LIQUIDATE_SIGNATURE) + encode(
        [LIQUIDATE_CALL, "(uint256[2],uint256[2][2],uint256[2])", "(uint256[2],uint256[20])"],
        [call, ([0, 0], [[0, 0], [0, 0]], [0, 0]), ([0, 0], [0] * 20)],
    )
    status(True, now - 10)
    refused("SequencerDown", ("int256",), lambda: lenv.chain.transact(pool.address, data))
    status(False, now - 3600)
    refused("GracePeriodNotOver", ("uint256", "uint256"), lambda: lenv.chain.transact(pool.address, data))
    status(False, now - 3601)
    refused("UnknownRoot", ("uint256",), lambda: lenv.chain.transact(pool.address, data))
