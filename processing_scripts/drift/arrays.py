"""pyarrow -> numpy without importing pandas.

pyarrow's ``Array.to_numpy`` and any conversion of a Python scalar (``pa.scalar``, a Python value
passed to a compute function) import pandas when it is installed, to check for pandas types: 1-2 s
per process, more than the whole check of a million rows. The hot path of the engine therefore
reads the Arrow buffers directly: zero-copy views of null-free primitive arrays.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_DTYPES = {pa.float64(): np.float64, pa.int64(): np.int64, pa.int32(): np.int32, pa.uint64(): np.uint64}


def view(array: pa.Array) -> np.ndarray:
    """A read-only numpy view of a null-free float64/int64/int32/uint64/bool array."""
    if array.null_count:
        raise ValueError("view() needs an array without nulls; drop them first")
    if pa.types.is_boolean(array.type):
        bits = np.frombuffer(array.buffers()[1], dtype=np.uint8)
        return np.unpackbits(bits, bitorder="little")[array.offset : array.offset + len(array)].astype(bool)
    dtype = _DTYPES[array.type]
    if len(array) == 0:
        return np.empty(0, dtype=dtype)
    return np.frombuffer(
        array.buffers()[1], dtype=dtype, count=len(array), offset=array.offset * np.dtype(dtype).itemsize
    )


def present_floats(array: pa.Array) -> np.ndarray:
    """The non-null values of a numeric array as float64."""
    floats = pc.cast(array, pa.float64())
    if floats.null_count:
        floats = floats.filter(pc.is_valid(floats))
    return view(floats)


def count_true(mask: pa.Array) -> int:
    """True entries of a boolean array (nulls are not true)."""
    if mask.null_count:
        mask = mask.filter(pc.is_valid(mask))
    return int(np.count_nonzero(view(mask)))
