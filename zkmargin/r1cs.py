"""Read circom's .r1cs files (iden3 binary format) and check a witness against them.

Used for constraint counts in tests and to check tampered witnesses directly,
without trusting the witness generator that produced them.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from .errors import ArtifactError
from .field import R

LinearCombination = dict[int, int]  # wire index -> coefficient


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
        """Indices of constraints A*B = C that the witness violates (mod r)."""
        if len(witness) != self.header.n_wires or witness[0] != 1:
            raise ArtifactError(f"witness has {len(witness)} wires, circuit has {self.header.n_wires}")

        def ev(lc: LinearCombination) -> int:
            return sum(c * witness[w] for w, c in lc.items()) % R

        return [i for i, (a, b, c) in enumerate(self.constraints) if (ev(a) * ev(b) - ev(c)) % R]


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
        out.setdefault(sid, (pos, size))
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
