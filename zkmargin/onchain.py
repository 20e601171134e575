"""On-chain verification: deploy the Groth16 verifier, call verifyProof, measure its gas."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_abi.abi import decode

from . import calldata, solidity
from .bundle import Bundle
from .errors import StatementFalse
from .evm import Chain, Reverted
from .groth16 import Verification
from .groth16_format import parse_vkey
from .toolchain import Toolchain

# The usual estimate for a snarkjs Groth16 verifier (EIP-1108 prices): four pairings
# plus one scalar multiplication and addition per public input.
FORMULA_BASE = 181_000
FORMULA_PER_INPUT = 6_150
TX_BASE = 21_000


def deploy_verifier(chain: Chain, vkey: Any, tc: Toolchain) -> str:
    """Deploy snarkjs's verifier for this key (rendered from the parsed key: InputError when
    malformed); returns its address."""
    return chain.deploy(solidity.compile_verifier(vkey, tc).bytecode)


def _calldata(vkey: Any, public_signals: Any, proof: Any) -> bytes:
    """verifyProof's calldata: key, signals and proof parsed in groth16_format's order (InputError
    when malformed), so the EVM refuses what every other backend refuses."""
    n_public = parse_vkey(vkey).n_public
    return calldata.from_proof(proof, public_signals, n_public).encoded()


def verify_call(chain: Chain, verifier: str, vkey: Any, public_signals: Any, proof: Any) -> Verification:
    """Call verifyProof at `verifier`; a revert or `false` is invalid. `vkey` is the key the
    caller verifies against (it fixes the number of public signals the call carries)."""
    data = _calldata(vkey, public_signals, proof)
    try:
        out = chain.call(verifier, data)
    except Reverted as e:
        return Verification(False, f"verifyProof reverted: {e}")
    if len(out) != 32:
        return Verification(False, f"verifier at {verifier} returned {len(out)} bytes, not a bool")
    ok = bool(decode(["bool"], out)[0])
    return Verification(ok, f"verifyProof returned {str(ok).lower()} on {chain.kind}")


def verify_onchain(chain: Chain, verifier: str, bundle: Bundle) -> Verification:
    """verify_call with a bundle's own proof and signals (InputError if malformed)."""
    return verify_call(chain, verifier, bundle.vkey, bundle.public_signals, bundle.proof)


def calldata_gas(data: bytes) -> int:
    """EIP-2028 calldata cost: 16 per non-zero byte, 4 per zero byte."""
    return sum(16 if b else 4 for b in data)


@dataclass(frozen=True)
class GasReport:
    chain: str
    public_inputs: int
    total: int  # gas used by a transaction calling verifyProof (receipt gasUsed)
    calldata: int  # EIP-2028 part of the intrinsic gas
    execution: int  # total - 21000 - calldata

    @property
    def formula(self) -> int:
        return FORMULA_BASE + FORMULA_PER_INPUT * self.public_inputs

    def to_json(self) -> dict[str, Any]:
        return {
            "chain": self.chain,
            "public_inputs": self.public_inputs,
            "total": self.total,
            "base": TX_BASE,
            "calldata": self.calldata,
            "execution": self.execution,
            "formula_181k_plus_6150_per_input": self.formula,
        }


def measure_gas(chain: Chain, verifier: str, bundle: Bundle) -> GasReport:
    """Gas of a *successful* verifyProof transaction (never eth_estimateGas, whose answer is
    a limit at which the precompile runs out of gas and the verifier returns false)."""
    v = verify_onchain(chain, verifier, bundle)
    if not v.valid:
        raise StatementFalse(f"gas is only measured for a valid proof: {v.reason}")
    data = _calldata(bundle.vkey, bundle.public_signals, bundle.proof)
    tx = chain.transact(verifier, data)
    if decode(["bool"], tx.output) != (True,):
        raise StatementFalse("verifyProof returned false inside the measuring transaction")
    cd = calldata_gas(data)
    return GasReport(chain.kind, len(bundle.public_signals), tx.gas_used, cd, tx.gas_used - TX_BASE - cd)
