"""Array types of the engine: fixed-point money, quantities and epoch seconds are int64 arrays.

NumPy's operators and reductions answer ``Any`` to the type checker; a value returned from the engine is
declared with one of these aliases first, so callers see the array type the engine guarantees.
:func:`int64_input` and :func:`bool_input` take a caller's input column to these types, refusing the wrong kind.
"""

from __future__ import annotations

from typing import TypeAlias

import numpy as np
from numpy.typing import NDArray

Int64Array: TypeAlias = NDArray[np.int64]
BoolArray: TypeAlias = NDArray[np.bool_]
FloatArray: TypeAlias = NDArray[np.float64]
DayArray: TypeAlias = NDArray[np.datetime64]


def int64_input(values: object, name: str) -> Int64Array:
    """An input column of whole numbers (分, days, years, indexes, epoch seconds) as int64; floats and booleans
    are refused with a message naming the column, so that a caller's mistake never turns into a silent cast."""
    array = np.asarray(values)
    if array.size == 0:  # an empty list is float64 to NumPy
        return np.zeros(array.shape, dtype=np.int64)
    if array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name} must be integers, not {array.dtype}")
    ints: Int64Array = array.astype(np.int64, copy=False)
    return ints


def bool_input(values: object, name: str) -> BoolArray:
    """An input column of flags; anything but booleans is refused with a message naming the column."""
    array = np.asarray(values)
    if array.size == 0:
        return np.zeros(array.shape, dtype=np.bool_)
    if array.dtype != np.bool_:
        raise ValueError(f"{name} must be booleans, not {array.dtype}")
    flags: BoolArray = array
    return flags
