"""The native Groth16 prover: zkmargin/native/groth16_prove.c on a zkey parsed once.

A NativeProver holds one zkey's sections in memory and proves witnesses with fresh
randomness r, s from `secrets`; ctypes releases the GIL during the call, so a thread pool
proves on every core. Proofs are in snarkjs's JSON shape and verify with snarkjs, the
native verifiers and the Solidity verifier (tests/test_native_prover.py).

After TABLES_AFTER proofs, a NativeProver also keeps the key's fixed-base tables (every proving
key point doubled up to each digit window: 45-90 MB for the registered circuits, a few seconds
to build on two cores), which make each further proof 10-25% faster; build_tables() builds
them at once, for a prover known to run long.
"""

from __future__ import annotations

import ctypes
import secrets
import struct
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import native
from .errors import ArtifactError
from .field import Q, R
from .r1cs import read_sections

_G1, _G2 = 64, 128
_MONT = 1 << 256
_TWO_ADICITY = 28  # r - 1 = 2^28 * odd
# Building the tables costs about what they save over 75 (liquidation_step_4) to 185
# (liquidation_4) proofs (benchmarks/peers.py): building after that many proofs spends at most
# twice the best choice in hindsight, whatever the number of proofs to come (ski rental).
TABLES_AFTER = 100

Proof = tuple[dict[str, Any], list[str]]


def _mont(x: int) -> bytes:
    return (x * _MONT % R).to_bytes(32, "little")


def _roots(log_n: int) -> bytes:
    """w, w^-1, inc = w_{2n}, 1/n and 1, Montgomery form: ffjavascript's roots of unity
    (the smallest quadratic non-residue to the odd part of r - 1), which snarkjs's H points use."""
    nqr = next(x for x in range(2, 100) if pow(x, (R - 1) // 2, R) == R - 1)
    top = pow(nqr, (R - 1) >> _TWO_ADICITY, R)
    w = pow(top, 1 << (_TWO_ADICITY - log_n), R)
    inc = pow(top, 1 << (_TWO_ADICITY - log_n - 1), R)
    n = 1 << log_n
    return b"".join(_mont(v) for v in (w, pow(w, -1, R), inc, pow(n, -1, R), 1))


class NativeProver:
    """One zkey in memory, ready to prove. Thread-safe: each call allocates its own scratch."""

    def __init__(self, zkey: Path) -> None:
        data, offsets = read_sections(zkey, b"zkey")
        s = {kind: data[off : off + size] for kind, (off, size) in offsets.items()}
        try:
            if struct.unpack_from("<I", s[1])[0] != 1:
                raise ArtifactError(f"{zkey} is not a Groth16 zkey")
            h = s[2]
            n8q = struct.unpack_from("<I", h, 0)[0]
            q = int.from_bytes(h[4 : 4 + n8q], "little")
            n8r = struct.unpack_from("<I", h, 4 + n8q)[0]
            r = int.from_bytes(h[8 + n8q : 8 + n8q + n8r], "little")
            if (n8q, q, n8r, r) != (32, Q, 32, R):
                raise ArtifactError(f"{zkey} is not a BN254 (bn128) key")
            self.n_vars, self.n_public, self.domain = struct.unpack_from("<III", h, 72)
            points = h[84:]
            if len(points) != 3 * _G1 + 3 * _G2:
                raise ArtifactError(f"{zkey}: header has {len(points)} bytes of points")
            alpha1, beta1 = points[0:64], points[64:128]
            beta2, delta1, delta2 = points[128:256], points[384:448], points[448:576]  # gamma2 skipped
            self._vk = alpha1 + beta1 + beta2 + delta1 + delta2
            self.log_n = self.domain.bit_length() - 1
            if self.domain != 1 << self.log_n or not 1 <= self.log_n < _TWO_ADICITY:
                raise ArtifactError(f"{zkey}: domain size {self.domain} is not a power of two below 2^28")
            n_private = self.n_vars - self.n_public - 1
            expect = {
                5: self.n_vars * _G1,
                6: self.n_vars * _G1,
                7: self.n_vars * _G2,
                8: n_private * _G1,
                9: self.domain * _G1,
            }
            for kind, size in expect.items():
                if len(s[kind]) != size:
                    raise ArtifactError(f"{zkey}: section {kind} has {len(s[kind])} bytes, expected {size}")
            (self.n_coef,) = struct.unpack_from("<I", s[4])
            if len(s[4]) != 4 + 44 * self.n_coef:
                raise ArtifactError(f"{zkey}: coefficient section size does not match its count")
        except (KeyError, struct.error) as e:
            raise ArtifactError(f"{zkey}: missing or short section ({e})") from None
        self._coefs = s[4][4:]
        self._a, self._b1, self._b2, self._c, self._h = s[5], s[6], s[7], s[8], s[9]
        self._roots = _roots(self.log_n)
        self._lib = native.library()
        self._fn = self._lib.zkm_groth16_prove
        self._tables: ctypes.Array[ctypes.c_char] | None = None
        self.proofs = 0
        self._tables_lock = threading.Lock()

    @property
    def has_tables(self) -> bool:
        return self._tables is not None

    @property
    def tables_bytes(self) -> int:
        """Size of the fixed-base tables (built or not)."""
        return int(self._lib.zkm_groth16_tables_size(self.n_vars, self.n_public, self.log_n))

    def build_tables(self, threads: int = 2) -> None:
        """Build the fixed-base tables now (prove() builds them by itself after TABLES_AFTER proofs)."""
        with self._tables_lock:
            if self._tables is not None:
                return
            buf = ctypes.create_string_buffer(self.tables_bytes)
            if self._lib.zkm_groth16_tables(
                self.n_vars,
                self.n_public,
                self.log_n,
                self._a,
                self._b1,
                self._b2,
                self._c,
                self._h,
                min(2, max(1, threads)),
                buf,
            ):
                raise ArtifactError("native prover: out of memory for the fixed-base tables")
            self._tables = buf

    def prove(self, witness: Sequence[int], threads: int = 1) -> Proof:
        """(proof, public signals) in snarkjs's JSON shape, with fresh zero-knowledge randomness.
        threads=2 runs the witness multi-exponentiations beside the H one: for one proof's
        latency, not for a pool that already keeps every core busy."""
        if len(witness) != self.n_vars:
            raise ArtifactError(f"witness has {len(witness)} values, the key expects {self.n_vars}")
        try:
            wbytes = b"".join(v.to_bytes(32, "little") for v in witness)
        except OverflowError:
            raise ArtifactError("witness value outside the scalar field") from None
        if any(v < 0 or v >= R for v in witness):
            raise ArtifactError("witness value outside the scalar field")
        r, s = secrets.randbelow(R), secrets.randbelow(R)
        rs = b"".join(v.to_bytes(32, "little") for v in (r, s, (-r * s) % R))
        if self.proofs >= TABLES_AFTER and self._tables is None and not self._tables_lock.locked():
            self.build_tables(threads)  # (while another thread builds them, the others prove without)
        self.proofs += 1
        out = ctypes.create_string_buffer(256)
        rc = self._fn(
            self.n_vars,
            self.n_public,
            self.log_n,
            self._coefs,
            self.n_coef,
            self._a,
            self._b1,
            self._b2,
            self._c,
            self._h,
            self._tables,
            self._vk,
            self._roots,
            wbytes,
            rs,
            min(2, max(1, threads)),
            out,
        )
        if rc != 0:
            reason = {
                -1: "out of memory",
                -2: "a coefficient indexes outside the key",
                -3: "a proof element is the point at infinity",
            }.get(rc, f"error {rc}")
            raise ArtifactError(f"native prover failed: {reason}")
        v = [str(int.from_bytes(out.raw[32 * i : 32 * i + 32], "little")) for i in range(8)]
        proof = {
            "pi_a": [v[0], v[1], "1"],
            "pi_b": [[v[2], v[3]], [v[4], v[5]], ["1", "0"]],
            "pi_c": [v[6], v[7], "1"],
            "protocol": "groth16",
            "curve": "bn128",
        }
        return proof, [str(x) for x in witness[1 : 1 + self.n_public]]
