"""The compiled BN254 library (zkmargin/native/*.c): the Groth16 prover and verifier.

Compiled on first use with the system C compiler ($CC, else cc) into the artifact cache,
keyed by the sources, the compiler's version and the flags; built aside and renamed in, so an
interrupted build is never loaded, and re-hashed against its recorded sha256 before loading. ctypes releases the GIL during calls, so threads run the
library on every core. Without a compiler, callers fall back to snarkjs (proving) and the
pure-Python verifier (groth16_fast) and membership test (bn254.in_g2).

ZKMARGIN_NATIVE_CFLAGS_EXTRA (whitespace-separated compiler flags, appended to CFLAGS) builds an
instrumented variant, e.g. "-fsanitize=address,undefined -g" for tests/test_native_hygiene.py;
the flags are part of the cache key, so a variant never replaces or is mistaken for the normal build.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from . import bn254, paths
from .errors import ArtifactError, InputError, ToolchainError
from .field import Q, R
from .fsutil import file_lock, staging_dir, write_json_atomic
from .proc import resolve, run
from .progress import NullProgress, Progress
from .strictjson import read_json

SOURCES = tuple(sorted((Path(__file__).parent / "native").glob("*.[ch]")))
UNITS = tuple(p for p in SOURCES if p.suffix == ".c")
CFLAGS = ("-O3", "-fPIC", "-shared", "-std=c11", "-pthread")
LIBRARY = "libzkmargin.so"
EXTRA_CFLAGS_ENV = "ZKMARGIN_NATIVE_CFLAGS_EXTRA"


def cflags() -> tuple[str, ...]:
    """CFLAGS, then the flags of $ZKMARGIN_NATIVE_CFLAGS_EXTRA (an instrumented build)."""
    return CFLAGS + tuple(os.environ.get(EXTRA_CFLAGS_ENV, "").split())


def compiler() -> str:
    """$CC, else cc: the compiler that builds the library (ToolchainError if missing)."""
    return resolve(os.environ.get("CC") or "cc")


def _intact(d: Path) -> bool:
    """The library in d matches the sha256 recorded when it was built (like every cached artifact,
    it is re-checked before it is trusted: this one is loaded into the process)."""
    try:
        return bool(read_json(d / paths.META, "native library metadata")["sha256"] == paths.sha256_file(d / LIBRARY))
    except (InputError, OSError, KeyError, TypeError):
        return False


def _library_path(progress: Progress | None = None) -> Path:
    progress = progress or NullProgress()
    cc = compiler()
    flags = cflags()
    version = run([cc, "--version"], timeout=60).stdout
    parts = [p.name.encode() + b"\0" + p.read_bytes() for p in SOURCES]
    key = hashlib.sha256(
        b"\0".join([*parts, version.encode(), " ".join(flags).encode(), os.uname().machine.encode()])
    ).hexdigest()[:20]
    final = paths.native_dir(key)
    if _intact(final):
        return final / LIBRARY
    try:
        with file_lock(final.parent / f".{key}.lock", progress):
            if not _intact(final):  # absent, or damaged since it was built: build it (again)
                shutil.rmtree(final, ignore_errors=True)
                # about 25 s on 2 cores: said, so that the first doctor or prove is not silent
                with progress.step(f"compiling the native prover with {Path(cc).name}"), staging_dir(final) as tmp:
                    run([cc, *flags, "-o", tmp / LIBRARY, *UNITS], timeout=300)
                    write_json_atomic(
                        tmp / paths.META,
                        {
                            "sha256": paths.sha256_file(tmp / LIBRARY),
                            "compiler": version.strip().splitlines()[0],
                            "flags": flags,
                        },
                    )
    except ArtifactError as e:  # a read-only cache without the library, or a lock never released
        raise ToolchainError(f"cannot build the native library: {e}") from None
    return final / LIBRARY


_lib: ctypes.CDLL | None = None
_lib_error: ToolchainError | None = None
_lib_lock = threading.Lock()


def library(progress: Progress | None = None) -> ctypes.CDLL:
    """The compiled library, built on first use (ToolchainError without a C compiler); the
    build is reported through `progress`."""
    global _lib, _lib_error
    with _lib_lock:
        if _lib_error is not None:  # a failed build is not retried within one process
            raise _lib_error
        if _lib is None:
            try:
                lib = ctypes.CDLL(str(_library_path(progress)))
            except ToolchainError as e:
                _lib_error = e
                raise
            except OSError as e:
                _lib_error = ToolchainError(f"cannot load the native library: {e}")
                raise _lib_error from None
            u32, buf = ctypes.c_uint32, ctypes.c_char_p
            lib.zkm_groth16_prove.restype = ctypes.c_int
            lib.zkm_groth16_prove.argtypes = [
                u32,
                u32,
                u32,
                buf,
                u32,
                buf,
                buf,
                buf,
                buf,
                buf,
                buf,
                buf,
                buf,
                buf,
                buf,
                u32,
                buf,
            ]
            lib.zkm_groth16_tables_size.restype = ctypes.c_uint64
            lib.zkm_groth16_tables_size.argtypes = [u32, u32, u32]
            lib.zkm_groth16_tables.restype = ctypes.c_int
            lib.zkm_groth16_tables.argtypes = [u32, u32, u32, buf, buf, buf, buf, buf, u32, buf]
            lib.zkm_groth16_prepared_size.restype = ctypes.c_uint64
            lib.zkm_groth16_prepared_size.argtypes = [u32]
            lib.zkm_groth16_prepare.restype = ctypes.c_int
            lib.zkm_groth16_prepare.argtypes = [u32, buf, buf, buf]
            lib.zkm_groth16_verify.restype = ctypes.c_int
            lib.zkm_groth16_verify.argtypes = [u32, u32, buf, buf, buf, buf, u32, buf, buf]
            lib.zkm_g2_in_subgroup.restype = ctypes.c_int
            lib.zkm_g2_in_subgroup.argtypes = [buf, buf]
            lib.zkm_g2_in_subgroup_many.restype = ctypes.c_int
            lib.zkm_g2_in_subgroup_many.argtypes = [u32, buf, u32, buf, buf]
            lib.zkm_parse_decimals.restype = ctypes.c_int
            lib.zkm_parse_decimals.argtypes = [buf, ctypes.c_uint64, ctypes.c_uint64, ctypes.c_uint64, buf]
            lib.zkm_ctx_size.restype = u32
            lib.zkm_ctx_size.argtypes = []
            lib.zkm_bench_fq12_bytes.restype = u32
            lib.zkm_bench_fq12_bytes.argtypes = []
            lib.zkm_bench_miller.restype = ctypes.c_int
            lib.zkm_bench_miller.argtypes = [u32, buf, buf, buf]
            lib.zkm_bench_final_exp.restype = ctypes.c_int
            lib.zkm_bench_final_exp.argtypes = [buf, buf]
            lib.zkm_arith.restype = ctypes.c_int
            lib.zkm_arith.argtypes = [ctypes.c_int]
            _lib = lib
        return _lib


def available(progress: Progress | None = None) -> bool:
    return unavailable_reason(progress) is None


def unavailable_reason(progress: Progress | None = None) -> str | None:
    """Why the C library cannot be used (None when it can): the fallback is then pure Python."""
    try:
        library(progress)
    except ToolchainError as e:
        return str(e).splitlines()[0]
    return None


@lru_cache(maxsize=1)
def ctx() -> bytes:
    """The constants of pairing.c's struct ctx, in its layout, derived from zkmargin.bn254."""

    def mont(x: int) -> bytes:
        return (x * (1 << 256) % Q).to_bytes(32, "little")

    def mont2(e: bn254.F2) -> bytes:
        return mont(e[0]) + mont(e[1])

    parts = [mont2(c) for c in bn254.tower_frobenius()]
    parts += [mont2(bn254.PSI_X), mont2(bn254.PSI_Y), mont2(bn254.B2)]
    parts += [bytes(v & 0xFF for v in bn254.LOOP), bn254.BN_X.to_bytes(8, "little")]
    beta, lam = bn254.glv()
    parts += [mont(beta), (lam * (1 << 256) % R).to_bytes(32, "little")]
    return b"".join(parts)


def g2_in_subgroup(x: bn254.F2, y: bn254.F2) -> bool:
    """bn254.in_g2 in the compiled library (about 0.15 ms instead of 1.4 ms); False also for a
    point off the twist. ToolchainError when the library is unavailable."""
    blob = b"".join(c.to_bytes(32, "little") for c in (*x, *y))
    return bool(library().zkm_g2_in_subgroup(blob, ctx()) == 1)


def g2_in_subgroup_many(points: Sequence[tuple[bn254.F2, bn254.F2]], threads: int | None = None) -> list[bool]:
    """g2_in_subgroup of every point, shared among `threads` threads (default: every core). The
    membership tests of a batch's B points, which one after another would cost about as much
    as the batch's pairing. ToolchainError when the library is unavailable."""
    if threads is None:
        threads = os.cpu_count() or 1
    blob = b"".join(c.to_bytes(32, "little") for x, y in points for c in (*x, *y))
    out = ctypes.create_string_buffer(len(points) or 1)
    library().zkm_g2_in_subgroup_many(len(points), blob, max(1, threads), ctx(), out)
    return [b == 1 for b in out.raw[: len(points)]]


def parse_decimals(text: bytes, count: int, n_q: int) -> bytes | None:
    """zkm_parse_decimals: `count` comma-separated decimal values in ASCII, the first n_q below q
    and the rest below r, each by groth16_format's rules (digits, no leading zero, at most 78),
    as 32 little-endian bytes each; None if any breaks a rule or the count differs.
    ToolchainError when the library is unavailable."""
    out = ctypes.create_string_buffer(32 * count or 1)
    if library().zkm_parse_decimals(text, len(text), count, n_q, out):
        return None
    return out.raw[: 32 * count]
