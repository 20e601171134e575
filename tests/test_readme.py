"""The README's Python API example runs as written."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from zkmargin import paths
from zkmargin.build import CircuitKeys

from .conftest import REPO_ROOT


def test_python_api_example_runs(keys: Callable[[str], CircuitKeys], tmp_path: Path) -> None:
    for c in ("liquidation_4", "attestation_4", "liquidation_step_4_v36"):
        keys(c)
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme[readme.index("## Python API") :]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    shutil.copytree(
        paths.FIXTURES_DIR, tmp_path / "fixtures", ignore=shutil.ignore_patterns("*.ptau")
    )  # the example needs the JSON files only
    (tmp_path / "example.py").write_text(code.group(1))
    res = subprocess.run(
        [sys.executable, "example.py"], cwd=tmp_path, capture_output=True, text=True, env=dict(os.environ), timeout=600
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.startswith("True position 0x")
    assert "repaid 7500000000 of USDC" in res.stdout
    assert (tmp_path / "liq.json").exists()
