"""In-situ calibration (seed paper §7.3, eqs. 15-17): the demon corrects the hardware it runs on.

Real parts are off from nominal (``array.tolerance`` draws R, C and the amplifier gains per
instance; converters have offset and gain errors). ``demonloop calibrate`` measures the drawn
instance the way the host sees hardware, through the converters only, identifies it, and writes
demon coefficients that make the instance compute the nominal answer.

**The instrument** (:class:`Bench`): the instance takes a demon (anything with ``reset()`` and
``force_count(X)``) and gives back ADC codes. It exposes nothing else: :func:`calibrate` is given
the *nominal* config (what the host designed) and the bench, never the drawn components.

**The experiment.** The nominal program's demon runs with a known pseudo-random excitation added
to its DAC codes, ``u_k = F(y_k) + e_k`` (``e_k`` uniform integers in ``[-E, E]``, independent
per chain, sample and channel), so the loop is excited through the DACs while it keeps working
around its operating point. The host knows every ``u_k`` it sent and every ADC code ``y_k`` it
read.

**The model.** Between samples the array is linear with zero-order-held DAC currents, so the ADC
codes obey exactly (up to ADC quantization) an ARX model,

    y_{k+1} = Phi y_k + sum_j Gamma_j u_{k-j} + delta + eps_k,    eps_k ~ N(0, Sigma)

``Phi = Ka e^{-C^-1 G T_s} Ka^-1`` (``Ka`` the ADC's codes per volt, gain error included) is the
effective drift over one sample period; ``Gamma_j`` the DAC-code-to-ADC-code responses (the DAC
update lands ``loop latency`` cycles after the sample, so two lags share each period; more if
the latency exceeds it), gain errors and all; ``delta`` the offsets (DAC offset current through
the network, ADC offset); ``Sigma`` the noise per period. Ordinary least squares over every
chain and sample gives them with standard errors ``sqrt(Sigma_rr [(Z^T Z)^-1]_ii)`` (the
innovations are independent). Also reported: the continuous drift ``-logm(Phi) / T_s`` (its
errors by propagating draws of ``Phi``), and the zero-input mean ``(I - Phi)^-1 delta`` (the
combined converter offsets seen at the ADC).

**The correction.** With the demon's affine map ``F(y) = beta + J y`` (``beta = b_raw 2^(f_bits
- 1 - bias.frac)``, ``J = -A_raw 2^-out_shift``), the loop's stationary mean ``m`` satisfies
``m = Phi m + Gamma (beta + J m) + delta`` with ``Gamma = sum_j Gamma_j`` (latency does not move a
fixed point). For the mean the workload wants, ``m* = a M^-1 b_t`` in ADC codes,

    beta_cal = Gamma^-1 ((I - Phi - Gamma J) m* - delta)

and ``b_raw`` is requantized; then one pass at that operating point without excitation, and its
measured residual ``m* - m_1`` corrected through the identified DC gain ``(I - Phi - Gamma
J)^-1 Gamma``. The linear solve reads only the mean, so its matrix ``A_raw`` is kept, and the
calibrated solution's error is the run's statistical error plus the operating-point pass's,
which shrinks as ``1/sqrt(calibration samples)``.

**The covariance** (``gaussian``): the demon's matrix is chosen so that the identified closed
loop, with the latency lags in its state (``y_k, u_{k-1}, ..``; ``u_k = beta + J y_k``), has the
stationary covariance ``P* = a^2 M^-1`` in codes (discrete Lyapunov): the residual couplings the
analog network got wrong, and its gain errors, land in ``A'``. Start: the one-lag model, where
``Phi_cl P* Phi_cl^T = P* - Sigma`` gives ``Phi_cl = L (L^-1 (P* - Sigma) L^-T)^(1/2) U L^-1``
(``L L^T = P*``, ``U`` the orthogonal matrix closest to the nominal loop); then Levenberg-Marquardt
on the exact model. The target is reachable only when ``P* - Sigma`` is positive definite: the
noise one sample period injects cannot be taken out by any drift, so when the amplifiers' gain
errors push it above the target in a fast direction, the file says so and keeps the closest
matrix (trim the noise amplifiers, or slow the array).
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from pathlib import Path

import numpy as np

from demonloop.config.errors import ConfigError

FORMAT = "demonloop-calibration/1"
#: workloads the calibration knows how to correct (their answer is the stationary mean)
KINDS = ("linear_solve", "gaussian")


class Bench:
    """The drawn hardware instance of a config as an instrument: a demon in, ADC codes out.

    Built from the *true* config (its tolerances and converter errors draw the instance from
    ``cfg.seed``); :func:`calibrate` sees only :meth:`run` and the counters."""

    def __init__(self, cfg):
        from demonloop import workloads

        self.__program = workloads.of(cfg).compile(cfg)
        self.__seed = int(cfg.seed)
        self.adc_samples = 0            # ADC conversions (samples x chains x channels)
        self.sample_periods = 0         # samples x chains: one instance runs its chains one after another

    def run(self, demon, samples: int, chains: int, seed: int, on_sample) -> dict:
        """Run ``demon`` in the loop for ``samples`` samples on ``chains`` chains (noise from
        ``seed``); ``on_sample(m, X)`` sees each sample's ADC codes. Returns the loop counters."""
        from demonloop.loop import Loop

        prog = copy.copy(self.__program)
        prog.config = prog.config.with_overrides({"run.samples": int(samples), "run.burn_in_samples": 0})
        prog.demon = lambda: demon
        loop = Loop(prog, chains, seed, instance_seed=self.__seed)
        loop.run_golden(on_sample)
        self.adc_samples += samples * chains * prog.config.n
        self.sample_periods += samples * chains
        c = loop.counters
        return {"dropped": c.dropped, "accepted": c.accepted, "demon_overflows": c.demon_overflows}


class _ExcitedDemon:
    """The nominal demon plus a known excitation on its output codes; records what it sent."""

    def __init__(self, base, amp: int, held: int, code_min: int, code_max: int, rng, T: int, chains: int, n: int):
        self.base, self.amp, self.lo, self.hi, self.rng = base, amp, code_min, code_max, rng
        self.held = rng.integers(-held, held + 1, size=(chains, n))
        self.U = np.zeros((T, chains, n), dtype=np.int32)
        self.k = 0
        self.clipped = 0

    def reset(self):
        self.base.reset()

    def force_count(self, X):
        F, ovf = self.base.force_count(X)
        E = self.held + self.rng.integers(-self.amp, self.amp + 1, size=np.shape(F))
        U = np.asarray(F) + E
        out = np.clip(U, self.lo, self.hi)
        self.clipped += int(np.count_nonzero(out != U))
        self.U[self.k] = out
        self.k += 1
        return out.astype(np.float64), ovf


def fingerprint(cfg) -> str:
    """SHA-256 of the nominal design: the config without run, chains, seed, name and
    description, the tolerances and the converters' error terms (the host does not know those)."""
    d = cfg.raw()
    for k in ("run", "chains", "seed", "name", "description"):
        d.pop(k, None)
    d.get("array", {}).pop("tolerance", None)
    for conv in ("adc", "dac"):
        for k in ("offset_V", "offset_A", "gain_error"):
            d.get(conv, {}).pop(k, None)
    return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()


def nominal(cfg):
    """What the host designed: the config with no tolerances and ideal converter gains/offsets."""
    return cfg.with_overrides({"array.tolerance": {}, "adc.offset_V": 0.0, "adc.gain_error": 0.0,
                               "dac.offset_A": 0.0, "dac.gain_error": 0.0})


def _lags(cfg) -> int:
    """Lags of u that reach one sample period: the update lands ``loop latency`` cycles later."""
    return cfg.loop_latency_cycles // cfg.adc.sample_period_cycles + 2


def identify(Y: np.ndarray, U: np.ndarray, lags: int, burn: int) -> dict:
    """Least squares of ``y_{k+1}`` on ``[y_k, u_k .. u_{k-lags+1}, 1]`` over chains and samples
    ``k >= burn``; ``Y``, ``U`` are (T, chains, n) codes."""
    T, Cn, n = Y.shape
    p = n * (1 + lags) + 1
    ZtZ = np.zeros((p, p))
    ZtY = np.zeros((p, n))
    YtY = np.zeros((n, n))
    rows = 0
    start = max(burn, lags - 1)
    for k0 in range(start, T - 1, 256):
        k1 = min(T - 1, k0 + 256)
        parts = [Y[k0:k1]] + [U[k0 - j:k1 - j] for j in range(lags)]
        Z = np.concatenate(parts + [np.ones((k1 - k0, Cn, 1))], axis=2).reshape(-1, p).astype(np.float64)
        Yn = Y[k0 + 1:k1 + 1].reshape(-1, n).astype(np.float64)
        ZtZ += Z.T @ Z
        ZtY += Z.T @ Yn
        YtY += Yn.T @ Yn
        rows += len(Z)
    # scale the columns for a well-conditioned solve
    s = np.sqrt(np.diag(ZtZ))
    s[s == 0] = 1.0
    Zs = ZtZ / np.outer(s, s)
    Zinv = np.linalg.inv(Zs) / np.outer(s, s)
    Bh = Zinv @ ZtY                                   # (p, n)
    rss = YtY - Bh.T @ ZtY - ZtY.T @ Bh + Bh.T @ ZtZ @ Bh
    Sigma = rss / (rows - p)
    se = np.sqrt(np.outer(np.diag(Zinv), np.diag(Sigma)))   # (p, n)
    Phi = Bh[:n].T
    Gam = [Bh[n * (1 + j):n * (2 + j)].T for j in range(lags)]
    delta = Bh[-1]
    return {"Phi": Phi, "Phi_se": se[:n].T, "Gamma": Gam, "Gamma_se": [se[n * (1 + j):n * (2 + j)].T for j in range(lags)],
            "delta": delta, "delta_se": se[-1], "Sigma": Sigma, "rows": rows,
            "_coef_cov": (Zinv, Sigma)}


def _drift(Phi, Phi_se, T_s, rng, draws=64):
    from scipy.linalg import logm

    D = -np.real(logm(Phi)) / T_s
    sims = [-np.real(logm(Phi + Phi_se * rng.standard_normal(Phi.shape))) / T_s for _ in range(draws)]
    return D, np.std(sims, axis=0, ddof=1)


def calibrate(cfg, bench: Bench, *, samples: int | None = None, chains: int | None = None,
              burn_in: int | None = None, excitation: float = 0.05, held: float = 0.15, seed: int | None = None) -> dict:
    """Identify ``bench`` (the instance) and correct the demon for ``cfg`` (the *nominal* design:
    tolerances and converter errors are ignored). Returns the calibration document."""
    from demonloop import workloads
    from demonloop.loop import chain_seed

    cfg = nominal(cfg)
    w = workloads.of(cfg)
    if w.kind not in KINDS:
        raise ConfigError("workload.kind", f"calibrate corrects {', '.join(KINDS)}, not {w.kind}")
    if cfg.compiler.mode not in ("analog", "digital") or cfg.array.cell != "RC":
        raise ConfigError("array.cell", "calibrate works on RC arrays")
    prog = w.compile(cfg)
    spec = prog.spec
    n = cfg.n
    T = int(samples or cfg.run.samples) + int(burn_in if burn_in is not None else cfg.run.burn_in_samples)
    burn = int(burn_in if burn_in is not None else cfg.run.burn_in_samples)
    chains = int(chains or cfg.chains)
    f_bits = cfg.dac.bits
    amp = max(1, int(round(excitation * 2 ** (f_bits - 1))))
    seed = int(chain_seed(cfg.seed, 0xCA1B) if seed is None else seed)
    rng = np.random.default_rng(seed)
    amp_h = int(round(held * 2 ** (f_bits - 1)))
    demon = _ExcitedDemon(prog.demon(), amp, amp_h, -(2 ** (f_bits - 1)), 2 ** (f_bits - 1) - 1, rng, T, chains, n)
    Y = np.zeros((T, chains, n), dtype=np.int32)

    def on_sample(m, X):
        Y[m] = X

    counters = bench.run(demon, T, chains, int(rng.integers(2**62)), on_sample)
    if counters["dropped"]:
        raise ConfigError("adc.sample_period_cycles", "the demon dropped samples during calibration: "
                                                      "the excitation record would not line up")
    lags = _lags(cfg)
    fit = identify(Y, demon.U, lags, burn)
    T_s = cfg.adc.sample_period_cycles / cfg.clock.f_clk_Hz
    D, D_se = _drift(fit["Phi"], fit["Phi_se"], T_s, np.random.default_rng(seed + 1))
    I = np.eye(n)
    Gam = sum(fit["Gamma"])

    # the demon's affine map in codes, and the correction
    shift_b = f_bits - 1 - spec.bias.frac_bits
    beta0 = prog.b_raw.astype(np.float64) * 2.0**shift_b
    J = -prog.A_raw.astype(np.float64) / 2.0**spec.out_shift
    s_a = 2.0 ** (cfg.adc.bits - 1)
    m_star = prog.scale * np.linalg.solve(prog.M, prog.b_t) * s_a
    A_raw = prog.A_raw.astype(np.int64)
    cov_fit = None
    if w.needs_covariance:
        P_star = prog.scale**2 * np.linalg.inv(prog.M) * s_a**2
        A_raw, cov_fit = _covariance_matrix(fit, J, P_star, spec)
        J = -A_raw.astype(np.float64) / 2.0**spec.out_shift
    beta = np.linalg.solve(Gam, (I - fit["Phi"] - Gam @ J) @ m_star - fit["delta"])
    H = np.linalg.solve(I - fit["Phi"] - Gam @ J, Gam)          # DC gain: bias codes -> mean codes
    b_raw1 = _bias_raw(beta, shift_b, spec)

    # pass 2: the corrected demon alone at its operating point; the residual through the DC gain
    from demonloop.demon.linear import LinearDemon

    sums = np.zeros((chains, n))
    seen = [0]

    def on_mean(m, X):
        if m >= burn:
            sums[:] += X
            seen[0] += 1

    bench.run(LinearDemon(spec, A_raw, b_raw1), T, chains, int(rng.integers(2**62)), on_mean)
    chain_means = sums / max(1, seen[0])
    m1 = chain_means.mean(axis=0)
    m1_se = chain_means.std(axis=0, ddof=1) / np.sqrt(chains)
    beta2 = b_raw1 * 2.0**shift_b + np.linalg.solve(H, m_star - m1)
    b_raw = _bias_raw(beta2, shift_b, spec)
    m_cal_se = m1_se        # the correction moves the mean by m* - m1 (through H): its error is m1's

    # what the uncorrected demon would have given, from the identified model
    m_nom = np.linalg.solve(I - fit["Phi"] - Gam @ J, Gam @ beta0 + fit["delta"])
    zero_input = np.linalg.solve(I - fit["Phi"], fit["delta"])

    hw_s = bench.sample_periods * T_s
    doc = {
        "format": FORMAT,
        "config": cfg.name,
        "fingerprint": fingerprint(cfg),
        "instance_seed": int(cfg.seed),
        "workload": w.kind,
        "mode": cfg.compiler.mode,
        "method": ("excited closed loop (uniform code excitation on the DAC), ARX least squares "
                   "y[k+1] = Phi y[k] + sum_j Gamma_j u[k-j] + delta; bias solved for the nominal mean"),
        "experiment": {"chains": chains, "samples": T, "burn_in": burn, "excitation_codes": amp, "held_excitation_codes": amp_h,
                       "excitation_clipped": demon.clipped, "seed": seed, "lags": lags, "rows": fit["rows"]},
        "cost": {"adc_samples": int(bench.adc_samples), "sample_periods": int(bench.sample_periods),
                 "hardware_time_s": hw_s,
                 "note": "one instance runs its chains one after another: hardware time = chains x samples x T_s"},
        "identified": {
            "Phi": fit["Phi"], "Phi_se": fit["Phi_se"],
            "Gamma": fit["Gamma"], "Gamma_se": fit["Gamma_se"],
            "delta_codes": fit["delta"], "delta_se": fit["delta_se"],
            "noise_cov_codes2": fit["Sigma"],
            "drift_per_s": D, "drift_se": D_se,
            "dc_gain_codes_per_code": np.linalg.solve(I - fit["Phi"], Gam),
            "closed_loop_dc_gain": H,
            "zero_input_mean_codes": zero_input,
        },
        "predicted": {"target_mean_codes": m_star, "uncalibrated_mean_codes": m_nom,
                      "pass1_mean_codes": m1, "pass1_mean_se_codes": m1_se,
                      "calibrated_mean_se_codes": m_cal_se,
                      "pass1_solution_rel_error": _relerr(m1, m_star),
                      "uncalibrated_solution_rel_error": _relerr(m_nom, m_star)},
        "covariance_correction": cov_fit,
        "coefficients": {"A_raw": A_raw.astype(np.int64), "A_raw_nominal": prog.A_raw.astype(np.int64), "b_raw": b_raw.astype(np.int64),
                         "b_raw_nominal": prog.b_raw.astype(np.int64), "b_raw_pass1": b_raw1.astype(np.int64)},
    }
    return _jsonable(doc)


def closed_loop_covariance(fit: dict, J: np.ndarray) -> tuple[np.ndarray, float]:
    """The stationary covariance of the ADC codes (and the spectral radius) of the identified
    model with the demon's matrix ``J``: state ``(y_k, u_{k-1}, ..)``, ``u_k = beta + J y_k``."""
    from scipy.linalg import solve_discrete_lyapunov

    Phi, G, S = fit["Phi"], fit["Gamma"], fit["Sigma"]
    n, L = len(Phi), len(G)
    # state: y_k, u_{k-1}, ..., u_{k-L+1}
    N = n * L
    A = np.zeros((N, N))
    A[:n, :n] = Phi + G[0] @ J
    for j in range(1, L):
        A[:n, n * j:n * (j + 1)] = G[j]
    if L > 1:
        A[n:2 * n, :n] = J
        for j in range(2, L):
            A[n * j:n * (j + 1), n * (j - 1):n * j] = np.eye(n)
    rho = float(np.abs(np.linalg.eigvals(A)).max())
    Q = np.zeros((N, N))
    Q[:n, :n] = S
    if rho >= 1:
        return np.full((n, n), np.nan), rho
    return solve_discrete_lyapunov(A, Q)[:n, :n], rho


def _covariance_matrix(fit: dict, J0: np.ndarray, P_star: np.ndarray, spec):
    """The demon matrix (``A_raw``) whose identified closed loop has stationary covariance
    ``P_star`` (codes^2): least squares over the ``n^2`` entries from the nominal ``J0``, then
    quantized to the coefficient format. The residual couplings the analog network got wrong
    (and its gain errors) land in the demon's matrix."""
    from scipy.optimize import least_squares

    from demonloop.fixedpoint import Rounding, quantize

    n = len(J0)
    iu = np.triu_indices(n)
    scale = np.linalg.norm(P_star)

    def cov_resid(v):
        P, rho = closed_loop_covariance(fit, v.reshape(n, n))
        if not np.isfinite(P).all():
            return np.full(len(iu[0]), 1e3)
        return (P - P_star)[iu] / scale

    def resid(v):
        # a small pull towards the nominal matrix picks the least change among the solutions
        return np.concatenate([cov_resid(v), 1e-4 * (v - J0.ravel())])

    r0 = cov_resid(J0.ravel())
    # start: the one-lag model Phi_cl = Phi + Gamma J with Phi_cl P* Phi_cl^T = P* - Sigma, i.e.
    # L^-1 Phi_cl L = (L^-1 (P* - Sigma) L^-T)^(1/2) U, U orthogonal, closest to the nominal loop
    Phi, Gam, S = fit["Phi"], sum(fit["Gamma"]), fit["Sigma"]
    L = np.linalg.cholesky(P_star)
    Li = np.linalg.inv(L)
    R = Li @ (P_star - S) @ Li.T
    ew, ev = np.linalg.eigh((R + R.T) / 2)
    Rh = (ev * np.sqrt(np.clip(ew, 1e-3, None))) @ ev.T       # unreachable directions: as small as allowed
    X0 = Li @ (Phi + Gam @ J0) @ L
    Wu, _, Vt = np.linalg.svd(Rh.T @ X0)
    Phi_cl = L @ (Rh @ Wu @ Vt) @ Li
    J1 = np.linalg.solve(Gam, Phi_cl - Phi)
    if np.linalg.norm(cov_resid(J1.ravel())) > np.linalg.norm(r0):
        J1 = J0
    reach = float(ew.min())
    if reach > 0:
        sol = least_squares(resid, J1.ravel(), method="lm", x_scale=np.full(n * n, 1e-2), max_nfev=20 * n * n)
        J, nfev = sol.x.reshape(n, n), int(sol.nfev)
    else:                               # the exact fit cannot reach the target: the start is as close
        J, nfev = J1, 0
    def candidate(Jc):
        A_cal = -Jc * 2.0**spec.out_shift * spec.coef.lsb
        raw, ovf = quantize(A_cal, spec.coef, Rounding.RND_CONV)
        if ovf.any():
            return None
        Pq, _ = closed_loop_covariance(fit, -raw.astype(np.float64) / 2.0**spec.out_shift)
        e = float(np.linalg.norm(Pq - P_star) / scale) if np.isfinite(Pq).all() else np.inf
        return e, raw

    # the best in range of: the optimum, the one-lag start, the nominal matrix
    cands = [c for c in (candidate(J), candidate(J1)) if c is not None]
    nominal = (float(np.linalg.norm(r0)), np.round(-J0 * 2.0**spec.out_shift).astype(np.int64))
    err, A_raw = min(cands + [nominal], key=lambda c: c[0])
    kept = A_raw is nominal[1]
    Pq, rho = closed_loop_covariance(fit, -A_raw.astype(np.float64) / 2.0**spec.out_shift)
    return A_raw, {"nominal_matrix_kept": kept,
                   "reachable": reach > 0,
                   "min_eig_whitened_target_minus_noise": reach,
                   "note": ("" if reach > 0 else
                            "the noise one sample period injects exceeds the target covariance in some direction: "
                            "no drift correction reaches it (trim the noise amplifiers, or slow the array: "
                            "compiler.time_constant_samples)"),
                   "start_cov_rel_error": float(np.linalg.norm(cov_resid(J1.ravel()))), "method": "least squares of the identified closed loop's stationary covariance (discrete Lyapunov, "
                             "latency lags in the state) over the demon's matrix",
                   "predicted_cov_rel_error_nominal": float(np.linalg.norm(r0)),
                   "predicted_cov_rel_error_calibrated": err,
                   "optimizer_evaluations": nfev,
                   "spectral_radius": rho}


def _relerr(x, ref):
    """``|x - ref| / |ref|``, or None for a zero reference (a zero-mean sampler)."""
    d = float(np.linalg.norm(ref))
    return float(np.linalg.norm(x - ref) / d) if d > 0 else None


def _bias_raw(beta, shift_b, spec):
    from demonloop.fixedpoint import Rounding, quantize

    b = beta / 2.0**shift_b * spec.bias.lsb
    raw, ovf = quantize(b, spec.bias, Rounding.RND_CONV)
    if ovf.any():
        raise ConfigError("demon.bias.int_bits", f"the calibrated bias reaches {np.abs(b).max():.3g}, beyond {spec.bias}")
    return raw


def _jsonable(o):
    if isinstance(o, dict):
        return {k: _jsonable(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_jsonable(v) for v in o]
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, float) and not math.isfinite(o):
        return None
    return o


def load(path, cfg) -> dict:
    """A calibration file checked against ``cfg``: :class:`ConfigError` (``--calibration``) if it
    is not one, or was made for another design or another instance."""
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError("--calibration", f"unreadable calibration file {path}: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ConfigError("--calibration", f"{path} is not a {FORMAT} file")
    if doc["fingerprint"] != fingerprint(cfg):
        raise ConfigError("--calibration", f"{path} was made for another design ({doc['config']})")
    if int(doc["instance_seed"]) != int(cfg.seed):
        raise ConfigError("--calibration", f"{path} calibrates the instance of seed {doc['instance_seed']}, "
                                           f"this run draws seed {cfg.seed}")
    A = np.asarray(doc["coefficients"]["A_raw"], dtype=np.int64)
    b = np.asarray(doc["coefficients"]["b_raw"], dtype=np.int64)
    if A.shape != (cfg.n, cfg.n) or b.shape != (cfg.n,):
        raise ConfigError("--calibration", f"{path} has coefficients of the wrong shape")
    return doc


def apply(program, doc: dict):
    """The program with the calibrated demon coefficients (a copy)."""
    p = copy.copy(program)
    p.A_raw = np.asarray(doc["coefficients"]["A_raw"], dtype=np.int64)
    p.b_raw = np.asarray(doc["coefficients"]["b_raw"], dtype=np.int64)
    if hasattr(p, "_plant_cache"):
        pass
    return p
