"""Every refusal of the liquidation-step model, tried on the circuit's R1CS.

The model (`liquidate` and `step_inputs` in zkmargin/liquidation_step.py, and `evaluate` in
zkmargin/model.py, which `liquidate` calls) refuses a call in the cases listed in REFUSALS. For
each one, `test_model_refusal_is_a_circuit_refusal`

1. shows the model refusing it (the exception type and message);
2. builds the witness an attacker would use to prove the refused call anyway: the honest witness
   generator run leniently (failed asserts skipped) on the inputs of the refused call, claiming
   the outcome the circuit's own arithmetic gives (from the model with that one refusal lifted,
   or worked out by hand where the model cannot be made to compute it), so that only a refusal
   can stop it;
3. checks that witness against the R1CS itself (galois over the BN254 scalar field): it fails,
   and among the failing constraints is one of the refusal's own check, recognised by the signal
   names of its wires in the .sym file;
4. runs the strict witness generator on the same inputs: the first check it finds false (named by
   the line of LiquidationStep that runs it) is the refusal's own. Everything the circuit
   computes before that check holds, so it is this check, and no accident of the attack, that
   refuses the call (circom's generator stops at the first false check, which is also why the
   lenient witness of step 3 fails more constraints than that one, all computed after it);
5. checks that the legal call next to it (the other side of the boundary) satisfies every
   constraint, so that the case can fail: drop the circuit's check and step 3 or 4 fails.

Every hint (`<--`) of the circuit is pinned by its constraints (DivRound, IsZero, NonZero,
Num2Bits), so the honest witness is the only candidate for given inputs and claims. For the
zero-repay attack (issue 10), `test_zero_repay_has_no_witness` shows more: the constraint it fails
cannot be satisfied by any witness at all.

The refusals depend on the rules: each case names the version whose circuit it runs on
(`liquidation_step_4_v35`, `_v36`, `_v37`); v3.6 is the default.

Not circuit cases: `new_salt` or an amount >= r makes Poseidon raise in `step_inputs`; the circuit
only ever sees field elements (< r), so there is nothing for it to refuse. A market with more
assets than any registered step circuit has slots is refused by `registry.for_assets`; the circuit
takes exactly 4 slots (`test_market_larger_than_the_circuit`). A position in actual amounts under
an index other than 1 ray is refused by the model as a file error: the circuit sees only scaled
balances, and the same numbers as scaled balances are a legal call (`test_actual_amounts_need_one_ray`).
A v3.5/v3.6 market with an isolated asset and a debt asset of fewer than 2 decimals is refused
whole by the model for the step (Aave Panics on such a liquidation; the circuit has no
isolation-mode input: `test_isolation_panic_market_is_refused`). Not refusals, and checked here as
such: the close factor caps the debt (claiming the uncapped outcome fails), collateral and debt
may be the same asset (Aave allows it; model and circuit accept it), and a v3.6 call on LT-0
collateral without fee pays its debt for no collateral when the liquidator takes aTokens.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from zkmargin import build, liquidation_step, model, paths, registry
from zkmargin.aave_math import RAY
from zkmargin.commitment import commit_amounts, commitment, slot_amounts
from zkmargin.errors import InputError, StatementFalse, WitnessError
from zkmargin.field import R
from zkmargin.liquidation_step import liquidate, step_inputs
from zkmargin.model import Asset, EModeCategory, Market, Position, PricePoint, PriceSnapshot, Rules, evaluate
from zkmargin.r1cs import R1cs, read_r1cs, read_symbols
from zkmargin.slots import emode_params, slot_params
from zkmargin.toolchain import Toolchain
from zkmargin.witness import InputValue, WitnessCalculator

Inputs = dict[str, InputValue]

N = 4
NEW_SALT = 5
WETH = Asset("WETH", 18, 8250, 10500, 1000)
USDC = Asset("USDC", 6, 7800, 10450, 1000)
WBTC = Asset("WBTC", 8, 7800, 10500, 1000)
MARKET = Market("m", (WETH, USDC, WBTC))
BIG = Asset("BIG", 0, 7000, 10500, 1000)  # 0 decimals, 3000 USD a unit: one unit is a lot of debt
X = Asset("X", 18, 7000, 10500, 1000)  # 1e-8 USD a whole token
Y = Asset("Y", 0, 0, 10500, 1000)  # 100 USD a unit, 0 decimals
PRICES = {"WETH": 2500 * 10**8, "USDC": 10**8, "WBTC": 60000 * 10**8, "BIG": 3000 * 10**8, "X": 1, "Y": 10**10}
E18, E6 = 10**18, 10**6
# HF in (0.95, 1), both reserves >= 2000e8: the close factor applies (12500 USDC at most)
POS = Position({"WETH": 10 * E18, "USDC": 5000 * E6}, {"USDC": 25000 * E6}, 11)


def px(market: Market = MARKET, indexes: dict[str, tuple[int, int]] | None = None, **override: int) -> PriceSnapshot:
    idx = indexes or {}
    return PriceSnapshot(
        {
            a.symbol: PricePoint(override.get(a.symbol, PRICES[a.symbol]), 1, 1, *idx.get(a.symbol, (RAY, RAY)))
            for a in market.assets
        }
    )


@dataclass(frozen=True)
class Step:
    r1cs: R1cs
    calc: WitnessCalculator
    wire: dict[str, int]  # signal name (main.x.y) -> witness wire
    names: dict[int, list[str]]  # witness wire -> every signal name on it

    def failing(self, inputs: Inputs) -> list[int]:
        return self.r1cs.failing_constraints(self.calc.calculate(inputs, lenient=True))

    def signals(self, constraint: int) -> set[str]:
        a, b, c = self.r1cs.constraints[constraint]
        return {n for w in (*a, *b, *c) for n in self.names.get(w, [])}

    def belongs(self, constraint: int, prefixes: Sequence[str]) -> bool:
        return any(n.startswith(p) for n in self.signals(constraint) for p in prefixes)

    def describe(self, constraints: Sequence[int]) -> list[str]:
        """The components (main.x) whose signals the constraints touch, for failure messages."""
        return sorted({".".join(n.split(".")[:2]) for i in constraints for n in self.signals(i)})


@pytest.fixture(scope="module")
def steps(tc: Toolchain) -> Callable[[Rules], Step]:
    """The step circuit of each version of the rules, compiled on first use (no keys needed)."""
    made: dict[str, Step] = {}

    def get(rules: Rules) -> Step:
        if rules not in made:
            compiled = build.compile_circuit(registry.for_assets("liquidation_step", 4, rules), tc)
            wire = read_symbols(compiled.dir / paths.SYM)
            names: dict[int, list[str]] = {}
            for name, w in wire.items():
                names.setdefault(w, []).append(name)
            made[rules] = Step(read_r1cs(compiled.r1cs), WitnessCalculator(compiled.wasm), wire, names)
        return made[rules]

    return get


@pytest.fixture(scope="module")
def step(steps: Callable[[Rules], Step]) -> Step:
    return steps("aave-v3.6")


# --- inputs of calls the model refuses ---


def statement(
    pos: Position, market: Market, prices: PriceSnapshot, c: int, d: int, ask: int, receive_atoken: bool = False
) -> Inputs:
    """The circuit inputs of a call, without its outcome: what step_inputs gives before the model
    has decided anything (slot indices instead of symbols, so that unknown slots can be named)."""
    pad = N - len(market.assets)
    coll, debt = slot_amounts(pos, market, N)
    return {
        "oldCommitment": commitment(pos, market, N),
        **slot_params(market, prices, N),
        "liqBonus": [a.liquidation_bonus for a in market.assets] + [0] * pad,
        "protocolFee": [a.protocol_fee for a in market.assets] + [0] * pad,
        **emode_params(market, 4),
        "collateralAsset": c % R,
        "debtAsset": d % R,
        "debtToCover": ask % R,
        "receiveAToken": int(receive_atoken),
        "collateral": coll,
        "debt": debt,
        "collateralFlags": pos.flags(market),
        "eModeCategory": pos.emode_category,
        "salt": pos.salt,
        "newSalt": NEW_SALT,
    }


def claiming(
    inputs: Inputs, *, repaid: int = 0, seized: int = 0, fee: int = 0, deficit: bool = False, clear_flag: bool = False
) -> Inputs:
    """`inputs` claiming an outcome at indexes of 1 ray (seized = collateral taken, fee included),
    with the new commitment the circuit derives from it (the old amounts minus what moved, every
    debt burnt and booked as deficit when no collateral is left)."""
    c, d = inputs["collateralAsset"], inputs["debtAsset"]
    coll, debt = list(inputs["collateral"]), list(inputs["debt"])  # type: ignore[arg-type]
    flags, emode = inputs["collateralFlags"], inputs["eModeCategory"]
    assert isinstance(c, int) and isinstance(d, int) and isinstance(flags, int) and isinstance(emode, int)
    if c < N:
        coll[c] -= seized
    deficits = [0] * N
    if deficit:
        deficits = [v - (repaid if i == d else 0) for i, v in enumerate(debt)]
        debt = [0] * N
    elif d < N:
        debt[d] -= repaid
    if clear_flag and c < N:
        flags &= ~(1 << c)
    new = commit_amounts([v % R for v in coll], [v % R for v in debt], NEW_SALT, flags, emode)
    return {
        **inputs,
        "debtRepaid": repaid % R,
        "collateralToLiquidator": (seized - fee) % R,
        "protocolFeeAmount": fee,
        "deficit": [v % R for v in deficits],
        "newCommitment": new,
    }


def with_(inputs: Inputs, **changes: InputValue) -> Inputs:
    return {**inputs, **changes}


def set_slot(inputs: Inputs, name: str, index: int, value: int) -> Inputs:
    arr = list(inputs[name])  # type: ignore[arg-type]
    arr[index] = value % R
    return {**inputs, name: arr}


def inputs_of(
    pos: Position, market: Market, prices: PriceSnapshot, c: str, d: str, ask: int, receive_atoken: bool = False
) -> Inputs:
    return step_inputs(pos, market, prices, c, d, ask, NEW_SALT, receive_atoken)[1]


# --- the refusals ---


@dataclass(frozen=True)
class Refusal:
    label: str
    refuse: Callable[[], object]  # calls the model, which must raise
    error: type[Exception]
    match: str | None
    bad: Callable[[pytest.MonkeyPatch], Inputs]  # the refused call, as an attacker would claim it
    good: Callable[[], Inputs]  # the legal call next to it
    own: tuple[str, ...]  # signal-name prefixes of the circuit's check(s) for this refusal
    # the components of LiquidationStep that run those checks; by default the ones the prefixes
    # name (main.acct.val[2].dv. -> acct)
    checks: tuple[str, ...] = ()
    rules: Rules = "aave-v3.6"  # the version whose circuit runs the case

    @property
    def components(self) -> set[str]:
        return set(self.checks) or {p.removeprefix("main.").split(".")[0].split("[")[0] for p in self.own}


REPAID = ("main.repaysSomething.",)  # the check debtRepaid >= 1
# noDust (Implies) checks partial * (1 - bothOk) = 0; its inputs are aliases of main.partial and
# main.bothOk, and only those names keep a wire in the .sym file. The other Implies refusals take
# linear expressions of IsZero outputs; O2 keeps one wire for each pair (an input of the Implies,
# or the IsZero output), so either name may carry the constraint.
DUST = ("main.partial",)


def _hf_at_one() -> tuple[Position, Position]:
    """Smallest USDC debt with HF < 1 against 10 WETH (just below) and one unit less (HF >= 1)."""
    lo, hi = 0, 10**12
    while hi - lo > 1:
        mid = (lo + hi) // 2
        below = evaluate(Position({"WETH": 10 * E18}, {"USDC": mid}, 1), MARKET, px()).is_below(10**18)
        lo, hi = (lo, mid) if below else (mid, hi)
    return Position({"WETH": 10 * E18}, {"USDC": hi}, 1), Position({"WETH": 10 * E18}, {"USDC": hi - 1}, 1)


V35: Rules = "aave-v3.5"
WETH_LT0 = Market("lt0", (Asset("WETH", 18, 0, 10500, 1000), USDC, WBTC), V35)
WETH_LT1 = Market("lt1", (Asset("WETH", 18, 1, 10500, 1000), USDC, WBTC), V35)
WBTC_LT0 = Market("wbtc-lt0", (WETH, USDC, Asset("WBTC", 8, 0, 0, 0)))
WBTC_DEC = {d: Market(f"dec{d}", (WETH, USDC, Asset("WBTC", d, 7800, 10500, 1000))) for d in (18, 19)}
BIG_MARKET = Market("big", (WETH, USDC, BIG))
WIDE_MARKET = Market("wide", (X, Y))
# v3.6: LT-0 collateral is liquidatable; Aave requires its bonus to be 0
LT0_FEE = Market("lt0-fee", (Asset("WETH", 18, 0, 0, 1000), USDC, WBTC))
LT0_NO_FEE = Market("lt0-no-fee", (Asset("WETH", 18, 0, 0, 0), USDC, WBTC))
STABLES = EModeCategory(1, 9500, 10100, 0b010)  # USDC
EMODE_MARKET = Market("emode", (WETH, USDC, WBTC), emode_categories=(STABLES,))
X0 = Asset("X", 18, 0, 0, 0)  # LT 0, 1e-8 USD a whole token: any balance is worth little
X_MARKET = Market("x", (WETH, USDC, X0))

NO_DEBT = Position(POS.collateral, {}, 11)
NO_WETH_DEBT = Position(POS.collateral, {"USDC": 25000 * E6, "WETH": 0}, 11)
ONE_WEI_WETH_DEBT = Position(POS.collateral, {"USDC": 25000 * E6, "WETH": 1}, 11)
ONE_SAT_WBTC = Position({**POS.collateral, "WBTC": 1}, POS.debt, 11)
WETH_FLAG_OFF = Position(POS.collateral, POS.debt, 11, frozenset({"USDC"}))
WBTC_DEBT_LIMIT = (2**128 - 1) // 60000  # WBTC debt units whose value (x 60000) is the last < 2^128
WBTC_COLL_LIMIT = (2**128 - 1) // 60000
DEBT_TOO_BIG = Position(POS.collateral, {**POS.debt, "WBTC": WBTC_DEBT_LIMIT + 1}, 11)
DEBT_AT_LIMIT = Position(POS.collateral, {**POS.debt, "WBTC": WBTC_DEBT_LIMIT}, 11)
COLL_TOO_BIG = Position({**POS.collateral, "WBTC": WBTC_COLL_LIMIT + 1}, POS.debt, 11)  # LT 0: HF unchanged
COLL_AT_LIMIT = Position({**POS.collateral, "WBTC": WBTC_COLL_LIMIT}, POS.debt, 11)
# HF ~0.98, both reserves >= 2000e8, BIG debt (3000e8) > 50% of TD (4000e8): the close factor caps
# the debt at floor(2000e8 * 1 / 3000e8) = 0 BIG; with 2 BIG owed (TD 7000e8) the cap is 1 BIG
CAPPED_TO_ZERO = Position({"WETH": 19 * E18 // 10}, {"BIG": 1, "USDC": 1000 * E6}, 11)
CAPPED_TO_ONE = Position({"WETH": 33 * E18 // 10}, {"BIG": 2, "USDC": 1000 * E6}, 11)
ONE_WEI_WETH = Position({"WETH": 1}, {"USDC": 5000 * E6}, 11)  # worth 0 USDC units
GWEI_WETH = Position({"WETH": 10**9}, {"USDC": 5000 * E6}, 11)  # worth 2 USDC units
DUST_DEBT = Position({"WETH": 20 * E18}, {"USDC": 44000 * E6}, 11)  # HF < 0.95: no cap
DUST_COLL = Position({"WETH": E18, "WBTC": 5 * 10**6}, {"USDC": 5000 * E6}, 11)  # HF ~0.88: no cap
# 1e30 X (1e12 base) against 4e10 Y (4e20 base): base = 1e10 * 4e10 * 1e18 = 4e38 >= 2^128
WIDE = Position({"X": 10**30}, {"Y": 4 * 10**10}, 11)
# scaled balances: USDC owed at a borrow index of 1.5 ray (37500 USDC, HF ~0.65); repaying 1 unit
# burns floor(1 / 1.5) = 0 scaled debt, 2 units burn 1
SCALED = Position(POS.collateral, POS.debt, 11, scaled=True)
HALF_MORE = {"USDC": (RAY, 3 * RAY // 2)}
# X at a liquidity index of 2 ray: 2^127 - 1 scaled is a balance of 2^128 - 2, 2^127 one of 2^128
X_AT_LIMIT = Position({**POS.collateral, "X": 2**127 - 1}, POS.debt, 11, scaled=True)
X_TOO_BIG = Position({**POS.collateral, "X": 2**127}, POS.debt, 11, scaled=True)
DOUBLE_X = {"X": (2 * RAY, RAY)}
IN_EMODE = Position(POS.collateral, {"USDC": 26000 * E6}, 11, emode_category=1)  # USDC at LT 95%: HF ~0.976


def _forced_hf(mp: pytest.MonkeyPatch) -> Inputs:
    mp.setattr(liquidation_step, "WAD", 2 * 10**18)  # the model's bar moves; the circuit keeps 1e18
    return inputs_of(_hf_at_one()[1], MARKET, px(), "WETH", "USDC", 10**9)


def _forced_value(pos: Position, market: Market) -> Callable[[pytest.MonkeyPatch], Inputs]:
    def forced(mp: pytest.MonkeyPatch) -> Inputs:
        mp.setattr(model, "VALUE_BITS", 256)
        return inputs_of(pos, market, px(market), "WETH", "USDC", 10**9)

    return forced


def _forced_balance(mp: pytest.MonkeyPatch) -> Inputs:
    mp.setattr(model, "AMOUNT_BITS", 256)
    return inputs_of(X_TOO_BIG, X_MARKET, px(X_MARKET, DOUBLE_X), "WETH", "USDC", 10**9)


def _forced_decimals(mp: pytest.MonkeyPatch) -> Inputs:
    mp.setattr(model, "MAX_DECIMALS", 19)
    return inputs_of(POS, WBTC_DEC[19], px(WBTC_DEC[19]), "WETH", "USDC", 10**9)


def _forced_dust(pos: Position, ask: int) -> Callable[[pytest.MonkeyPatch], Inputs]:
    def forced(mp: pytest.MonkeyPatch) -> Inputs:
        mp.setattr(liquidation_step, "MIN_LEFTOVER_BASE", 0)
        return inputs_of(pos, MARKET, px(), "WETH", "USDC", ask)

    return forced


def _forced_wide(mp: pytest.MonkeyPatch) -> Inputs:
    mp.setattr(liquidation_step, "WIDE", 2**256)
    return inputs_of(WIDE, WIDE_MARKET, px(WIDE_MARKET), "X", "Y", 4 * 10**10)


def _call(
    pos: Position,
    c: str,
    d: str,
    ask: int,
    market: Market = MARKET,
    indexes: dict[str, tuple[int, int]] | None = None,
    receive_atoken: bool = False,
    **prices: int,
) -> Callable[[], object]:
    return lambda: liquidate(pos, market, px(market, indexes, **prices), c, d, ask, NEW_SALT, receive_atoken)


def _legal(
    pos: Position,
    c: str,
    d: str,
    ask: int,
    market: Market = MARKET,
    indexes: dict[str, tuple[int, int]] | None = None,
    receive_atoken: bool = False,
) -> Callable[[], Inputs]:
    return lambda: inputs_of(pos, market, px(market, indexes), c, d, ask, receive_atoken)


def _edited(
    pos: Position, ask: int, market: Market = MARKET, **changes: InputValue
) -> Callable[[pytest.MonkeyPatch], Inputs]:
    """The legal call's inputs (and outcome) with some inputs changed."""
    return lambda mp: with_(inputs_of(pos, market, px(market), "WETH", "USDC", ask), **changes)


def _slot_edited(
    name: str, index: int, value: int, market: Market = MARKET, receive_atoken: bool = False
) -> Callable[[pytest.MonkeyPatch], Inputs]:
    return lambda mp: set_slot(
        inputs_of(POS, market, px(market), "WETH", "USDC", 10**9, receive_atoken), name, index, value
    )


def _recommitted(legal: Callable[[], Inputs], **changes: int) -> Callable[[pytest.MonkeyPatch], Inputs]:
    """The legal call's inputs with private opening values changed and the old commitment made
    to match them (so that only the rule on those values is attacked)."""

    def bad(mp: pytest.MonkeyPatch) -> Inputs:
        i = {**legal(), **changes}
        coll, debt = i["collateral"], i["debt"]
        assert isinstance(coll, list) and isinstance(debt, list)
        return {
            **i,
            "oldCommitment": commit_amounts(
                coll,
                debt,
                POS.salt,
                int(i["collateralFlags"]),  # type: ignore[arg-type]
                int(i["eModeCategory"]),
            ),
        }  # type: ignore[arg-type]

    return bad


def _nothing_moves(
    pos: Position, c: int, d: int, ask: int, market: Market = MARKET
) -> Callable[[pytest.MonkeyPatch], Inputs]:
    """The claim of a call whose arithmetic moves nothing: the old amounts under the new salt."""
    return lambda mp: claiming(statement(pos, market, px(market), c, d, ask))


REFUSALS: list[Refusal] = [
    # liquidate: InputError for the call's own arguments
    Refusal(
        "collateral asset not in the market (slot 4 of 4)",
        _call(POS, "DOGE", "USDC", 10**9),
        InputError,
        "--collateral-asset",
        _edited(POS, 10**9, collateralAsset=4),
        _legal(POS, "WETH", "USDC", 10**9),
        ("main.selC.",),
    ),
    Refusal(
        "collateral asset not in the market (slot r - 1)",
        _call(POS, "DOGE", "USDC", 10**9),
        InputError,
        "--collateral-asset",
        _edited(POS, 10**9, collateralAsset=R - 1),
        _legal(POS, "WETH", "USDC", 10**9),
        ("main.selC.",),
    ),
    Refusal(
        "collateral asset not in the market (its padding slot 3)",
        _call(POS, "DOGE", "USDC", 10**9),
        InputError,
        "--collateral-asset",
        _edited(POS, 10**9, collateralAsset=3),
        _legal(POS, "WETH", "USDC", 10**9),
        ("main.collateralEnabled.",),
    ),
    Refusal(
        "debt asset not in the market (slot 4 of 4)",
        _call(POS, "WETH", "DOGE", 10**9),
        InputError,
        "--debt-asset",
        _edited(POS, 10**9, debtAsset=4),
        _legal(POS, "WETH", "USDC", 10**9),
        ("main.selD.",),
    ),
    Refusal(
        "debt asset not in the market (its padding slot 3)",
        _call(POS, "WETH", "DOGE", 10**9),
        InputError,
        "--debt-asset",
        _nothing_moves(POS, 0, 3, 10**9),
        _legal(POS, "WETH", "USDC", 10**9),
        ("main.hasDebt.",),
    ),
    Refusal(
        "debtToCover = 0",
        _call(POS, "WETH", "USDC", 0),
        InputError,
        "--debt-to-cover",
        _nothing_moves(POS, 0, 1, 0),
        _legal(POS, "WETH", "USDC", 1),
        ("main.asksSomething.",),
    ),
    Refusal(
        "debtToCover = 2^128",
        _call(POS, "WETH", "USDC", 2**128),
        InputError,
        "--debt-to-cover",
        _edited(POS, 2**128 - 1, debtToCover=2**128),
        _legal(POS, "WETH", "USDC", 2**128 - 1),
        ("main.dtcRange.",),
    ),
    Refusal(
        "debtToCover = r - 1 (-1 in the field)",
        _call(POS, "WETH", "USDC", -1),
        InputError,
        "--debt-to-cover",
        _edited(POS, 2**128 - 1, debtToCover=R - 1),
        _legal(POS, "WETH", "USDC", 2**128 - 1),
        ("main.dtcRange.",),
    ),
    # evaluate, which liquidate calls: values the circuit cannot hold
    Refusal(
        "a debt value >= 2^128 (evaluate)",
        _call(DEBT_TOO_BIG, "WETH", "USDC", 10**9),
        InputError,
        r"debt\.WBTC",
        _forced_value(DEBT_TOO_BIG, MARKET),
        _legal(DEBT_AT_LIMIT, "WETH", "USDC", 10**9),
        ("main.acct.val[2].dv.",),
    ),
    Refusal(
        "a collateral value >= 2^128 (evaluate)",
        _call(COLL_TOO_BIG, "WETH", "USDC", 10**9, WBTC_LT0),
        InputError,
        r"collateral\.WBTC",
        _forced_value(COLL_TOO_BIG, WBTC_LT0),
        _legal(COLL_AT_LIMIT, "WETH", "USDC", 10**9, WBTC_LT0),
        ("main.acct.val[2].cv.",),
    ),
    Refusal(
        "a balance >= 2^128 at its index (evaluate)",
        _call(X_TOO_BIG, "WETH", "USDC", 10**9, X_MARKET, DOUBLE_X),
        InputError,
        r"collateral\.X",
        _forced_balance,
        _legal(X_AT_LIMIT, "WETH", "USDC", 10**9, X_MARKET, DOUBLE_X),
        ("main.acct.val[2].cb.",),
    ),
    Refusal(
        "an index below 1 ray (evaluate)",
        _call(POS, "WETH", "USDC", 10**9, indexes={"WETH": (RAY - 1, RAY)}),
        InputError,
        r"prices\.WETH\.liquidityIndex",
        _slot_edited("liquidityIndex", 0, RAY - 1),
        _legal(POS, "WETH", "USDC", 10**9),
        ("main.acct.params[0].liRange.",),
    ),
    Refusal(
        "decimals > 18 (evaluate's assert)",
        _call(POS, "WETH", "USDC", 10**9, WBTC_DEC[19]),
        AssertionError,
        None,
        _forced_decimals,
        _legal(POS, "WETH", "USDC", 10**9, WBTC_DEC[18]),
        ("main.acct.params[2].pow.",),
    ),
    Refusal(
        "eMode category not in the market (evaluate)",
        lambda: liquidate(
            replace(IN_EMODE, emode_category=2), EMODE_MARKET, px(EMODE_MARKET), "WETH", "USDC", 10**9, NEW_SALT
        ),
        InputError,
        "eModeCategory",
        _recommitted(_legal(IN_EMODE, "WETH", "USDC", 10**9, EMODE_MARKET), eModeCategory=2),
        _legal(IN_EMODE, "WETH", "USDC", 10**9, EMODE_MARKET),
        ("main.acct.emode.",),
    ),
    # liquidate: StatementFalse where Aave's validateLiquidationCall reverts
    Refusal(
        "HF >= 1 (not liquidatable)",
        lambda: liquidate(_hf_at_one()[1], MARKET, px(), "WETH", "USDC", 10**9, NEW_SALT),
        StatementFalse,
        "not liquidatable",
        _forced_hf,
        lambda: inputs_of(_hf_at_one()[0], MARKET, px(), "WETH", "USDC", 10**9),
        ("main.hfBelowOne.",),
    ),
    Refusal(
        "no debt at all (HF = uint256.max)",
        _call(NO_DEBT, "WETH", "USDC", 10**9),
        StatementFalse,
        "not liquidatable",
        _nothing_moves(NO_DEBT, 0, 1, 10**9),
        _legal(POS, "WETH", "USDC", 10**9),
        ("main.hfBelowOne.",),
    ),
    Refusal(
        "v3.5: collateral asset with LT 0 (CollateralCannotBeLiquidated)",
        _call(POS, "WETH", "USDC", 10**9, WETH_LT0),
        StatementFalse,
        "not collateral",
        _slot_edited("liqThreshold", 0, 0, WETH_LT1),  # the outcome with LT 1 bps, claimed with LT 0
        _legal(POS, "WETH", "USDC", 10**9, WETH_LT1),
        ("main.collateralEnabled.",),
        rules=V35,
    ),
    Refusal(
        "collateral flag off (CollateralCannotBeLiquidated)",
        _call(WETH_FLAG_OFF, "WETH", "USDC", 10**9),
        StatementFalse,
        "not collateral",
        _recommitted(_legal(POS, "WETH", "USDC", 10**9), collateralFlags=0b10),
        _legal(POS, "WETH", "USDC", 10**9),
        ("main.collateralEnabled.",),
    ),
    Refusal(
        "no balance in the collateral asset: its flag is off (CollateralCannotBeLiquidated)",
        _call(POS, "WBTC", "USDC", E6),
        StatementFalse,
        "not collateral",
        _nothing_moves(POS, 2, 1, E6),  # the collateral "runs out" at 0 and needs 0 debt
        _legal(ONE_SAT_WBTC, "WBTC", "USDC", E6),
        ("main.collateralEnabled.",),
    ),
    Refusal(
        "no debt in the debt asset (SpecifiedCurrencyNotBorrowedByUser)",
        _call(NO_WETH_DEBT, "WETH", "WETH", 1),
        StatementFalse,
        "no WETH debt",
        _nothing_moves(NO_WETH_DEBT, 0, 0, 1),  # at most 0 can be liquidated
        _legal(ONE_WEI_WETH_DEBT, "WETH", "WETH", 1),  # collateral = debt asset: allowed, as in Aave
        ("main.hasDebt.",),
    ),
    # liquidate: refusals of the outcome
    Refusal(
        "v3.6: a protocol fee with a zero bonus (percentDiv by 0 reverts)",
        _call(POS, "WETH", "USDC", 10**9, LT0_FEE, receive_atoken=True),
        StatementFalse,
        r"revert\(0,0\)",
        _slot_edited("protocolFee", 0, 1000, LT0_NO_FEE, receive_atoken=True),
        _legal(POS, "WETH", "USDC", 10**9, LT0_NO_FEE, receive_atoken=True),
        ("main.feeNeedsBonus.", "main.feeZero.out", "main.bonusZero.out", "main.bonusDiv"),
        ("feeNeedsBonus",),
    ),
    Refusal(
        "burning the liquidator's collateral burns nothing (InvalidBurnAmount)",
        _call(POS, "WETH", "USDC", 10**9, LT0_NO_FEE),
        StatementFalse,
        "InvalidBurnAmount",
        lambda mp: with_(inputs_of(POS, LT0_NO_FEE, px(LT0_NO_FEE), "WETH", "USDC", 10**9, True), receiveAToken=0),
        _legal(POS, "WETH", "USDC", 10**9, LT0_NO_FEE, receive_atoken=True),  # the aTokens: nothing to burn
        ("main.collateralBurn.", "main.liqBurnZero.out"),
        ("collateralBurn",),
    ),
    Refusal(
        "repaying burns no scaled debt (InvalidBurnAmount)",
        _call(SCALED, "WETH", "USDC", 1, indexes=HALF_MORE),
        StatementFalse,
        "InvalidBurnAmount",
        lambda mp: claiming_scaled(SCALED, HALF_MORE, repaid=1),
        _legal(SCALED, "WETH", "USDC", 2, indexes=HALF_MORE),
        ("main.debtBurnt.", "main.debtBurnZero.out"),
        ("debtBurnt",),
    ),
    Refusal(
        "debt leftover < 1000e8 (MustNotLeaveDust)",
        _call(DUST_DEBT, "WETH", "USDC", 43500 * E6),
        StatementFalse,
        "MustNotLeaveDust",
        _forced_dust(DUST_DEBT, 43500 * E6),
        _legal(DUST_DEBT, "WETH", "USDC", 43000 * E6),
        DUST,
        ("noDust",),
    ),
    Refusal(
        "collateral leftover < 1000e8 (MustNotLeaveDust)",
        _call(DUST_COLL, "WETH", "USDC", 1500 * E6),
        StatementFalse,
        "MustNotLeaveDust",
        _forced_dust(DUST_COLL, 1500 * E6),
        _legal(DUST_COLL, "WETH", "USDC", 1400 * E6),
        DUST,
        ("noDust",),
    ),
    Refusal(
        "collateral equivalent of the debt >= 2^128",
        _call(WIDE, "X", "Y", 4 * 10**10, WIDE_MARKET),
        InputError,
        "--debt-to-cover",
        _forced_wide,
        _legal(WIDE, "X", "Y", 3 * 10**10, WIDE_MARKET),
        ("main.base.",),
    ),
    Refusal(
        "repays nothing: the close factor caps the debt at 0 units",
        _call(CAPPED_TO_ZERO, "WETH", "BIG", 1, BIG_MARKET),
        StatementFalse,
        "repay no BIG",
        _nothing_moves(CAPPED_TO_ZERO, 0, 2, 1, BIG_MARKET),
        _legal(CAPPED_TO_ONE, "WETH", "BIG", 1, BIG_MARKET),
        REPAID,
    ),
    Refusal(
        "repays nothing: all the collateral is worth less than one debt unit",
        _call(ONE_WEI_WETH, "WETH", "USDC", E6),
        StatementFalse,
        "repay no USDC",
        # 1 wei of WETH seized, no fee, 0 USDC needed; no collateral value left: deficit, flag cleared
        lambda mp: claiming(statement(ONE_WEI_WETH, MARKET, px(), 0, 1, E6), seized=1, deficit=True, clear_flag=True),
        _legal(GWEI_WETH, "WETH", "USDC", E6),
        REPAID,
    ),
    # implicit refusals: the model divides by zero (the loaders refuse these before it runs)
    Refusal(
        "collateral price 0 (model: division by zero)",
        _call(POS, "WETH", "USDC", 10**9, WETH=0),
        ZeroDivisionError,
        "by zero",
        _slot_edited("price", 0, 0),
        _legal(POS, "WETH", "USDC", 10**9),
        ("main.acct.params[0].priceInv",),
    ),
]


def claiming_scaled(pos: Position, indexes: dict[str, tuple[int, int]], *, repaid: int) -> Inputs:
    """The claim of repaying `repaid` USDC against WETH at these indexes where Aave burns no scaled
    debt: the collateral moves as the model computes it, the scaled debt stays as it was."""
    base = statement(pos, MARKET, px(MARKET, indexes), 0, 1, repaid)
    to_liquidator, fee, consumed = _one_unit_outcome(pos, indexes)
    coll = list(base["collateral"])  # type: ignore[arg-type]
    coll[0] -= consumed
    new = commit_amounts(coll, list(base["debt"]), NEW_SALT, int(base["collateralFlags"]), 0)  # type: ignore[arg-type]
    return {
        **base,
        "debtRepaid": repaid,
        "collateralToLiquidator": to_liquidator,
        "protocolFeeAmount": fee,
        "deficit": [0] * N,
        "newCommitment": new,
    }


def _one_unit_outcome(pos: Position, indexes: dict[str, tuple[int, int]]) -> tuple[int, int, int]:
    """(to the liquidator, fee, scaled collateral consumed) of repaying 1 USDC unit against WETH,
    computed by the model with the zero-burn refusal lifted."""
    import unittest.mock

    real = liquidation_step.vtoken_burn_scaled
    with unittest.mock.patch.object(liquidation_step, "vtoken_burn_scaled", lambda a, i: max(real(a, i), 1)):
        out = liquidation_step.liquidate(pos, MARKET, px(MARKET, indexes), "WETH", "USDC", 1, NEW_SALT)
    return out.collateral_to_liquidator, out.protocol_fee, out.scaled_to_liquidator + out.scaled_to_treasury


SOURCE = (paths.CIRCUITS_DIR / "lib" / "liquidation_step.circom").read_text().splitlines()


def first_false_check(step: Step, inputs: Inputs) -> str:
    """The component of LiquidationStep whose check the strict witness generator finds false
    first (circom names the line of LiquidationStep that ran it)."""
    with pytest.raises(WitnessError) as e:
        step.calc.calculate(inputs)
    at = re.search(r"LiquidationStep_\d+ line: (\d+)", str(e.value))
    assert at, str(e.value)
    line = SOURCE[int(at.group(1)) - 1]
    name = re.match(r"\s*(\w+)", line)
    assert name, line
    return name.group(1)


@pytest.mark.slow  # the step fixtures compile liquidation_step_4_v3x
@pytest.mark.parametrize("case", REFUSALS, ids=[r.label for r in REFUSALS])
def test_model_refusal_is_a_circuit_refusal(
    steps: Callable[[Rules], Step], case: Refusal, monkeypatch: pytest.MonkeyPatch
) -> None:
    step = steps(case.rules)
    with pytest.raises(case.error, match=case.match):
        case.refuse()
    good = case.good()
    assert step.failing(good) == [], f"{case.label}: the legal neighbour must satisfy every constraint"
    step.calc.calculate(good)  # and the strict witness generator agrees
    bad = case.bad(monkeypatch)
    failing = step.failing(bad)
    assert failing, f"{case.label}: the circuit accepts a call the model refuses"
    assert any(step.belongs(i, case.own) for i in failing), (
        f"{case.label}: no constraint of {case.own} fails; failing: {step.describe(failing)}"
    )
    assert first_false_check(step, bad) in case.components


def _pinning_constraints(step: Step, signal: str) -> list[int]:
    """Constraints A * B = C with A (or B) = k * signal and C a non-zero constant: when the
    signal is 0, A * B = 0 != C whatever every other wire holds, so no witness satisfies them."""
    wire = step.wire[signal]
    return [
        i
        for i, (a, b, c) in enumerate(step.r1cs.constraints)
        if (set(a) == {wire} or set(b) == {wire}) and set(c) == {0} and c[0] % R != 0
    ]


@pytest.mark.slow  # the step fixtures compile liquidation_step_4_v3x
def test_zero_repay_has_no_witness(step: Step) -> None:
    """Issue 10: debtToCover = debtRepaid = collateralToLiquidator = protocolFeeAmount = 0 retired the
    owner's commitment for one whose salt only the liquidator knows (the old circuit accepted that
    witness: every constraint held). Now, for each of debtToCover and debtRepaid, a constraint of
    the R1CS is unsatisfiable by every witness in which that public input is 0, and the attacker's
    witness is stopped there first."""
    pin_ask = _pinning_constraints(step, "main.debtToCover")
    pin_repaid = _pinning_constraints(step, "main.debtRepaid")
    assert pin_ask and pin_repaid, "no constraint refuses a zero by itself"
    assert step.failing(inputs_of(POS, MARKET, px(), "WETH", "USDC", 7500 * E6)) == []
    # the attack as found: the old amounts under a new salt; nothing asked, repaid, seized or paid
    attack = claiming(statement(POS, MARKET, px(), 0, 1, 0))
    assert set(pin_ask) <= set(step.failing(attack))
    assert first_false_check(step, attack) == "asksSomething"
    # debtRepaid = 0 with debtToCover = 1 (the claim of a call the close factor caps at 0 units)
    capped = claiming(statement(CAPPED_TO_ZERO, BIG_MARKET, px(BIG_MARKET), 0, 2, 1))
    assert set(pin_repaid) <= set(step.failing(capped))
    assert first_false_check(step, capped) == "repaysSomething"


@pytest.mark.slow  # the step fixtures compile liquidation_step_4_v3x
def test_lt0_collateral_is_liquidatable_from_v36(steps: Callable[[Rules], Step]) -> None:
    """Not a refusal from v3.6: LT-0 collateral (bonus 0, no fee) is liquidated; nothing is seized,
    so only a liquidator taking aTokens can call it (the debt is repaid for no collateral). The
    divisions by the bonus keep a non-zero divisor (bonus + IsZero(bonus)) and are unused."""
    o = liquidate(POS, LT0_NO_FEE, px(LT0_NO_FEE), "WETH", "USDC", 10**9, NEW_SALT, receive_atoken=True)
    assert (o.debt_repaid, o.collateral_to_liquidator, o.protocol_fee, o.bonus) == (10**9, 0, 0, 0)
    honest = inputs_of(POS, LT0_NO_FEE, px(LT0_NO_FEE), "WETH", "USDC", 10**9, True)
    assert (
        steps("aave-v3.6").failing(honest) == []
        and steps("aave-v3.7").failing(
            inputs_of(POS, replace(LT0_NO_FEE, rules="aave-v3.7"), px(LT0_NO_FEE), "WETH", "USDC", 10**9, True)
        )
        == []
    )
    with pytest.raises(StatementFalse, match="not collateral"):  # v3.5 refuses it (listed above)
        liquidate(POS, replace(LT0_NO_FEE, rules=V35), px(LT0_NO_FEE), "WETH", "USDC", 10**9, NEW_SALT, True)


@pytest.mark.slow  # the step fixtures compile liquidation_step_4_v3x
def test_rules_version_is_bound(steps: Callable[[Rules], Step]) -> None:
    """A step proven under one version cannot pass as another: each circuit fixes rulesVersion,
    and the v3.7 rounding gives another outcome than v3.6's (1001 covered, bonus 10500, fee 10%:
    1046 + 5 to the liquidator and the treasury in v3.6, 1045 + 6 in v3.7)."""
    unit = Market("unit", (Asset("C", 0, 8000, 10500, 1000), Asset("D", 0, 8000, 10500, 0)))
    both = PriceSnapshot({"C": PricePoint(10**8, 1, 1), "D": PricePoint(10**8, 1, 1)})
    pos = Position({"C": 5000}, {"D": 4300}, 11)
    o36 = liquidate(pos, unit, both, "C", "D", 1001, NEW_SALT)
    o37 = liquidate(pos, replace(unit, rules="aave-v3.7"), both, "C", "D", 1001, NEW_SALT)
    assert (o36.collateral_to_liquidator, o36.protocol_fee, o37.collateral_to_liquidator, o37.protocol_fee) == (
        1046,
        5,
        1045,
        6,
    )
    honest = inputs_of(pos, unit, both, "C", "D", 1001)
    step36, step37 = steps("aave-v3.6"), steps("aave-v3.7")
    assert step36.failing(honest) == []
    assert first_false_check(step36, {**honest, "rulesVersion": 30700}) == "rulesVersion"
    assert step37.failing(honest), "the v3.7 circuit accepts a v3.6 claim"
    assert step37.failing({**honest, "rulesVersion": 30700}), "v3.6 rounding passed as v3.7"


def test_actual_amounts_need_one_ray() -> None:
    """Not a circuit case: a position in actual amounts is refused under an index other than 1 ray
    (a file error); the same numbers as scaled balances are a legal call."""
    with pytest.raises(InputError, match=r"prices\.USDC\.variableBorrowIndex.*scaled"):
        liquidate(POS, MARKET, px(MARKET, HALF_MORE), "WETH", "USDC", 10**9, NEW_SALT)
    liquidate(SCALED, MARKET, px(MARKET, HALF_MORE), "WETH", "USDC", 10**9, NEW_SALT)


def test_isolation_panic_market_is_refused() -> None:
    """Not a circuit case: v3.5/v3.6 decrease an isolated collateral's debt counter by
    floor(repaid / 10^(decimals - 2)), a Panic for a debt asset of fewer than 2 decimals; zkmargin
    refuses such a market for the step (the circuit has no isolation-mode input). v3.7 has no
    isolation mode; an isolated asset otherwise changes nothing for the position."""
    isolated = Market("iso", (Asset("WETH", 18, 8250, 10500, 1000, None, 10**9), USDC, BIG))
    with pytest.raises(InputError, match=r"assets\.WETH\.debtCeiling"):
        liquidate(POS, isolated, px(isolated), "WETH", "USDC", 10**9, NEW_SALT)
    fine = Market("iso", (Asset("WETH", 18, 8250, 10500, 1000, None, 10**9), USDC, WBTC))
    o = liquidate(POS, fine, px(fine), "WETH", "USDC", 10**9, NEW_SALT)
    assert o.isolated_debt_repaid == 10**9 // 10**4  # USDC: 6 decimals, 2 kept
    assert o.new_position == liquidate(POS, MARKET, px(), "WETH", "USDC", 10**9, NEW_SALT).new_position


@pytest.mark.slow  # the step fixtures compile liquidation_step_4_v3x
def test_close_factor_is_not_a_refusal_but_binds_the_outcome(step: Step, monkeypatch: pytest.MonkeyPatch) -> None:
    """The close factor caps the debt instead of refusing: the capped call passes, the uncapped
    outcome (what Aave would give without a close factor) fails the R1CS."""
    cap = 12500 * E6
    at_cap = liquidate(POS, MARKET, px(), "WETH", "USDC", cap + 1, NEW_SALT)
    assert at_cap.close_factor_applied and at_cap.debt_repaid == cap
    capped = inputs_of(POS, MARKET, px(), "WETH", "USDC", cap + 1)
    assert step.failing(capped) == []
    monkeypatch.setattr(liquidation_step, "MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD", 10**40)
    uncapped = inputs_of(POS, MARKET, px(), "WETH", "USDC", cap + 1)
    assert uncapped["debtRepaid"] == cap + 1
    assert step.failing(uncapped)
    assert first_false_check(step, uncapped) == "debtRepaid"  # debtRepaid === the capped amount


@pytest.mark.slow  # the step fixtures compile liquidation_step_4_v3x
def test_market_larger_than_the_circuit(step: Step) -> None:
    """registry.for_assets refuses a market with more assets than any step circuit has slots;
    the circuit itself takes exactly 4 values per slot array."""
    five = Market("five", (WETH, USDC, WBTC, BIG, X))
    with pytest.raises(InputError, match=r"liquidation_step circuits for aave-v3\.6 have"):
        step_inputs(POS, five, px(five), "WETH", "USDC", 10**9, NEW_SALT)
    honest = inputs_of(POS, MARKET, px(), "WETH", "USDC", 10**9)
    with pytest.raises(WitnessError, match="takes 4 values"):
        step.calc.calculate({**honest, "price": [*honest["price"], 1]})  # type: ignore[misc]


def test_every_refusal_of_the_model_is_listed() -> None:
    """Each `raise` in liquidation_step.py and in evaluate() has a case above (by its message), or
    a test of its own when it is not a circuit case."""
    src = (Path(liquidation_step.__file__)).read_text()
    raises = src.count("raise ")
    # liquidate: 2 unknown assets (one raise in a loop), debtToCover range, the isolation-mode
    # market (test_isolation_panic_market_is_refused), not liquidatable, not collateral, no debt,
    # a bonus in (0, 100%] (PoolConfigurator forbids it; the loader refuses it), collateral
    # equivalent too wide, a fee with a zero bonus, repays nothing, MustNotLeaveDust, the two zero burns
    assert raises == 13, "a refusal was added to or removed from the model: add its circuit case"
    # evaluate: index range, actual amounts at 1 ray (test_actual_amounts_need_one_ray), eMode
    # category, balance >= 2^128, value >= 2^128
    assert Path(model.__file__).read_text().count("raise InputError") == 5
    labels = " ".join(r.label for r in REFUSALS)
    for key in (
        "collateral asset not in the market",
        "debt asset not in the market",
        "debtToCover = 0",
        "debtToCover = 2^128",
        "HF >= 1",
        "LT 0",
        "flag off",
        "no balance in the collateral",
        "no debt in the debt asset",
        "collateral equivalent",
        "repays nothing",
        "MustNotLeaveDust",
        "value >= 2^128",
        "balance >= 2^128",
        "index below 1 ray",
        "eMode category",
        "decimals > 18",
        "zero bonus",
        "burns nothing",
        "burns no scaled debt",
    ):
        assert key in labels, key
