"""BN254 constants shared by every module that touches field elements."""

from __future__ import annotations

from typing import Final

# Scalar field of BN254 (the field circom and Groth16 public inputs live in).
R: Final = 21888242871839275222246405745257275088548364400416034343698204186575808495617
# Base field of BN254 (coordinates of curve points).
Q: Final = 21888242871839275222246405745257275088696311157297823662689037894645226208583


def is_field_element(v: int) -> bool:
    """True for a canonical scalar-field element, 0 <= v < R."""
    return 0 <= v < R
