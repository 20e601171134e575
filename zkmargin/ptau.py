"""Powers-of-tau files: header checks and the shipped development file.

The development ptau in fixtures/ was made by one party whose "secret" entropy is
written in fixtures/DEV_PTAU.md: anyone can forge proofs for keys built on it.
It exists so that tests and demos run without a multi-minute ceremony step;
production keys need a real ceremony file (--ptau).
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from . import paths
from .errors import ArtifactError
from .field import Q
from .r1cs import read_sections

log = logging.getLogger("zkmargin")
DEV_WARNING = (
    "WARNING: using the INSECURE development ptau (fixtures/dev-pot15.ptau), made by a single party: "
    "whoever made it could forge proofs for keys built on it. Development only; "
    "pass --ptau with a file from a real multi-party ceremony."
)
# Sections 12-15 hold the Lagrange-basis points that `prepare phase2` adds.
_PREPARED_SECTION = 12


@dataclass(frozen=True)
class PtauInfo:
    path: Path
    power: int
    ceremony_power: int
    sha256: str
    is_dev: bool


def dev_ptau_sha256() -> str:
    return paths.DEV_PTAU_SHA256_FILE.read_text().split()[0]


def inspect(path: Path) -> PtauInfo:
    """Read a ptau header; ArtifactError if it is not a prepared BN254 ptau.

    Cached per (path, size, mtime): every build() call inspects the ptau, and hashing a
    real ceremony file (hundreds of MB) on each proof would dominate."""
    path = Path(path)
    try:
        st = path.stat()
    except OSError as e:
        raise ArtifactError(f"cannot read {path}: {e.strerror}") from None
    return _inspect(str(path.resolve()), st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=16)
def _inspect(resolved: str, size: int, mtime_ns: int) -> PtauInfo:
    path = Path(resolved)
    data, secs = read_sections(path, b"ptau")
    if 1 not in secs:
        raise ArtifactError(f"{path}: not a powers-of-tau file (no header section)")
    off = secs[1][0]
    (n8,) = struct.unpack_from("<I", data, off)
    q = int.from_bytes(data[off + 4 : off + 4 + n8], "little")
    if q != Q:
        raise ArtifactError(f"{path}: powers of tau over another curve; zkmargin needs BN254 (bn128)")
    power, ceremony_power = struct.unpack_from("<II", data, off + 4 + n8)
    if _PREPARED_SECTION not in secs:
        raise ArtifactError(
            f"{path}: not prepared for phase 2; run `snarkjs powersoftau prepare phase2 {path.name} OUT.ptau` "
            "or use a *_final.ptau file"
        )
    sha = paths.sha256_file(path)
    is_dev = path.resolve() == paths.DEV_PTAU.resolve() or (
        paths.DEV_PTAU_SHA256_FILE.exists() and sha == dev_ptau_sha256()
    )
    return PtauInfo(path, power, ceremony_power, sha, is_dev)


def required_power(n_constraints: int, n_public: int) -> int:
    """The power snarkjs `groth16 setup` demands: floor(log2(constraints + public)) + 1."""
    return max(1, (n_constraints + n_public).bit_length())


def warn_if_dev(info: PtauInfo) -> None:
    """Through logging (the library never prints): the CLI shows it on stderr unless -q."""
    if info.is_dev:
        log.warning(DEV_WARNING)
