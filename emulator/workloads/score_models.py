"""Float64 score networks: the models the score-network demon runs, in the plain format
``quantize_mlp`` takes, with the VP-SDE schedule and the time embedding they were trained with.

A network is an MLP in the contract's architecture (docs/score_demon.md §1):

    a_0 = [x ; emb(t)]                       (n + E inputs)
    a_l = act(W_l a_{l-1} + b_l)             l = 1 .. L-1
    y   = W_L a_{L-1} + b_L                  (n outputs)

``W_l`` has shape ``(out, in)``; batches are rows ``(chains, features)``. ``act`` is one the
hardware has: ``hardtanh`` (clip to [-1, 1]) or ``relu``.

What ``y`` means is the network's *output parametrization*:

- ``"eps_resid"`` (diffusion, the bundled networks): ``y`` predicts the noise minus its
  standard-normal part, ``y ~ eps_hat(z, t) - sigma(t) z``, so the score of the noised law is

      s_theta(z, t) = -z - y / sigma(t).

  The ``-z`` is the score of N(0, I), which the noised law tends to at ``t = 1``; with it the
  reverse drift ``beta (z/2 + s)`` becomes ``beta (-z/2 - y/sigma)``: the analog cells *leak*
  at rate ``beta/2`` (stable, no negative conductance) and the demon supplies only
  ``-beta y / sigma``. A bounded (hard-tanh) network cannot output the ``eps_hat ~ z`` that a
  far-out ``z`` needs at large ``t`` under the plain parametrization, and samples escape; here
  it needs ``y ~ 0`` there. The factor ``-1/sigma(t)`` is per step: the hardware carries it in
  ``force_scale[k]``, and ``y`` stays O(1) at every ``t``.
- ``"eps"``: ``y ~ eps_hat(z, t)`` (Ho et al. 2020), ``s_theta = -y / sigma(t)``; the
  reverse drift is ``beta (z/2 + s)`` (cells anti-leak at ``beta/2``).
- ``"score"`` (posterior): ``y`` is the score ``grad log p(theta)`` itself.

Units: diffusion networks see normalised data ``z`` (unit variance per coordinate, see
:mod:`demonloop.workloads.datasets`); posterior networks see the parameter ``theta``. The demon sees ADC
codes ``x = z / in_scale`` (``in_scale`` = data units per ADC full scale); the exact change of
units is :func:`hardware_layers`.

VP-SDE (paper eqs. 18-21 with ``f(t) = -beta(t)/2``, ``g(t)^2 = beta(t)``, Song et al. 2021):

    beta(t) = beta_min + t (beta_max - beta_min),  B(t) = int_0^t beta = beta_min t + (beta_max - beta_min) t^2 / 2
    alpha(t) = exp(-B(t)/2),  sigma(t)^2 = 1 - exp(-B(t)),   z_t = alpha z_0 + sigma eps.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ACTIVATIONS = ("hardtanh", "relu")


def activation(name: str, u: np.ndarray) -> np.ndarray:
    """The hardware's activations: ``hardtanh(u) = clip(u, -1, 1)``, ``relu(u) = max(u, 0)``."""
    if name == "hardtanh":
        return np.clip(u, -1.0, 1.0)
    if name == "relu":
        return np.maximum(u, 0.0)
    from demonloop.demon.table import TABLE_FUNCTIONS, table_function

    if name in TABLE_FUNCTIONS:               # run by the demon's table activation
        return table_function(name, u)
    raise ValueError(f"unknown activation {name!r} (have {ACTIVATIONS})")


@dataclass(frozen=True)
class VPSchedule:
    """The VP-SDE with linear ``beta(t)`` on ``t in [0, 1]``; the reverse process stops at
    ``t_min`` (Song et al. 2021 use 1e-3) where ``sigma`` is small but not zero."""

    beta_min: float = 0.1
    beta_max: float = 20.0
    t_min: float = 1e-3

    def beta(self, t):
        return self.beta_min + np.asarray(t, dtype=np.float64) * (self.beta_max - self.beta_min)

    def B(self, t):
        """``int_0^t beta(s) ds``."""
        t = np.asarray(t, dtype=np.float64)
        return self.beta_min * t + 0.5 * (self.beta_max - self.beta_min) * t * t

    def alpha(self, t):
        return np.exp(-0.5 * self.B(t))

    def sigma(self, t):
        return np.sqrt(-np.expm1(-self.B(t)))

    def to_dict(self) -> dict:
        return {"beta_min": self.beta_min, "beta_max": self.beta_max, "t_min": self.t_min}


@dataclass(frozen=True)
class TimeEmbedding:
    """Fourier features of a time variable ``v``: for each frequency ``f``,
    ``[sin(pi f v), cos(pi f v)]``, so ``E = 2 len(freqs)`` values in [-1, 1] (they fit the
    activation format). The host computes them per step and loads them in the schedule table
    (``emb[k]``).

    ``var = "t"``: ``v = t``. ``var = "logsnr"``: ``v = -lambda(t) / 10`` with the log
    signal-to-noise ratio ``lambda = log(alpha^2 / sigma^2)`` of ``schedule`` (``v`` runs from
    -0.92 at ``t_min = 1e-3`` to +1.0 at ``t = 1`` for the default schedule): it spreads the
    fast-changing low-noise end of the process over the features."""

    freqs: tuple[float, ...] = (0.5, 1.0)
    var: str = "t"
    schedule: VPSchedule | None = None

    @property
    def dim(self) -> int:
        return 2 * len(self.freqs)

    def variable(self, t) -> np.ndarray:
        t = np.asarray(t, dtype=np.float64)
        if self.var == "t":
            return t
        B = self.schedule.B(t)
        lam = -B - np.log(-np.expm1(-B))              # log(alpha^2 / sigma^2)
        return -lam / 10.0

    def __call__(self, t) -> np.ndarray:
        """``(..., E)`` features of ``t`` (scalar or array)."""
        v = self.variable(t)[..., None]
        w = np.pi * np.asarray(self.freqs, dtype=np.float64)
        return np.concatenate([np.sin(w * v), np.cos(w * v)], axis=-1)

    def to_dict(self) -> dict:
        return {"kind": "fourier", "freqs": list(self.freqs), "var": self.var,
                "variable": "t" if self.var == "t" else "v = -log(alpha(t)^2 / sigma(t)^2) / 10",
                "features": "[sin(pi f v) for f in freqs] + [cos(pi f v) for f in freqs]"}


@dataclass
class ScoreNet:
    """A float64 MLP with what it needs to be used: activation, output parametrization, VP
    schedule and time embedding (diffusion) and the data normalisation (``meta``)."""

    layers: list[tuple[np.ndarray, np.ndarray]]
    activation: str
    output: str                                   # "eps_resid", "eps" or "score"
    schedule: VPSchedule | None = None
    embedding: TimeEmbedding | None = None
    meta: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        return self.layers[-1][0].shape[0]

    @property
    def emb_dim(self) -> int:
        return 0 if self.embedding is None else self.embedding.dim

    @property
    def hidden(self) -> tuple[int, ...]:
        return tuple(W.shape[0] for W, _ in self.layers[:-1])

    def float_layers(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """The plain format ``quantize_mlp`` takes: ``[(W_l, b_l), ...]`` float64."""
        return [(W.copy(), b.copy()) for W, b in self.layers]

    def forward(self, x: np.ndarray, emb: np.ndarray | None = None) -> np.ndarray:
        """Network output ``y`` for inputs ``x (chains, n)`` and one embedding row ``emb (E,)``
        (or per-chain rows ``(chains, E)``)."""
        a = np.asarray(x, dtype=np.float64)
        if self.emb_dim:
            e = np.broadcast_to(np.asarray(emb, dtype=np.float64), (a.shape[0], self.emb_dim))
            a = np.concatenate([a, e], axis=1)
        for W, b in self.layers[:-1]:
            a = activation(self.activation, a @ W.T + b)
        W, b = self.layers[-1]
        return a @ W.T + b

    def score(self, x: np.ndarray, t: float | np.ndarray | None = None) -> np.ndarray:
        """``s_theta(x, t)``: the score in the network's input units (``grad_z log p_t(z)`` for
        a diffusion network, ``grad_theta log p(theta)`` for a posterior network)."""
        if self.output == "score":
            return self.forward(x)
        return self.linear_coef * np.asarray(x) + self.residual_score(x, t)

    @property
    def linear_coef(self) -> float:
        """``c`` in ``s_theta = c z + r_theta``: -1 for ``eps_resid``, 0 otherwise."""
        return -1.0 if self.output == "eps_resid" else 0.0

    def residual_score(self, x: np.ndarray, t) -> np.ndarray:
        """``r_theta(z, t) = -y / sigma(t)``: the part of the score the demon supplies."""
        y = self.forward(x, self.embedding(t))
        sig = np.asarray(self.schedule.sigma(t))
        return -y / (sig[..., None] if sig.ndim else sig)

    def save(self, path: Path | str, extra_arrays: dict | None = None, extra_meta: dict | None = None) -> None:
        """``path.npz`` (weights ``W0, b0, W1, ...`` and ``extra_arrays``) and ``path.json``
        (architecture, activation, parametrization, schedule, embedding, ``meta``)."""
        path = Path(path).with_suffix("")
        arrays = {}
        for i, (W, b) in enumerate(self.layers):
            arrays[f"W{i}"], arrays[f"b{i}"] = W, b
        arrays.update(extra_arrays or {})
        np.savez_compressed(path.with_suffix(".npz"), **arrays)
        desc = {
            "architecture": {"n": self.n, "emb": self.emb_dim, "hidden": list(self.hidden),
                             "activation": self.activation, "output": self.output,
                             "layout": "a_0 = [x; emb]; a_l = act(W_l a_(l-1) + b_l); y = W_L a_(L-1) + b_L; W_l shape (out, in)"},
            "schedule": None if self.schedule is None else self.schedule.to_dict(),
            "embedding": None if self.embedding is None else self.embedding.to_dict(),
            "meta": {**self.meta, **(extra_meta or {})},
        }
        path.with_suffix(".json").write_text(json.dumps(desc, indent=1, default=_json_default) + "\n")


def _json_default(o):
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(type(o))


#: Largest network description / weights file read (bytes).
MAX_NETWORK_BYTES = 64 << 20


def _finite_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and bool(np.isfinite(x))


def check_network(path: Path | str) -> dict:
    """Validate the files of a network saved by :meth:`ScoreNet.save` against their schema and
    return its architecture; ``ValueError`` with a one-line reason if they do not match it.

    ``.json``: a mapping with ``architecture`` (``n`` >= 1, ``hidden`` 1..3 positive integers,
    ``activation`` in :data:`ACTIVATIONS`, ``output`` a name, ``emb`` >= 0), ``schedule`` (null or
    finite ``beta_min < beta_max``, ``0 < t_min < 1``), ``embedding`` (null or finite ``freqs``) and
    ``meta`` (a mapping). ``.npz``: a plain (pickle-free) archive with ``W0, b0, ..., WL, bL`` of
    finite floats shaped ``(hidden[0], n + emb)``, ..., ``(n, hidden[-1])``."""
    import zipfile
    import zlib

    path = Path(path).with_suffix("")
    js, nz = path.with_suffix(".json"), path.with_suffix(".npz")
    for f in (js, nz):
        if not f.is_file():
            raise ValueError(f"no such file: {f}")
        if f.stat().st_size > MAX_NETWORK_BYTES:
            raise ValueError(f"{f.name} is larger than {MAX_NETWORK_BYTES} bytes")
    try:
        desc = json.loads(js.read_text())
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ValueError(f"{js.name} is not JSON ({type(exc).__name__})") from None
    if not isinstance(desc, dict) or not isinstance(desc.get("architecture"), dict):
        raise ValueError(f"{js.name}: expected a mapping with an 'architecture' mapping")
    arch = desc["architecture"]
    n, hidden, emb = arch.get("n"), arch.get("hidden"), arch.get("emb", 0)
    if not (isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= 64):
        raise ValueError(f"{js.name}: architecture.n must be an integer 1 .. 64")
    if not (isinstance(hidden, list) and 1 <= len(hidden) <= 3
            and all(isinstance(h, int) and not isinstance(h, bool) and 1 <= h <= 4096 for h in hidden)):
        raise ValueError(f"{js.name}: architecture.hidden must be 1 to 3 positive integers")
    if not (isinstance(emb, int) and not isinstance(emb, bool) and 0 <= emb <= 64):
        raise ValueError(f"{js.name}: architecture.emb must be an integer 0 .. 64")
    if arch.get("activation") not in ACTIVATIONS:
        raise ValueError(f"{js.name}: architecture.activation must be one of {', '.join(ACTIVATIONS)}")
    if not isinstance(arch.get("output"), str):
        raise ValueError(f"{js.name}: architecture.output must be a name")
    sched = desc.get("schedule")
    if sched is not None:
        keys = ("beta_min", "beta_max", "t_min")
        if (not isinstance(sched, dict) or set(sched) - set(keys)
                or not all(_finite_number(sched.get(k, 1.0)) for k in keys)):
            raise ValueError(f"{js.name}: schedule must be null or finite beta_min, beta_max, t_min")
        s = VPSchedule(**sched)
        if not (0 < s.beta_min < s.beta_max <= 1e4 and 0 < s.t_min < 1):
            raise ValueError(f"{js.name}: schedule needs 0 < beta_min < beta_max <= 1e4 and 0 < t_min < 1")
    embd = desc.get("embedding")
    if embd is not None:
        freqs = embd.get("freqs") if isinstance(embd, dict) else None
        if not (isinstance(freqs, list) and freqs and all(_finite_number(f) for f in freqs)
                and embd.get("var", "t") in ("t", "logsnr")):
            raise ValueError(f"{js.name}: embedding must be null or finite freqs with var t or logsnr")
        if 2 * len(freqs) != emb:
            raise ValueError(f"{js.name}: embedding has {2 * len(freqs)} features, architecture.emb is {emb}")
        if embd.get("var", "t") == "logsnr" and sched is None:
            raise ValueError(f"{js.name}: a logsnr embedding needs a schedule")
    elif emb:
        raise ValueError(f"{js.name}: architecture.emb is {emb} but there is no embedding")
    if not isinstance(desc.get("meta", {}), dict):
        raise ValueError(f"{js.name}: meta must be a mapping")
    dims = [n + emb, *hidden, n]
    try:
        with np.load(nz, allow_pickle=False) as z:
            for i in range(len(dims) - 1):
                for name, shape in ((f"W{i}", (dims[i + 1], dims[i])), (f"b{i}", (dims[i + 1],))):
                    if name not in z.files:
                        raise ValueError(f"{nz.name}: array {name} is missing")
                    a = z[name]
                    if a.shape != shape or a.dtype.kind not in "fi":
                        raise ValueError(f"{nz.name}: {name} must be numbers shaped {shape}, "
                                         f"got {a.dtype.kind} {a.shape}")
                    if not np.all(np.isfinite(a)):
                        raise ValueError(f"{nz.name}: {name} has non-finite entries")
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, KeyError) as exc:
        raise ValueError(f"{nz.name} is not a readable npz archive ({type(exc).__name__})") from None
    except ValueError as exc:
        if str(exc).startswith(nz.name):
            raise
        raise ValueError(f"{nz.name} is not a plain npz archive of arrays") from None
    return arch


def load_score_net(path: Path | str) -> tuple[ScoreNet, dict]:
    """A network saved by :meth:`ScoreNet.save` and the npz's other arrays."""
    path = Path(path).with_suffix("")
    desc = json.loads(path.with_suffix(".json").read_text())
    with np.load(path.with_suffix(".npz")) as z:
        arrays = {k: z[k] for k in z.files}
    arch = desc["architecture"]
    L = len(arch["hidden"]) + 1
    layers = [(arrays.pop(f"W{i}"), arrays.pop(f"b{i}")) for i in range(L)]
    sched = VPSchedule(**desc["schedule"]) if desc["schedule"] else None
    emb = (TimeEmbedding(tuple(desc["embedding"]["freqs"]), desc["embedding"].get("var", "t"), sched)
           if desc["embedding"] else None)
    net = ScoreNet(layers, arch["activation"], arch["output"], sched, emb, desc["meta"])
    return net, arrays


def hardware_layers(layers, n: int, in_scale: float, out_scale: float):
    """The same network in hardware units: input ``x = u / in_scale`` (ADC full scales) and
    output ``y_hw = y / out_scale``. Exact in float: the first layer's ``x`` columns are
    multiplied by ``in_scale`` (the embedding columns are untouched) and the last layer is
    divided by ``out_scale``; the force unit multiplies ``y_hw`` back by ``out_scale`` through
    ``force_scale[k]``."""
    out = [(W.astype(np.float64).copy(), b.astype(np.float64).copy()) for W, b in layers]
    out[0][0][:, :n] *= in_scale
    W, b = out[-1]
    out[-1] = (W / out_scale, b / out_scale)
    return out


def reverse_schedule(net: ScoreNet, steps: int) -> dict:
    """What the host loads per reverse step ``k = 0 .. steps-1`` (from ``t_k`` to ``t_{k+1}``,
    uniform in ``t`` from 1 to ``t_min``; :func:`demonloop.workloads.references.reverse_time_grid`):

    - ``t``: ``t_k``, the time the score is evaluated at; ``emb``: ``emb(t_k)`` ``(steps, E)``;
    - ``dB``: ``B(t_k) - B(t_{k+1})``, the step's integrated ``beta``; ``beta_bar = dB / dt``
      is the constant ``beta`` that gives the same drift and noise over the step as the
      schedule's (so piecewise-constant analog controls reproduce the float reference exactly);
    - ``eps_to_score``: ``-1 / sigma(t_k)``, the factor that turns the network's output into the
      demon's part of the score ``r`` (it belongs in ``force_scale[k]``);
    - ``drift_rate``: ``beta_bar (1/2 + c)`` with ``c = net.linear_coef``: the analog cells'
      own drift rate ``dz = drift_rate z dtau`` (``-beta_bar/2``, a leak, for ``eps_resid``;
      ``+beta_bar/2`` for ``eps``).

    In reverse time ``tau`` (``dtau = dt``) each step is ``dz = [drift_rate z + beta_bar r]
    dtau + sqrt(beta_bar) dw``, whose exact solution with ``r`` held is the float reference's
    step."""
    from demonloop.workloads.references import reverse_time_grid

    sched = net.schedule
    ts = reverse_time_grid(sched.t_min, steps)
    dB = sched.B(ts[:-1]) - sched.B(ts[1:])
    dt = ts[:-1] - ts[1:]
    beta_bar = dB / dt
    return {"t": ts[:-1], "dt": dt, "dB": dB, "beta_bar": beta_bar,
            "drift_rate": beta_bar * (0.5 + net.linear_coef),
            "eps_to_score": -1.0 / sched.sigma(ts[:-1]),
            "emb": net.embedding(ts[:-1]) if net.embedding is not None else np.zeros((steps, 0))}
