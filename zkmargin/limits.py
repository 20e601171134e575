"""Bit widths and bounds the circuits enforce, mirrored for validation in Python, and the
limits on input files and external waits (at the end).

Keep in sync with the functions at the top of circuits/lib/position.circom;
tests/test_limits.py parses every circuits/lib file and fails if a constant drifts apart.
"""

from __future__ import annotations

from typing import Final

AMOUNT_BITS: Final = 128  # token amounts in base units (Aave stores uint128)
PRICE_BITS: Final = 64  # 8-decimal oracle prices
VALUE_BITS: Final = 128  # per-asset value in 8-decimal base currency
MAX_DECIMALS: Final = 18  # token decimals, so 10^decimals < 2^DEC_SCALE_BITS
DEC_SCALE_BITS: Final = 60  # 10^decimals, the divisor (and remainder bound) of every valuation
LT_BITS: Final = 14
BPS: Final = 10_000  # 100.00 % in basis points
THRESHOLD_BITS: Final = 64  # health-factor threshold in WAD
WAD: Final = 1_000_000_000_000_000_000
PRICE_DECIMALS: Final = 8  # base currency decimals (Aave v3, Chainlink USD feeds)
MAX_ASSETS: Final = 16  # circomlib Poseidon takes at most 16 inputs per call
INDEX_BITS: Final = 100  # a reserve index (ray) minus 1 ray, so indexes < 2^101
RAY_BITS: Final = 90  # 1 ray = 1e27 < 2^90: the remainder width of a rayMul
EMODE_BITS: Final = 8  # an eMode category id (Aave: uint8)
EMODE_BONUS_BITS: Final = 15  # an eMode category's liquidation bonus (bps incl. 100%) < 2^15

# Input files and external waits. Enforced whatever Python's own limits are: importing py_ecc
# raises sys.setrecursionlimit to 100000, past what the C stack holds, so json.loads would
# crash (SIGSEGV) on deep nesting before RecursionError fires; and int() refuses more than 4300
# digits with a ValueError. The README's "Input limits" paragraph states these values.
MAX_JSON_BYTES: Final = 4 * 1024 * 1024  # one position, market, prices, perp, bundle, vkey or manifest file
MAX_SCAN_FILE_BYTES: Final = 64 * 1024 * 1024  # one JSON file holding many positions (`zkmargin scan FILE`)
MAX_JSON_DEPTH: Final = 32  # nested arrays/objects; a bundle's vkey needs 5
MAX_NUMBER_CHARS: Final = 100  # an integer as a JSON number or a decimal/0x string (r has 77 digits)
RPC_TIMEOUT: Final = 10.0  # seconds per JSON-RPC request (no retries)
LOCK_TIMEOUT: Final = 900.0  # seconds to wait for another process building the same artifacts
