"""SAS XPORT v5: ibm (see the package docstring)."""
from __future__ import annotations


import numpy as np


from .layout import IBM_MAX_EXP2, IBM_MIN_EXP2, MISSING_CODES, MISSING_DOT


# ---------------------------------------------------------------------------------------
# IBM System/360 floating point <-> IEEE 754 double, vectorised
# ---------------------------------------------------------------------------------------

def _ieee_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tables indexed by a double's top 12 bits (sign and biased binary exponent e).

    ``head``: the IBM first byte (sign, excess-64 exponent floor(e/4)+65) moved to bits
    56-63, or the '.' missing byte for NaN. ``scale``: 2**(e mod 4), the left shift that
    puts the 53-bit significand into the 56-bit fraction with a non-zero first hex digit;
    0 where the IBM image is all zero bits (zero, subnormals, below 2**-260) or missing.
    ``kind``: 0 in range, 1 below the range (zero included), 2 beyond it, 3 NaN or inf.
    """
    top = np.arange(4096)
    biased = top & 0x7FF
    exp2 = biased - 1023
    in_range = (exp2 >= IBM_MIN_EXP2) & (exp2 <= IBM_MAX_EXP2)
    ibm_exp = np.clip((exp2 >> 2) + 65, 0, 127).astype(np.uint64)
    sign = (top >> 11).astype(np.uint64) << np.uint64(63)
    head = np.where(in_range, sign | (ibm_exp << np.uint64(56)), np.uint64(0))
    head[biased == 0x7FF] = MISSING_DOT
    scale = np.where(in_range, 1 << (exp2 & 3), 0).astype(np.uint64)
    kind = np.select([in_range, exp2 < IBM_MIN_EXP2, biased == 0x7FF], [0, 1, 3], 2)
    return head.astype(np.uint64), scale, kind.astype(np.uint8)


_IEEE_HEAD, _IEEE_SCALE, _IEEE_KIND = _ieee_tables()
_BELOW, _BEYOND, _NAN_OR_INF = 1, 2, 3
_SIGNIFICAND = np.uint64(0x000F_FFFF_FFFF_FFFF)
_IMPLICIT_ONE = np.uint64(1 << 52)
_SHIFT_52 = np.uint64(52)


def ibm_block(doubles: np.ndarray, out: np.ndarray) -> int:
    """IBM images of doubles (each NaN or within the IBM range) written into ``out``.

    Rule: IBM = sign | E << 56 | (1.m as a 53-bit integer) << (e mod 4), exact; the tables
    make zero and tiny values 0 and NaN the '.' missing value. Works on one cache-sized
    block so that its temporaries are reused memory. Returns how many non-zero values were
    below the IBM range (and so written as 0).
    """
    bits = doubles.view(np.uint64)
    index = (bits >> _SHIFT_52).view(np.int64)
    np.bitwise_and(bits, _SIGNIFICAND, out=out)
    out |= _IMPLICIT_ONE
    out *= _IEEE_SCALE.take(index)  # a shift of 0-3 bits, or 0 to clear the fraction
    out |= _IEEE_HEAD.take(index)
    below = np.count_nonzero(_IEEE_KIND.take(index) == _BELOW)
    return int(below - np.count_nonzero(doubles == 0)) if below else 0


def ieee_to_ibm(values) -> np.ndarray:
    """Convert doubles to IBM 8-byte floats, returned as native ``uint64`` bit patterns.

    Rule: value = (-1)**s * 0.F * 16**(E-64) with a 7-bit excess-64 exponent E and a 56-bit
    fraction F whose first hex digit is non-zero. A double 1.m * 2**e maps exactly: shift the
    53-bit significand left by e mod 4 (0-3 bits, so it still fits in 56) and set
    E = floor(e / 4) + 65. NaN becomes the SAS missing value '.' (0x2E then zeros); zero,
    -0.0 and magnitudes below 2**-260 become 0. Raises ValueError for infinities and
    magnitudes of 2**252 and above, which have no IBM image (write_xpt checks first).
    """
    x = np.ascontiguousarray(values, dtype=np.float64).ravel()
    if out_of_ibm_range(x):
        raise ValueError("value out of the IBM floating point range (|x| >= 2**252 or inf)")
    out = np.empty(x.size, dtype=np.uint64)
    ibm_block(x, out)
    return out


def out_of_ibm_range(values: np.ndarray) -> bool:
    """True if any value is infinite or at least 2**252 in magnitude (NaN is fine).

    Two reductions (fmax/fmin skip NaN) instead of a per-value mask: no large temporary.
    """
    if values.size == 0:
        return False
    limit = 2.0 ** (IBM_MAX_EXP2 + 1)
    return float(np.fmax.reduce(values)) >= limit or float(np.fmin.reduce(values)) <= -limit


def _ibm_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tables indexed by an IBM number's top 12 bits (sign, exponent, first hex digit).

    ``scale``: (-1)**sign * 2**(4*(E-64) - 56), an exact power of two. ``keep``: a mask
    that keeps the 53 significant fraction bits a double can hold: a normalised fraction
    has its leading 1 bit 0-3 places below bit 55 and that many low bits are dropped
    (truncation, as TS-140's xpt2ieee and ReadStat do, so the two agree bit for bit).
    ``zero``, indexed by the first byte: what a zero fraction means: NaN for the missing
    codes ('.', '_', 'A'-'Z'), else 0.0 or -0.0.
    """
    top = np.arange(4096)
    first_byte, nibble = top >> 4, top & 0xF
    sign = np.where(first_byte & 0x80, -1.0, 1.0)
    scale = sign * np.ldexp(1.0, 4 * ((first_byte & 0x7F) - 64) - 56)
    dropped = np.select([nibble >= 8, nibble >= 4, nibble >= 2], [3, 2, 1], 0)
    keep = ~((np.uint64(1) << dropped.astype(np.uint64)) - np.uint64(1))
    zero = np.where(np.arange(256) & 0x80, -0.0, 0.0)
    for code in "." + MISSING_CODES:
        zero[ord(code)] = np.nan
    return scale, keep, zero


_IBM_SCALE, _IBM_KEEP, _IBM_ZERO = _ibm_tables()
_FRACTION = np.uint64(0x00FF_FFFF_FFFF_FFFF)


def doubles_block(words: np.ndarray, out: np.ndarray) -> dict[int, str]:
    """Doubles from a block of IBM words (native uint64) written into ``out``.

    Rule: value = fraction * 2**(4*(E-64) - 56), signed; a zero fraction whose first byte
    is '.', '_' or 'A'-'Z' is a SAS missing value (NaN). Returns {position in block: code}
    for the special missing values .A-.Z and ._.
    """
    index = (words >> _SHIFT_52).view(np.int64)
    fraction = words & _FRACTION
    fraction &= _IBM_KEEP.take(index)
    # The fraction (< 2**56) fits an int64, whose conversion to double is a single
    # instruction (uint64's is not); then scale by an exact power of two.
    np.copyto(out, fraction.view(np.int64), casting="unsafe")
    out *= _IBM_SCALE.take(index)
    zero = np.flatnonzero(fraction == 0)
    if zero.size == 0:
        return {}
    first_byte = index[zero] >> 4
    out[zero] = _IBM_ZERO.take(first_byte)
    tagged = ((first_byte >= ord("A")) & (first_byte <= ord("Z"))) | (first_byte == ord("_"))
    if not tagged.any():
        return {}
    codes = first_byte[tagged].astype(np.uint8).view("S1").astype("U1")
    return dict(zip(zero[tagged].tolist(), codes.tolist()))


def ibm_to_ieee(words) -> np.ndarray:
    """Convert IBM 8-byte floats (native ``uint64`` bit patterns) to doubles (NaN: missing).

    Rule: value = fraction * 2**(4*(E-64) - 56) with the sign from the top bit; a zero
    fraction whose first byte is '.', '_' or 'A'-'Z' is a SAS missing value.
    """
    w = np.ascontiguousarray(words, dtype=np.uint64).ravel()
    out = np.empty(w.size, dtype=np.float64)
    doubles_block(w, out)
    return out


