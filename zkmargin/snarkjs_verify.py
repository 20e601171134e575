"""Groth16 verification by snarkjs itself, as the reference backend."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from .errors import ToolchainError
from .groth16 import Verification
from .proc import run
from .toolchain import Toolchain

_SCRIPT = Path(__file__).parent / "js" / "groth16_verify.cjs"


def verify(vkey: Any, public_signals: Any, proof: Any, tc: Toolchain) -> Verification:
    with tempfile.TemporaryDirectory(prefix="zkmargin-verify-") as d:
        files = []
        for name, obj in (("vkey", vkey), ("public", public_signals), ("proof", proof)):
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
