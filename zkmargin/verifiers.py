"""Groth16 verifiers: one interface (`Verifier.verify(vkey, public_signals, proof) -> Verification`),
chosen by name from VERIFIERS. Every one parses its inputs with zkmargin.groth16_format first, so
they agree on every input (InputError for malformed ones).

- "fast": zkmargin.groth16_fast with a prepared key, on the C engine when the C library builds,
  else on its pure-Python engine (`engine` says which ran);
- "reference": plain py_ecc (zkmargin.groth16), the slow one the others are tested against;
- "snarkjs": snarkjs's own groth16.verify through node;
- "evm": snarkjs's Solidity verifier on an EVM (in-process pyrevm by default, or a JSON-RPC
  chain), deployed from the key it is given unless an address is named.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from . import groth16, groth16_fast, native, snarkjs_verify
from .bundle import vkey_hash
from .errors import ToolchainError
from .groth16 import Verification
from .settings import Settings

if TYPE_CHECKING:
    from .evm import Chain

Name = Literal["fast", "reference", "snarkjs", "evm"]
NAMES: tuple[Name, ...] = ("fast", "reference", "snarkjs", "evm")


class Verifier(Protocol):
    name: str

    def verify(self, vkey: dict[str, Any], public_signals: Any, proof: Any) -> Verification: ...

    @property
    def engine(self) -> str:
        """What really ran (e.g. "fast: C engine"), for the record."""


_PREPARED: dict[str, groth16_fast.PreparedKey] = {}


def prepared_key(vkey: dict[str, Any]) -> groth16_fast.PreparedKey:
    """The fast verifier's per-key precomputation, cached by the key's hash for this process."""
    h = vkey_hash(vkey)
    if h not in _PREPARED:
        if len(_PREPARED) > 32:
            _PREPARED.clear()
        _PREPARED[h] = groth16_fast.PreparedKey(vkey)
    return _PREPARED[h]


class FastVerifier:
    name = "fast"

    def verify(self, vkey: dict[str, Any], public_signals: Any, proof: Any) -> Verification:
        return groth16_fast.verify(prepared_key(vkey), public_signals, proof)

    @property
    def engine(self) -> str:
        why_not = native.unavailable_reason()
        return "fast: C engine" if why_not is None else f"fast: pure-Python engine (no C library: {why_not})"


class ReferenceVerifier:
    name = "reference"
    engine = "reference: py_ecc"

    def verify(self, vkey: dict[str, Any], public_signals: Any, proof: Any) -> Verification:
        return groth16.verify(vkey, public_signals, proof)


@dataclass
class SnarkjsVerifier:
    settings: Settings
    name = "snarkjs"
    engine = "snarkjs: groth16.verify"

    def verify(self, vkey: dict[str, Any], public_signals: Any, proof: Any) -> Verification:
        return snarkjs_verify.verify(vkey, public_signals, proof, self.settings.tc())


@dataclass
class EvmVerifier:
    """The Solidity verifier at `address` on `chain`, or one deployed there from the key it is asked
    to verify against (then kept in `address` for the next call with the same key)."""

    settings: Settings
    chain: Chain | None = None
    address: str | None = None
    name = "evm"
    _deployed_for: str | None = field(default=None, repr=False)

    @property
    def engine(self) -> str:
        return f"evm: verifyProof at {self.address}" if self.address else "evm"

    def verify(self, vkey: dict[str, Any], public_signals: Any, proof: Any) -> Verification:
        chain = self._chain()  # ToolchainError naming the extra when web3/pyrevm are missing
        from . import onchain

        if self.address is None or (self._deployed_for is not None and self._deployed_for != vkey_hash(vkey)):
            self.address = onchain.deploy_verifier(chain, vkey, self.settings.tc())
            self._deployed_for = vkey_hash(vkey)
        return onchain.verify_call(chain, self.address, vkey, public_signals, proof)

    def _chain(self) -> Chain:
        if self.chain is None:
            self.chain = evm_module().InProcessChain()
        return self.chain


def evm_module() -> Any:
    """zkmargin.evm, which needs the `evm` extra (web3, pyrevm)."""
    try:
        from . import evm
    except ImportError as e:
        raise ToolchainError(f"on-chain verification needs the evm extra: pip install 'zkmargin[evm]' ({e})") from None
    return evm


def get(
    name: str, settings: Settings | None = None, *, chain: Chain | None = None, address: str | None = None
) -> Verifier:
    settings = settings or Settings()
    if name == "fast":
        return FastVerifier()
    if name == "reference":
        return ReferenceVerifier()
    if name == "snarkjs":
        return SnarkjsVerifier(settings)
    if name == "evm":
        return EvmVerifier(settings, chain, address)
    raise ValueError(f"unknown verifier {name!r} (known: {', '.join(NAMES)})")
