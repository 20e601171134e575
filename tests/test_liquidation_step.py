"""The liquidation step (Aave executeLiquidationCall, by the market's rules) on committed positions."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace

import pytest

from zkmargin import api, build, liquidation_step, registry
from zkmargin.aave_math import RAY
from zkmargin.build import CircuitKeys
from zkmargin.commitment import commitment
from zkmargin.errors import InputError, StatementFalse, WitnessError
from zkmargin.groth16 import verify as native_verify
from zkmargin.liquidation_step import liquidate, step_inputs
from zkmargin.model import RULES, Asset, EModeCategory, Market, Position, PricePoint, PriceSnapshot, Rules, evaluate
from zkmargin.pinning import InstalledKeys
from zkmargin.settings import Settings
from zkmargin.snarkjs_verify import verify as snarkjs_verify
from zkmargin.statements import step
from zkmargin.toolchain import Toolchain
from zkmargin.witness import InputValue, WitnessCalculator

WETH = Asset("WETH", 18, 8250, 10500, 1000)
USDC = Asset("USDC", 6, 7800, 10450, 1000)
WBTC = Asset("WBTC", 8, 7800, 10500, 1000)
MARKET = Market("m", (WETH, USDC, WBTC))


def prices(weth: int = 2500) -> PriceSnapshot:
    return PriceSnapshot(
        {
            "WETH": PricePoint(weth * 10**8, 1, 1),
            "USDC": PricePoint(10**8, 1, 1),
            "WBTC": PricePoint(60000 * 10**8, 1, 1),
        }
    )


STEP = "liquidation_step_4_v36"  # the default rules, aave-v3.6


@pytest.fixture(scope="module")
def calc(keys: Callable[[str], CircuitKeys]) -> WitnessCalculator:
    return WitnessCalculator(keys(STEP).compiled.wasm)


def _inputs_for(
    position: Position,
    outcome: liquidation_step.LiquidationOutcome,
    base: dict[str, InputValue],
    market: Market = MARKET,
) -> dict[str, InputValue]:
    """Inputs claiming `outcome` (possibly forged), with a new commitment consistent with it."""
    return {
        **base,
        "debtRepaid": outcome.debt_repaid,
        "collateralToLiquidator": outcome.collateral_to_liquidator,
        "protocolFeeAmount": outcome.protocol_fee,
        "deficit": [*outcome.deficit, 0][:4],
        "newCommitment": commitment(outcome.new_position, market, 4),
    }


def test_domain_worked_example() -> None:
    """Covering 7500 USDC against WETH @ 2500, bonus 10500, fee 10%: 3.15 WETH seized, 0.015 to the protocol."""
    pos = Position({"WETH": 10 * 10**18}, {"USDC": 21000 * 10**6}, 1)
    o = liquidate(pos, MARKET, prices(), "WETH", "USDC", 7500 * 10**6, 2)
    assert o.debt_repaid == 7500 * 10**6
    assert o.collateral_to_liquidator + o.protocol_fee == 315 * 10**16
    assert o.protocol_fee == 15 * 10**15
    assert o.new_position.collateral["WETH"] == 10 * 10**18 - 315 * 10**16
    assert o.new_position.debt["USDC"] == 13500 * 10**6


def test_step_proves_and_verifies(keys: Callable[[str], CircuitKeys], tc: Toolchain) -> None:
    keys(STEP)
    pos = Position({"WETH": 10 * 10**18, "USDC": 5000 * 10**6}, {"USDC": 25000 * 10**6}, 11)
    bundle, after = step.prove_liquidation_step(
        pos, MARKET, prices(), "WETH", "USDC", 7500 * 10**6, settings=Settings(toolchain=tc)
    )
    claim = api.decode_claim(bundle, MARKET.symbols)
    assert claim.signals["newCommitment"] == commitment(after, MARKET, 4)  # model's new commitment = circuit's
    assert claim.signals["oldCommitment"] == commitment(pos, MARKET, 4)
    assert "repaid 7500000000 of USDC" in claim.describe()
    for backend in ("fast", "snarkjs", "evm"):
        assert api.verify_bundle(bundle, keys=InstalledKeys(), verifier=backend, settings=Settings(toolchain=tc)).valid  # type: ignore[arg-type]
    names = keys(STEP).compiled.public_signals
    for field in (
        "debtRepaid",
        "collateralToLiquidator",
        "protocolFeeAmount",
        "newCommitment",
        "deficit[1]",
        "rulesVersion",
        "liquidityIndex[0]",
        "borrowIndex[1]",
        "receiveAToken",
    ):
        pub = list(bundle.public_signals)
        pub[names.index(field)] = str(int(pub[names.index(field)]) + 1)
        assert not native_verify(bundle.vkey, pub, bundle.proof).valid
        assert not snarkjs_verify(bundle.vkey, pub, bundle.proof, tc).valid


def test_seizing_one_unit_more_fails(calc: WitnessCalculator) -> None:
    pos = Position({"WETH": 10 * 10**18, "USDC": 5000 * 10**6}, {"USDC": 25000 * 10**6}, 11)
    _, base, o = step_inputs(pos, MARKET, prices(), "WETH", "USDC", 7500 * 10**6, 5)
    calc.calculate(base)
    new_coll = dict(o.new_position.collateral)
    new_coll["WETH"] -= 1
    greedy = liquidation_step.LiquidationOutcome(
        **{
            **o.__dict__,
            "collateral_to_liquidator": o.collateral_to_liquidator + 1,
            "new_position": Position(new_coll, o.new_position.debt, 5),
        }
    )
    with pytest.raises(WitnessError):
        calc.calculate(_inputs_for(pos, greedy, base))
    # and claiming one unit more without taking it from the position fails as well
    with pytest.raises(WitnessError):
        calc.calculate({**base, "collateralToLiquidator": o.collateral_to_liquidator + 1})
    with pytest.raises(WitnessError):
        calc.calculate({**base, "protocolFeeAmount": o.protocol_fee - 1})


def _close_factor_case() -> Position:
    # HF between 0.95 and 1, both reserves >= 2000e8, USDC debt > 50% of all debt
    pos = Position({"WETH": 10 * 10**18, "USDC": 5000 * 10**6}, {"USDC": 25000 * 10**6}, 11)
    hf = evaluate(pos, MARKET, prices()).health_factor
    assert 95 * 10**16 < hf < 10**18
    return pos


def test_close_factor_both_sides(calc: WitnessCalculator, monkeypatch: pytest.MonkeyPatch) -> None:
    pos = _close_factor_case()
    cap = 12500 * 10**6  # 50% of the 25000 debt value, in USDC units
    at_cap = liquidate(pos, MARKET, prices(), "WETH", "USDC", cap, 5)
    above = liquidate(pos, MARKET, prices(), "WETH", "USDC", cap + 1, 5)
    assert at_cap.close_factor_applied and at_cap.debt_repaid == cap == above.debt_repaid
    _, base_at, _ = step_inputs(pos, MARKET, prices(), "WETH", "USDC", cap, 5)
    calc.calculate(base_at)
    _, base_above, _ = step_inputs(pos, MARKET, prices(), "WETH", "USDC", cap + 1, 5)
    calc.calculate(base_above)
    # the outcome Aave would give without a close factor: refused by the circuit
    monkeypatch.setattr(liquidation_step, "MIN_BASE_MAX_CLOSE_FACTOR_THRESHOLD", 10**40)
    uncapped = liquidate(pos, MARKET, prices(), "WETH", "USDC", cap + 1, 5)
    assert uncapped.debt_repaid == cap + 1
    with pytest.raises(WitnessError):
        calc.calculate(_inputs_for(pos, uncapped, base_above))


def test_full_liquidation_below_095(calc: WitnessCalculator) -> None:
    pos = Position({"WETH": 20 * 10**18}, {"USDC": 44000 * 10**6}, 11)
    assert evaluate(pos, MARKET, prices()).health_factor <= 95 * 10**16
    o = liquidate(pos, MARKET, prices(), "WETH", "USDC", 2**128 - 1, 5)
    assert not o.close_factor_applied and o.debt_repaid == 44000 * 10**6  # 100%: HF <= 0.95
    _, inputs, _ = step_inputs(pos, MARKET, prices(), "WETH", "USDC", 2**128 - 1, 5)
    calc.calculate(inputs)


def test_collateral_runs_out_and_deficit(calc: WitnessCalculator) -> None:
    pos = Position({"WETH": 1 * 10**18}, {"USDC": 5000 * 10**6, "WBTC": 10**6}, 11)  # HF << 1
    o = liquidate(pos, MARKET, prices(), "WETH", "USDC", 2**128 - 1, 5)
    assert o.collateral_to_liquidator + o.protocol_fee == 10**18  # all of it
    assert o.debt_repaid < 5000 * 10**6 and o.has_deficit
    assert o.deficit == (0, 5000 * 10**6 - o.debt_repaid, 10**6)  # booked per reserve
    assert o.new_position.debt == {"USDC": 0, "WBTC": 0}  # bad debt burned
    _, inputs, _ = step_inputs(pos, MARKET, prices(), "WETH", "USDC", 2**128 - 1, 5)
    calc.calculate(inputs)
    forged = liquidation_step.LiquidationOutcome(
        **{
            **o.__dict__,
            "deficit": (0, 0, 0),
            "new_position": Position(
                o.new_position.collateral, {"USDC": 5000 * 10**6 - o.debt_repaid, "WBTC": 10**6}, 5
            ),
        }
    )
    with pytest.raises(WitnessError):
        calc.calculate(_inputs_for(pos, forged, inputs))


def test_dust_rule(calc: WitnessCalculator, monkeypatch: pytest.MonkeyPatch) -> None:
    pos = Position({"WETH": 20 * 10**18}, {"USDC": 44000 * 10**6}, 11)
    ask = 43500 * 10**6  # would leave 500 USDC of debt and ~1.7 WETH of collateral
    liquidate(pos, MARKET, prices(), "WETH", "USDC", 43000 * 10**6, 5)  # leaving 1000 USDC is allowed
    with pytest.raises(StatementFalse, match="MustNotLeaveDust"):
        liquidate(pos, MARKET, prices(), "WETH", "USDC", ask, 5)
    monkeypatch.setattr(liquidation_step, "MIN_LEFTOVER_BASE", 0)
    _, inputs, _ = step_inputs(pos, MARKET, prices(), "WETH", "USDC", ask, 5)
    with pytest.raises(WitnessError):
        calc.calculate(inputs)


def test_refusals() -> None:
    healthy = Position({"WETH": 10 * 10**18}, {"USDC": 1000 * 10**6}, 1)
    with pytest.raises(StatementFalse, match="not liquidatable"):
        liquidate(healthy, MARKET, prices(), "WETH", "USDC", 10**6, 2)
    pos = _close_factor_case()
    with pytest.raises(StatementFalse, match="not collateral"):
        liquidate(pos, MARKET, prices(), "WBTC", "USDC", 10**6, 2)
    with pytest.raises(StatementFalse, match="no WETH debt"):
        liquidate(pos, MARKET, prices(), "USDC", "WETH", 10**6, 2)
    with pytest.raises(InputError, match="--collateral-asset"):
        liquidate(pos, MARKET, prices(), "DOGE", "USDC", 10**6, 2)
    with pytest.raises(InputError, match="--debt-to-cover"):
        liquidate(pos, MARKET, prices(), "WETH", "USDC", 0, 2)


@pytest.fixture(scope="module")
def calcs(tc: Toolchain) -> Callable[[Rules], WitnessCalculator]:
    made: dict[str, WitnessCalculator] = {}

    def get(rules: Rules) -> WitnessCalculator:
        if rules not in made:
            spec = registry.for_assets("liquidation_step", 4, rules)
            made[rules] = WitnessCalculator(build.compile_circuit(spec, tc).wasm)
        return made[rules]

    return get


@pytest.mark.slow  # the calcs fixture compiles the step circuits
@pytest.mark.parametrize("rules", RULES)
def test_model_equals_circuit_on_random_liquidations(calcs: Callable[[Rules], WitnessCalculator], rules: Rules) -> None:
    """Random markets (an LT-0 or eMode-covered asset, fees), scaled balances at random indexes,
    collateral flags, eMode, receiveAToken: the circuit accepts the model's outcome and refuses it
    changed by one unit."""
    rng = random.Random(f"step-{rules}")
    calc = calcs(rules)
    accepted = attempts = 0
    while accepted < 12 and attempts < 3000:
        attempts += 1
        lt_x = rng.choice([0, 7000, 9000])
        assets = (
            WETH,
            USDC,
            Asset(
                "X",
                rng.choice([0, 6, 8, 18]),
                lt_x,
                0 if lt_x == 0 else rng.choice([10100, 10500]),
                0 if lt_x == 0 else rng.choice([0, 1000, 10000]),
            ),
        )
        cats = (EModeCategory(1, 9300, 10200, rng.choice([0b010, 0b110, 0b101])),)
        mkt = Market("r", assets, rules, cats)

        def idx() -> int:
            return rng.choice([RAY, RAY + rng.randrange(10**26), rng.randrange(RAY, 3 * RAY)])

        px = PriceSnapshot(
            {
                "WETH": PricePoint(rng.randrange(100, 5000) * 10**8, 1, 1, idx(), idx()),
                "USDC": PricePoint(10**8 + rng.randrange(-(10**6), 10**6), 1, 1, idx(), idx()),
                "X": PricePoint(rng.randrange(1, 10**12), 1, 1, idx(), idx()),
            }
        )
        coll = {s: rng.choice([0, rng.randrange(1, 10**20), rng.randrange(1, 10**30)]) for s in ("WETH", "USDC", "X")}
        flags = frozenset(s for s in coll if coll[s] and rng.random() < 0.85)
        pos = Position(
            coll,
            {s: rng.choice([0, rng.randrange(1, 10**12), rng.randrange(1, 10**22)]) for s in ("USDC", "X", "WETH")},
            rng.randrange(2**200),
            flags,
            rng.choice([0, 1]),
            scaled=True,
        )
        c, d = rng.choice(["WETH", "USDC", "X"]), rng.choice(["USDC", "X", "WETH"])
        ask = rng.choice([2**128 - 1, rng.randrange(1, 10**12), rng.randrange(1, 10**24)])
        try:
            _, inputs, _ = step_inputs(pos, mkt, px, c, d, ask, rng.randrange(2**200), rng.random() < 0.3)
        except (StatementFalse, InputError):
            continue
        calc.calculate(inputs)
        for field, delta in (("debtRepaid", 1), ("collateralToLiquidator", -1), ("protocolFeeAmount", 1)):
            with pytest.raises(WitnessError):
                calc.calculate({**inputs, field: int(inputs[field]) + delta})  # type: ignore[call-overload]
        accepted += 1
    assert accepted == 12, attempts


def test_hf_boundary_of_the_step(calc: WitnessCalculator, monkeypatch: pytest.MonkeyPatch) -> None:
    """Just below HF = 1 the step proves; at HF >= 1 the model refuses and so does the circuit."""
    lo, hi = 0, 10**12
    while hi - lo > 1:  # smallest USDC debt (base units) with HF < 1 against 10 WETH
        mid = (lo + hi) // 2
        below = evaluate(Position({"WETH": 10 * 10**18}, {"USDC": mid}, 1), MARKET, prices()).is_below(10**18)
        lo, hi = (lo, mid) if below else (mid, hi)
    just_below = Position({"WETH": 10 * 10**18}, {"USDC": hi}, 1)
    at_or_above = Position({"WETH": 10 * 10**18}, {"USDC": hi - 1}, 1)
    _, inputs, _ = step_inputs(just_below, MARKET, prices(), "WETH", "USDC", 10**9, 3)
    calc.calculate(inputs)
    with pytest.raises(StatementFalse, match="not liquidatable"):
        liquidate(at_or_above, MARKET, prices(), "WETH", "USDC", 10**9, 3)
    monkeypatch.setattr(liquidation_step, "WAD", 2 * 10**18)  # let the model through; the circuit keeps 1e18
    _, forced, _ = step_inputs(at_or_above, MARKET, prices(), "WETH", "USDC", 10**9, 3)
    with pytest.raises(WitnessError, match="HealthFactorCompare"):
        calc.calculate(forced)


@pytest.mark.slow  # the calcs fixture compiles the step circuits
@pytest.mark.parametrize("rules", RULES)
def test_v37_detects_no_collateral_left_on_the_consumed_scaled_balance(
    calcs: Callable[[Rules], WitnessCalculator], rules: Rules
) -> None:
    """Index 2.5 ray: 421 scaled = 1052 units of C. Repaying all 1001 of D1 seizes 1051; the burn takes
    ceil(1051 / 2.5) = 421 scaled, so nothing is left. v3.5/v3.6 compare values (1051e8 != TC 1052e8):
    no deficit, the 5000 of D2 stays, and so does the flag. v3.7 sees the scaled balance consumed:
    D2 becomes deficit and the flag goes. Each circuit accepts its own version's outcome only."""
    unit = Asset("C", 0, 8000, 10500, 0)
    mkt = Market("v37", (unit, Asset("D1", 0, 8000, 10500, 0), Asset("D2", 0, 8000, 10500, 0)), rules)
    px = PriceSnapshot(
        {"C": PricePoint(10**8, 1, 1, 25 * 10**26, RAY), "D1": PricePoint(10**8, 1, 1), "D2": PricePoint(10**8, 1, 1)}
    )
    pos = Position({"C": 421}, {"D1": 1001, "D2": 5000}, 11, frozenset({"C"}), scaled=True)
    _, inputs, o = step_inputs(pos, mkt, px, "C", "D1", 2**128 - 1, 5)
    assert (o.debt_repaid, o.collateral_to_liquidator, o.new_position.collateral["C"]) == (1001, 1051, 0)
    v37 = rules == "aave-v3.7"
    assert o.deficit == ((0, 0, 5000) if v37 else (0, 0, 0))
    assert o.new_position.debt["D2"] == (0 if v37 else 5000)
    assert o.new_position.collateral_enabled("C") == (not v37)
    calcs(rules).calculate(inputs)
    other = replace(mkt, rules="aave-v3.6" if v37 else "aave-v3.7")
    _, forged, _ = step_inputs(pos, other, px, "C", "D1", 2**128 - 1, 5)
    with pytest.raises(WitnessError):  # the other version's outcome, claimed under this version
        calcs(rules).calculate({**forged, "rulesVersion": inputs["rulesVersion"]})
