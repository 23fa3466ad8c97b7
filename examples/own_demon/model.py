"""The serial demon's reference model: f = b - A x in exact integers, narrowed by truncation
(floor) and saturation, as rtl/serial_demon.v computes it. demonloop calls serial_model(program)
once per chain and the returned function once per accepted sample, with that sample's ADC codes
X (1, n); it returns the DAC codes (1, n)."""

import numpy as np


def serial_model(program):
    spec = program.spec
    A = np.asarray(program.A_raw, dtype=np.int64)
    b = np.asarray(program.b_raw, dtype=np.int64)
    acc_frac = spec.coef.frac_bits + spec.x_bits - 1          # A * x carries these fractional bits
    b_acc = b << (acc_frac - spec.bias.frac_bits)
    out_shift = acc_frac - (spec.f_bits - 1)
    lo, hi = -(1 << (spec.f_bits - 1)), (1 << (spec.f_bits - 1)) - 1

    def force(X):
        acc = b_acc - A @ np.asarray(X, dtype=np.int64)[0]     # exact: |acc| < 2**40 here
        return np.clip(acc >> out_shift, lo, hi)[None, :]     # >> on int64 is floor

    return force
