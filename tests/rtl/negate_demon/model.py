"""negate_demon's reference model: f = -x, saturated to the DAC code range (X_BITS == F_BITS)."""

import numpy as np


def negate(program):
    hi = (1 << (program.spec.f_bits - 1)) - 1

    def force(X):
        return np.minimum(-np.asarray(X, dtype=np.int64), hi)

    return force
