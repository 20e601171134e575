/* groth16_format.py's decimal strings, read in C for a batch (groth16_format.pack_batch): the
 * values of a batch of proofs and public signals are thousands of 77-digit numbers, which
 * Python's regular expression, int() and to_bytes take about a millisecond to check and convert.
 *
 * The rules are groth16_format's: ASCII digits only, no sign, no leading zero ("0" itself is
 * fine), at most 78 digits, and the value below its bound (q for coordinates, r for public
 * signals), so that every value has one encoding. tests/test_encodings.py holds this reader
 * equal to the Python one on hostile strings. */
#include <stddef.h>
#include <stdint.h>

#include "bn254.h"

#define MAX_DIGITS 78

/* acc = acc * 10^k + add; 0 if the result still fits in 256 bits */
static int mul_add(uint64_t acc[4], uint64_t pow10, uint64_t add) {
    u128 carry = add;
    for (int i = 0; i < 4; i++) {
        u128 t = (u128)acc[i] * pow10 + carry;
        acc[i] = (uint64_t)t;
        carry = t >> 64;
    }
    return carry != 0;
}

/* One value from s[0..len): 0 and its 32 little-endian bytes in out, or -1 when it breaks a rule. */
static int parse_one(const char *s, size_t len, const fe *bound, uint8_t *out) {
    if (len == 0 || len > MAX_DIGITS || (s[0] == '0' && len > 1)) return -1;
    uint64_t acc[4] = {0, 0, 0, 0};
    size_t i = 0;
    while (i < len) {
        uint64_t chunk = 0, pow10 = 1;
        for (int k = 0; k < 19 && i < len; k++, i++) {
            unsigned d = (unsigned char)s[i] - '0';
            if (d > 9) return -1;
            chunk = chunk * 10 + d;
            pow10 *= 10;
        }
        if (mul_add(acc, pow10, chunk)) return -1;  /* >= 2^256: above every bound */
    }
    fe v = {{acc[0], acc[1], acc[2], acc[3]}};
    if (geq(&v, bound)) return -1;
    memcpy(out, acc, 32);  /* little-endian hosts only, as everywhere in this library */
    return 0;
}

/* text[0..len): exactly `count` comma-separated values, the first n_q below q and the rest below
 * r, into out (32 bytes each). Returns 0, or -1 when a value breaks a rule or the count differs
 * (groth16_format then finds which one with its own reader, and names it). */
int zkm_parse_decimals(const char *text, uint64_t len, uint64_t count, uint64_t n_q, uint8_t *out) {
    size_t at = 0;
    for (uint64_t k = 0; k < count; k++) {
        size_t end = at;
        while (end < len && text[end] != ',') end++;
        if (k + 1 < count ? end == len : end != len) return -1;  /* too few values, or too many */
        if (parse_one(text + at, end - at, k < n_q ? &Q : &FR_MOD, out + 32 * k)) return -1;
        at = end + 1;
    }
    return count == 0 && len != 0 ? -1 : 0;
}
