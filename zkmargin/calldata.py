"""Groth16 proof -> verifyProof calldata, exactly as the EVM pairing precompile needs it.

EIP-197 takes an Fp2 element as (imaginary, real), while snarkjs writes (real,
imaginary): each coordinate pair of B is swapped. Checked in the tests against
`snarkjs zkey export soliditycalldata`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_abi.abi import encode
from eth_utils.crypto import keccak

from .errors import BundleError
from .strictjson import bounded_int


@dataclass(frozen=True)
class ProofCalldata:
    a: tuple[int, int]
    b: tuple[tuple[int, int], tuple[int, int]]
    c: tuple[int, int]
    public: tuple[int, ...]

    @property
    def signature(self) -> str:
        return f"verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[{len(self.public)}])"

    @property
    def selector(self) -> bytes:
        return keccak(text=self.signature)[:4]

    def args_encoded(self) -> bytes:
        return encode(
            ["uint256[2]", "uint256[2][2]", "uint256[2]", f"uint256[{len(self.public)}]"],
            [list(self.a), [list(r) for r in self.b], list(self.c), list(self.public)],
        )

    def encoded(self) -> bytes:
        """Full calldata of verifyProof(pA, pB, pC, pubSignals)."""
        return self.selector + self.args_encoded()

    def snarkjs_format(self) -> str:
        """The string `snarkjs zkey export soliditycalldata` prints."""

        def h(v: int) -> str:
            return f'"0x{v:064x}"'

        return (
            f"[{h(self.a[0])}, {h(self.a[1])}],"
            f"[[{h(self.b[0][0])}, {h(self.b[0][1])}],[{h(self.b[1][0])}, {h(self.b[1][1])}]],"
            f"[{h(self.c[0])}, {h(self.c[1])}],"
            f"[{','.join(h(v) for v in self.public)}]"
        )


def _word(v: Any, field: str = "proof") -> int:
    """A uint256 argument (anything else would make the ABI encoder raise)."""
    return bounded_int(v, field, 0, 2**256 - 1)


def from_proof(proof: dict[str, Any], public_signals: list[str]) -> ProofCalldata:
    try:
        a = proof["pi_a"]
        b = proof["pi_b"]
        c = proof["pi_c"]
        return ProofCalldata(
            a=(_word(a[0]), _word(a[1])),
            b=((_word(b[0][1]), _word(b[0][0])), (_word(b[1][1]), _word(b[1][0]))),  # (imaginary, real)
            c=(_word(c[0]), _word(c[1])),
            public=tuple(_word(s, "public_signals") for s in public_signals),
        )
    except (KeyError, IndexError, TypeError, ValueError):
        raise BundleError("proof", "not a snarkjs Groth16 proof (pi_a, pi_b, pi_c)") from None
