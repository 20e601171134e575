"""Baby Jubjub, ECDH, Poseidon encryption and the verifiable-encryption template of the private pool.

References: @zk-kit/baby-jubjub 1.0.3 and circomlibjs (curve, keys), circomlibjs (the Poseidon
permutation), @zk-kit/poseidon-cipher 0.3.2 (the cipher, both directions), zk-kit's
poseidon-cipher.circom PoseidonDecrypt and ecdh.circom Ecdh (the circuit), all run through node
or circom2 from the pinned toolchain (tests/js/pool_cipher.cjs).
"""

from __future__ import annotations

import random
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from zkmargin import paths
from zkmargin.errors import InputError, WitnessError
from zkmargin.field import R
from zkmargin.pool import babyjub, cipher
from zkmargin.pool.babyjub import BASE8, IDENTITY, L, Point
from zkmargin.poseidon import poseidon, poseidon_perm
from zkmargin.proc import run
from zkmargin.r1cs import R1cs, read_r1cs
from zkmargin.toolchain import Toolchain
from zkmargin.witness import InputValue, WitnessCalculator

from .conftest import node_json

RNG_SEED = 20261128
# The curve's generator (EIP-2494): Base8 = 8 G. l G is a point of order 8.
GENERATOR: Point = (
    995203441582195749578291179787384436505546430278305826713579947235728471134,
    5472060717959818805561601436314318772137091100104008585924551046643952123905,
)
ORDER8 = babyjub.mul(GENERATOR, L)


def js(tc: Toolchain, requests: list[list[Any]]) -> list[Any]:
    return list(node_json(tc, "pool_cipher.cjs", requests))


def s(p: Sequence[int]) -> list[str]:
    return [str(v) for v in p]


def ints(v: Sequence[str]) -> list[int]:
    return [int(x) for x in v]


# --- Baby Jubjub ---------------------------------------------------------------------------

# Golden vectors printed by the node references (tests/js/pool_cipher.cjs), pinned so that the
# node-free run (make test-fast) checks them too.
GOLDEN_PUBLIC_12345 = (  # @zk-kit/baby-jubjub and circomlibjs mulPointEscalar(Base8, 12345)
    19099552327547260981542886231210125691902505931204088720746463491300185142606,
    13276557205153692030187527501273228448057533426731746626187331221465573305487,
)
GOLDEN_PERM_0123 = [  # circomlibjs poseidon([1, 2, 3], 0, 4)
    6542985608222806190361240322586112750744169038454362455181422643027100751666,
    3478427836468552423396868478117894008061261013954248157992395910462939736589,
    1904980799580062506738911865015687096398867595589699208837816975692422464009,
    11971464497515232077059236682405357499403220967704831154657374522418385384151,
]
GOLDEN_CIPHERTEXT = [  # @zk-kit/poseidon-cipher poseidonEncrypt([1, 2, 3, 4], [5, 6], 7)
    19134267321102874893394685302897067285922406415545935479431881730213750075881,
    8052218116168590935251748955401619919394332912613302237201870041836731841388,
    19470749017514687395782811229533211201237204295002154075338578203749232436522,
    16260134166669796114056814353079130849411882455049779976345690423507959491540,
    20532314829511312146647749128834105539721352325625802821539504168841770179766,
    13594393860497613367307364820877643011981933202142976333777449720353947466425,
    13780932919624575244370235360356385232863963915127879252918180612347227666999,
]


def test_golden_vectors() -> None:
    assert babyjub.public_key(12345) == GOLDEN_PUBLIC_12345
    assert poseidon_perm([0, 1, 2, 3]) == GOLDEN_PERM_0123
    assert cipher.encrypt([1, 2, 3, 4], (5, 6), 7) == GOLDEN_CIPHERTEXT
    assert cipher.decrypt(GOLDEN_CIPHERTEXT, (5, 6), 7, 4) == [1, 2, 3, 4]


def test_golden_vectors_are_still_what_node_prints(tc: Toolchain) -> None:
    mul, perm, enc = js(
        tc,
        [
            ["mul", s(BASE8), "12345"],
            ["perm", ["0", "1", "2", "3"]],
            ["encrypt", ["1", "2", "3", "4"], ["5", "6"], "7"],
        ],
    )
    assert [ints(p) for p in mul] == [list(GOLDEN_PUBLIC_12345)] * 2
    assert ints(perm) == GOLDEN_PERM_0123 and ints(enc) == GOLDEN_CIPHERTEXT


def test_constants_equal_zk_kit_and_circomlibjs(tc: Toolchain) -> None:
    (c,) = js(tc, [["constants"]])
    assert ints(c["base8"]) == list(BASE8) == ints(c["cBase8"])
    assert int(c["subOrder"]) == L == int(c["cSubOrder"])
    assert int(c["order"]) == babyjub.ORDER == int(c["cOrder"])


def test_public_keys_and_ecdh_equal_both_js_libraries(tc: Toolchain) -> None:
    rng = random.Random(RNG_SEED)
    scalars = [1, 2, 7, L - 1, L - 2, 2**250, *(rng.randrange(1, L) for _ in range(8))]
    pubs = [babyjub.public_key(e) for e in scalars]
    pairs = [(rng.randrange(1, L), rng.randrange(1, L)) for _ in range(6)]
    reqs: list[list[Any]] = [["mul", s(BASE8), str(e)] for e in scalars]
    reqs += [["mul", s(babyjub.public_key(b)), str(a)] for a, b in pairs]
    reqs += [["add", s(pubs[i]), s(pubs[i + 1])] for i in range(5)]
    out = js(tc, reqs)
    for e, p, (zk, clj) in zip(scalars, pubs, out[: len(scalars)], strict=True):
        assert ints(zk) == list(p) == ints(clj), e
    for (a, b), (zk, clj) in zip(pairs, out[len(scalars) : len(scalars) + len(pairs)], strict=True):
        shared = babyjub.ecdh(a, babyjub.public_key(b))
        assert ints(zk) == list(shared) == ints(clj)
        assert shared == babyjub.ecdh(b, babyjub.public_key(a))  # both sides derive the same point
    for i, (zk, clj) in enumerate(out[len(scalars) + len(pairs) :]):
        assert ints(zk) == list(babyjub.add(pubs[i], pubs[i + 1])) == ints(clj)


def test_scalar_from_circomlibjs_eddsa_derivation_gives_its_public_key(tc: Toolchain) -> None:
    """A key made by the EdDSA derivation (blake-512, prune, >> 3) works here as a raw scalar:
    the same point as circomlibjs's prv2pub once reduced mod l (Base8 has order l)."""
    seeds = ["00", "0011223344556677", "ff" * 32, random.Random(RNG_SEED).randbytes(32).hex()]
    for seed, res in zip(seeds, js(tc, [["eddsa", h] for h in seeds]), strict=True):
        scalar = int(res["scalar"])
        assert scalar < 2**253  # what ecdh.circom's Num2Bits(253) takes
        assert list(babyjub.public_key(scalar % L)) == ints(res["pub"])


def test_on_curve_agrees_with_js(tc: Toolchain) -> None:
    pts = [BASE8, IDENTITY, ORDER8, GENERATOR, (1, 2), (BASE8[0], BASE8[1] + 1), (0, R - 1)]
    for p, (zk, clj) in zip(pts, js(tc, [["inCurve", s(p)] for p in pts]), strict=True):
        assert babyjub.is_on_curve(p) is zk is clj, p


SMALL_ORDER = {
    "identity": IDENTITY,
    "order 2": (0, R - 1),
    "order 8": ORDER8,
    "order 8 x 3": babyjub.mul(ORDER8, 3),
    "full order (G)": GENERATOR,
    "subgroup + order 2": babyjub.add(BASE8, (0, R - 1)),
}


@pytest.mark.parametrize("name", sorted(SMALL_ORDER))
def test_points_outside_the_subgroup_are_refused_naming_the_field(name: str) -> None:
    p = SMALL_ORDER[name]
    assert babyjub.is_on_curve(p)
    with pytest.raises(InputError) as e:
        babyjub.validate_point(p, "keepers[2].public")
    assert e.value.field == "keepers[2].public"
    with pytest.raises(InputError, match="recipient"):
        babyjub.ecdh(5, p, "recipient")


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ((1, 2), "not on Baby Jubjub"),
        ((BASE8[0], BASE8[1] + R), "not a field element"),
        ((-1, 1), "not a field element"),
        ((BASE8[0],), "two integers"),
        ("12", "two integers"),
        ((True, 1), "two integers"),
        ((str(BASE8[0]), str(BASE8[1])), "two integers"),
    ],
)
def test_malformed_points_are_refused(bad: Any, why: str) -> None:
    with pytest.raises(InputError, match=why) as e:
        babyjub.validate_point(bad, "event.ephemeral")
    assert e.value.field == "event.ephemeral"


def test_secret_scalar_boundaries() -> None:
    assert babyjub.public_key(L - 1) == babyjub.neg(BASE8)
    assert babyjub.public_key(1) == BASE8
    for bad in (0, L, -1, R):
        with pytest.raises(InputError, match=r"\[1, l\)"):
            babyjub.public_key(bad)
    assert babyjub.validate_point(BASE8, "x") == BASE8


# --- the Poseidon permutation and the cipher ----------------------------------------------


def test_permutation_equals_circomlibjs(tc: Toolchain) -> None:
    rng = random.Random(RNG_SEED)
    states = [[rng.choice([0, 1, R - 1, rng.randrange(R)]) for _ in range(t)] for t in (2, 3, 4, 4, 4, 5, 9, 17)]
    for state, ref in zip(states, js(tc, [["perm", s(st)] for st in states]), strict=True):
        assert poseidon_perm(state) == ints(ref)
    assert poseidon_perm([0, 1, 2])[0] == poseidon([1, 2])
    with pytest.raises(ValueError):
        poseidon_perm([1])
    with pytest.raises(ValueError):
        poseidon_perm([0, R])


def _random_case(rng: random.Random, n: int) -> tuple[list[int], Point, int]:
    msg = [rng.choice([0, 1, R - 1, rng.randrange(R), rng.randrange(2**128)]) for _ in range(n)]
    key = babyjub.public_key(rng.randrange(1, L))
    nonce = rng.choice([0, 2**128 - 1, rng.randrange(2**128)])
    return msg, key, nonce


def test_cipher_both_directions_against_zk_kit(tc: Toolchain) -> None:
    """Lengths 1..10, three messages each: JS encrypts and Python decrypts, Python encrypts and JS
    decrypts, and both ciphertexts are the same."""
    rng = random.Random(RNG_SEED)
    cases = [_random_case(rng, n) for n in range(1, 11) for _ in range(3)]
    ours = [cipher.encrypt(m, k, nonce) for m, k, nonce in cases]
    reqs: list[list[Any]] = [["encrypt", s(m), s(k), str(nonce)] for m, k, nonce in cases]
    reqs += [["decrypt", s(ct), s(k), str(nonce), len(m)] for (m, k, nonce), ct in zip(cases, ours, strict=True)]
    out = js(tc, reqs)
    js_ct, js_pt = out[: len(cases)], out[len(cases) :]
    for (m, k, nonce), ct, theirs, plain in zip(cases, ours, js_ct, js_pt, strict=True):
        assert len(ct) == cipher.ciphertext_length(len(m))
        assert ints(theirs) == ct
        assert cipher.decrypt(ints(theirs), k, nonce, len(m)) == m
        assert ints(plain) == m


def test_tampered_ciphertexts_fail_in_both(tc: Toolchain) -> None:
    rng = random.Random(RNG_SEED + 1)
    msg, key, nonce = _random_case(rng, 7)
    ct = cipher.encrypt(msg, key, nonce)
    other = babyjub.public_key(12345)
    reqs: list[list[Any]] = []
    for i in range(len(ct)):
        bad = list(ct)
        bad[i] = (bad[i] + 1) % R
        with pytest.raises(cipher.DecryptionError, match="authentication failed") as e:
            cipher.decrypt(bad, key, nonce, 7)
        assert e.value.field == "ciphertext"
        reqs.append(["decrypt", s(bad), s(key), str(nonce), 7])
    for k, n, length in ((other, nonce, 7), (key, nonce ^ 1, 7), (key, nonce, 8)):
        with pytest.raises(cipher.DecryptionError):
            cipher.decrypt(ct if length == 7 else [*ct[:-1], 0, 0, 0, ct[-1]], k, n, length)
        reqs.append(["decrypt", s(ct), s(k), str(n), length])
    assert all("error" in r for r in js(tc, reqs))


def test_cipher_input_boundaries() -> None:
    key = babyjub.public_key(3)
    ct = cipher.encrypt([1, 2], key, 2**128 - 1)
    assert cipher.decrypt(ct, key, 2**128 - 1, 2) == [1, 2]
    for bad_nonce in (2**128, -1):
        with pytest.raises(InputError, match="nonce"):
            cipher.encrypt([1], key, bad_nonce)
    with pytest.raises(InputError, match=r"message\[1\]"):
        cipher.encrypt([1, R], key, 0)
    with pytest.raises(cipher.DecryptionError, match="elements"):
        cipher.decrypt(ct[:-1], key, 2**128 - 1, 2)


def _duplex(padded: list[int], key: Point, nonce: int, claimed_length: int) -> list[int]:
    """The cipher's duplex run on an already padded block sequence with any claimed length: what
    a key holder can compute to forge a ciphertext whose padding is not zero."""
    state = [0, key[0], key[1], (nonce + claimed_length * cipher.TWO128) % R]
    out: list[int] = []
    for i in range(0, len(padded), 3):
        state = poseidon_perm(state)
        state[1:4] = [(state[j + 1] + padded[i + j]) % R for j in range(3)]
        out += state[1:4]
    return [*out, poseidon_perm(state)[1]]


def test_padding_is_checked_for_every_length(tc: Toolchain) -> None:
    """A ciphertext that authenticates but whose padding is not zero is refused here for every
    length; @zk-kit/poseidon-cipher checks the padding only for length > 3 (documented
    divergence: no honest encryption makes such a ciphertext)."""
    key = babyjub.public_key(99)
    assert _duplex([7, 0, 0], key, 5, 1) == cipher.encrypt([7], key, 5)
    forged = {n: _duplex([7] * n + [9] * (cipher.padded_length(n) - n), key, 5, n) for n in (1, 2, 4, 5)}
    for n, ct in forged.items():
        with pytest.raises(cipher.DecryptionError, match="padding"):
            cipher.decrypt(ct, key, 5, n)
    out = js(tc, [["decrypt", s(ct), s(key), "5", n] for n, ct in forged.items()])
    assert [("error" in r) for r in out] == [False, False, True, True]


def test_sealed_box_round_trip_and_wrong_holder() -> None:
    viewing = 424242
    box = cipher.seal([5, 6, 7, 8, 9, 10, 11], babyjub.public_key(viewing), ephemeral_secret=777, nonce=0)
    assert box.ephemeral == babyjub.public_key(777)
    assert cipher.open_box(box, viewing, 7) == [5, 6, 7, 8, 9, 10, 11]
    with pytest.raises(cipher.DecryptionError):
        cipher.open_box(box, viewing + 1, 7)
    with pytest.raises(InputError, match="ephemeral"):
        cipher.open_box(cipher.SealedBox(ORDER8, 0, box.ciphertext), viewing, 7)
    with pytest.raises(InputError, match="recipient"):
        cipher.seal([1], ORDER8, 777)


# --- the circuit template -------------------------------------------------------------------


@dataclass(frozen=True)
class Built:
    r1cs: R1cs
    calc: WitnessCalculator | None
    sym: Path


def _compile(tc: Toolchain, tmp: Path, body: str, wasm: bool = True) -> Built:
    """A test main over circuits/lib, circomlib and @zk-kit/circuits' circom/ (circom2 only opens
    files below its working directory: stage them there), compiled --O2 like zkmargin.build."""
    src = tmp / "src"
    shutil.copytree(paths.CIRCUITS_DIR / "lib", src / "circuits" / "lib")
    shutil.copytree(tc.circomlib_circuits, src / "circomlib")
    shutil.copytree(tc.package_dir("@zk-kit/circuits") / "circom", src / "zkkit")
    (src / "main.circom").write_text(f"pragma circom 2.1.6;\n{body}\n")
    (src / "out").mkdir()
    flags = ["--r1cs", "--sym", "--O2", *(["--wasm"] if wasm else [])]
    run(tc.argv("circom2", "main.circom", *flags, "-l", "circomlib", "-l", "zkkit", "-o", "out"), cwd=src, timeout=900)
    out = src / "out"
    return Built(
        read_r1cs(out / "main.r1cs"),
        WitnessCalculator(out / "main_js" / "main.wasm") if wasm else None,
        out / "main.sym",
    )


def _checked_main(n: int, k: int) -> str:
    """NoteCiphertexts(n, k) whose outputs must equal public inputs, beside position.circom (so
    the template coexists with circomlib's Poseidon that every commitment uses)."""
    c = cipher.ciphertext_length(n)
    return f"""
include "circuits/lib/position.circom";
include "circuits/lib/note_cipher.circom";
template Checked(N, K) {{
    signal input message[N];
    signal input ephemeralSecret;
    signal input nonce;
    signal input recipient[K][2];
    signal input ephemeralPublicKey[2];
    signal input ciphertext[K][{c}];
    component nc = NoteCiphertexts(N, K);
    nc.message <== message;
    nc.ephemeralSecret <== ephemeralSecret;
    nc.nonce <== nonce;
    nc.recipient <== recipient;
    nc.ephemeralPublicKey === ephemeralPublicKey;
    nc.ciphertext === ciphertext;
}}
component main {{public [nonce, recipient, ephemeralPublicKey, ciphertext]}} = Checked({n}, {k});
"""


NOTE_LEN = 7  # the notes engineer's opening at N = 2: scaledCollateral[2], scaledDebt[2], flags, ownerTag, salt
RECIPIENTS = 2  # the owner's viewing key and one keeper key


@pytest.fixture(scope="module")
def checked(tc: Toolchain, tmp_path_factory: pytest.TempPathFactory) -> Built:
    return _compile(tc, tmp_path_factory.mktemp("note-cipher"), _checked_main(NOTE_LEN, RECIPIENTS))


def _inputs(msg: list[int], eph: int, nonce: int, secrets: list[int]) -> dict[str, InputValue]:
    recipients = [babyjub.public_key(v) for v in secrets]
    boxes = [cipher.seal(msg, p, eph, nonce) for p in recipients]
    return {
        "message": msg,
        "ephemeralSecret": eph,
        "nonce": nonce,
        "recipient": [c for p in recipients for c in p],
        "ephemeralPublicKey": list(boxes[0].ephemeral),
        "ciphertext": [c for b in boxes for c in b.ciphertext],
    }


def _honest(rng: random.Random, eph: int | None = None, nonce: int = 0) -> dict[str, InputValue]:
    msg = [rng.randrange(2**128) for _ in range(4)] + [rng.randrange(16), rng.randrange(R), rng.randrange(R)]
    return _inputs(msg, eph if eph is not None else rng.randrange(1, L), nonce, [rng.randrange(1, L) for _ in range(2)])


def _refused(b: Built, inputs: dict[str, InputValue]) -> None:
    """The strict witness generator refuses, and the witness computed anyway fails the R1CS."""
    assert b.calc is not None
    with pytest.raises(WitnessError):
        b.calc.calculate(inputs)
    assert b.r1cs.failing_constraints(b.calc.calculate(inputs, lenient=True))


@pytest.mark.slow  # compiles circuits with circom2
@pytest.mark.parametrize("eph", [1, 2, 8, L - 1, 2**250 + 3, None])
def test_circuit_ciphertexts_equal_python_and_js(checked: Built, eph: int | None) -> None:
    """The honest witness (ephemeral keys at both ends of [1, l)) satisfies every constraint:
    the circuit's ephemeral key, ECDH and ciphertexts equal zkmargin.pool.cipher's, which equal
    zk-kit's (test_cipher_both_directions_against_zk_kit)."""
    assert checked.calc is not None
    inputs = _honest(random.Random(eph or 0), eph)
    assert checked.r1cs.failing_constraints(checked.calc.calculate(inputs)) == []


@pytest.mark.slow  # compiles circuits with circom2
def test_circuit_refuses_any_ciphertext_but_the_notes(checked: Built) -> None:
    rng = random.Random(RNG_SEED)
    honest = _honest(rng)
    ct = list(honest["ciphertext"])  # type: ignore[arg-type]
    for i in range(len(ct)):  # every element of both recipients' ciphertexts, authentication included
        bad = list(ct)
        bad[i] = (bad[i] + 1) % R
        _refused(checked, {**honest, "ciphertext": bad})
    # another recipient key (a valid one) with the published ciphertext
    rec = list(honest["recipient"])  # type: ignore[arg-type]
    rec[2:4] = babyjub.public_key(31337)
    _refused(checked, {**honest, "recipient": rec})
    # a different message (one element, e.g. the salt) under the same published ciphertext
    msg = list(honest["message"])  # type: ignore[arg-type]
    msg[6] = (msg[6] + 1) % R
    _refused(checked, {**honest, "message": msg})
    # another ephemeral key than the published one
    eph = list(honest["ephemeralPublicKey"])  # type: ignore[arg-type]
    _refused(checked, {**honest, "ephemeralPublicKey": list(babyjub.public_key(5))})
    assert eph != list(babyjub.public_key(5))


def _consistent(msg: list[int], eph: int, nonce: int, secrets: list[int]) -> dict[str, InputValue]:
    """Inputs whose ephemeral key and ciphertexts are what the circuit computes for any scalar
    and any nonce < r: what a prover who could skip the range checks would publish."""
    recipients = [babyjub.public_key(v) for v in secrets]
    padded = msg + [0] * (cipher.padded_length(len(msg)) - len(msg))
    return {
        "message": msg,
        "ephemeralSecret": eph,
        "nonce": nonce,
        "recipient": [c for p in recipients for c in p],
        "ephemeralPublicKey": list(babyjub.mul(BASE8, eph)),
        "ciphertext": [c for p in recipients for c in _duplex(padded, babyjub.mul(p, eph), nonce, len(msg))],
    }


_RANGE_CHECK = re.compile(r"main\.(nonce|ephemeralSecret|nc\.(inverse|canonical|(Num2Bits|LessThan)_\d+_\d+\..*))$")


def _wire_names(sym: Path) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for line in sym.read_text().splitlines():
        parts = line.split(",", 3)
        out.setdefault(int(parts[1]), []).append(parts[3])
    return out


@pytest.mark.slow  # compiles circuits with circom2
@pytest.mark.parametrize(
    ("eph", "nonce", "ok"),
    [
        (L - 1, 2**128 - 1, True),
        (1, 0, True),
        (L, 0, False),  # e = l: E and every shared key are the identity, readable by anyone
        (0, 0, False),  # e = 0: the same
        (5, 2**128, False),  # every decryptor refuses nonce >= 2^128: a note keepers would not open
    ],
)
def test_circuit_range_checks_both_sides(checked: Built, eph: int, nonce: int, ok: bool) -> None:
    """Each boundary on both sides, with the ephemeral key and ciphertexts made consistent with
    the out-of-range value, so that only the range checks can refuse it."""
    assert checked.calc is not None
    rng = random.Random(RNG_SEED + eph % 1000)
    msg = [rng.randrange(2**128) for _ in range(NOTE_LEN)]
    inputs = _consistent(msg, eph, nonce, [3, 4])
    if ok:
        assert checked.r1cs.failing_constraints(checked.calc.calculate(inputs)) == []
        return
    with pytest.raises(WitnessError):
        checked.calc.calculate(inputs)
    failing = checked.r1cs.failing_constraints(checked.calc.calculate(inputs, lenient=True))
    assert failing
    # only the range checks refuse it: every failing constraint is over their wires alone (the
    # lenient generator skips the rest of the template after the first failed check, so the
    # later checks fail too), never over the ephemeral key, the ECDH or the ciphertexts
    names = _wire_names(checked.sym)
    for i in failing:
        wires = {w for lc in checked.r1cs.constraints[i] for w in lc if w != 0}
        assert all(any(_RANGE_CHECK.match(n) for n in names[w]) for w in wires), (i, [names[w] for w in wires])


@pytest.fixture(scope="module")
def zk_kit_decrypt(tc: Toolchain, tmp_path_factory: pytest.TempPathFactory) -> Built:
    body = 'include "zkkit/poseidon-cipher.circom";\ntemplate D() {\n'
    for n in (1, 5, 7):
        body += f"    signal input ct{n}[{cipher.ciphertext_length(n)}];\n    signal output d{n}[{cipher.padded_length(n)}];\n"
    body += "    signal input key[2];\n    signal input nonce;\n"
    body += "".join(f"    d{n} <== PoseidonDecrypt({n})(ct{n}, nonce, key);\n" for n in (1, 5, 7))
    body += "}\ncomponent main = D();"
    return _compile(tc, tmp_path_factory.mktemp("zk-kit-decrypt"), body)


@pytest.mark.slow  # compiles circuits with circom2
def test_zk_kit_decrypt_circuit_opens_our_ciphertexts(zk_kit_decrypt: Built) -> None:
    """zk-kit's own PoseidonDecrypt circuit (it checks the authentication element) decrypts
    what zkmargin.pool.cipher (and so NoteCiphertexts) encrypts, for lengths 1, 5 and 7."""
    assert zk_kit_decrypt.calc is not None
    rng = random.Random(RNG_SEED + 3)
    key, nonce = babyjub.public_key(rng.randrange(1, L)), rng.randrange(2**128)
    msgs = {n: [rng.randrange(R) for _ in range(n)] for n in (1, 5, 7)}
    inputs: dict[str, InputValue] = {f"ct{n}": cipher.encrypt(m, key, nonce) for n, m in msgs.items()}
    inputs |= {"key": list(key), "nonce": nonce}
    w = zk_kit_decrypt.calc.calculate(inputs)
    pos = 1
    for n in (1, 5, 7):
        width = cipher.padded_length(n)
        assert w[pos : pos + width] == msgs[n] + [0] * (width - n)
        pos += width
    bad = dict(inputs)
    bad["ct7"] = [*msgs[7], 0, 0, 0]  # not a ciphertext of anything under this key
    with pytest.raises(WitnessError):
        zk_kit_decrypt.calc.calculate(bad)


@pytest.mark.slow  # compiles circuits with circom2
def test_zk_kit_decrypt_circuit_leaves_padding_free_when_length_mod_3_is_1(zk_kit_decrypt: Built) -> None:
    """Why NoteCiphertexts does not verify through zk-kit's PoseidonDecrypt: for length % 3 == 1
    (the 7-element opening) its padding check never runs (the `else if` repeats `== 2`), so a
    ciphertext that authenticates with non-zero padding passes; for length % 3 == 2 it is refused."""
    assert zk_kit_decrypt.calc is not None
    key, nonce = babyjub.public_key(4242), 9
    honest: dict[str, InputValue] = {f"ct{n}": cipher.encrypt([1] * n, key, nonce) for n in (1, 5, 7)}
    honest |= {"key": list(key), "nonce": nonce}

    def forged(n: int) -> list[int]:
        return _duplex([1] * n + [666] * (cipher.padded_length(n) - n), key, nonce, n)

    w = zk_kit_decrypt.calc.calculate({**honest, "ct7": forged(7)})
    assert w[1 + 3 + 6 : 1 + 3 + 6 + 9] == [1] * 7 + [666, 666]  # accepted, padding free
    zk_kit_decrypt.calc.calculate({**honest, "ct1": forged(1)})  # accepted too
    with pytest.raises(WitnessError):
        zk_kit_decrypt.calc.calculate({**honest, "ct5": forged(5)})
    with pytest.raises(cipher.DecryptionError, match="padding"):
        cipher.decrypt(forged(7), key, nonce, 7)


# Constraint counts (circom --O2) of NoteCiphertexts(L, K) compiled alone; pinned here.
#   fixed part 1156: nonce Num2Bits(128) 128 + ephemeral secret LessThan(251) 252 + != 0 1 + BabyPbk 776,
#   - 1 folded by O2 (measured: the three compiled alone give 128, 252 and 776)
#   per recipient 3607: zk-kit Ecdh 2554 (Num2Bits(253) + EscalarMulAny(253)) + 4 PoseidonEx(3, 4)
#   (3 blocks of a 7- or 8-element opening + the authentication permutation) 4 x 264 - 3 (the
#   first permutation's capacity element is the constant 0)
CONSTRAINTS: dict[tuple[int, int], int] = {(7, 1): 4763, (8, 1): 4763, (8, 2): 8370, (8, 3): 11977}


@pytest.mark.slow  # compiles circuits with circom2
def test_constraint_counts(tc: Toolchain, tmp_path_factory: pytest.TempPathFactory) -> None:
    counts = {}
    for n, k in ((7, 1), (8, 1), (8, 2), (8, 3)):
        body = f'include "circuits/lib/note_cipher.circom";\ncomponent main = NoteCiphertexts({n}, {k});'
        counts[(n, k)] = _compile(
            tc, tmp_path_factory.mktemp(f"count-{n}-{k}"), body, wasm=False
        ).r1cs.header.n_constraints
    print("NoteCiphertexts constraints:", counts)
    per_recipient = counts[(8, 2)] - counts[(8, 1)]
    assert counts[(8, 3)] - counts[(8, 2)] == per_recipient
    assert counts[(7, 1)] == counts[(8, 1)]  # 7 and 8 both pad to 9: same blocks
    assert counts == CONSTRAINTS
