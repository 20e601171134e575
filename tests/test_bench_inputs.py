"""benchmarks/peers.py measures the largest registered circuit against arkworks (issue #16's
0.6x target): it must have inputs for whichever circuit that is now (a new, larger circuit made
`make bench` stop once), and every input it holds must satisfy its circuit."""

from __future__ import annotations

import importlib.util
from types import ModuleType

import pytest

from zkmargin import build, registry
from zkmargin.toolchain import Toolchain
from zkmargin.witness import WitnessCalculator

from .conftest import REPO_ROOT


def _peers() -> ModuleType:
    spec = importlib.util.spec_from_file_location("peers_bench", REPO_ROOT / "benchmarks" / "peers.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow  # compiles every registered circuit (the suite's other tests compile them too)
def test_peers_has_satisfying_inputs_for_the_largest_circuit(tc: Toolchain) -> None:
    peers = _peers()
    assert peers.largest(tc) in peers.INPUTS
    for cid, inputs in peers.INPUTS.items():
        compiled = build.compile_circuit(registry.get(cid), tc)
        WitnessCalculator(compiled.wasm).calculate(inputs())
