"""The compiled BN254 library (zkmargin/native/*.c): the Groth16 prover and verifier.

Compiled on first use with the system C compiler ($CC, else cc) into the artifact cache,
keyed by the sources, the compiler's version and the flags; built aside and renamed in, so an
interrupted build is never loaded, and re-hashed against its recorded sha256 before loading. ctypes releases the GIL during calls, so threads run the
library on every core. Without a compiler, callers fall back to snarkjs (proving) and the
pure-Python verifier (groth16_fast).
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import shutil
import threading
from pathlib import Path

from . import paths
from .errors import ToolchainError
from .fsutil import file_lock, staging_dir, write_json_atomic
from .proc import resolve, run

SOURCES = tuple(sorted((Path(__file__).parent / "native").glob("*.[ch]")))
UNITS = tuple(p for p in SOURCES if p.suffix == ".c")
CFLAGS = ("-O3", "-fPIC", "-shared", "-std=c11", "-pthread")
LIBRARY = "libzkmargin.so"


def compiler() -> str:
    """$CC, else cc: the compiler that builds the library (ToolchainError if missing)."""
    return resolve(os.environ.get("CC") or "cc")


def _intact(d: Path) -> bool:
    """The library in d matches the sha256 recorded when it was built (like every cached artifact,
    it is re-checked before it is trusted: this one is loaded into the process)."""
    try:
        return bool(json.loads((d / paths.META).read_text())["sha256"] == paths.sha256_file(d / LIBRARY))
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _library_path() -> Path:
    cc = compiler()
    version = run([cc, "--version"], timeout=60).stdout
    parts = [p.name.encode() + b"\0" + p.read_bytes() for p in SOURCES]
    key = hashlib.sha256(b"\0".join([*parts, version.encode(), " ".join(CFLAGS).encode(),
                                     os.uname().machine.encode()])).hexdigest()[:20]
    final = paths.native_dir(key)
    if _intact(final):
        return final / LIBRARY
    with file_lock(final.parent / f".{key}.lock"):
        if not _intact(final):  # absent, or damaged since it was built: build it (again)
            shutil.rmtree(final, ignore_errors=True)
            with staging_dir(final) as tmp:
                run([cc, *CFLAGS, "-o", tmp / LIBRARY, *UNITS], timeout=300)
                write_json_atomic(tmp / paths.META, {"sha256": paths.sha256_file(tmp / LIBRARY),
                                                     "compiler": version.strip().splitlines()[0], "flags": CFLAGS})
    return final / LIBRARY


_lib: ctypes.CDLL | None = None
_lib_error: ToolchainError | None = None
_lib_lock = threading.Lock()


def library() -> ctypes.CDLL:
    """The compiled library, built on first use (ToolchainError without a C compiler)."""
    global _lib, _lib_error
    with _lib_lock:
        if _lib_error is not None:  # a failed build is not retried within one process
            raise _lib_error
        if _lib is None:
            try:
                lib = ctypes.CDLL(str(_library_path()))
            except ToolchainError as e:
                _lib_error = e
                raise
            except OSError as e:
                _lib_error = ToolchainError(f"cannot load the native library: {e}")
                raise _lib_error from None
            u32, buf = ctypes.c_uint32, ctypes.c_char_p
            lib.zkm_groth16_prove.restype = ctypes.c_int
            lib.zkm_groth16_prove.argtypes = [u32, u32, u32, buf, u32, buf, buf, buf, buf, buf, buf, buf, buf, buf, buf, u32,
                                              buf]
            lib.zkm_groth16_tables_size.restype = ctypes.c_uint64
            lib.zkm_groth16_tables_size.argtypes = [u32, u32, u32]
            lib.zkm_groth16_tables.restype = ctypes.c_int
            lib.zkm_groth16_tables.argtypes = [u32, u32, u32, buf, buf, buf, buf, buf, u32, buf]
            lib.zkm_groth16_prepared_size.restype = ctypes.c_uint64
            lib.zkm_groth16_prepared_size.argtypes = [u32]
            lib.zkm_groth16_prepare.restype = ctypes.c_int
            lib.zkm_groth16_prepare.argtypes = [u32, buf, buf, buf]
            lib.zkm_groth16_verify.restype = ctypes.c_int
            lib.zkm_groth16_verify.argtypes = [u32, u32, buf, buf, buf, buf, u32, buf]
            lib.zkm_g2_in_subgroup.restype = ctypes.c_int
            lib.zkm_g2_in_subgroup.argtypes = [buf, buf]
            lib.zkm_arith.restype = ctypes.c_int
            lib.zkm_arith.argtypes = [ctypes.c_int]
            _lib = lib
        return _lib


def available() -> bool:
    return unavailable_reason() is None


def unavailable_reason() -> str | None:
    """Why the C library cannot be used (None when it can): the fallback is then pure Python."""
    try:
        library()
    except ToolchainError as e:
        return str(e).splitlines()[0]
    return None
