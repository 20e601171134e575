"""Groth16 proof -> verifyProof calldata, exactly as the EVM pairing precompile needs it.

The proof and the signals are parsed by groth16_format first: calldata carries affine x, y
only, so a proof the other backends refuse (a z other than 1, a coordinate >= q) must never
be silently turned into one the EVM accepts.

EIP-197 takes an Fp2 element as (imaginary, real), while snarkjs writes (real,
imaginary): each coordinate pair of B is swapped. Checked in the tests against
`snarkjs zkey export soliditycalldata`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_abi.abi import encode
from eth_utils.crypto import keccak

from .groth16_format import parse_proof, parse_public_signals


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

    def to_json(self) -> dict[str, Any]:
        """The four verifyProof arguments as JSON arrays of 0x-hex words (B already in EIP-197 order)."""

        def h(v: int) -> str:
            return f"0x{v:064x}"

        return {
            "pA": [h(v) for v in self.a],
            "pB": [[h(v) for v in row] for row in self.b],
            "pC": [h(v) for v in self.c],
            "pubSignals": [h(v) for v in self.public],
        }

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


def from_proof(proof: Any, public_signals: Any, n_public: int | None = None) -> ProofCalldata:
    """verifyProof's arguments. InputError if the signals (n_public of them, when given; else
    any number, which the function signature then fixes) or the proof are malformed."""
    pub = parse_public_signals(public_signals, n_public)
    p = parse_proof(proof)
    return ProofCalldata(
        a=(p.a.x, p.a.y),
        b=((p.b.x[1], p.b.x[0]), (p.b.y[1], p.b.y[0])),  # (imaginary, real)
        c=(p.c.x, p.c.y),
        public=tuple(pub),
    )
