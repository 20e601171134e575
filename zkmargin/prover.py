"""Groth16 provers: one interface (`Prover.prove(keys, witness) -> (proof, public signals)`),
chosen by name from PROVERS:

- "c": the C prover (native_prover.py) on a zkey parsed once per process and kept warm for
  later proofs of the same key: what the API and the CLI use by default;
- "snarkjs": one `snarkjs groth16 prove` call (the reference, and the fallback when no C
  compiler is available).
The choice travels in Toolchain.prover ($ZKMARGIN_PROVER, the CLI's --prover, Settings.prover;
default "auto": the C prover if it builds).
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from . import native, native_prover
from .build import CircuitKeys
from .errors import ArtifactError, InputError
from .proc import run
from .progress import Progress
from .toolchain import Toolchain
from .witness import write_wtns

PROVE_TIMEOUT = 1800.0
BACKENDS = ("auto", "c", "snarkjs")

Proof = tuple[dict[str, Any], list[str]]


class Prover(Protocol):
    name: str

    def prove(self, keys: CircuitKeys, witness: Sequence[int]) -> Proof:
        """(proof, public signals) for one witness of the keys' circuit."""


def backend(name: str, progress: Progress | None = None) -> str:
    """ "c" or "snarkjs" for a requested backend; compiling the C library on first use is
    reported through `progress`."""
    if name not in BACKENDS:
        raise InputError("--prover", f"must be one of {', '.join(BACKENDS)}, got {name!r}")
    if name == "auto":
        return "c" if native.available(progress) else "snarkjs"
    if name == "c":
        native.library(progress)  # ToolchainError now, naming the missing compiler
    return name


class CProver:
    name = "c"

    def prove(self, keys: CircuitKeys, witness: Sequence[int]) -> Proof:
        return native_for(keys).prove(witness, threads=os.cpu_count() or 1)


@dataclass(frozen=True)
class SnarkjsProver:
    tc: Toolchain
    name = "snarkjs"

    def prove(self, keys: CircuitKeys, witness: Sequence[int]) -> Proof:
        return prove_snarkjs(keys, witness, self.tc)


def get(tc: Toolchain, progress: Progress | None = None) -> Prover:
    """The prover tc.prover names ("auto": the C prover when it builds, else snarkjs)."""
    return CProver() if backend(tc.prover, progress) == "c" else SnarkjsProver(tc)


_warm: dict[tuple[Path, str], native_prover.NativeProver] = {}
_warm_lock = threading.Lock()


def native_for(keys: CircuitKeys) -> native_prover.NativeProver:
    """The process's warm prover for these keys (loaded on first use). Keyed by the zkey's
    sha256 from the build metadata, which build() re-checked against the file."""
    digest = str(keys.meta.get("files", {}).get(keys.zkey.name, ""))
    key = (keys.zkey, digest)
    with _warm_lock:
        p = _warm.get(key)
        if p is None:
            p = _warm[key] = native_prover.NativeProver(keys.zkey)
        return p


def prove(keys: CircuitKeys, witness: Sequence[int], tc: Toolchain) -> Proof:
    """(proof, public signals) for one witness, with the prover tc.prover names."""
    return get(tc).prove(keys, witness)


def prove_snarkjs(keys: CircuitKeys, witness: Sequence[int], tc: Toolchain) -> Proof:
    """(proof, public signals) from snarkjs `groth16 prove`; temporary files are removed."""
    n_public = len(keys.compiled.public_signals)
    with tempfile.TemporaryDirectory(prefix="zkmargin-prove-") as d:
        tmp = Path(d)
        write_wtns(tmp / "witness.wtns", witness)
        run(
            tc.argv(
                "snarkjs", "groth16", "prove", keys.zkey, tmp / "witness.wtns", tmp / "proof.json", tmp / "public.json"
            ),
            timeout=PROVE_TIMEOUT,
        )
        proof = json.loads((tmp / "proof.json").read_text())
        public = json.loads((tmp / "public.json").read_text())
    expected = [str(v) for v in witness[1 : 1 + n_public]]
    if public != expected:
        # The public signals are wires 1..n of the witness; anything else means
        # snarkjs and our artifacts disagree about the circuit.
        raise ArtifactError(f"snarkjs public signals differ from the witness for {keys.compiled.spec.id}")
    return proof, public
