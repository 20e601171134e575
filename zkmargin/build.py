"""Compile circuits with circom2 and run the Groth16 setup with snarkjs, cached by content.

Artifacts are built in a staging directory and published by rename (see
paths.py); every cached file is re-hashed against meta.json before it is used, and
a directory that fails the check is rebuilt rather than trusted.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import native, paths, ptau, r1cs, solidity
from .errors import ArtifactError, InputError
from .fsutil import cache_writes, file_lock, staging_dir, write_json_atomic
from .proc import run
from .progress import NullProgress, Progress
from .registry import CircuitSpec
from .strictjson import read_json
from .toolchain import Toolchain

COMPILE_TIMEOUT = 1800.0
MANIFEST_FORMAT = "zkmargin.manifest/1"
SETUP_TIMEOUT = 3600.0


@dataclass(frozen=True)
class CompiledCircuit:
    spec: CircuitSpec
    dir: Path
    meta: dict[str, Any]

    @property
    def r1cs(self) -> Path:
        return self.dir / paths.R1CS

    @property
    def wasm(self) -> Path:
        return self.dir / paths.WASM

    @property
    def n_constraints(self) -> int:
        return int(self.meta["constraints"])

    @property
    def public_signals(self) -> list[str]:
        return list(self.meta["public_signals"])


@dataclass(frozen=True)
class CircuitKeys:
    compiled: CompiledCircuit
    dir: Path
    meta: dict[str, Any]

    @property
    def zkey(self) -> Path:
        return self.dir / paths.ZKEY

    @property
    def vkey_path(self) -> Path:
        return self.dir / paths.VKEY

    def vkey(self) -> dict[str, Any]:
        return dict(json.loads(self.vkey_path.read_text()))

    def manifest(self) -> dict[str, Any]:
        """Everything a third party needs to recognise these artifacts: hashes of the circuit
        sources, r1cs, wasm, zkey, verification key (file and canonical JSON), verifier
        bytecode, the ptau, and the toolchain versions."""
        verifier = json.loads(self.verifier_json.read_text())
        vkey = self.vkey()
        return {
            "format": MANIFEST_FORMAT,
            "circuit": self.compiled.spec.id,
            "statement": self.compiled.spec.statement,
            "spec": self.compiled.spec.as_dict(),
            "constraints": self.compiled.n_constraints,
            "public_signals": self.compiled.public_signals,
            "toolchain": {**self.compiled.meta["toolchain"], "solc": verifier["solc"]},
            "sources_sha256": {p.name: paths.sha256_file(p) for p in paths.circuit_sources()},
            "files_sha256": {**self.compiled.meta["files"], **self.meta["files"]},
            "vkey_sha256": paths.sha256_json(vkey),
            "verifier_bytecode_sha256": hashlib.sha256(bytes.fromhex(verifier["bytecode"][2:])).hexdigest(),
            "ptau": self.meta["ptau"],
            "ceremony_zkey": self.meta.get("ceremony_zkey"),
        }

    @property
    def verifier_sol(self) -> Path:
        return self.dir / paths.VERIFIER_SOL

    @property
    def verifier_json(self) -> Path:
        return self.dir / paths.VERIFIER_JSON

    @property
    def insecure(self) -> bool:
        return bool(self.meta["ptau"]["insecure_dev"])


def _intact(d: Path, progress: Progress | None = None) -> dict[str, Any] | None:
    """meta.json of a published artifact dir if every listed file matches its hash, else None.

    With `progress` (the caller holds the build lock) a damaged dir is also removed, and said
    so, to be rebuilt; without the lock it is only treated as absent: removing it then could
    race with a builder publishing its replacement."""
    try:
        meta = read_json(d / paths.META, "cache metadata")
        for name, digest in meta["files"].items():
            if paths.sha256_file(d / name) != digest:
                raise ValueError(name)
        return dict(meta)
    except InputError:  # meta.json unreadable or not metadata: not built yet, or damaged
        if not d.exists():
            return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    if progress is not None:
        with progress.step(f"cached artifacts in {d} failed their integrity check; removing them to rebuild"):
            shutil.rmtree(d, ignore_errors=True)
    return None


def public_names_from_sym(sym: Path, n_public: int) -> list[str]:
    """Names of witness wires 1..n_public (the public signals) from circom's .sym file."""
    names: dict[int, str] = {}
    for line in sym.read_text().splitlines():
        parts = line.split(",", 3)
        if len(parts) == 4 and parts[3].startswith("main."):
            wire = int(parts[1])
            if 1 <= wire <= n_public and "." not in parts[3][5:]:
                names[wire] = parts[3][5:]
    return [names.get(i, f"?{i}") for i in range(1, n_public + 1)]


def compile_circuit(spec: CircuitSpec, tc: Toolchain, progress: Progress | None = None) -> CompiledCircuit:
    progress = progress or NullProgress()
    tc.require()
    key = paths.compile_key(spec.id, spec.as_dict(), tc.fingerprint)
    final = paths.compile_dir(spec.id, key)
    # Published dirs are complete (renamed in) and re-hashed here, so reading needs no lock:
    # a read-only cache serves them, and nobody waits for the lock to read a finished build.
    meta = _intact(final)
    if meta is not None:
        return CompiledCircuit(spec, final, meta)
    with file_lock(final.parent / f".{key}.lock", progress):
        return _compile_locked(spec, tc, progress, key, final)


def _compile_locked(spec: CircuitSpec, tc: Toolchain, progress: Progress, key: str, final: Path) -> CompiledCircuit:
    meta = _intact(final, progress)
    if meta is not None:
        return CompiledCircuit(spec, final, meta)
    with progress.step(f"compiling {spec.id} with circom2"), staging_dir(final) as tmp:
        # circom2 (WASI) only opens files below its working directory: stage the
        # sources, circomlib and @zk-kit/circuits inside the build dir and use relative paths.
        src = tmp / "src"
        shutil.copytree(paths.CIRCUITS_DIR / "lib", src / "circuits" / "lib")
        shutil.copytree(tc.circomlib_circuits, src / "circomlib")
        shutil.copytree(tc.zk_kit_circuits, src / "zk-kit")
        (src / "main.circom").write_text(spec.main_source())
        (src / "out").mkdir()
        libs = ["-l", "circomlib", "-l", "zk-kit"]
        run(
            tc.argv("circom2", "main.circom", "--r1cs", "--wasm", "--sym", "--O2", *libs, "-o", "out"),
            cwd=src,
            timeout=COMPILE_TIMEOUT,
        )
        shutil.move(src / "out" / "main.r1cs", tmp / paths.R1CS)
        shutil.move(src / "out" / "main_js" / "main.wasm", tmp / paths.WASM)
        shutil.move(src / "out" / "main.sym", tmp / paths.SYM)
        shutil.rmtree(src)
        header = r1cs.read_header(tmp / paths.R1CS)
        names = public_names_from_sym(tmp / paths.SYM, header.n_public)
        if names != spec.public_signal_names():
            raise ArtifactError(
                f"{spec.id}: public signals {names} differ from the registry's {spec.public_signal_names()}"
            )
        meta = {
            "circuit": spec.id,
            "key": key,
            "spec": spec.as_dict(),
            "toolchain": tc.fingerprint,
            "constraints": header.n_constraints,
            "wires": header.n_wires,
            "public_signals": names,
            "private_inputs": header.n_prv_in,
            "files": {n: paths.sha256_file(tmp / n) for n in (paths.R1CS, paths.WASM, paths.SYM)},
        }
        write_json_atomic(tmp / paths.META, meta)
    return CompiledCircuit(spec, final, meta)


def _installed_keys(compiled: CompiledCircuit, ptau_sha256: str) -> CircuitKeys | None:
    """The ceremony zkey installed for this circuit and ptau, if any (see ceremony.install)."""
    pointer = paths.installed_pointer(compiled.dir, ptau_sha256)
    if not pointer.exists():
        return None
    try:
        installed = compiled.dir / str(read_json(pointer, "installed key pointer")["setup_dir"])
    except (InputError, KeyError, TypeError):
        raise ArtifactError(
            f"{pointer} (which names the installed ceremony key) is damaged: remove it and install the key again"
        ) from None
    meta = _intact(installed)
    return CircuitKeys(compiled, installed, meta) if meta is not None else None


def existing_keys(spec: CircuitSpec, tc: Toolchain, ptau_sha256: str) -> CircuitKeys | None:
    """The keys build() would use for this circuit and ptau, if they are already built from the
    current circuit sources and toolchain; never builds anything."""
    key = paths.compile_key(spec.id, spec.as_dict(), tc.fingerprint)
    cdir = paths.compile_dir(spec.id, key)
    cmeta = _intact(cdir)
    if cmeta is None:
        return None
    compiled = CompiledCircuit(spec, cdir, cmeta)
    installed = _installed_keys(compiled, ptau_sha256)
    if installed is not None:
        return installed
    final = paths.setup_dir(cdir, ptau_sha256, tc.version("solc"))
    meta = _intact(final)
    return CircuitKeys(compiled, final, meta) if meta is not None else None


def setup_circuit(
    compiled: CompiledCircuit,
    tc: Toolchain,
    ptau_path: Path | None = None,
    progress: Progress | None = None,
    zkey: Path | None = None,
) -> CircuitKeys:
    """Groth16 keys for a compiled circuit: setup from the ptau plus one phase-2 contribution,
    or (zkey given) a ceremony zkey already verified against the circuit and the ptau, which
    then becomes the key used for this circuit and ptau (see ceremony.install)."""
    progress = progress or NullProgress()
    info = ptau.inspect(ptau_path or paths.DEV_PTAU)
    need = ptau.required_power(compiled.n_constraints, len(compiled.public_signals))
    if info.power < need:
        raise ArtifactError(
            f"{info.path}: powers of tau of power {info.power} are too small for {compiled.spec.id} "
            f"({compiled.n_constraints} constraints needs power >= {need})"
        )
    ptau.warn_if_dev(info)
    if zkey is None:
        installed = _installed_keys(compiled, info.sha256)
        if installed is not None:
            return installed
    zkey_sha = paths.sha256_file(zkey) if zkey is not None else None
    final = paths.setup_dir(compiled.dir, info.sha256, tc.version("solc"), zkey_sha)
    meta = _intact(final)  # complete and intact: no lock needed (see compile_circuit)
    if meta is not None:
        keys = CircuitKeys(compiled, final, meta)
    else:
        with file_lock(compiled.dir.parent / f".{final.name}.lock", progress):
            keys = _setup_locked(compiled, tc, info, progress, final, zkey)
    if zkey is not None:
        with cache_writes(compiled.dir):
            write_json_atomic(
                paths.installed_pointer(compiled.dir, info.sha256), {"setup_dir": final.name, "zkey_sha256": zkey_sha}
            )
    return keys


def _setup_locked(
    compiled: CompiledCircuit,
    tc: Toolchain,
    info: ptau.PtauInfo,
    progress: Progress,
    final: Path,
    zkey: Path | None,
) -> CircuitKeys:
    meta = _intact(final, progress)
    if meta is not None:
        return CircuitKeys(compiled, final, meta)
    with progress.step(f"Groth16 setup and Solidity verifier for {compiled.spec.id}"), staging_dir(final) as tmp:
        if zkey is not None:
            shutil.copyfile(zkey, tmp / paths.ZKEY)
        else:
            zkey0 = tmp / "circuit_0000.zkey"
            run(tc.argv("snarkjs", "groth16", "setup", compiled.r1cs, info.path, zkey0), timeout=SETUP_TIMEOUT)
            # Fresh phase-2 entropy; snarkjs also mixes 64 bytes of OS randomness into it,
            # so the argv string alone does not reveal the contribution.
            run(
                tc.argv(
                    "snarkjs",
                    "zkey",
                    "contribute",
                    zkey0,
                    tmp / paths.ZKEY,
                    "--name=zkmargin phase-2 contribution",
                    f"-e={secrets.token_hex(32)}",
                ),
                timeout=SETUP_TIMEOUT,
            )
            zkey0.unlink()
        run(tc.argv("snarkjs", "zkey", "export", "verificationkey", tmp / paths.ZKEY, tmp / paths.VKEY), timeout=600)
        run(
            tc.argv("snarkjs", "zkey", "export", "solidityverifier", tmp / paths.ZKEY, tmp / paths.VERIFIER_SOL),
            timeout=600,
        )
        contract = solidity.compile_sources({paths.VERIFIER_SOL: (tmp / paths.VERIFIER_SOL).read_text()}, tc)[
            solidity.VERIFIER_CONTRACT
        ]
        write_json_atomic(
            tmp / paths.VERIFIER_JSON,
            {
                "contract": contract.name,
                "abi": contract.abi,
                "bytecode": "0x" + contract.bytecode.hex(),
                "solc": tc.version("solc"),
                "settings": solidity.SETTINGS,
            },
        )
        meta = {
            "circuit": compiled.spec.id,
            "compile_key": compiled.meta["key"],
            "ptau": {"path": str(info.path), "sha256": info.sha256, "power": info.power, "insecure_dev": info.is_dev},
            "ceremony_zkey": str(zkey) if zkey is not None else None,
            "files": {
                n: paths.sha256_file(tmp / n) for n in (paths.ZKEY, paths.VKEY, paths.VERIFIER_SOL, paths.VERIFIER_JSON)
            },
        }
        write_json_atomic(tmp / paths.META, meta)
    return CircuitKeys(compiled, final, meta)


def build(
    spec: CircuitSpec, tc: Toolchain, ptau_path: Path | None = None, progress: Progress | None = None
) -> CircuitKeys:
    """Everything a proof needs: the compiled circuit, its keys and, unless the prover is
    snarkjs, the native prover library, each slow first-time step reported through progress
    (the library is otherwise compiled silently inside the first proof)."""
    keys = setup_circuit(compile_circuit(spec, tc, progress), tc, ptau_path, progress)
    if tc.prover != "snarkjs":
        native.available(progress)  # a failure is not an error here: "auto" falls back to snarkjs
    return keys
