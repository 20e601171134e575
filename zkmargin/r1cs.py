"""Read circom's .r1cs files (iden3 binary format) and check a witness against them.

Used for constraint counts in tests and to check tampered witnesses directly,
without trusting the witness generator that produced them.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ArtifactError
from .field import R

LinearCombination = dict[int, int]  # wire index -> coefficient


@lru_cache(maxsize=1)
def scalar_field() -> Any:
    """GF(r) of BN254 as a galois field class (5 generates its multiplicative group)."""
    import galois  # imported on first use: it takes over a second

    return galois.GF(R, primitive_element=5, verify=False)


@dataclass(frozen=True)
class R1csHeader:
    field_size: int
    prime: int
    n_wires: int
    n_pub_out: int
    n_pub_in: int
    n_prv_in: int
    n_labels: int
    n_constraints: int

    @property
    def n_public(self) -> int:
        return self.n_pub_out + self.n_pub_in


@dataclass(frozen=True)
class R1cs:
    header: R1csHeader
    constraints: list[tuple[LinearCombination, LinearCombination, LinearCombination]]

    def failing_constraints(self, witness: list[int]) -> list[int]:
        """Indices of constraints A*B = C that the witness violates, evaluated with galois over
        the BN254 scalar field: (A w) * (B w) - (C w) as field vectors."""
        if len(witness) != self.header.n_wires or witness[0] != 1:
            raise ArtifactError(f"witness has {len(witness)} wires, circuit has {self.header.n_wires}")
        gf = scalar_field()
        w = gf(np.array([v % R for v in witness], dtype=object))
        a, b, c = (self._evaluate(gf, w, k) for k in range(3))
        return [int(i) for i in np.nonzero(a * b - c)[0]]

    def _evaluate(self, gf: Any, w: Any, k: int) -> Any:
        """The k-th matrix (A, B or C) times the witness, one field element per constraint."""
        rows, wires, coeffs, starts, nonempty = self._sparse(k)
        out = gf.Zeros(len(self.constraints))
        if len(rows):
            terms = gf(np.array(coeffs, dtype=object)) * w[np.array(wires)]
            out[nonempty] = np.add.reduceat(terms, starts)
        return out

    def _sparse(self, k: int) -> tuple[list[int], list[int], list[int], list[int], list[int]]:
        rows: list[int] = []
        wires: list[int] = []
        coeffs: list[int] = []
        starts: list[int] = []
        nonempty: list[int] = []
        for i, triple in enumerate(self.constraints):
            lc = triple[k]
            if lc:
                starts.append(len(rows))
                nonempty.append(i)
                for wire, coeff in lc.items():
                    rows.append(i)
                    wires.append(wire)
                    coeffs.append(coeff)
        return rows, wires, coeffs, starts, nonempty


def _sections(data: bytes, magic: bytes, path: Path) -> dict[int, tuple[int, int]]:
    """Section id -> (offset, size) of an iden3 binary file (r1cs, wtns, ptau, zkey)."""
    if len(data) < 12 or data[:4] != magic:
        raise ArtifactError(f"{path} is not a {magic.decode()} file")
    (n_sections,) = struct.unpack_from("<I", data, 8)
    pos = 12
    out: dict[int, tuple[int, int]] = {}
    for _ in range(n_sections):
        if pos + 12 > len(data):
            raise ArtifactError(f"{path} is truncated")
        sid, size = struct.unpack_from("<IQ", data, pos)
        pos += 12
        if pos + size > len(data):
            raise ArtifactError(f"{path} is truncated (section {sid})")
        if sid in out:  # snarkjs reads every section it uses as unique too
            raise ArtifactError(f"{path} repeats section {sid}")
        out[sid] = (pos, size)
        pos += size
    return out


def read_sections(path: Path, magic: bytes) -> tuple[bytes, dict[int, tuple[int, int]]]:
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise ArtifactError(f"cannot read {path}: {e.strerror}") from None
    return data, _sections(data, magic, path)


def _header(data: bytes, off: int, path: Path) -> R1csHeader:
    (n8,) = struct.unpack_from("<I", data, off)
    prime = int.from_bytes(data[off + 4 : off + 4 + n8], "little")
    if prime != R:
        raise ArtifactError(f"{path} is not over the BN254 scalar field")
    vals = struct.unpack_from("<IIIIQI", data, off + 4 + n8)
    return R1csHeader(n8, prime, *vals)


def read_header(path: Path) -> R1csHeader:
    data, secs = read_sections(path, b"r1cs")
    if 1 not in secs:
        raise ArtifactError(f"{path} has no r1cs header section")
    return _header(data, secs[1][0], path)


def read_r1cs(path: Path) -> R1cs:
    data, secs = read_sections(path, b"r1cs")
    if 1 not in secs or 2 not in secs:
        raise ArtifactError(f"{path} lacks the header or constraint section")
    h = _header(data, secs[1][0], path)
    pos = secs[2][0]
    n8 = h.field_size
    constraints = []
    for _ in range(h.n_constraints):
        triple = []
        for _ in range(3):
            (n,) = struct.unpack_from("<I", data, pos)
            pos += 4
            lc: LinearCombination = {}
            for _ in range(n):
                (w,) = struct.unpack_from("<I", data, pos)
                lc[w] = int.from_bytes(data[pos + 4 : pos + 4 + n8], "little")
                pos += 4 + n8
            triple.append(lc)
        constraints.append((triple[0], triple[1], triple[2]))
    return R1cs(h, constraints)


def read_symbols(path: Path) -> dict[str, int]:
    """Signal name (as in the .sym file, e.g. main.s.val[0].cv.q) -> witness wire; signals the
    optimizer removed (wire -1) are left out."""
    out: dict[str, int] = {}
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as e:
        raise ArtifactError(f"cannot read {path}: {e.strerror}") from None
    for line in lines:
        parts = line.split(",", 3)
        if len(parts) == 4 and parts[1].lstrip("-").isdigit() and int(parts[1]) >= 0:
            out[parts[3]] = int(parts[1])
    return out
