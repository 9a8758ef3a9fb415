"""Numbering the distinct values of large columns (codes + distinct values), fast.

Writers encode each *distinct* value once and spread the result with a take: clinical
columns repeat a few values millions of times. How fast the numbering is depends on how
the column holds its values, so each storage gets its own route: integer keys by runs and
hashing (``factorize_keys``), object arrays by object identity and then by value
(``factorize_objects``), pandas ``string``/categorical/pyarrow columns by their own
structure (``text_codes``). Used by the XPT and Dataset-JSON writers. ``factorize`` is
``pd.factorize`` with the object-first numbering of text, exact, for derivations and
tables that group by the codes.
"""
from __future__ import annotations

import ctypes
import sys
import weakref

import numpy as np
import pandas as pd

from .arrays import combine_codes, value_ranks


def first_occurrences(codes: np.ndarray) -> np.ndarray:
    """Positions where each code first appears, given codes numbered by first appearance.

    pd.factorize numbers values in order of appearance, so a row holds a new value exactly
    when its code exceeds every earlier code.
    """
    if codes.size == 0:
        return np.zeros(0, dtype=np.intp)
    starts = _long_run_starts(codes)
    if starts is not None:      # a code first appears where a run of it starts
        return starts[first_occurrences(codes[starts])]
    running = np.maximum.accumulate(codes)
    new = np.empty(codes.size, dtype=bool)
    new[0] = True
    np.greater(running[1:], running[:-1], out=new[1:])
    return np.flatnonzero(new)


def factorize_keys(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(codes, first positions) of integer keys, codes numbered by first appearance.

    Clinical data sets are sorted by their keys, so identifiers and constants come in runs
    of equal values. When runs are long (fewer than a quarter as many runs as rows), only
    the first key of each run is hashed and its code is spread along the run; otherwise
    every key goes to pd.factorize. The run count costs one comparison pass.
    """
    count = keys.size
    run_starts = _long_run_starts(keys)
    if run_starts is not None:
        run_codes = pd.factorize(keys[run_starts])[0]
        first = run_starts[first_occurrences(run_codes)]
        # each run's code repeated along it: one writing pass (no running count of
        # runs per row and gather from it)
        return run_codes.repeat(np.diff(run_starts, append=count)), first
    codes = pd.factorize(keys)[0]
    return codes, first_occurrences(codes)


def key_firsts(keys: np.ndarray) -> np.ndarray:
    """``factorize_keys(keys)[1]`` (where each distinct key first appears, in row order)
    without writing a code per row: what a caller needs that reads only the distinct
    values (their lengths, whether a codelist holds them)."""
    # no code is spread along the runs here, so hashing the run starts instead of every
    # row pays up to about 3 runs in 4 rows (hashing costs ~10 comparison passes)
    run_starts = _long_run_starts(keys, share=0.6)
    if run_starts is not None:
        return run_starts[_unrepeated(keys[run_starts])]
    return _unrepeated(keys)


def _unrepeated(keys: np.ndarray) -> np.ndarray:
    """Rows (ascending) whose key no earlier row holds: one hashing pass for repeats
    (pandas' ``duplicated``), without the code per row and the running maximum over it
    that ``first_occurrences(pd.factorize(keys)[0])`` takes: 2-3 times as fast."""
    return np.flatnonzero(~pd.Series(keys, copy=False).duplicated().to_numpy())


def _long_run_starts(keys: np.ndarray, share: float = 0.25) -> np.ndarray | None:
    """The first row of each run of equal keys when the runs are long (fewer runs than
    ``share`` of the rows): one comparison pass; None otherwise."""
    count = keys.size
    if count < 2:
        return None
    starts = np.empty(count, dtype=bool)
    starts[0] = True
    np.not_equal(keys[1:], keys[:-1], out=starts[1:])
    if np.count_nonzero(starts) < count * share:
        return np.flatnonzero(starts)
    return None


_VALUE_SAMPLE = 10_000  # distinct objects sampled to see whether equal values repeat


def factorize_text(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize`` of an object array, exact for text holding NUL characters.

    pandas (2.3) hashes an object array whose values are all ``str`` as C strings, which
    end at the first NUL: ``"a\\x00b"``, ``"a\\x00c"`` and ``"a"`` get one code, and ``""``
    and ``"\\x00"`` another, so a distinct-value step would silently change them. pandas'
    numbering is checked (``_numbered_exactly``) and only when a NUL may have merged
    values is a ``None`` appended, which makes pandas hash the Python objects themselves
    (slower, exact).
    """
    values = np.asarray(values, dtype=object)
    codes, uniques = pd.factorize(values)
    if _numbered_exactly(values, codes, uniques):
        return codes, uniques
    codes, uniques = pd.factorize(np.append(values, None))
    return codes[:-1], uniques


def _numbered_exactly(values: np.ndarray, codes: np.ndarray, uniques: np.ndarray) -> bool:
    """True when pd.factorize gave ``values`` the codes it would give if no NUL ended a
    string early.

    Values that are not all ``str`` are hashed as objects, exactly. All ``str``: a row
    whose value holds a NUL either is a distinct value itself (its NUL shows in the
    distinct values) or was numbered as the distinct value its text before the NUL
    equals, which is then shorter than the row. So when no distinct value holds a NUL,
    the numbering is exact exactly when every row is as long as its distinct value:
    lengths read from the string headers (``_str_lengths``) cost a few ms a million rows.
    Where they cannot be read, or most rows are distinct values anyway, one join of every
    row (C speed, about 15 ms a million) tells whether any holds a NUL.
    """
    if (codes < 0).any():   # a missing value: not all text, pandas hashed the objects
        return True
    lengths = _str_lengths(values) if uniques.size * 4 <= values.size else None
    if lengths is None:
        try:
            return "\x00" not in "".join(values.tolist())
        except TypeError:     # not all text: pandas hashed the objects, exactly
            return True
    texts = uniques.tolist()  # every row is a str here, so is every distinct value
    if "\x00" in "".join(texts):
        return False
    expected = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    return bool(np.array_equal(expected.take(codes), lengths))


def _object_addresses(values: np.ndarray) -> np.ndarray:
    """The object addresses a contiguous object array stores, as unsigned integers (a view:
    meaningful only while ``values`` holds the objects)."""
    pointers = (ctypes.c_char * values.nbytes).from_address(values.ctypes.data)
    return np.frombuffer(pointers, dtype=np.uintp)


def _probe_str_header() -> bool:
    """Whether a CPython ``str`` object holds its type at word 1 and its length at word 2
    of its header (true of CPython 3.3 and later, not of its free-threaded builds),
    checked on strings of every internal kind."""
    if sys.implementation.name != "cpython" or ctypes.sizeof(ctypes.c_void_p) != 8:
        return False
    probes = ["", "a", "ab\x00", "\xe9" * 3, "\u20ac" * 5, "\U0001d11e" * 2, "x" * 1000]
    return all(ctypes.c_int64.from_address(id(text) + 8).value == id(str)
               and ctypes.c_int64.from_address(id(text) + 16).value == len(text)
               for text in probes)


_STR_HEADER = _probe_str_header()
# words 1 and 2 of an object header: its type, and for a str its length
_HEADER = np.dtype([("type", "<i8"), ("length", "<i8")])


def _str_lengths(values: np.ndarray) -> np.ndarray | None:
    """The length of every value, read from the objects' headers with one numpy gather
    (no Python call per row), or None when some value is not exactly a ``str`` or the
    interpreter's objects are laid out otherwise.

    The gather indexes one view of 16-byte records spanning the lowest to the highest
    object address (objects are 16-byte aligned); it reads only the type and length words
    of the objects themselves, and no length is trusted unless every type is ``str``.
    """
    if not _STR_HEADER or values.size == 0:
        return None
    addresses = _object_addresses(np.ascontiguousarray(values))
    low = int(addresses.min())
    offsets = addresses - np.uintp(low)
    if (offsets & np.uintp(15)).any():
        return None
    records = (int(addresses.max()) - low) // 16 + 1
    try:
        memory = np.frombuffer((ctypes.c_char * (records * 16)).from_address(low + 8),
                               dtype=_HEADER)
    except (OverflowError, MemoryError, ValueError):
        return None
    header = memory.take((offsets >> np.uintp(4)).view(np.intp))
    if not (header["type"] == id(str)).all():
        return None
    return header["length"]


def object_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(codes, first positions) of the distinct *objects* in an object array.

    On CPython an object array stores object addresses: read as integers they factorize as
    fast as any integer column, without touching the objects. Elsewhere every row counts
    as its own object.
    """
    if sys.implementation.name != "cpython" or values.size == 0:
        everyone = np.arange(values.size, dtype=np.intp)
        return everyone, everyone
    return factorize_keys(_object_addresses(values))


def object_firsts(values: np.ndarray) -> np.ndarray:
    """``object_codes(values)[1]``: the row where each distinct object first appears, in
    row order, without a code per row (:func:`key_firsts` of the addresses)."""
    if sys.implementation.name != "cpython" or values.size == 0:
        return np.arange(values.size, dtype=np.intp)
    values = np.ascontiguousarray(values)     # held while its addresses are read
    return key_firsts(_object_addresses(values))


def isin_distinct(values, wanted) -> np.ndarray:
    """``pd.Series(values).isin(wanted)`` as a boolean array, each distinct value tested
    once: a flag, code or identifier column repeats a few texts over a million records,
    which are then not hashed record by record. An object column is numbered by object
    first (:func:`factorize_objects`: frames read from files or built by ``map`` share one
    string object per value); a missing value is in ``wanted`` when a missing value is,
    as ``isin`` takes NaN and None alike."""
    series = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values),
                                                                    copy=False)
    wanted = list(wanted)
    if series.dtype != object:
        return series.isin(wanted).to_numpy(dtype=bool)
    codes, uniques = factorize_objects(series.to_numpy())
    hit = pd.Series(uniques, dtype=object).isin(wanted).to_numpy(dtype=bool)
    # code -1 (a missing value) takes the last entry
    missing = bool(pd.isna(pd.Index(wanted, dtype=object)).any())
    return np.append(hit, missing)[codes]


def holds_objects(values: np.ndarray, codes: np.ndarray, uniques: np.ndarray) -> bool:
    """True when every row of the object array ``values`` holds the very object
    ``uniques[code]`` (no missing code): then ``uniques.take(codes)`` would rebuild the
    same array, object for object, and a caller may keep ``values`` instead. Compares
    object addresses (one integer take, no Python call per row); False off CPython."""
    if sys.implementation.name != "cpython" or values.dtype != object or \
            len(codes) != values.size or (len(codes) and int(codes.min()) < 0):
        return False
    if values.size == 0:
        return True
    rows = _object_addresses(np.ascontiguousarray(values))
    distinct = _object_addresses(np.ascontiguousarray(uniques, dtype=object))
    return bool(np.array_equal(rows, distinct.take(codes)))


def value_codes(values: np.ndarray) -> tuple[np.ndarray, int]:
    """(code per row, number of codes) of an array, exactly one code per distinct value
    (missing values one code of their own). An object array is numbered by object identity
    first, then by value over the distinct objects only (exact for text holding NUL): raw
    tables and mapped columns share one string object per distinct value, so the second
    step hashes few strings."""
    if values.dtype != object:
        by_value, uniques = pd.factorize(values)
        codes = by_value.astype(np.int64, copy=False)
        return (codes + 1, len(uniques) + 1) if (codes < 0).any() else (codes, len(uniques))
    values = np.ascontiguousarray(values, dtype=object)
    by_object, first = object_codes(values)
    by_value, uniques = factorize_text(values[first])
    codes = by_value.astype(np.int64, copy=False).take(by_object)
    if (by_value < 0).any():            # missing values: one more code, 0
        return codes + 1, len(uniques) + 1
    return codes, len(uniques)


def duplicated_rows(columns: list[np.ndarray], keep: str | bool = False) -> np.ndarray:
    """Rows whose combination of values in ``columns`` (arrays of one length) occurs on more
    than one row: pandas' ``duplicated(keep=...)`` (``False``: every such row; ``"first"``:
    all but the first), each column numbered by :func:`value_codes` rather than hashing
    every string."""
    if not columns:
        return np.zeros(0, dtype=bool)
    combined, span = combine_codes(map(value_codes, columns), len(columns[0]), renumber=True)
    if len(columns) == 1 and span == combined.size:
        return np.zeros(combined.size, dtype=bool)      # every value distinct
    return pd.Series(combined, copy=False).duplicated(keep=keep).to_numpy()


def _long_runs(head: np.ndarray) -> bool:
    """True when neighbouring rows of ``head`` hold equal values in runs averaging more
    than two rows: then comparing every row with the next (a third of the cost of hashing
    it) and hashing only each run's first value beats hashing every row. Raises TypeError
    or ValueError for values whose comparison has no truth value (``pd.NA``)."""
    return head.size > 1 and np.count_nonzero(head[1:] != head[:-1]) * 2 < head.size


def _distinct_objects_repeating_values(values: np.ndarray) -> bool:
    """True when a strided sample of rows shows mostly distinct *objects* holding values
    that repeat, or that come in runs: frames built by string operations, formatting or
    ``numpy`` choice (``astype(object)``) give every row its own string object. Grouping by
    object first would then hash a million addresses only to hash the same million
    strings again (or, for a sorted identifier such as USUBJID, to hash them all instead
    of one per run).
    """
    if values.size <= 4 * _VALUE_SAMPLE:
        return False
    sample = values[::values.size // _VALUE_SAMPLE][:_VALUE_SAMPLE]
    objects = object_codes(np.ascontiguousarray(sample))[1].size
    if objects <= _VALUE_SAMPLE // 2:
        return False
    if pd.unique(sample).size <= 0.8 * _VALUE_SAMPLE:
        return True
    try:
        return _long_runs(values[:_VALUE_SAMPLE])
    except (TypeError, ValueError):
        return False


def factorize_values(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(codes, distinct values) of an object array by value, hashing as few as it can.

    Sorted data sets hold their identifiers, dates and constants in runs of equal values:
    when the first rows show long runs, one C-level comparison of neighbours (a third of
    the cost of hashing) finds the runs and only each run's first value is hashed. Values
    whose comparison has no truth value (``pd.NA``) fall back to hashing every row.
    """
    count = values.size
    try:
        if _long_runs(values[:_VALUE_SAMPLE]):
            starts = np.empty(count, dtype=bool)
            starts[0] = True
            np.not_equal(values[1:], values[:-1], out=starts[1:])
            if np.count_nonzero(starts) * 2 < count:
                run_starts = np.flatnonzero(starts)
                run_codes, uniques = factorize_text(values[run_starts])
                return (run_codes.astype(np.intp, copy=False).repeat(
                            np.diff(run_starts, append=count)),
                        np.asarray(uniques, dtype=object))
    except (TypeError, ValueError):
        pass
    codes, uniques = factorize_text(values)
    return codes.astype(np.intp, copy=False), np.asarray(uniques, dtype=object)


def factorize_objects(values: np.ndarray, exact: bool = False
                      ) -> tuple[np.ndarray, np.ndarray]:
    """(codes, distinct values) of an object array, numbered by first appearance; -1: NA.

    Two steps, because hashing a million strings is the slowest part of writing: first by
    object identity (object_codes), then by value over the distinct objects only, which
    merges equal strings held by different objects. Frames from read_csv, map,
    categoricals or read_xpt share their string objects, so the second step is usually
    tiny. Unless ``exact``, it is skipped when more than 40,000 distinct objects sample as
    mostly distinct values: equal strings held by two objects then get two codes (a
    writer just writes two identical table rows; a caller that groups rows by the codes
    must ask for ``exact``). It is also skipped for non-text objects, which the caller
    reports.
    """
    values = np.ascontiguousarray(values, dtype=object)
    if _distinct_objects_repeating_values(values):
        return factorize_values(values)
    by_object, first = object_codes(values)
    objects = values[first]
    mapping = None  # distinct object -> code, when it is not the identity
    if pd.api.types.infer_dtype(objects, skipna=False) != "string":  # some NA or non-text
        missing = pd.isna(objects)
        mapping = np.cumsum(~missing, dtype=np.intp) - 1
        mapping[missing] = -1
        objects = objects[~missing]
        if pd.api.types.infer_dtype(objects, skipna=False) not in ("string", "empty"):
            return mapping.take(by_object), objects
    if objects.size and (exact or not (
            objects.size > 4 * _VALUE_SAMPLE
            and pd.unique(objects[:_VALUE_SAMPLE]).size > 0.8 * _VALUE_SAMPLE)):
        by_value, uniques = factorize_text(objects)
        mapping = by_value if mapping is None else np.where(
            mapping < 0, -1, by_value.take(np.maximum(mapping, 0)))
        objects = np.asarray(uniques, dtype=object)
    codes = by_object if mapping is None else mapping.take(by_object)
    return codes.astype(np.intp, copy=False), objects


def factorize(values, *, sort: bool = False, use_na_sentinel: bool = True):
    """``pd.factorize(values, sort=..., use_na_sentinel=...)`` of a 1-D array or Series:
    the same codes (equal values, one code) and distinct values, but text is numbered by
    object identity first and by value over its distinct objects only
    (:func:`factorize_objects`, ``exact``): columns read or mapped share one string object
    per distinct value, so few strings are hashed and no missing-value pass runs over every
    row. Unlike pandas, text holding a NUL character is not cut short.

    Text: the values as an array (a Series' ``to_numpy()``, which also turns pandas'
    ``string`` and categorical columns into objects) that is an object array of ``str``
    and missing values; its distinct values come back as an object array. Anything else
    (numbers, dates, objects that are not all text: pandas takes 1, 1.0 and True for one
    value) goes to pandas as given: a Series stays a Series, so its dtype decides the
    distinct values' type and what is missing, as ``pd.factorize`` would.
    """
    array = values.to_numpy() if isinstance(values, pd.Series) else np.asarray(values)
    if array.dtype != object or array.ndim != 1:
        return pd.factorize(values, sort=sort, use_na_sentinel=use_na_sentinel)
    codes, uniques = factorize_objects(array, exact=True)    # intp codes, object array
    if pd.api.types.infer_dtype(uniques, skipna=False) not in ("string", "empty"):
        return pd.factorize(values, sort=sort, use_na_sentinel=use_na_sentinel)
    if sort and len(uniques):
        # by Python's comparison (pandas' order for str), not pandas' sort, whose hashing
        # would take "a" and "a\x00b" for one value
        rank = value_ranks(uniques)
        uniques = uniques[np.argsort(rank, kind="stable")]
        codes = np.where(codes < 0, -1, rank.take(np.maximum(codes, 0)))
    missing = codes < 0
    if not use_na_sentinel and missing.any():
        # a missing value becomes a value (NaN, as pandas gives it) numbered where it
        # first appears, or after every value with ``sort``
        at = len(uniques) if sort else int(codes[:int(np.argmax(missing))].max(initial=-1)) + 1
        codes = np.where(missing, at, np.where(codes >= at, codes + 1, codes))
        uniques = np.insert(uniques, at, np.nan)
    return codes, uniques


def _arrow_text_codes(series: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """(codes, distinct values) of a pyarrow-backed text column, by Arrow's own dictionary
    encoding (C++, no Python string per row); None when the column is not Arrow text.

    pyarrow is imported only here, for a column that is already Arrow data.
    """
    if not isinstance(series.array, pd.arrays.ArrowExtensionArray):
        return None
    import pyarrow as pa

    data = pa.chunked_array(pa.array(series.array))
    if not (pa.types.is_string(data.type) or pa.types.is_large_string(data.type)):
        return None
    encoded = data.combine_chunks().dictionary_encode()
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False)
    return (codes.astype(np.intp, copy=False),
            np.asarray(encoded.dictionary.to_pylist(), dtype=object))


def in_first_appearance_order(codes: np.ndarray, count: int) -> bool:
    """True when integer ``codes`` (-1: missing) number ``count`` values by first
    appearance, every value used: each row's code is at most one above every earlier
    row's, and the largest is ``count - 1``."""
    if codes.size == 0:
        return count == 0
    starts = _long_run_starts(codes)
    if starts is not None:      # sorted data sets: a run's first row says it for the run
        codes = codes[starts]
    wide = codes.astype(np.int64)   # the running maximum + 1 must not wrap in int8
    running = np.maximum.accumulate(wide)
    if int(running[-1]) != count - 1 or wide[0] > 0:
        return False
    return bool(np.all(wide[1:] <= running[:-1] + 1))


#: categoricals made numbered by first appearance (io.numbering.compact_text), by id:
#: a weak reference each, whose callback forgets the entry
_NUMBERED: dict[int, weakref.ref] = {}


def mark_first_appearance(values: pd.Categorical) -> None:
    """Record that its maker numbered the categorical ``values`` by first appearance with
    every category used, so that :func:`categorical_codes` does not check it again (a
    pass over the codes: ~3 ms a million rows, for each writer and each describing step
    that asks)."""
    key = id(values)
    _NUMBERED[key] = weakref.ref(values, lambda _gone, key=key: _NUMBERED.pop(key, None))


def categorical_codes(series: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """A categorical column's own codes and its categories (an object array), when they
    are what numbering it by first appearance gives (every category used, -1 missing:
    ``io.numbering.compact_text``'s columns); None otherwise. The codes are the column's
    own array, in pandas' integer type (which also holds ``codes + 1``): not to be
    changed."""
    if not isinstance(series.dtype, pd.CategoricalDtype):
        return None
    values = series.array
    held = values.codes
    known = _NUMBERED.get(id(values))
    if (known is None or known() is not values) and not in_first_appearance_order(
            held, len(series.dtype.categories)):
        return None
    return held, series.dtype.categories.to_numpy(dtype=object)


def text_codes(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(codes, distinct values) of a text column, -1 for missing, whatever its storage.

    Categoricals are numbered through their integer codes and pyarrow strings by Arrow;
    pandas' python-backed ``string`` dtype already holds an object array (``pd.NA`` for
    missing), taken as it is rather than copied with its NAs replaced row by row.
    """
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        held = categorical_codes(series)
        if held is not None:
            # already numbered so (io.numbering.compact_text): no hashing pass
            return held[0].astype(np.intp), held[1]
        codes, used = pd.factorize(series.array.codes)
        categories = series.cat.categories.to_numpy(dtype=object)
        present = used >= 0
        mapping = np.where(present, np.cumsum(present) - 1, -1)
        return (np.where(codes < 0, -1, mapping.take(np.maximum(codes, 0))).astype(np.intp),
                categories.take(used[present]))
    arrow = _arrow_text_codes(series)
    if arrow is not None:
        return arrow
    if isinstance(dtype, pd.StringDtype):
        return factorize_objects(np.asarray(series.array, dtype=object))
    return factorize_objects(series.to_numpy(dtype=object))
