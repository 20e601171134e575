"""The pool's reserves: contracts/pool/Reserves.sol and PriceOracle.sol on pyrevm (real compiled
contracts, OpenZeppelin's ERC-20) against the exact Python model zkmargin.pool.reserve, to the wei.

A seeded random session of supplies, withdrawals, borrows, repayments, treasury mints and time
warps over an 18- and a 6-decimal asset compares, after every step, the contract's indexes, rates,
totals, treasury accrual, views and returned scaled amounts with the model's. The same session is
then replayed through deliberately wrong models (half up where v3.5 floors, floor where it ceils,
exact compounding, ...) and each must disagree somewhere, so the comparison can fail. Boundary
tests pin the rate curve's kinks, elapsed times of 0, 1 s and a year, and each oracle refusal.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from eth_abi.abi import decode, encode
from eth_utils.crypto import keccak

from zkmargin import aave_math, solidity
from zkmargin.errors import ArtifactError, InputError
from zkmargin.evm import InProcessChain, Reverted
from zkmargin.pool import reserve as model
from zkmargin.pool.reserve import InterestRateData, ReserveRefusal, ReserveState, RiskParameters
from zkmargin.toolchain import Toolchain

RAY = aave_math.RAY
WAD = aave_math.WAD
T0 = 1_700_000_000
YEAR = 365 * 24 * 3600
MAX_AGE = 3600
PRICE = [2500 * 10**8, 10**8]
SENDER = InProcessChain.SENDER
OTHER = "0x" + "0b" * 20
MAX = 2**256 - 1

# two reserves: WETH-like (18 decimals, base rate > 0) and USDC-like (6 decimals)
ASSETS: list[tuple[str, int, RiskParameters, InterestRateData]] = [
    ("WETH", 18, RiskParameters(8000, 8250, 10500, 1000, 1500), InterestRateData(8000, 100, 400, 6000)),
    ("USDC", 6, RiskParameters(7500, 7800, 10450, 1000, 1000), InterestRateData(9000, 0, 550, 3500)),
]
RESERVE_DATA = "(uint128,uint128,uint128,uint128,uint40,uint16,uint8,uint128,uint128,uint256,uint256,uint256,(uint16,uint16,uint16,uint16,uint16),(uint16,uint32,uint32,uint32))"


def _sel(sig: str) -> bytes:
    return keccak(text=sig)[:4]


@pytest.fixture(scope="module")
def contracts(tc: Toolchain) -> dict[str, solidity.Compiled]:
    return solidity.compile_reference_contracts(tc)


def _error_names(abi: list[dict[str, Any]]) -> dict[bytes, str]:
    names = {_sel("Panic(uint256)"): "Panic"}
    for e in abi:
        if e["type"] == "error":
            names[_sel(f"{e['name']}({','.join(i['type'] for i in e['inputs'])})")] = e["name"]
    return names


# harness functions by the model method they mirror
OPS: dict[str, str] = {
    "supply": "supply(address,uint256)",
    "withdraw": "withdraw(address,uint256,address)",
    "withdraw_scaled": "withdrawScaled(address,uint256,address)",
    "withdraw_treasury": "withdrawTreasury(address,uint256,address)",
    "borrow": "borrow(address,uint256,address)",
    "repay": "repay(address,uint256)",
    "repay_scaled": "repayScaled(address,uint256)",
}


class Env:
    """A fresh chain with two MintableERC20s, their feeds and a ReservesHarness listing both."""

    def __init__(self, contracts: dict[str, solidity.Compiled], assets: list[tuple[str, int, Any, Any]] = ASSETS):
        self.chain = InProcessChain(timestamp=T0)
        self.now = T0
        self.errors = _error_names(contracts["ReservesHarness"].abi)
        self.harness = self.chain.deploy(contracts["ReservesHarness"].bytecode)
        self.tokens: list[str] = []
        self.feeds: list[str] = []
        self.models: list[ReserveState] = []
        for i, (sym, dec, risk, rates) in enumerate(assets):
            tok = self.chain.deploy(
                contracts["MintableERC20"].bytecode, encode(["string", "string", "uint8"], [sym, sym, dec])
            )
            feed = self.chain.deploy(contracts["MockChainlinkFeed"].bytecode, encode(["uint8"], [8]))
            self.tokens.append(tok)
            self.feeds.append(feed)
            self.send(tok, "mint(address,uint256)", ["address", "uint256"], [SENDER, 10**40])
            self.send(tok, "approve(address,uint256)", ["address", "uint256"], [self.harness, MAX])
            self.set_round(i, 1, PRICE[i % 2], self.now, self.now, 1)
            self.send(
                self.harness,
                "listReserve(address,(uint16,uint16,uint16,uint16,uint16),(uint16,uint32,uint32,uint32),address,uint32)",
                [
                    "address",
                    "(uint16,uint16,uint16,uint16,uint16)",
                    "(uint16,uint32,uint32,uint32)",
                    "address",
                    "uint32",
                ],
                [tok, _risk_tuple(risk), _rates_tuple(rates), feed, MAX_AGE],
            )
            self.models.append(ReserveState.listed(dec, risk, rates, self.now))

    # --- plumbing ---

    def send(self, to: str, sig: str, types: list[str], args: list[Any]) -> bytes:
        return self.chain.transact(to, _sel(sig) + encode(types, args)).output

    def call(self, to: str, sig: str, types: list[str], args: list[Any], out: list[str]) -> tuple[Any, ...]:
        return tuple(decode(out, self.chain.call(to, _sel(sig) + encode(types, args))))

    def warp(self, seconds: int) -> None:
        self.now += seconds
        self.chain.set_timestamp(self.now)

    def set_round(self, i: int, round_id: int, answer: int, started: int, updated: int, answered: int) -> None:
        self.send(
            self.feeds[i],
            "setRound(uint80,int256,uint256,uint256,uint80)",
            ["uint80", "int256", "uint256", "uint256", "uint80"],
            [round_id, answer, started, updated, answered],
        )

    def error_of(self, e: Reverted) -> str:
        return self.errors.get(e.data[:4], "0x" + e.data.hex())

    @contextmanager
    def expect(self, name: str) -> Iterator[None]:
        with pytest.raises(Reverted) as e:
            yield
        assert self.error_of(e.value) == name

    # --- the harness ---

    def op(self, name: str, i: int, arg: int) -> int:
        """Runs one harness operation on asset i; returns its uint256 result (Reverted if refused)."""
        sig = OPS[name]
        types = ["address", "uint256", "address"] if sig.count(",") == 2 else ["address", "uint256"]
        args: list[Any] = [self.tokens[i], arg, OTHER][: len(types)]
        return int(decode(["uint256"], self.send(self.harness, sig, types, args))[0])

    def mint_to_treasury(self) -> None:
        self.send(self.harness, "mintToTreasury(address[])", ["address[]"], [self.tokens])

    def accrue(self, i: int) -> None:
        self.send(self.harness, "accrue(address)", ["address"], [self.tokens[i]])

    def observe(self, i: int) -> dict[str, int]:
        """Everything the contract holds or shows about reserve i, by the model's field names."""
        (d,) = self.call(self.harness, "getReserveData(address)", ["address"], [self.tokens[i]], [RESERVE_DATA])
        (income,) = self.call(
            self.harness, "getReserveNormalizedIncome(address)", ["address"], [self.tokens[i]], ["uint256"]
        )
        (debt,) = self.call(
            self.harness, "getReserveNormalizedVariableDebt(address)", ["address"], [self.tokens[i]], ["uint256"]
        )
        (held,) = self.call(self.tokens[i], "balanceOf(address)", ["address"], [self.harness], ["uint256"])
        keys = [
            "liquidity_index",
            "current_liquidity_rate",
            "variable_borrow_index",
            "current_variable_borrow_rate",
            "last_update_timestamp",
            "id",
            "decimals",
            "accrued_to_treasury",
            "virtual_underlying_balance",
            "scaled_total_supply",
            "scaled_total_variable_debt",
            "treasury_scaled",
        ]
        out = dict(zip(keys, d[:12], strict=True))
        out.update(normalized_income=income, normalized_variable_debt=debt, token_balance=held)
        return out


def predict(s: ReserveState, i: int, now: int) -> dict[str, int]:
    """The model's view of what Env.observe reads (the token balance equals the virtual balance:
    nothing is ever sent to the harness but through it)."""
    return {
        "liquidity_index": s.liquidity_index,
        "current_liquidity_rate": s.current_liquidity_rate,
        "variable_borrow_index": s.variable_borrow_index,
        "current_variable_borrow_rate": s.current_variable_borrow_rate,
        "last_update_timestamp": s.last_update_timestamp,
        "id": i,
        "decimals": s.decimals,
        "accrued_to_treasury": s.accrued_to_treasury,
        "virtual_underlying_balance": s.virtual_underlying_balance,
        "scaled_total_supply": s.scaled_total_supply,
        "scaled_total_variable_debt": s.scaled_total_variable_debt,
        "treasury_scaled": s.treasury_scaled,
        "normalized_income": s.normalized_income(now),
        "normalized_variable_debt": s.normalized_variable_debt(now),
        "token_balance": s.virtual_underlying_balance,
    }


def _risk_tuple(r: RiskParameters) -> tuple[int, ...]:
    return (r.ltv, r.liquidation_threshold, r.liquidation_bonus, r.liquidation_protocol_fee, r.reserve_factor)


def _rates_tuple(r: InterestRateData) -> tuple[int, ...]:
    return (r.optimal_usage_ratio, r.base_variable_borrow_rate, r.variable_rate_slope1, r.variable_rate_slope2)


# --- the model applied to one step (used live and in the replays) ---

Outcome = tuple[str, int]  # ("ok", result) or ("refused", 0) with the error name in the first slot


def model_step(models: list[ReserveState], step: Step) -> tuple[list[ReserveState], Outcome]:
    models = list(models)
    if step.op == "warp":
        return models, ("ok", 0)
    if step.op == "mint_to_treasury":
        for i, s in enumerate(models):
            models[i], _ = s.mint_to_treasury(step.now)
        return models, ("ok", 0)
    s = models[step.asset]
    try:
        if step.op == "accrue":
            models[step.asset], result = s.update_state(step.now), 0
        else:
            models[step.asset], result = getattr(s, step.op)(step.arg, step.now)
    except ReserveRefusal as e:
        return models, (e.error, 0)
    return models, ("ok", result)


@dataclass(frozen=True)
class Step:
    op: str
    asset: int
    arg: int
    now: int


@dataclass
class Session:
    """What the contract did: every step, its outcome and both reserves as observed after it."""

    initial: list[ReserveState]
    steps: list[Step] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    observed: list[list[dict[str, int]]] = field(default_factory=list)


def run_contract_step(env: Env, step: Step) -> Outcome:
    if step.op == "warp":
        env.warp(step.now - env.now)
        return ("ok", 0)
    if step.op == "mint_to_treasury":
        env.mint_to_treasury()
        return ("ok", 0)
    if step.op == "accrue":
        env.accrue(step.asset)
        return ("ok", 0)
    try:
        return ("ok", env.op(step.op, step.asset, step.arg))
    except Reverted as e:
        return (env.error_of(e), 0)


def _amount(rng: random.Random, decimals: int) -> int:
    """Amounts over many magnitudes (1 wei to 10^7 whole tokens), rarely round."""
    return rng.randrange(1, 10) * 10 ** rng.randrange(0, decimals + 7) + rng.randrange(0, 10**decimals)


def _choose(rng: random.Random, env: Env, users: list[dict[str, int]], now: int) -> Step:
    """A step that the user (whose scaled balances `users` tracks) may take now."""
    r = rng.random()
    if r < 0.15:
        return Step("warp", 0, 0, now + rng.choice([0, 1, 2, 13, 600, 3600, 86400, 7 * 86400, 30 * 86400, YEAR // 4]))
    if r < 0.18:
        return Step("mint_to_treasury", 0, 0, now)
    if r < 0.20:
        return Step("accrue", rng.randrange(2), 0, now)
    i = rng.randrange(2)
    s, u = env.models[i], users[i]
    dec = s.decimals
    tiny = rng.random() < 0.08  # 1 or 2 wei: scaled amounts that may round to 0
    liquidity = s.virtual_underlying_balance
    supplied = s.supply_balance(u["supply"], now)
    owed = s.debt_balance(u["debt"], now) if u["debt"] else 0
    treasury = s.supply_balance(s.treasury_scaled, now)
    # (operation, argument, weight): partial operations more often than whole-balance ones
    choices: list[tuple[str, int, float]] = [("supply", rng.randrange(1, 3) if tiny else _amount(rng, dec), 3)]
    if min(supplied, liquidity) > 0:
        cap = min(supplied, liquidity)
        choices.append(("withdraw", rng.randrange(1, 3) if tiny else rng.randrange(1, cap + 1), 2))
    if u["supply"] and atoken_ok(s, u["supply"], now):
        choices.append(("withdraw_scaled", u["supply"], 0.4))
    if liquidity > 0:
        # up to all of it: utilization from 0 to 100%, both sides of the optimal ratio
        pct = rng.choice([5, 30, 70, 85, 90, 95, 100])
        choices.append(("borrow", rng.randrange(1, 3) if tiny else max(1, liquidity * pct // 100), 3))
    if owed > 0:
        choices.append(("repay", rng.randrange(1, 3) if tiny else rng.randrange(1, owed + 1), 2))
        choices.append(("repay_scaled", u["debt"], 0.4))
    if min(treasury, liquidity) > 0:
        choices.append(("withdraw_treasury", rng.randrange(1, min(treasury, liquidity) + 1), 0.5))
    op, arg, _ = rng.choices(choices, weights=[w for _, _, w in choices])[0]
    return Step(op, i, arg, now)


def atoken_ok(s: ReserveState, scaled: int, now: int) -> bool:
    """A whole-balance withdrawal the reserve can pay out."""
    return s.supply_balance(scaled, now) <= s.virtual_underlying_balance


def _track(users: list[dict[str, int]], step: Step, outcome: Outcome, models: list[ReserveState]) -> None:
    if outcome[0] != "ok" or step.op in ("warp", "mint_to_treasury", "accrue", "withdraw_treasury"):
        return
    u, result = users[step.asset], outcome[1]
    if step.op == "supply":
        u["supply"] += result
    elif step.op == "withdraw":
        u["supply"] -= result
    elif step.op == "withdraw_scaled":
        u["supply"] -= step.arg
    elif step.op == "borrow":
        u["debt"] += result
    elif step.op == "repay":
        u["debt"] -= result
    elif step.op == "repay_scaled":
        u["debt"] -= step.arg


STEPS = 600


@pytest.fixture(scope="module")
def session(contracts: dict[str, solidity.Compiled]) -> Session:
    """The seeded random session on the contract, with the model checked after every step."""
    env = Env(contracts)
    rng = random.Random(20260514)
    sess = Session(initial=list(env.models))
    users = [{"supply": 0, "debt": 0}, {"supply": 0, "debt": 0}]
    for n in range(STEPS):
        step = _choose(rng, env, users, env.now)
        outcome = run_contract_step(env, step)
        env.models, predicted = model_step(env.models, step)
        assert outcome == predicted, f"step {n} {step}: contract {outcome}, model {predicted}"
        observed = [env.observe(i) for i in range(2)]
        for i in range(2):
            assert observed[i] == predict(env.models[i], i, env.now), f"step {n} {step}, reserve {i}"
        _track(users, step, outcome, env.models)
        sess.steps.append(step)
        sess.outcomes.append(outcome)
        sess.observed.append(observed)
    return sess


def test_random_session_matches_model_to_the_wei(session: Session) -> None:
    """The fixture compared everything after each step; here: the session really exercised what
    it claims (every operation succeeded somewhere, zero-amount refusals happened, indexes grew,
    utilization crossed the optimal ratio, the treasury was minted and withdrawn from)."""
    ops = {s.op for s, o in zip(session.steps, session.outcomes, strict=True) if o[0] == "ok"}
    assert ops >= {
        "supply",
        "withdraw",
        "withdraw_scaled",
        "borrow",
        "repay",
        "repay_scaled",
        "warp",
        "mint_to_treasury",
        "withdraw_treasury",
    }
    assert {o[0] for o in session.outcomes} >= {"ok", "InvalidAmount", "InvalidBurnAmount"}
    last = session.observed[-1]
    for i, (_, _, _, rates) in enumerate(ASSETS):
        assert last[i]["liquidity_index"] > RAY and last[i]["variable_borrow_index"] > RAY
        kink = model.bps_to_ray(rates.base_variable_borrow_rate + rates.variable_rate_slope1)
        seen = {o[i]["current_variable_borrow_rate"] for o in session.observed}
        assert min(seen) < kink < max(seen), f"reserve {i} never crossed the optimal usage ratio"
        assert any(o[i]["treasury_scaled"] for o in session.observed)


Trace = list[tuple[Outcome, list[dict[str, int]]]]


def replay(initial: list[ReserveState], steps: list[Step]) -> Trace:
    """What the model says each step returns and leaves in both reserves."""
    models = list(initial)
    out = []
    for step in steps:
        models, outcome = model_step(models, step)
        out.append((outcome, [predict(models[i], i, step.now) for i in range(2)]))
    return out


def run_contract(env: Env, steps: list[Step]) -> Trace:
    out = []
    for step in steps:
        outcome = run_contract_step(env, step)
        out.append((outcome, [env.observe(i) for i in range(2)]))
    return out


def _half_up_div(a: int, b: int) -> int:
    return (a * RAY + b // 2) // b


def _half_up_mul(a: int, b: int) -> int:
    return (a * b + RAY // 2) // RAY


def _exact_compound(rate: int, elapsed: int) -> int:
    """(1 + rate/year)^dt-ish with a fourth binomial term: more exact than v3.5, so wrong."""
    x = rate * elapsed // model.SECONDS_PER_YEAR
    return RAY + x + _half_up_mul(x, x // 2 + _half_up_mul(x, x // 6 + _half_up_mul(x, x // 24)))


MUTANTS: dict[str, tuple[str, Callable[..., int]]] = {
    "supply scaled half up instead of floor": ("atoken_mint_scaled", _half_up_div),
    "withdraw burn half up instead of ceil": ("atoken_burn_scaled", _half_up_div),
    "supply balance half up instead of floor": ("atoken_balance", _half_up_mul),
    "borrow scaled half up instead of ceil": ("vtoken_mint_scaled", _half_up_div),
    "repay burn half up instead of floor": ("vtoken_burn_scaled", _half_up_div),
    "debt balance half up instead of ceil": ("vtoken_balance", _half_up_mul),
    "treasury accrual half up instead of floor": ("ray_mul_floor", _half_up_mul),
    "index rayMul floor instead of half up": ("ray_mul", aave_math.ray_mul_floor),
    "rate rayDiv floor instead of half up": ("ray_div", aave_math.ray_div_floor),
    "reserve factor percentMul floor instead of half up": ("percent_mul", aave_math.percent_mul_floor),
    "compounding with a fourth term": ("compounded_interest", _exact_compound),
    "compounding linear": ("compounded_interest", model.linear_interest),
}


def test_replay_reproduces_the_session(session: Session) -> None:
    got = replay(session.initial, session.steps)
    assert [o for o, _ in got] == session.outcomes
    assert [obs for _, obs in got] == session.observed


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_wrong_models_disagree_with_the_session(session: Session, mutant: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each deliberately wrong rounding (or interest formula) disagrees with what the contract did
    at some step of the random session."""
    name, fn = MUTANTS[mutant]
    monkeypatch.setattr(model, name, fn)
    got = replay(session.initial, session.steps)
    assert got != list(zip(session.outcomes, session.observed, strict=True)), mutant


def _initial() -> list[ReserveState]:
    return [ReserveState.listed(dec, risk, rates, T0) for _, dec, risk, rates in ASSETS]


def constructed_case(k: int) -> list[Step]:
    """A short script on USDC touching every rounding: supply, borrow to 80%, a day, a small supply
    (the index is no longer round), withdraw, borrow, repay, an hour, the treasury minted, the small
    supply withdrawn whole, the small borrow repaid whole, part of the treasury withdrawn. Amounts
    and times are drawn from random.Random(k); arguments that depend on earlier results come from the (true) model."""
    models, steps, now = _initial(), [], T0

    def add(op: str, arg: int = 0, dt: int = 0) -> int:
        nonlocal models, now
        now += dt
        step = Step(op, 1, arg, now)
        models, outcome = model_step(models, step)
        assert outcome[0] == "ok", (step, outcome)
        steps.append(step)
        return outcome[1]

    r = random.Random(k)
    add("supply", 1_000_000 * 10**6 + r.randrange(10**9))
    add("borrow", 800_000 * 10**6 + r.randrange(10**9))
    add("warp", dt=86_400 + r.randrange(3_600))
    small = add("supply", r.randrange(10**4, 10**6))
    add("withdraw", r.randrange(10**4, 10**6))
    small_debt = add("borrow", r.randrange(10**4, 10**6))
    add("repay", r.randrange(10**3, 10**4))
    add("warp", dt=r.randrange(1, 3_600))
    add("mint_to_treasury")
    add("withdraw_scaled", small)
    add("repay_scaled", small_debt)
    add("withdraw_treasury", models[1].supply_balance(models[1].treasury_scaled, now) // 3)
    return steps


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_wrong_models_are_caught_by_construction(
    contracts: dict[str, solidity.Compiled], mutant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """For each wrong model, find (with the models alone) the first k whose script the wrong and the
    true model predict differently, then run that script on the contract: it agrees with the true
    model to the wei, so the comparison made after every step would have failed the wrong one."""
    name, fn = MUTANTS[mutant]
    for k in range(100):
        steps = constructed_case(k)
        truth = replay(_initial(), steps)
        with monkeypatch.context() as m:
            m.setattr(model, name, fn)
            wrong = replay(_initial(), steps)
        if wrong != truth:
            break
    else:
        pytest.fail(f"no k < 100 separates {mutant!r} from the true model")
    assert run_contract(Env(contracts), steps) == truth


# --- v3.5's own test vectors (aave-v3-origin 6138e1f, tests/...) ---


def test_v35_golden_vectors() -> None:
    """The model against the numbers Aave's tests assert (the contract equals the model by the
    session above): tests/protocol/libraries/math/MathUtils.t.sol and
    tests/misc/rates/RateStrategy.calculateRates.t.sol."""
    assert model.linear_interest(8 * 10**25, 7 * YEAR) == 156 * 10**25  # MathUtils.t.sol:14-18
    assert model.compounded_interest(8 * 10**25, 0) == RAY  # :52-62
    ideal = 1_750672500296101082549976435  # e^(0.08 * 7), :20-34: within 0.3%
    assert abs(model.compounded_interest(8 * 10**25, 7 * YEAR) - ideal) * 1000 <= 3 * ideal
    assert (
        model.compounded_interest(1_000 * RAY, 10_000 * YEAR) == 166666716666676666667666666666666600000000000000
    )  # :64-84
    rates = InterestRateData(80_00, 1_00, 4_00, 60_00)
    for rf in (0, 1000, 1500, 10_000):
        # calculateRates.t.sol:13-47: 80% usage = the optimal ratio
        liq, var = model.interest_rates(rates, rf, 2 * 10**17, 0, 0, 8 * 10**17)
        assert var == model.bps_to_ray(5_00)
        assert liq == aave_math.percent_mul(aave_math.percent_mul(var, 8000), 10_000 - rf)
        # :49-85: 100% usage
        liq, var = model.interest_rates(rates, rf, 0, 0, 0, 10**18)
        assert var == model.bps_to_ray(65_00)
        assert liq == aave_math.percent_mul(var, 10_000 - rf)


# --- boundaries ---


@pytest.fixture()
def env(contracts: dict[str, solidity.Compiled]) -> Env:
    return Env(contracts)


def _apply(env: Env, op: str, i: int, arg: int) -> int:
    """Runs op on the contract and the model; asserts both agree on result and state."""
    step = Step(op, i, arg, env.now)
    outcome = run_contract_step(env, step)
    env.models, predicted = model_step(env.models, step)
    assert outcome == predicted, f"{step}: contract {outcome}, model {predicted}"
    for j in range(2):
        assert env.observe(j) == predict(env.models[j], j, env.now)
    assert outcome[0] == "ok", outcome
    return outcome[1]


def test_utilization_at_optimal_and_both_sides(env: Env) -> None:
    """USDC: optimal 90%. Exactly at it the rate is base + slope1 (the linear branch, :158-163);
    one wei more borrowed takes the slope2 branch (:150-157); one wei less stays below."""
    rates = ASSETS[1][3]
    _apply(env, "supply", 1, 1_000 * 10**6)
    _apply(env, "borrow", 1, 900 * 10**6 - 1)
    below = env.observe(1)["current_variable_borrow_rate"]
    _apply(env, "borrow", 1, 1)
    at = env.observe(1)
    assert at["current_variable_borrow_rate"] == model.bps_to_ray(rates.variable_rate_slope1)
    # liquidity rate = rate * usage * (1 - reserve factor), all exact here
    assert at["current_liquidity_rate"] == model.bps_to_ray(rates.variable_rate_slope1) * 9 // 10 * 9 // 10
    _apply(env, "borrow", 1, 1)
    above = env.observe(1)["current_variable_borrow_rate"]
    assert below < at["current_variable_borrow_rate"] < above


def test_utilization_zero_and_full(env: Env) -> None:
    """0%: (0, base rate) (:135, :146-147), and with no debt the stored borrow index does not move
    although the view compounds the base rate (ReserveLogic :233 against :63-78). 100%: base +
    slope1 + slope2; one wei more is InsufficientLiquidity."""
    weth = ASSETS[0][3]
    _apply(env, "supply", 0, 10 * 10**18)
    o = env.observe(0)
    assert (o["current_liquidity_rate"], o["current_variable_borrow_rate"]) == (
        0,
        model.bps_to_ray(weth.base_variable_borrow_rate),
    )
    env.warp(30 * 86400)
    assert env.observe(0)["normalized_variable_debt"] > RAY
    env.accrue(0)
    env.models[0] = env.models[0].update_state(env.now)
    o = env.observe(0)
    assert o["variable_borrow_index"] == RAY == env.models[0].variable_borrow_index
    assert o == predict(env.models[0], 0, env.now)
    _apply(env, "borrow", 0, 10 * 10**18)
    o = env.observe(0)
    assert o["virtual_underlying_balance"] == 0
    assert o["current_variable_borrow_rate"] == model.bps_to_ray(
        weth.base_variable_borrow_rate + weth.variable_rate_slope1 + weth.variable_rate_slope2
    )
    with env.expect("InsufficientLiquidity"):
        env.op("borrow", 0, 1)
    with pytest.raises(ReserveRefusal) as e:
        env.models[0].borrow(1, env.now)
    assert e.value.error == "InsufficientLiquidity"


@pytest.mark.parametrize("elapsed", [0, 1, YEAR])
def test_elapsed_time(env: Env, elapsed: int) -> None:
    """Zero seconds: nothing accrues (updateState :91-93, views :45-47); one second and a year: the
    indexes are the model's. The compounded index of a year is below e^rate (v3.5's approximation
    undercharges) and above the linear one."""
    _apply(env, "supply", 0, 100 * 10**18 + 12345)
    _apply(env, "borrow", 0, 70 * 10**18 + 6789)
    before = env.observe(0)
    env.warp(elapsed)
    viewed = env.observe(0)
    _apply(env, "supply", 0, 10**18)
    after = env.observe(0)
    if elapsed == 0:
        assert (after["liquidity_index"], after["variable_borrow_index"]) == (
            before["liquidity_index"],
            before["variable_borrow_index"],
        )
        assert after["accrued_to_treasury"] == before["accrued_to_treasury"] == 0
        return
    rate = before["current_variable_borrow_rate"]
    assert viewed["normalized_variable_debt"] == after["variable_borrow_index"]
    assert viewed["normalized_income"] == after["liquidity_index"]
    assert after["liquidity_index"] == aave_math.ray_mul(
        RAY + before["current_liquidity_rate"] * elapsed // YEAR, before["liquidity_index"]
    )
    assert after["variable_borrow_index"] == aave_math.ray_mul(model.compounded_interest(rate, elapsed), RAY)
    assert after["accrued_to_treasury"] > 0
    if elapsed == YEAR:
        import math

        assert RAY + rate < model.compounded_interest(rate, YEAR) < math.exp(rate / RAY) * RAY


def test_whole_balances_round_as_v35(env: Env) -> None:
    """A note's whole supply pays rayMulFloor and burns exactly its scaled amount; its whole debt
    pays rayMulCeil and burns exactly its scaled debt (TokenMath :66-71, :108-113)."""
    s_supply = _apply(env, "supply", 1, 5_000 * 10**6 + 7)
    s_debt = _apply(env, "borrow", 1, 3_333 * 10**6 + 3)
    env.warp(12345)
    idx = env.models[1].update_state(env.now)
    owed = _apply(env, "repay_scaled", 1, s_debt)
    assert owed == aave_math.vtoken_balance(s_debt, idx.variable_borrow_index)
    assert env.observe(1)["scaled_total_variable_debt"] == 0
    paid = _apply(env, "withdraw_scaled", 1, s_supply)
    assert paid == aave_math.atoken_balance(s_supply, env.models[1].liquidity_index)


def test_zero_amounts_refused(env: Env) -> None:
    _apply(env, "supply", 0, 10**18)
    for op, name in [("supply", "InvalidAmount"), ("withdraw", "InvalidAmount"), ("borrow", "InvalidAmount")]:
        with env.expect(name):
            env.op(op, 0, 0)
    _apply(env, "borrow", 0, 10**17)
    with env.expect("InvalidAmount"):
        env.op("repay", 0, 0)
    env.warp(YEAR)
    _apply(env, "accrue", 0, 0)
    with env.expect("InvalidBurnAmount"):  # 1 wei of debt is less than one scaled unit now
        env.op("repay", 0, 1)


# --- listing ---


@pytest.mark.parametrize(
    ("risk", "rates", "error"),
    [
        (RiskParameters(8300, 8250, 10500, 1000, 1500), ASSETS[0][3], "InvalidRiskParameters"),  # ltv > lt
        (RiskParameters(8000, 8250, 10000, 1000, 1500), ASSETS[0][3], "InvalidRiskParameters"),  # bonus <= 100%
        (RiskParameters(8000, 9600, 10500, 1000, 1500), ASSETS[0][3], "InvalidRiskParameters"),  # lt x bonus > 1
        (RiskParameters(0, 0, 10500, 1000, 1500), ASSETS[0][3], "InvalidRiskParameters"),  # lt 0 needs bonus 0
        (RiskParameters(8000, 8250, 10500, 10001, 1500), ASSETS[0][3], "InvalidRiskParameters"),
        (RiskParameters(8000, 8250, 10500, 1000, 10001), ASSETS[0][3], "InvalidRiskParameters"),
        (ASSETS[0][2], InterestRateData(99, 0, 400, 6000), "InvalidRateData"),
        (ASSETS[0][2], InterestRateData(9901, 0, 400, 6000), "InvalidRateData"),
        (ASSETS[0][2], InterestRateData(8000, 0, 6001, 6000), "InvalidRateData"),
        (ASSETS[0][2], InterestRateData(8000, 2, 49_999, 50_000), "InvalidRateData"),  # max rate 100001
    ],
)
def test_listing_refuses_bad_parameters(
    contracts: dict[str, solidity.Compiled], risk: RiskParameters, rates: InterestRateData, error: str
) -> None:
    """PoolConfigurator :133-154, :281, :363 and the strategy's :178-200, in both implementations."""
    with pytest.raises(Reverted) as e:
        Env(contracts, [("BAD", 18, risk, rates)])
    assert _error_names(contracts["ReservesHarness"].abi)[e.value.data[:4]] == error
    with pytest.raises(InputError):
        ReserveState.listed(18, risk, rates, T0)


def test_listing_boundaries_accepted(contracts: dict[str, solidity.Compiled]) -> None:
    ok = [
        (RiskParameters(0, 0, 0, 10000, 10000), InterestRateData(100, 0, 0, 0)),
        (RiskParameters(9500, 9500, 10526, 0, 0), InterestRateData(9900, 1, 49_999, 50_000)),
    ]
    env = Env(contracts, [("A", 18, *ok[0]), ("B", 6, *ok[1])])
    for i in range(2):
        assert env.observe(i) == predict(env.models[i], i, env.now)


# --- prices and the sequencer ---


def test_price_checks_each_refusal(env: Env) -> None:
    def price() -> int:
        return int(env.call(env.harness, "getAssetPrice(address)", ["address"], [env.tokens[0]], ["uint256"])[0])

    env.warp(MAX_AGE + 100)
    now = env.now
    env.set_round(0, 5, PRICE[0], now - MAX_AGE, now - MAX_AGE, 5)  # exactly maxAge old: fresh
    assert price() == PRICE[0]
    env.set_round(0, 5, PRICE[0], now - MAX_AGE - 1, now - MAX_AGE - 1, 5)  # one second more: stale
    with env.expect("StalePrice"):
        price()
    env.set_round(0, 5, PRICE[0], now, now, 5)
    assert price() == PRICE[0]
    env.set_round(0, 5, PRICE[0], now, now + 1, 5)
    with env.expect("PriceFromFuture"):
        price()
    for bad in (0, -1, -(2**255)):
        env.set_round(0, 5, bad, now, now, 5)
        with env.expect("NonPositivePrice"):
            price()
    env.set_round(0, 5, 1, now, now, 5)  # the smallest positive price
    assert price() == 1
    env.set_round(0, 6, PRICE[0], now, now, 5)
    with env.expect("IncompleteRound"):
        price()
    env.set_round(0, 6, PRICE[0], 0, now, 6)
    with env.expect("RoundNotStarted"):
        price()
    with env.expect("NoPriceFeed"):
        env.call(env.harness, "getAssetPrice(address)", ["address"], [OTHER], ["uint256"])


def test_feed_must_have_8_decimals(contracts: dict[str, solidity.Compiled]) -> None:
    env = Env(contracts)
    tok = env.chain.deploy(contracts["MintableERC20"].bytecode, encode(["string", "string", "uint8"], ["X", "X", 18]))
    feed = env.chain.deploy(contracts["MockChainlinkFeed"].bytecode, encode(["uint8"], [18]))
    with env.expect("FeedDecimals"):
        env.send(
            env.harness,
            "listReserve(address,(uint16,uint16,uint16,uint16,uint16),(uint16,uint32,uint32,uint32),address,uint32)",
            ["address", "(uint16,uint16,uint16,uint16,uint16)", "(uint16,uint32,uint32,uint32)", "address", "uint32"],
            [tok, _risk_tuple(ASSETS[0][2]), _rates_tuple(ASSETS[0][3]), feed, MAX_AGE],
        )


def test_sequencer_down_and_grace_period(env: Env, contracts: dict[str, solidity.Compiled]) -> None:
    """PriceOracleSentinel :71-74: allowed iff answer == 0 and now - startedAt > grace."""
    grace = 3600

    def allowed() -> tuple[bool, bool]:
        b = env.call(env.harness, "isBorrowAllowed()", [], [], ["bool"])[0]
        liq = env.call(env.harness, "isLiquidationAllowed()", [], [], ["bool"])[0]
        return bool(b), bool(liq)

    _apply(env, "supply", 1, 10**12)
    assert allowed() == (True, True)  # no sequencer feed: an L1
    seq = env.chain.deploy(contracts["MockSequencerUptimeFeed"].bytecode)
    env.send(env.harness, "setSequencerFeed(address,uint256)", ["address", "uint256"], [seq, grace])
    env.warp(10 * grace)
    now = env.now
    env.send(seq, "setStatus(bool,uint256)", ["bool", "uint256"], [True, now - 5 * grace])
    assert allowed() == (False, False)
    with env.expect("SequencerDown"):
        env.op("borrow", 1, 10**6)
    # liquidating a position shown below HF 0.95 stays allowed (ValidationLogic :330-335); just above, not
    liquidation = "requireLiquidationAllowed(uint256)"
    env.call(env.harness, liquidation, ["uint256"], [95 * 10**16], [])
    with env.expect("SequencerDown"):
        env.call(env.harness, liquidation, ["uint256"], [95 * 10**16 + 1], [])
    env.send(seq, "setStatus(bool,uint256)", ["bool", "uint256"], [False, now - grace])  # up for exactly grace
    assert allowed() == (False, False)
    with env.expect("GracePeriodNotOver"):
        env.op("borrow", 1, 10**6)
    with env.expect("GracePeriodNotOver"):
        env.call(env.harness, liquidation, ["uint256"], [WAD], [])
    env.send(seq, "setStatus(bool,uint256)", ["bool", "uint256"], [False, now + 1])  # from the future
    with env.expect("GracePeriodNotOver"):
        env.op("borrow", 1, 10**6)
    env.send(seq, "setStatus(bool,uint256)", ["bool", "uint256"], [False, now - grace - 1])  # one second past
    assert allowed() == (True, True)
    env.call(env.harness, liquidation, ["uint256"], [WAD], [])
    _apply(env, "borrow", 1, 10**6)


def test_imports_resolve_from_node_modules_or_fail_by_name(tc: Toolchain) -> None:
    """solidity.with_imports: relative imports against the importing unit, packages from the
    pinned node_modules; a missing one is an ArtifactError naming it."""
    src = {"pool/X.sol": 'import {ReserveMath} from "./M.sol";\nimport "@openzeppelin/contracts/utils/Context.sol";\n'}
    with pytest.raises(ArtifactError, match="M.sol"):
        solidity.with_imports(src, tc)
    got = solidity.with_imports({**src, "pool/M.sol": "library ReserveMath {}"}, tc)
    assert "@openzeppelin/contracts/utils/Context.sol" in got and len(got) == 3
    with pytest.raises(ArtifactError, match="nope"):
        solidity.with_imports({"A.sol": 'import "@openzeppelin/contracts/nope.sol";'}, tc)
    with pytest.raises(ArtifactError, match="escape"):
        solidity.with_imports({"A.sol": 'import "@openzeppelin/../../escape.sol";'}, tc)


def test_model_refuses_bad_arguments_by_name() -> None:
    s = _initial()[1]
    for bad in (-1, 2**256, 1.5, True):
        with pytest.raises(InputError) as e:
            s.supply(bad, T0)  # type: ignore[arg-type]
        assert e.value.field == "amount"
    with pytest.raises(InputError) as e:
        s.update_state(T0 - 1)
    assert e.value.field == "now"
    with pytest.raises(InputError) as e:
        ReserveState.listed(256, ASSETS[0][2], ASSETS[0][3], T0)
    assert e.value.field == "decimals"


def test_bad_debt_insurance_socialization_and_the_index_floor(env: Env) -> None:
    """Reserves._coverDeficit against ReserveState.cover_deficit, to the wei: a deficit the
    treasury's supply covers alone (index unchanged), one it covers in part (the rest lowers the
    index: the supply's value falls by the rest or one wei more, never less), and one past the
    index's 1-ray floor (the remainder booked in reserveDeficit)."""
    _apply(env, "supply", 1, 1_000 * 10**6)
    _apply(env, "borrow", 1, 900 * 10**6)
    env.warp(365 * 86_400)
    seen = []
    for deficit in (2 * 10**6, 20 * 10**6, 100 * 10**6):
        before = env.models[1].update_state(env.now)
        out = env.send(env.harness, "writeOff(address,uint256)", ["address", "uint256"], [env.tokens[1], deficit])
        got = tuple(decode(["uint256", "uint256"], out))
        s, _ = env.models[1].burn_liquidated_debt(0, deficit, env.now)
        env.models[1], cover = s.cover_deficit(deficit, env.now)
        assert got == (cover.from_insurance, cover.socialized)
        assert env.observe(1) == predict(env.models[1], 1, env.now)
        (booked,) = env.call(env.harness, "reserveDeficit(address)", ["address"], [env.tokens[1]], ["uint256"])
        seen.append(cover)
        assert booked == sum(c.residual for c in seen)
        after = env.models[1]
        assert after.virtual_underlying_balance == before.virtual_underlying_balance
        if cover.socialized and not cover.residual:
            sts = after.scaled_total_supply
            fall = aave_math.ray_mul_floor(sts, before.liquidity_index) - aave_math.ray_mul_floor(
                sts, after.liquidity_index
            )
            assert cover.socialized <= fall <= cover.socialized + 1
    first, second, third = seen
    assert first.from_insurance == first.deficit and first.socialized == 0
    assert 0 < second.from_insurance < second.deficit and second.socialized == second.deficit - second.from_insurance
    assert third.from_insurance == 0 and third.residual > 0 and env.models[1].liquidity_index == aave_math.RAY
