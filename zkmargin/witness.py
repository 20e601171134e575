"""Compute circom witnesses in-process by running the generated WASM with wasmtime.

A Python port of circom's witness_calculator.js (same host imports, same input
protocol: FNV-1a hashed signal names, field elements through the shared
read/write memory), plus a .wtns writer byte-identical to snarkjs's.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from pathlib import Path

import wasmtime

from .errors import ArtifactError, WitnessError
from .field import R
from .fsutil import write_bytes_atomic

InputValue = int | Sequence[int]

_EXCEPTIONS = {
    1: "Signal not found",
    2: "Too many signals set",
    3: "Signal already set",
    4: "Assert Failed",
    5: "Not enough memory",
    6: "Input signal array access exceeds the size",
    7: "Out of bounds array access",
}


class _CircomTrap(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(_EXCEPTIONS.get(code, f"Unknown error {code}"))
        self.code = code


def fnv1a64(name: str) -> tuple[int, int]:
    """circom's signal-name hash, split into (high, low) 32-bit halves."""
    h = 0xCBF29CE484222325
    for ch in name:
        h ^= ord(ch)
        h = (h * 0x100000001B3) % 2**64
    return h >> 32, h & 0xFFFFFFFF


# A helper module run beside circom's: it calls getWitness(i) for every wire and copies each
# value out of the shared read/write window into one contiguous block, so that reading a witness
# costs one host call instead of two per wire (wasmtime-py spends ~18 us on each call).
_COPY_WAT = """
(module
  (import "circom" "getWitness" (func $get (param i32)))
  (import "circom" "memory" (memory 1))
  (func (export "copy") (param $n i32) (param $src i32) (param $dst i32) (param $n8 i32)
    (local $i i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (call $get (local.get $i))
        (memory.copy (i32.add (local.get $dst) (i32.mul (local.get $i) (local.get $n8)))
                     (local.get $src) (local.get $n8))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))))
"""


def _i32(v: int) -> int:
    """wasm i32 arguments are signed; circom's hash halves are unsigned."""
    return v - 2**32 if v >= 2**31 else v


class WitnessCalculator:
    """One compiled circuit's witness generator, reusable for many inputs."""

    def __init__(self, wasm_path: Path) -> None:
        self._engine = wasmtime.Engine()
        try:
            self._module = wasmtime.Module.from_file(self._engine, str(wasm_path))
        except (wasmtime.WasmtimeError, OSError) as e:
            raise ArtifactError(f"{wasm_path}: not a loadable witness WASM ({e})") from None
        self._copier = wasmtime.Module(self._engine, _COPY_WAT)

    def calculate(self, inputs: Mapping[str, InputValue], *, lenient: bool = False) -> list[int]:
        """The full witness (wire 0 = 1) for the given input signals.

        Raises WitnessError when an input is missing or the circuit rejects it
        (a failed `===` or assert while computing), with circom's message.
        lenient=True (for soundness tests only): failed asserts are skipped, so the honest
        witness generator computes every wire for inputs the circuit must refuse, and an
        R1CS check can then show which constraints refuse them.
        """
        store = wasmtime.Store(self._engine)
        errors: list[str] = []
        exports: dict[str, wasmtime.Func] = {}

        def message() -> str:
            chars = []
            while (c := exports["getMessageChar"](store)) != 0:
                chars.append(chr(c))
            return "".join(chars)

        def exception_handler(code: int) -> None:
            if lenient and code == 4:
                errors.clear()
                return
            raise _CircomTrap(code)

        def print_error() -> None:
            errors.append(message())

        def write_buffer() -> None:
            message()  # circom `log()` output: drained, not printed

        def show_shared() -> None:
            pass

        i32 = wasmtime.ValType.i32()
        imports = {
            "exceptionHandler": wasmtime.Func(store, wasmtime.FuncType([i32], []), exception_handler),
            "printErrorMessage": wasmtime.Func(store, wasmtime.FuncType([], []), print_error),
            "writeBufferMessage": wasmtime.Func(store, wasmtime.FuncType([], []), write_buffer),
            "showSharedRWMemory": wasmtime.Func(store, wasmtime.FuncType([], []), show_shared),
        }
        ordered = [imports[str(imp.name)] for imp in self._module.imports if imp.module == "runtime"]
        instance = wasmtime.Instance(store, self._module, ordered)
        for name, ext in instance.exports(store).items():
            if isinstance(ext, wasmtime.Func):
                exports[name] = ext
        ex = exports
        n32 = ex["getFieldNumLen32"](store)
        memory = instance.exports(store)["memory"]
        assert isinstance(memory, wasmtime.Memory)
        # The shared read/write area is a window of linear memory: reading and writing it
        # directly costs one host call per field element instead of one per 32-bit limb.
        shared = ex["getSharedRWMemoryStart"](store)
        n8 = 4 * n32

        def read_fe() -> int:
            return int.from_bytes(memory.read(store, shared, shared + n8), "little")

        ex["getRawPrime"](store)
        if read_fe() != R:
            raise ArtifactError("witness WASM is not over the BN254 scalar field")

        try:
            ex["init"](store, 0)
            count = 0
            for name, value in inputs.items():
                values = [value] if isinstance(value, int) else list(value)
                hi, lo = fnv1a64(name)
                size = ex["getInputSignalSize"](store, _i32(hi), _i32(lo))
                if size <= 0:  # circom 2.2 answers 0 (older versions -1) for an unknown name
                    raise WitnessError(f"input signal {name} is not in the circuit")
                if len(values) != size:
                    raise WitnessError(f"input signal {name} takes {size} values, got {len(values)}")
                for i, v in enumerate(values):
                    memory.write(store, (v % R).to_bytes(n8, "little"), shared)
                    ex["setInputSignal"](store, _i32(hi), _i32(lo), i)
                    count += 1
            total = ex["getInputSize"](store)
            if count < total:
                raise WitnessError(f"only {count} of the circuit's {total} input values were given")
            n = ex["getWitnessSize"](store)
            dst = memory.grow(store, -(-n * n8 // 65536)) * 65536  # fresh pages past circom's heap
            copier = wasmtime.Instance(store, self._copier, [ex["getWitness"], memory])
            copy = copier.exports(store)["copy"]
            assert isinstance(copy, wasmtime.Func)
            copy(store, n, shared, dst, n8)
            block = memory.read(store, dst, dst + n * n8)
            witness = [int.from_bytes(block[i * n8 : (i + 1) * n8], "little") for i in range(n)]
        except (wasmtime.Trap, wasmtime.WasmtimeError, _CircomTrap) as e:
            cause = e if isinstance(e, _CircomTrap) else (e.__cause__ or e.__context__ or e)
            detail = "; ".join(m.strip() for m in errors if m.strip())
            raise WitnessError(
                f"the circuit rejected the inputs: {cause}" + (f" ({detail})" if detail else "")
            ) from None
        return witness


def wtns_bytes(witness: Sequence[int]) -> bytes:
    """snarkjs .wtns (version 2): header section (n8, prime, count) then the values."""
    n8 = 32
    out = bytearray(b"wtns")
    out += struct.pack("<II", 2, 2)
    out += struct.pack("<IQ", 1, 8 + n8) + struct.pack("<I", n8) + R.to_bytes(n8, "little")
    out += struct.pack("<I", len(witness))
    out += struct.pack("<IQ", 2, n8 * len(witness))
    for v in witness:
        out += (v % R).to_bytes(n8, "little")
    return bytes(out)


def write_wtns(path: Path, witness: Sequence[int]) -> None:
    write_bytes_atomic(path, wtns_bytes(witness))


def read_wtns(path: Path) -> list[int]:
    from .r1cs import read_sections

    data, secs = read_sections(path, b"wtns")
    if 1 not in secs or 2 not in secs:
        raise ArtifactError(f"{path}: not a witness file")
    off, _ = secs[1]
    (n8,) = struct.unpack_from("<I", data, off)
    (count,) = struct.unpack_from("<I", data, off + 4 + n8)
    off2, size = secs[2]
    if size != n8 * count:
        raise ArtifactError(f"{path}: witness section size does not match its header")
    return [int.from_bytes(data[off2 + i * n8 : off2 + (i + 1) * n8], "little") for i in range(count)]
