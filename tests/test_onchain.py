"""On-chain verification: calldata, Solidity verifiers on pyrevm and anvil, gas, the reference pool."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_abi.abi import decode, encode
from eth_utils.crypto import keccak

from zkmargin import api, calldata, onchain, solidity
from zkmargin.aave_math import RAY
from zkmargin.build import CircuitKeys
from zkmargin.bundle import Bundle
from zkmargin.errors import InputError, StatementFalse
from zkmargin.evm import ANVIL_DEV_KEY, Chain, InProcessChain, Reverted, RpcChain, start_anvil
from zkmargin.field import Q, R
from zkmargin.groth16 import verify as native_verify
from zkmargin.model import Market, Position, PriceSnapshot
from zkmargin.pinning import InstalledKeys
from zkmargin.proc import run
from zkmargin.settings import Settings
from zkmargin.snarkjs_verify import verify as snarkjs_verify
from zkmargin.statements import lending, step
from zkmargin.toolchain import Toolchain

WAD = 10**18


@pytest.fixture(scope="module")
def anvil_url(tc: Toolchain) -> Iterator[str]:
    with start_anvil(tc) as url:
        yield url


@pytest.fixture(params=["pyrevm", "anvil"])
def chain(request: pytest.FixtureRequest, anvil_url: str) -> Chain:
    if request.param == "pyrevm":
        return InProcessChain()
    return RpcChain(anvil_url, ANVIL_DEV_KEY)


def test_calldata_matches_snarkjs(
    bundle: Bundle, keys: Callable[[str], CircuitKeys], tc: Toolchain, tmp_path: Path
) -> None:
    (tmp_path / "public.json").write_text(json.dumps(bundle.public_signals))
    (tmp_path / "proof.json").write_text(json.dumps(bundle.proof))
    out = run(
        tc.argv("snarkjs", "zkey", "export", "soliditycalldata", tmp_path / "public.json", tmp_path / "proof.json")
    ).stdout.strip()
    cd = api.bundle_calldata(bundle)
    assert cd.snarkjs_format() == out
    # B is (imaginary, real) per EIP-197: swapped against snarkjs's JSON
    assert cd.b[0] == (int(bundle.proof["pi_b"][0][1]), int(bundle.proof["pi_b"][0][0]))


def test_verifier_from_vkey_is_snarkjs_export(keys: Callable[[str], CircuitKeys], tc: Toolchain) -> None:
    k = keys("liquidation_4")
    assert solidity.verifier_source(k.vkey(), tc) == k.verifier_sol.read_text()
    built = json.loads(k.verifier_json.read_text())
    assert built["bytecode"] == "0x" + solidity.compile_verifier(k.vkey(), tc).bytecode.hex()
    assert built["settings"]["optimizer"]["enabled"] is True


def _tampered(bundle: Bundle) -> list[tuple[str, Bundle]]:
    pub = list(bundle.public_signals)
    pub[13] = str(2 * WAD)
    proof = copy.deepcopy(bundle.proof)
    proof["pi_a"][1] = str(Q - int(proof["pi_a"][1]))
    return [
        ("public signal", Bundle(**{**bundle.__dict__, "public_signals": pub})),
        ("proof point", Bundle(**{**bundle.__dict__, "proof": proof})),
    ]


def _malformed(bundle: Bundle) -> list[tuple[str, Bundle]]:
    """Inputs the EVM alone used to accept or reduce: refused (InputError) before any call."""
    big = list(bundle.public_signals)
    big[0] = str(int(big[0]) + R)
    projective = copy.deepcopy(bundle.proof)
    x, y = int(projective["pi_a"][0]), int(projective["pi_a"][1])
    projective["pi_a"] = [str(4 * x % Q), str(8 * y % Q), "2"]  # the same point, z = 2 (Jacobian)
    return [
        ("public_signals[0]", Bundle(**{**bundle.__dict__, "public_signals": big})),
        ("proof.pi_a[2]", Bundle(**{**bundle.__dict__, "proof": projective})),
    ]


def test_all_four_verifiers_agree(bundle: Bundle, tc: Toolchain, anvil_url: str) -> None:
    chains: list[Chain] = [InProcessChain(), RpcChain(anvil_url, ANVIL_DEV_KEY)]
    addresses = [onchain.deploy_verifier(c, bundle.vkey, tc) for c in chains]
    cases = [("valid", bundle), *_tampered(bundle)]
    for label, b in cases:
        results = {
            "native": native_verify(b.vkey, b.public_signals, b.proof).valid,
            "snarkjs": snarkjs_verify(b.vkey, b.public_signals, b.proof, tc).valid,
            **{c.kind: onchain.verify_onchain(c, a, b).valid for c, a in zip(chains, addresses, strict=True)},
        }
        assert set(results.values()) == {label == "valid"}, (label, results)


def test_gas_is_measured_from_a_successful_call(bundle: Bundle, chain: Chain, tc: Toolchain) -> None:
    verifier = api.deploy_verifier(chain, bundle.vkey, Settings(toolchain=tc))
    report = api.measure_gas(bundle, chain=chain, verifier=verifier)
    assert report.total == 21_000 + report.calldata + report.execution
    # the snarkjs verifier's ~160k of pairings plus ~6.2k per public input (35 for the 4-slot circuit)
    assert report.public_inputs == 35
    assert 160_000 + 5_000 * 35 < report.execution < 160_000 + 8_000 * 35
    for label, bad in _tampered(bundle):
        with pytest.raises(StatementFalse, match="only measured for a valid proof"):
            api.measure_gas(bad, chain=chain, verifier=verifier)
    for field, bad in _malformed(bundle):
        with pytest.raises(InputError) as e:
            api.measure_gas(bad, chain=chain, verifier=verifier)
        assert e.value.field == field
        with pytest.raises(InputError):
            api.bundle_calldata(bad)


def test_gas_is_the_same_on_pyrevm_and_anvil(bundle: Bundle, tc: Toolchain, anvil_url: str) -> None:
    a = api.measure_gas(bundle, chain=InProcessChain(), settings=Settings(toolchain=tc))
    b = api.measure_gas(bundle, chain=RpcChain(anvil_url, ANVIL_DEV_KEY), settings=Settings(toolchain=tc))
    assert (a.total, a.calldata, a.execution) == (b.total, b.calldata, b.execution)


def test_estimate_gas_is_a_trap(bundle: Bundle, tc: Toolchain, anvil_url: str) -> None:
    """eth_estimateGas answers a limit at which the pairing precompile runs out of gas and
    the snarkjs verifier returns false instead of reverting; hence measure_gas."""
    rc = RpcChain(anvil_url, ANVIL_DEV_KEY)
    verifier = api.deploy_verifier(rc, bundle.vkey, Settings(toolchain=tc))
    data = api.bundle_calldata(bundle).encoded()
    estimate = rc.w3.eth.estimate_gas({"to": verifier, "data": data})  # type: ignore[typeddict-item]
    at_estimate = rc.w3.eth.call({"to": verifier, "data": data, "gas": estimate})  # type: ignore[typeddict-item]
    assert decode(["bool"], at_estimate) == (False,)
    assert decode(["bool"], rc.call(verifier, data)) == (True,)
    assert api.measure_gas(bundle, chain=rc, verifier=verifier).total > estimate


def test_verify_api_evm_backend(bundle: Bundle, tc: Toolchain, keys: Callable[[str], CircuitKeys]) -> None:
    res = api.verify_bundle(bundle, keys=InstalledKeys(), verifier="evm", settings=Settings(toolchain=tc))
    assert res.valid and res.verifier_address
    # pinned to another key: refused before any chain work
    res = api.verify_bundle(bundle, verifier="evm", vkey=keys("liquidation_8").vkey(), settings=Settings(toolchain=tc))
    assert not res.valid


# --- the reference pool contract ---


def _sel(sig: str) -> bytes:
    return keccak(text=sig)[:4]


ERRORS = {
    name: _sel(sig)
    for name, sig in {
        "InputNotInField": "InputNotInField(uint256)",
        "UnknownCommitment": "UnknownCommitment(uint256)",
        "AlreadyLiquidated": "AlreadyLiquidated(uint256)",
        "BadPrice": "BadPrice(uint256)",
        "StalePrice": "StalePrice(uint256,uint256)",
        "PriceMismatch": "PriceMismatch(uint256,uint256,uint256)",
        "RiskParameterMismatch": "RiskParameterMismatch(uint256)",
        "IndexMismatch": "IndexMismatch(uint256)",
        "EModeMismatch": "EModeMismatch(uint256)",
        "RulesMismatch": "RulesMismatch(uint256)",
        "ThresholdMismatch": "ThresholdMismatch(uint256)",
        "InvalidProof": "InvalidProof()",
        "CommitmentInUse": "CommitmentInUse(uint256)",
        "NothingRepaid": "NothingRepaid(uint256,uint256)",
    }.items()
}
MAX_AGE = 3600


class Pool:
    """Deploys verifier, four test aggregators, the test indexes and LiquidationVerifierRegistry on a chain."""

    def __init__(
        self,
        chain: Chain,
        tc: Toolchain,
        bundle: Bundle,
        market: Market,
        prices: PriceSnapshot,
        lt_override: dict[int, int] | None = None,
        step_vkey: dict[str, Any] | None = None,
        bonus_override: dict[int, int] | None = None,
        rules_version: int | None = None,
        emode_lt_override: int | None = None,
    ) -> None:
        self.chain = chain
        contracts = solidity.compile_reference_contracts(tc)
        self.verifier = api.deploy_verifier(chain, bundle.vkey, Settings(toolchain=tc))
        self.step_verifier = (
            api.deploy_verifier(chain, step_vkey, Settings(toolchain=tc)) if step_vkey else "0x" + "00" * 20
        )
        self.oracles = [chain.deploy(contracts["TestAggregator"].bytecode) for _ in market.assets]
        self.indexes = chain.deploy(contracts["TestIndexes"].bytecode)
        self.now = chain.timestamp()
        for i, a in enumerate(market.assets):
            self.set_price(i, prices.prices[a.symbol].price, self.now)
            p = prices.prices[a.symbol]
            self.set_indexes(i, p.liquidity_index, p.variable_borrow_index)
        lts = [
            lt_override.get(i, a.liquidation_threshold) if lt_override else a.liquidation_threshold
            for i, a in enumerate(market.assets)
        ]
        bonuses = [
            bonus_override.get(i, a.liquidation_bonus) if bonus_override else a.liquidation_bonus
            for i, a in enumerate(market.assets)
        ]
        # each asset's underlying: its oracle's address stands in for it (any address names a reserve)
        assets = [
            (o, o, a.decimals, lt, b, a.protocol_fee)
            for o, a, lt, b in zip(self.oracles, market.assets, lts, bonuses, strict=True)
        ]
        emodes = [
            (c.id, emode_lt_override or c.liquidation_threshold, c.liquidation_bonus, c.collateral_bitmap)
            for c in market.emode_categories
        ]
        ctor = encode(
            [
                "address",
                "address",
                "uint256",
                "uint256",
                "uint256",
                "uint256",
                "address",
                "(address,address,uint8,uint16,uint16,uint16)[]",
                "(uint8,uint16,uint16,uint256)[]",
            ],
            [
                self.verifier,
                self.step_verifier,
                4,
                4,
                MAX_AGE,
                rules_version or market.rules_version,
                self.indexes,
                assets,
                emodes,
            ],
        )
        self.address = chain.deploy(contracts["LiquidationVerifierRegistry"].bytecode, ctor)

    def set_indexes(self, slot: int, income: int, debt: int) -> None:
        self.chain.transact(
            self.indexes,
            _sel("setIndexes(address,uint256,uint256)")
            + encode(["address", "uint256", "uint256"], [self.oracles[slot], income, debt]),
        )

    def set_price(self, slot: int, answer: int, updated_at: int) -> None:
        self.chain.transact(
            self.oracles[slot],
            _sel("setRound(uint80,int256,uint256)") + encode(["uint80", "int256", "uint256"], [7, answer, updated_at]),
        )

    def register(self, commitment: int) -> None:
        self.chain.transact(self.address, _sel("register(uint256)") + encode(["uint256"], [commitment]))

    def status(self, commitment: int) -> int:
        return int(
            decode(
                ["uint8"], self.chain.call(self.address, _sel("positions(uint256)") + encode(["uint256"], [commitment]))
            )[0]
        )

    def liquidate(self, b: Bundle, public: list[int] | None = None, fn: str = "liquidate") -> None:
        cd = calldata.from_proof(b.proof, b.public_signals)
        pub = public if public is not None else list(cd.public)
        data = _sel(f"{fn}(uint256[2],uint256[2][2],uint256[2],uint256[])") + encode(
            ["uint256[2]", "uint256[2][2]", "uint256[2]", "uint256[]"],
            [list(cd.a), [list(r) for r in cd.b], list(cd.c), pub],
        )
        self.chain.transact(self.address, data)


def _expect(name: str, fn: Callable[[], Any]) -> None:
    with pytest.raises(Reverted) as e:
        fn()
    assert e.value.data[:4] == ERRORS[name], f"expected {name}, got 0x{e.value.data.hex()}"


@pytest.fixture()
def pool(chain: Chain, tc: Toolchain, bundle: Bundle, market: Market, prices: PriceSnapshot) -> Pool:
    return Pool(chain, tc, bundle, market, prices)


def test_pool_valid_liquidation_succeeds_once(pool: Pool, bundle: Bundle) -> None:
    com = int(bundle.public_signals[0])
    pool.register(com)
    assert pool.status(com) == 1
    pool.liquidate(bundle)
    assert pool.status(com) == 2
    _expect("AlreadyLiquidated", lambda: pool.liquidate(bundle))


def test_pool_rejects_unregistered(pool: Pool, bundle: Bundle) -> None:
    _expect("UnknownCommitment", lambda: pool.liquidate(bundle))


def test_pool_rejects_public_input_not_in_field(pool: Pool, bundle: Bundle) -> None:
    pool.register(int(bundle.public_signals[0]))
    for i in (0, 5, 34):
        pub = [int(s) for s in bundle.public_signals]
        pub[i] += R
        _expect("InputNotInField", lambda: pool.liquidate(bundle, pub))


def test_pool_rejects_stale_wrong_and_bad_prices(pool: Pool, bundle: Bundle) -> None:
    pool.register(int(bundle.public_signals[0]))
    price = int(bundle.public_signals[2])  # commitment, rulesVersion, price[0], ...
    pool.set_price(0, price, pool.now - MAX_AGE - 100)
    _expect("StalePrice", lambda: pool.liquidate(bundle))
    pool.set_price(0, price + 1, pool.now)
    _expect("PriceMismatch", lambda: pool.liquidate(bundle))
    pool.set_price(0, 0, pool.now)
    _expect("BadPrice", lambda: pool.liquidate(bundle))
    pool.set_price(0, price, pool.now)
    pool.liquidate(bundle)  # restored: the same proof now passes


def test_pool_rejects_wrong_risk_parameters(
    chain: Chain, tc: Toolchain, bundle: Bundle, market: Market, prices: PriceSnapshot
) -> None:
    pool = Pool(chain, tc, bundle, market, prices, lt_override={0: 8000})
    pool.register(int(bundle.public_signals[0]))
    _expect("RiskParameterMismatch", lambda: pool.liquidate(bundle))
    pool = Pool(chain, tc, bundle, market, prices, emode_lt_override=9400)
    pool.register(int(bundle.public_signals[0]))
    _expect("EModeMismatch", lambda: pool.liquidate(bundle))


def test_pool_rejects_other_rules_and_indexes(
    chain: Chain, tc: Toolchain, bundle: Bundle, market: Market, prices: PriceSnapshot
) -> None:
    """A proof under aave-v3.6 rules is refused by a pool following v3.5 (before the verifier);
    the indexes must be the reserves' current ones."""
    pool = Pool(chain, tc, bundle, market, prices, rules_version=30500)
    pool.register(int(bundle.public_signals[0]))
    _expect("RulesMismatch", lambda: pool.liquidate(bundle))
    pool = Pool(chain, tc, bundle, market, prices)
    pool.register(int(bundle.public_signals[0]))
    pool.set_indexes(1, RAY + 1, RAY)
    _expect("IndexMismatch", lambda: pool.liquidate(bundle))
    pool.set_indexes(1, RAY, RAY)
    pool.liquidate(bundle)


def test_pool_rejects_other_threshold_and_invalid_proof(
    pool: Pool, bundle: Bundle, tc: Toolchain, liquidatable: Position, market: Market, prices: PriceSnapshot
) -> None:
    pool.register(int(bundle.public_signals[0]))
    weaker = lending.prove_liquidation(liquidatable, market, prices, 15 * WAD // 10, settings=Settings(toolchain=tc))
    _expect("ThresholdMismatch", lambda: pool.liquidate(weaker))
    proof = copy.deepcopy(bundle.proof)
    proof["pi_a"][1] = str(Q - int(proof["pi_a"][1]))
    _expect("InvalidProof", lambda: pool.liquidate(Bundle(**{**bundle.__dict__, "proof": proof})))
    assert pool.status(int(bundle.public_signals[0])) == 1


@pytest.fixture(scope="module")
def step_bundle(
    keys: Callable[[str], CircuitKeys], tc: Toolchain, liquidatable: Position, market: Market, prices: PriceSnapshot
) -> Bundle:
    keys("liquidation_step_4_v36")
    b, _ = step.prove_liquidation_step(
        liquidatable, market, prices, "WETH", "USDC", 7500 * 10**6, settings=Settings(toolchain=tc)
    )
    return b


def test_pool_liquidation_step_moves_the_commitment(
    chain: Chain, tc: Toolchain, bundle: Bundle, step_bundle: Bundle, market: Market, prices: PriceSnapshot
) -> None:
    pool = Pool(chain, tc, bundle, market, prices, step_vkey=step_bundle.vkey)
    old, new = int(step_bundle.public_signals[0]), int(step_bundle.public_signals[1])
    _expect("UnknownCommitment", lambda: pool.liquidate(step_bundle, fn="liquidateStep"))
    pool.register(old)
    pub = [int(x) for x in step_bundle.public_signals]
    pub[3 + 5 * 4] += 1  # claims another liquidation bonus for WETH than the pool's
    _expect("RiskParameterMismatch", lambda: pool.liquidate(step_bundle, pub, fn="liquidateStep"))
    pool.liquidate(step_bundle, fn="liquidateStep")
    assert (pool.status(old), pool.status(new)) == (2, 1)
    _expect("AlreadyLiquidated", lambda: pool.liquidate(step_bundle, fn="liquidateStep"))
    # the plain HF < 1 proof of the old commitment is now refused too
    _expect("AlreadyLiquidated", lambda: pool.liquidate(bundle))


def test_pool_step_rejects_bad_config_and_reuse(
    chain: Chain, tc: Toolchain, bundle: Bundle, step_bundle: Bundle, market: Market, prices: PriceSnapshot
) -> None:
    pool = Pool(chain, tc, bundle, market, prices, step_vkey=step_bundle.vkey, bonus_override={0: 10600})
    old, new = int(step_bundle.public_signals[0]), int(step_bundle.public_signals[1])
    pool.register(old)
    _expect("RiskParameterMismatch", lambda: pool.liquidate(step_bundle, fn="liquidateStep"))
    pool = Pool(chain, tc, bundle, market, prices, step_vkey=step_bundle.vkey)
    pool.register(old)
    pool.register(new)
    _expect("CommitmentInUse", lambda: pool.liquidate(step_bundle, fn="liquidateStep"))


def test_pool_step_refuses_a_step_that_repays_nothing(
    chain: Chain, tc: Toolchain, bundle: Bundle, step_bundle: Bundle, market: Market, prices: PriceSnapshot
) -> None:
    """Issue 10: debtToCover = debtRepaid = 0 retired the owner's commitment for one whose salt only
    the liquidator knows. The circuit has no witness for it; the pool refuses it too, before the
    verifier, with its own error (everything else about these calls is valid: same registered
    commitment, oracle prices and risk parameters, and the real proof passes afterwards)."""
    pool = Pool(chain, tc, bundle, market, prices, step_vkey=step_bundle.vkey)
    old = int(step_bundle.public_signals[0])
    pool.register(old)
    # collateralAsset, debtAsset, debtToCover, receiveAToken, debtRepaid, collateralToLiquidator, fee, deficit[4]
    o = 3 + 7 * 4 + 4 * 4
    honest = [int(x) for x in step_bundle.public_signals]
    assert honest[o + 2] > 0 and honest[o + 4] > 0
    attack = list(honest)
    attack[o + 2] = 0
    attack[o + 4 : o + 7] = [0, 0, 0]  # asks, repays, seizes and pays nothing
    for pub in (attack, [*honest[: o + 2], 0, *honest[o + 3 :]], [*honest[: o + 4], 0, *honest[o + 5 :]]):
        _expect("NothingRepaid", lambda: pool.liquidate(step_bundle, pub, fn="liquidateStep"))
    assert pool.status(old) == 1
    pool.liquidate(step_bundle, fn="liquidateStep")
    assert pool.status(old) == 2
