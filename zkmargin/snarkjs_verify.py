"""Groth16 verification by snarkjs itself (its JS API, never its CLI's exit code).

snarkjs reads more encodings than the other backends (x + q, hex, projective z, infinity as
z = 0), so it is given the canonical JSON re-made from groth16_format's parsed values, never
the caller's: what it answers is about the same statement the other backends check.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from .errors import ToolchainError
from .groth16 import Verification
from .groth16_format import parse_inputs
from .proc import run
from .toolchain import Toolchain

_SCRIPT = Path(__file__).parent / "js" / "groth16_verify.cjs"


def verify(vkey: Any, public_signals: Any, proof: Any, tc: Toolchain) -> Verification:
    """InputError if the inputs are malformed (groth16_format); otherwise snarkjs's answer."""
    key, pub, pr = parse_inputs(vkey, public_signals, proof)
    with tempfile.TemporaryDirectory(prefix="zkmargin-verify-") as d:
        files = []
        for name, obj in (("vkey", key.to_json()), ("public", [str(s) for s in pub]), ("proof", pr.to_json())):
            p = Path(d) / f"{name}.json"
            p.write_text(json.dumps(obj))
            files.append(p)
        cp = run([tc.node_path(), _SCRIPT, tc.node_modules, *files], timeout=300)
    try:
        out = json.loads(cp.stdout.strip().splitlines()[-1])
        valid = out["valid"] is True
    except (ValueError, IndexError, KeyError, TypeError):
        raise ToolchainError(f"unexpected output from the snarkjs verifier: {cp.stdout[-500:]!r}") from None
    if valid:
        return Verification(True, "snarkjs groth16.verify returned true")
    return Verification(False, f"snarkjs rejected the proof: {out.get('error', 'groth16.verify returned false')}")
