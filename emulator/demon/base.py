"""The demon-kind extension point: what the rest of the package asks of a force unit.

A demon kind is one module in ``demon/`` holding the golden (bit-exact) model of a Verilog force
unit, its spec (every parameter, latency, legal ranges), the ``demon:`` config section that
selects it (``kind: <name>``), and a :class:`DemonKind` object registered in
:data:`demonloop.demon.DEMONS`. Its Verilog twin sits behind one ``FORCE_UNIT`` branch of
``rtl/demon_top.v``; its registers are entries of ``rtl/regmap.yaml``.

Nothing outside a :class:`DemonKind` branches on ``demon.kind``: the config asks it for the
spec, the co-simulation for the HDL parameters, the output word's layout and how to load the
unit over AXI4-Lite.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Mapping

import numpy as np

if TYPE_CHECKING:
    from demonloop.config import Config


def pack(codes, bits: int) -> int:
    """Channel ``j`` of signed ``codes`` at bits ``[j*bits +: bits]`` of one packed word."""
    mask = (1 << bits) - 1
    word = 0
    for j, c in enumerate(np.asarray(codes, dtype=np.int64).tolist()):
        word |= (c & mask) << (j * bits)
    return word


def unpack(word: int, n: int, bits: int) -> np.ndarray:
    """Inverse of :func:`pack`: ``n`` signed codes of ``bits`` bits, int64."""
    mask = (1 << bits) - 1
    half = 1 << (bits - 1)
    out = np.empty(n, dtype=np.int64)
    for j in range(n):
        v = (word >> (j * bits)) & mask
        out[j] = v - (mask + 1) if v >= half else v
    return out


class DemonKind:
    """One kind of force unit. Subclasses set the class attributes and fill the methods.

    ``kind``: the ``demon.kind`` value; ``section``: the pydantic model of the ``demon:``
    section (with ``kind: Literal[<kind>]``); ``spec_type``: the golden spec's class;
    ``force_unit``: ``demon_top``'s ``FORCE_UNIT`` parameter; ``fields``: config key of each
    spec field that :meth:`spec`'s ``problems()`` may name (others map to ``demon.<field>``).
    """

    kind: ClassVar[str]
    section: ClassVar[type]
    spec_type: ClassVar[type]
    force_unit: ClassVar[int]
    fields: ClassVar[dict[str, str]] = {"n": "array.n", "multipliers": "demon.multipliers",
                                        "x_bits": "adc.bits", "f_bits": "dac.bits"}

    # ---- config ------------------------------------------------------------------------------
    def spec(self, cfg: "Config"):
        """The golden spec of ``cfg``'s demon (every parameter of the unit)."""
        raise NotImplementedError

    def validate(self, cfg: "Config") -> None:
        """Raise :class:`~demonloop.config.ConfigError` if ``cfg``'s demon cannot be built."""
        from demonloop.config.errors import ConfigError

        for f, reason in cfg.demon_spec().problems():
            raise ConfigError(self.fields.get(f, f"demon.{f}"), reason)

    # ---- HDL ---------------------------------------------------------------------------------
    def hdl_parameters(self, spec) -> dict[str, int]:
        """``demon_top``'s parameters for ``spec`` (without ``CLK_PERIOD_NS``)."""
        raise NotImplementedError

    def spec_from_parameters(self, p: Mapping[str, int]):
        """Inverse of :meth:`hdl_parameters`."""
        raise NotImplementedError

    def out_word_bits(self, spec) -> int:
        """Width of the output stream's word."""
        return spec.n * spec.f_bits

    def pack_out(self, spec, codes) -> int:
        """The output word for golden output ``codes`` (``n_out`` channels)."""
        return pack(codes[: spec.n], spec.f_bits)

    def unpack_out(self, spec, word: int) -> np.ndarray:
        """Inverse of :meth:`pack_out`: the ``n_out`` output codes of a word."""
        return unpack(word, spec.n, spec.f_bits)

    def random_program(self, spec, rng, family: str = "inrange"):
        """A program with random coefficients for ``spec`` (what :meth:`load` writes and whose
        ``demon()`` is the golden model), for the conformance regression; None when the kind has
        none (the regression then uses the config's compiled program)."""
        return None

    # ---- in the loop -------------------------------------------------------------------------
    def golden(self, program):
        """The golden model loaded with ``program``'s coefficients (what ``program.demon()`` gives)."""
        return program.demon()

    async def load(self, top: Any, program) -> None:
        """Load ``program`` into the RTL unit over AXI4-Lite (``top``: a
        :class:`~demonloop.cosim.testbench.DemonTop`), as firmware would."""
        raise NotImplementedError

    async def start_chain(self, top: Any) -> None:
        """What the co-simulation does on the bus before each chain (a step counter's reset)."""
