"""Groth16 proving with snarkjs from a witness computed in Python."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .build import CircuitKeys
from .errors import ArtifactError
from .proc import run
from .toolchain import Toolchain
from .witness import write_wtns

PROVE_TIMEOUT = 1800.0


def prove(keys: CircuitKeys, witness: Sequence[int], tc: Toolchain) -> tuple[dict[str, Any], list[str]]:
    """(proof, public signals) from snarkjs `groth16 prove`; temporary files are removed."""
    n_public = len(keys.compiled.public_signals)
    with tempfile.TemporaryDirectory(prefix="zkmargin-prove-") as d:
        tmp = Path(d)
        write_wtns(tmp / "witness.wtns", witness)
        run(
            tc.argv("snarkjs", "groth16", "prove", keys.zkey, tmp / "witness.wtns", tmp / "proof.json", tmp / "public.json"),
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
