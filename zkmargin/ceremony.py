"""Multi-party phase-2 ceremony for a circuit's Groth16 key, on top of snarkjs.

start (zkey 0 from the circuit and a prepared ptau) -> contribute (each party, entropy from
the OS) -> beacon (a public random value closes the ceremony) -> verify (the zkey against the
circuit and the ptau, with the transcript of contribution hashes) -> install (use it for
proving). Verification uses snarkjs's API result, never its exit code.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from . import build, paths, ptau
from .build import CircuitKeys, CompiledCircuit
from .errors import ArtifactError, InputError
from .proc import run
from .registry import CircuitSpec
from .toolchain import Toolchain

_SCRIPT = Path(__file__).parent / "js" / "ceremony.cjs"
TIMEOUT = 3600.0


@dataclass(frozen=True)
class CheckResult:
    valid: bool
    transcript: list[str]  # "contribution #1 alice: <hash>" lines, in order
    log: list[str]


def _check(tc: Toolchain, *args: str | Path) -> CheckResult:
    out = run([tc.node_path(), _SCRIPT, tc.node_modules, *args], timeout=TIMEOUT).stdout
    try:
        data = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise ArtifactError(f"unexpected output from the snarkjs ceremony check: {out[-300:]!r}") from None
    log = [str(x) for x in data.get("log", [])]
    return CheckResult(data.get("valid") is True, _transcript(log), log)


def _transcript(log: list[str]) -> list[str]:
    """Contribution lines of snarkjs's log: for a zkey a title followed by the hash in rows of
    words; for a ptau a 'Contribution #n: name' line."""
    out = []
    for entry in log:
        lines = entry.strip().splitlines()
        if lines and re.match(r"^[Cc]ontribution #\d+", lines[0].strip()):
            words = "".join(w for line in lines[1:] for w in line.split())
            out.append(f"{lines[0].strip().rstrip(':')}: {words}" if words else lines[0].strip())
    return out


def start(spec: CircuitSpec, ptau_path: Path, out: Path, tc: Toolchain) -> CompiledCircuit:
    compiled = build.compile_circuit(spec, tc)
    info = ptau.inspect(ptau_path)
    need = ptau.required_power(compiled.n_constraints, len(compiled.public_signals))
    if info.power < need:
        raise ArtifactError(f"{ptau_path}: power {info.power} is too small for {spec.id} (needs >= {need})")
    ptau.warn_if_dev(info)
    run(tc.argv("snarkjs", "groth16", "setup", compiled.r1cs, ptau_path, out), timeout=TIMEOUT)
    return compiled


def contribute(zkey_in: Path, zkey_out: Path, name: str, tc: Toolchain) -> None:
    _name(name)
    # 32 bytes from the OS; snarkjs mixes 64 more of its own, so the argv alone reveals nothing
    run(
        tc.argv("snarkjs", "zkey", "contribute", zkey_in, zkey_out, f"--name={name}", f"-e={os.urandom(32).hex()}"),
        timeout=TIMEOUT,
    )


def beacon(zkey_in: Path, zkey_out: Path, beacon_hex: str, iterations_exp: int, name: str, tc: Toolchain) -> None:
    _name(name)
    if not re.fullmatch(r"[0-9a-fA-F]{2,128}", beacon_hex) or len(beacon_hex) % 2:
        raise InputError("--beacon", "must be an even number of hex digits (up to 64 bytes), e.g. a block hash")
    if not 10 <= iterations_exp <= 63:
        raise InputError("--iterations", "must be in [10, 63] (2^n hash iterations)")
    run(
        tc.argv("snarkjs", "zkey", "beacon", zkey_in, zkey_out, beacon_hex, str(iterations_exp), f"-n={name}"),
        timeout=TIMEOUT,
    )


def verify_zkey(spec: CircuitSpec, ptau_path: Path, zkey: Path, tc: Toolchain) -> CheckResult:
    compiled = build.compile_circuit(spec, tc)
    ptau.inspect(ptau_path)
    if not zkey.is_file():
        raise InputError("zkey", f"{zkey} does not exist")
    return _check(tc, "zkey", compiled.r1cs, ptau_path, zkey)


def verify_ptau(ptau_path: Path, tc: Toolchain) -> tuple[ptau.PtauInfo, CheckResult]:
    info = ptau.inspect(ptau_path)
    return info, _check(tc, "ptau", ptau_path)


def install(spec: CircuitSpec, ptau_path: Path, zkey: Path, tc: Toolchain) -> CircuitKeys:
    """Verify a ceremony zkey and make it the key zkmargin proves with for (circuit, ptau)."""
    result = verify_zkey(spec, ptau_path, zkey, tc)
    if not result.valid:
        raise ArtifactError(f"{zkey} does not verify against {spec.id} and {ptau_path}; not installed")
    compiled = build.compile_circuit(spec, tc)
    return build.setup_circuit(compiled, tc, ptau_path, zkey=zkey)


def _name(name: str) -> None:
    if not re.fullmatch(r"[A-Za-z0-9 ._@-]{1,64}", name):
        raise InputError("--name", "1 to 64 letters, digits, spaces or . _ @ -")


__all__ = ["CheckResult", "beacon", "contribute", "install", "paths", "start", "verify_ptau", "verify_zkey"]
