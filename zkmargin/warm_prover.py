"""Warm provers: a proving key loaded once, then many witnesses proven on every core.

Two backends behind one ProverPool:
- "c": one NativeProver (the C prover on a zkey parsed once) shared by `size` threads;
  ctypes releases the GIL, so the threads prove in parallel;
- "snarkjs": long-lived node workers that load snarkjs and the zkey once, one per core, each
  single-threaded so that the cores are not fought over; a worker that dies is restarted and
  its job retried once, so no job is lost, and a job is never sent twice to live workers.
Toolchain.prover picks one ("auto": native when a C compiler builds it).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from . import prover
from .build import CircuitKeys
from .errors import ArtifactError, ToolchainError
from .proc import spawn_pipes
from .toolchain import Toolchain
from .witness import wtns_bytes

_SCRIPT = Path(__file__).parent / "js" / "prover_worker.cjs"
Proof = tuple[dict[str, Any], list[str]]


class WorkerCrashed(ToolchainError):
    """The worker process exited or wrote something that is not the protocol."""


class ProverWorker:
    def __init__(self, keys: CircuitKeys, tc: Toolchain, single_thread: bool = True) -> None:
        argv: list[str | Path] = [tc.node_path(), _SCRIPT, tc.node_modules, keys.zkey]
        if single_thread:
            argv.append("single")
        self.proc = spawn_pipes(argv)
        self._next = 0
        ready = self._read()
        if ready.get("ready") is not True:
            raise WorkerCrashed(f"prover worker did not start: {ready}")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise WorkerCrashed(f"prover worker {self.proc.pid} exited (code {self.proc.poll()})")
        try:
            msg = json.loads(line)
        except ValueError:
            raise WorkerCrashed(f"prover worker wrote a non-protocol line: {line[:200]!r}") from None
        if not isinstance(msg, dict):
            raise WorkerCrashed(f"prover worker wrote {line[:200]!r}")
        return msg

    def prove(self, witness: Sequence[int]) -> Proof:
        self._next += 1
        req = {"id": self._next, "wtns": base64.b64encode(wtns_bytes(witness)).decode()}
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(req) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise WorkerCrashed(f"prover worker {self.proc.pid} is gone") from None
        msg = self._read()
        if msg.get("id") != self._next:
            raise WorkerCrashed(f"prover worker answered job {msg.get('id')} for job {self._next}")
        if "error" in msg:
            raise ArtifactError(f"snarkjs could not prove: {msg['error']}")
        return msg["proof"], msg["public"]

    def close(self) -> None:
        """End the worker (closing stdin lets it finish its queue) and release both pipes."""
        try:
            if self.proc.stdin is not None and not self.proc.stdin.closed:
                self.proc.stdin.close()
        except OSError:  # the worker is already gone: its pipe is broken
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


class ProverPool:
    """Prove many witnesses of one circuit on `size` cores (default: all of them)."""

    def __init__(self, keys: CircuitKeys, tc: Toolchain, size: int | None = None) -> None:
        self.keys, self.tc = keys, tc
        self.size = max(1, size or os.cpu_count() or 1)
        self.backend = prover.backend(tc.prover)
        self._native = prover.native_for(keys) if self.backend == "c" else None
        self._local = threading.local()
        self._workers: list[ProverWorker] = []
        self._lock = threading.Lock()
        self.restarts = 0

    def __enter__(self) -> ProverPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _worker(self, fresh: bool = False) -> ProverWorker:
        w: ProverWorker | None = getattr(self._local, "worker", None)
        if w is None or fresh:
            if w is not None:
                w.close()
            w = ProverWorker(self.keys, self.tc)
            self._local.worker = w
            with self._lock:
                self._workers.append(w)
        return w

    def _prove_one(self, witness: Sequence[int]) -> Proof:
        if self._native is not None:
            return self._native.prove(witness)
        try:
            return self._worker().prove(witness)
        except WorkerCrashed:
            with self._lock:
                self.restarts += 1
            return self._worker(fresh=True).prove(witness)  # one retry on a fresh worker

    def workers(self) -> list[ProverWorker]:
        """The live node workers (none with the native backend)."""
        with self._lock:
            return list(self._workers)

    def prove_many(
        self, witnesses: Iterable[Sequence[int]], on_done: Callable[[int, Proof], None] | None = None
    ) -> list[Proof]:
        """Proofs in the order of `witnesses`; on_done(index, proof) as each finishes.

        `witnesses` is consumed lazily on the calling thread, at most two jobs per worker
        ahead: a generator that computes each witness overlaps with the proving of the earlier
        ones (the native prover releases the GIL) and never holds them all in memory."""
        results: dict[int, Proof] = {}
        slots = threading.BoundedSemaphore(2 * self.size)

        def job(i: int, witness: Sequence[int]) -> None:
            try:
                results[i] = self._prove_one(witness)
                if on_done is not None:
                    on_done(i, results[i])
            finally:
                slots.release()

        futures = []
        with ThreadPoolExecutor(self.size) as ex:
            for i, witness in enumerate(witnesses):
                slots.acquire()
                futures.append(ex.submit(job, i, witness))
            for f in futures:
                f.result()
        return [results[i] for i in range(len(futures))]

    def close(self) -> None:
        for w in self.workers():
            w.close()
