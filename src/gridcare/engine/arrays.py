"""Array types of the engine: fixed-point money, quantities and epoch seconds are int64 arrays.

NumPy's operators and reductions answer ``Any`` to the type checker; a value returned from the engine is
declared with one of these aliases first, so callers see the array type the engine guarantees.
"""

from __future__ import annotations

from typing import TypeAlias

import numpy as np
from numpy.typing import NDArray

Int64Array: TypeAlias = NDArray[np.int64]
BoolArray: TypeAlias = NDArray[np.bool_]
FloatArray: TypeAlias = NDArray[np.float64]
DayArray: TypeAlias = NDArray[np.datetime64]
