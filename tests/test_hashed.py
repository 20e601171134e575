"""The hashed public-input layout: prices, indexes and risk parameters as three Poseidon hashes."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from eth_abi.abi import decode, encode
from eth_utils.crypto import keccak

from zkmargin import api, solidity
from zkmargin.aave_math import RAY
from zkmargin.build import CircuitKeys
from zkmargin.evm import InProcessChain
from zkmargin.groth16 import verify as reference_verify
from zkmargin.model import Market, Position, PriceSnapshot
from zkmargin.pinning import InstalledKeys
from zkmargin.poseidon import poseidon
from zkmargin.settings import Settings
from zkmargin.snarkjs_verify import verify as snarkjs_verify
from zkmargin.statements import lending
from zkmargin.statements.lending import indexes_hash, liquidation_hashed_inputs, prices_hash
from zkmargin.toolchain import Toolchain
from zkmargin.witness import WitnessCalculator


def test_hashed_proof_and_gas(
    keys: Callable[[str], CircuitKeys], tc: Toolchain, liquidatable: Position, market: Market, prices: PriceSnapshot
) -> None:
    keys("liquidation_hashed_4")
    b = lending.prove_liquidation_hashed(liquidatable, market, prices, settings=Settings(toolchain=tc))
    claim = api.decode_claim(b)
    expected = prices_hash([prices.prices[s].price for s in market.symbols])
    assert claim.signals["pricesHash"] == expected
    assert claim.signals["indexesHash"] == lending.indexes_hash([RAY] * 4, [RAY] * 4)
    assert len(b.public_signals) == 5 and "hashing to" in claim.describe()
    for backend in ("fast", "snarkjs", "evm"):
        assert api.verify_bundle(b, keys=InstalledKeys(), verifier=backend, settings=Settings(toolchain=tc)).valid  # type: ignore[arg-type]
    for i in (1, 2, 3):  # another prices, indexes or parameters hash
        pub = list(b.public_signals)
        pub[i] = str(int(pub[i]) + 1)
        assert not reference_verify(b.vkey, pub, b.proof).valid
        assert not snarkjs_verify(b.vkey, pub, b.proof, tc).valid
    plain = lending.prove_liquidation(liquidatable, market, prices, settings=Settings(toolchain=tc))
    assert api.measure_gas(b).total < api.measure_gas(plain).total - 50_000


def test_circuit_binds_every_price(
    keys: Callable[[str], CircuitKeys], liquidatable: Position, market: Market, prices: PriceSnapshot
) -> None:
    calc = WitnessCalculator(keys("liquidation_hashed_4").compiled.wasm)
    inputs = liquidation_hashed_inputs(liquidatable, market, prices, 10**18).inputs
    calc.calculate(inputs)
    price = list(inputs["price"])  # type: ignore[arg-type]
    price[3] += 1  # a price other than the hashed one
    from zkmargin.errors import WitnessError

    with pytest.raises(WitnessError):
        calc.calculate({**inputs, "price": price})


def test_prices_hash_is_computable_on_chain(tc: Toolchain) -> None:
    """circomlibjs's EVM Poseidon (at most 6 inputs) recomputes the chunked prices hash."""
    chain = InProcessChain()
    c4 = chain.deploy(solidity.poseidon_contract(4, tc).bytecode)
    c2 = chain.deploy(solidity.poseidon_contract(2, tc).bytecode)

    def onchain(addr: str, values: list[int]) -> int:
        k = len(values)
        data = keccak(text=f"poseidon(uint256[{k}])")[:4] + encode([f"uint256[{k}]"], [values])
        return int(decode(["uint256"], chain.call(addr, data))[0])

    p8 = [10**8 * (i + 1) + i for i in range(8)]
    assert onchain(c4, p8[:4]) == poseidon(p8[:4]) == prices_hash(p8[:4])
    assert onchain(c2, [onchain(c4, p8[:4]), onchain(c4, p8[4:])]) == prices_hash(p8)
    # and the indexes hash of the 8-slot layout: 16 indexes in 4 chunks, then Poseidon(4)
    li = [10**27 + 10**24 * i for i in range(8)]
    bi = [10**27 + 7 * 10**24 * i for i in range(8)]
    v = li + bi
    assert onchain(c4, [onchain(c4, v[k : k + 4]) for k in range(0, 16, 4)]) == indexes_hash(li, bi)
