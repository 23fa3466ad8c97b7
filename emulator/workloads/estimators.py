"""Workloads: read the answer back from the samples and score it against the exact reference.

All workloads see the ADC codes of every sample after burn-in, in normalised units
``x = X / 2**(bits-1)`` (= v / full_scale_V), and accumulate, per batch, sums of ``x`` and of
``x x^T``. Batches are groups of chains (independent) or, with fewer than 16 chains, blocks of
time; the standard errors come from the spread of the batch estimates (batch means), and the
effective sample size is ``var(x) / SE^2``.

In the ideal limit the hardware samples ``x ~ N(a M^-1 b_t, a^2 M^-1)`` (see
:mod:`demonloop.workloads.langevin`), so

- linear solve (intro note 2.1): ``A^-1 b = mean / a``, scored by ``rel_error`` against
  ``numpy.linalg.solve`` (and ``rel_error_implemented`` against the quantised problem);
- Gaussian sampling: ``mu = mean / a``, ``S = cov / a^2``, scored by mean and covariance error and
  ``KL(N(mu_hat, S_hat) || N(mu, S))``;
- inverse: ``A^-1 = cov / a^2``, scored by relative Frobenius error;
- log-determinant: ``log det A = -log det(cov / a^2)``, scored by absolute error.
"""

from __future__ import annotations

import numpy as np

from demonloop.workloads.langevin import HardwareProgram

N_BATCH = 16


def kl_gaussian(mu0, S0, mu1, S1) -> float:
    """``KL(N(mu0, S0) || N(mu1, S1))`` in nats."""
    n = len(mu0)
    L1 = np.linalg.cholesky(S1)
    Si = np.linalg.solve(L1, S0)
    Si = np.linalg.solve(L1.T, Si)
    d = np.linalg.solve(L1, mu1 - mu0)
    _, ld0 = np.linalg.slogdet(S0)
    ld1 = 2.0 * np.log(np.diag(L1)).sum()
    return float(0.5 * (np.trace(Si) + d @ d - n + ld1 - ld0))


def integrated_autocorr_time(trace: np.ndarray, c: float = 5.0) -> float:
    """Integrated autocorrelation time (in samples) of ``trace`` (time, chains), averaged over
    chains with Sokal's automatic window ``M >= c tau``."""
    x = trace - trace.mean(axis=0)
    T = x.shape[0]
    if T < 8:
        return float("nan")
    nfft = 1 << (2 * T - 1).bit_length()
    f = np.fft.rfft(x, n=nfft, axis=0)
    acf = np.fft.irfft(f * np.conj(f), n=nfft, axis=0)[:T].mean(axis=1)
    if acf[0] <= 0:
        return float("nan")
    rho = acf / acf[0]
    tau = 2.0 * np.cumsum(rho) - 1.0
    for M in range(1, T):
        if M >= c * tau[M]:
            return float(tau[M])
    return float(tau[-1])


class Estimator:
    """Accumulates batch sums of the codes ``X`` and of ``X X^T`` (exact integers in float64,
    scaled to ``x`` only when read), and the running error at log-spaced checkpoints."""

    def __init__(self, program: HardwareProgram, chains: int):
        cfg = program.config
        self.program = program
        self.kind = cfg.workload.kind
        self.n = n = cfg.n
        self.chains = chains
        self.burn = cfg.run.burn_in_samples
        self.samples = cfg.run.samples
        self.inv_fs = 2.0 ** (1 - cfg.adc.bits)
        self.need_cov = self.kind != "linear_solve"
        g = min(N_BATCH, chains)
        self.time_blocks = 1 if chains >= N_BATCH else int(np.ceil(N_BATCH / chains))
        self.starts = np.linspace(0, chains, g + 1).astype(int)[:-1]
        self.group_sizes = np.diff(np.append(self.starts, chains))
        self._equal_groups = bool(np.all(self.group_sizes == self.group_sizes[0]))
        # per (time block, unit, chain) sums of X; units-major to match the plant's layout
        self.S1 = np.zeros((self.time_blocks, n, chains))
        self.Ssq = np.zeros((n, chains))
        self._sq = np.empty((n, chains))
        self.S2 = np.zeros((self.time_blocks * g, n, n)) if self.need_cov else None
        self.seen = 0
        self.checkpoints = set(np.unique(np.geomspace(1, self.samples, 24).astype(int)).tolist())
        self.curve: list[tuple[int, float]] = []
        nt = min(cfg.run.trace_chains, chains)
        self.trace = np.zeros((min(self.samples, 4096), nt, n), dtype=np.float32) if nt else None

    def on_sample(self, m: int, X: np.ndarray) -> None:
        if m < self.burn:
            return
        i = m - self.burn
        XT = X.T
        tb = i * self.time_blocks // self.samples
        self.S1[tb] += XT
        np.multiply(XT, XT, out=self._sq)
        self.Ssq += self._sq
        if self.need_cov:
            g = len(self.starts)
            if self._equal_groups:
                # one batched product over the chain groups: (g, n, c) @ (g, c, n)
                G3 = XT.reshape(self.n, g, -1).transpose(1, 0, 2)
                self.S2[tb * g:(tb + 1) * g] += G3 @ G3.transpose(0, 2, 1)
            else:
                for gi, (a, sz) in enumerate(zip(self.starts, self.group_sizes)):
                    xs = XT[:, a:a + sz]
                    self.S2[tb * g + gi] += xs @ xs.T
        if self.trace is not None and i < self.trace.shape[0]:
            self.trace[i] = X[: self.trace.shape[1]] * self.inv_fs
        self.seen = i + 1
        if self.seen in self.checkpoints:
            self.curve.append((self.seen, self._error_now()))

    def _batches(self):
        """(per-batch sums of x (nb, n), per-batch counts (nb,), per-batch sums of x x^T or None)."""
        s = self.inv_fs
        parts = np.add.reduceat(self.S1, self.starts, axis=2)          # (tb, n, g)
        S1b = parts.transpose(0, 2, 1).reshape(-1, self.n) * s
        per_tb = np.array([self.seen * 0] * self.time_blocks, dtype=float)
        for tb in range(self.time_blocks):
            lo = -(-tb * self.samples // self.time_blocks)
            hi = -(-(tb + 1) * self.samples // self.time_blocks)
            per_tb[tb] = max(0, min(hi, self.seen) - lo)
        counts = (per_tb[:, None] * self.group_sizes[None, :]).reshape(-1)
        S2b = self.S2 * s * s if self.need_cov else None
        return S1b, counts, S2b

    # ---- estimates ---------------------------------------------------------------------------
    def _mean_cov(self, S1, S2, cnt):
        mu = S1 / cnt
        if S2 is None:
            return mu, None
        cov = S2 / cnt - np.outer(mu, mu)
        return mu, cov

    def _totals(self):
        s = self.inv_fs
        cnt = self.seen * self.chains
        tsum = self.S1.sum(axis=(0, 2)) * s
        tsum2 = self.S2.sum(axis=0) * s * s if self.need_cov else None
        return self._mean_cov(tsum, tsum2, cnt)

    def _error_now(self) -> float:
        mu, cov = self._totals()
        return self._score(mu, cov)["headline"]

    def _score(self, mu_x: np.ndarray, cov_x: np.ndarray | None) -> dict:
        p = self.program
        a = p.scale
        M, b_t = p.M, p.b_t
        if self.kind == "linear_solve":
            x_hat = mu_x / a
            x_star = np.linalg.solve(M, b_t)
            err = float(np.linalg.norm(x_hat - x_star) / np.linalg.norm(x_star))
            return {"headline": err, "x_hat": x_hat, "x_star": x_star}
        cov_t = cov_x / a**2
        if self.kind == "gaussian":
            S = np.linalg.inv(M)
            mu = np.linalg.solve(M, b_t)
            mu_hat = mu_x / a
            err = float(np.linalg.norm(cov_t - S) / np.linalg.norm(S))
            return {"headline": err, "mu_hat": mu_hat, "mu": mu, "S_hat": cov_t, "S": S}
        Ainv = np.linalg.inv(M)
        if self.kind == "inverse":
            err = float(np.linalg.norm(cov_t - Ainv) / np.linalg.norm(Ainv))
            return {"headline": err, "Ainv_hat": cov_t, "Ainv": Ainv}
        sign, ld = np.linalg.slogdet(cov_t)
        est = -ld if sign > 0 else float("nan")
        true = float(np.linalg.slogdet(M)[1])
        return {"headline": abs(est - true), "logdet_hat": est, "logdet": true}

    def metrics(self) -> dict:
        """The workload's figures of merit, with standard errors from the batches (a figure that
        cannot be formed, e.g. a z-score over a zero spread, comes out non-finite and is reported
        as null)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return self._metrics()

    def _metrics(self) -> dict:
        p = self.program
        a = p.scale
        cnt = self.seen * self.chains
        mu_x, cov_x = self._totals()
        sc = self._score(mu_x, cov_x)
        if self.seen < 2:
            return {"samples_per_chain": self.seen}
        S1b, counts, S2b = self._batches()
        keep = counts > 0
        S1b, counts = S1b[keep], counts[keep]
        S2b = S2b[keep] if S2b is not None else None
        nb = len(counts)
        bm = S1b / counts[:, None]
        se_x = bm.std(axis=0, ddof=1) / np.sqrt(nb)
        var_x = self.Ssq.sum(axis=1) * self.inv_fs**2 / cnt - mu_x**2
        ess = var_x / np.maximum(se_x**2, 1e-300)
        out: dict = {"samples_per_chain": self.seen, "ess_mean": float(np.mean(ess))}
        if self.trace is not None and self.trace.shape[0] >= 8:
            taus = [integrated_autocorr_time(self.trace[:, :, j].astype(np.float64)) for j in range(self.n)]
            out["tau_int_samples"] = float(np.nanmean(taus))
        M_impl, bt_impl = p.implemented["M"], p.implemented["b_t"]
        if self.kind == "linear_solve":
            se = se_x / a
            x_star = sc["x_star"]
            x_impl = np.linalg.solve(M_impl, bt_impl)
            out.update(
                rel_error=sc["headline"],
                rel_error_implemented=float(np.linalg.norm(sc["x_hat"] - x_impl) / np.linalg.norm(x_impl)),
                rel_standard_error=float(np.linalg.norm(se) / np.linalg.norm(x_star)),
                z_chi2_implemented=float(np.sum(((sc["x_hat"] - x_impl) / se) ** 2)),
                solution=sc["x_hat"].tolist(),
                solution_se=se.tolist(),
                exact=x_star.tolist(),
            )
            return out
        # covariance standard errors from the batches
        bmeans = bm
        bcov = S2b / counts[:, None, None] - np.einsum("bi,bj->bij", bmeans, bmeans)
        cov_se = bcov.std(axis=0, ddof=1) / np.sqrt(nb) / a**2
        if self.kind == "gaussian":
            S, mu = sc["S"], sc["mu"]
            out.update(
                cov_rel_error=sc["headline"],
                mean_error=float(np.linalg.norm(sc["mu_hat"] - mu) / np.sqrt(np.trace(S))),
                kl=kl_gaussian(sc["mu_hat"], sc["S_hat"], mu, S),
                cov_rel_standard_error=float(np.linalg.norm(cov_se) / np.linalg.norm(S)),
                mean_se=(se_x / a).tolist(),
                mean=sc["mu_hat"].tolist(),
                covariance=sc["S_hat"].tolist(),
                exact_mean=mu.tolist(),
                exact_covariance=S.tolist(),
            )
        elif self.kind == "inverse":
            out.update(
                rel_error=sc["headline"],
                rel_error_implemented=float(np.linalg.norm(sc["Ainv_hat"] - np.linalg.inv(M_impl))
                                            / np.linalg.norm(np.linalg.inv(M_impl))),
                rel_standard_error=float(np.linalg.norm(cov_se) / np.linalg.norm(sc["Ainv"])),
                inverse=sc["Ainv_hat"].tolist(),
                exact=sc["Ainv"].tolist(),
            )
        else:
            blds = []
            for b in range(nb):
                s, ld = np.linalg.slogdet(bcov[b] / a**2)
                blds.append(-ld if s > 0 else np.nan)
            blds = np.asarray(blds)
            out.update(
                abs_error=sc["headline"],
                logdet=sc["logdet_hat"],
                exact=sc["logdet"],
                standard_error=float(np.nanstd(blds, ddof=1) / np.sqrt(np.sum(np.isfinite(blds)))),
            )
        return out

    def headline_name(self) -> str:
        return {"linear_solve": "rel_error", "gaussian": "cov_rel_error", "inverse": "rel_error",
                "logdet": "abs_error"}[self.kind]


class ScoreEstimator:
    """Reads a score-network workload's samples back and scores them (demonloop.workloads.diffusion).

    diffusion: the ADC codes of the last sample (the finished reverse process), every chain,
    in data units ``dataset.unnormalise(in_scale * x)``; scored against the held-out data next to
    the float64 sampler (MMD at a stated bandwidth, sliced Wasserstein).
    posterior: the stream after burn-in in parameter units ``in_scale * x`` (thinned to at most
    ``MAX_STREAM`` values), scored by moments and a two-sample test against the exact reference.
    """

    MAX_STREAM = 4_000_000
    N_PERM = 100
    MIN_SCORED = 20

    def __init__(self, program, chains: int):
        cfg = program.config
        self.program = program
        self.kind = cfg.workload.kind
        self.chains = chains
        self.n = cfg.n
        self.burn = cfg.run.burn_in_samples
        self.total = cfg.total_samples
        self.to_z = 2.0 ** (1 - cfg.adc.bits) * program.in_scale
        self.final = None
        self.stream = None
        self.curve: list = []
        self.seen = 0
        self._metrics = None
        if self.kind == "posterior":
            T = cfg.run.samples
            self.thin = max(1, int(np.ceil(T * chains * self.n / self.MAX_STREAM)))
            self.stream = np.zeros((T // self.thin, chains, self.n), dtype=np.float32)

    def on_sample(self, m: int, X: np.ndarray) -> None:
        if self.kind == "diffusion":
            if m == self.total - 1:
                self.final = np.array(X, dtype=np.float64)
                self.seen = 1
            return
        if m < self.burn:
            return
        i = m - self.burn
        if i % self.thin == 0 and i // self.thin < len(self.stream):
            self.stream[i // self.thin] = X * self.to_z
        self.seen = i + 1

    def headline_name(self) -> str:
        return "mmd2" if self.kind == "diffusion" else "cov_rel_error"

    def _references(self):
        from demonloop.workloads.targets import make_target
        from demonloop.workloads.references import grid_reference, stored_reference

        p = self.program
        target = p.config.workload.target
        if target == "iris_logistic":
            return (stored_reference(p.arrays, "exact", p.net.meta),
                    stored_reference(p.arrays, "hardtanh", p.net.meta))
        return grid_reference(make_target(target)), None

    def metrics(self) -> dict:
        if self._metrics is not None:
            return self._metrics
        from demonloop.workloads import diffusion as ws
        p = self.program
        if self.kind == "diffusion":
            if self.final is None:
                return {"samples_per_chain": 0}
            from demonloop.workloads.datasets import load_dataset

            ds = load_dataset(p.config.workload.dataset, 0)
            data = ds.unnormalise(self.final * self.to_z)
            if len(data) < self.MIN_SCORED:
                self._metrics = {"samples": int(len(data)), "scored": 0,
                                 "note": f"{len(data)} sample(s): too few to score (run at least {self.MIN_SCORED} chains)"}
                return self._metrics
            # scored on as many samples as the held-out set has (the first chains: a fixed choice)
            self.data = data[: min(len(data), len(ds.held_out))]
            self._dataset = ds
            m = ws.score_diffusion(self.data, p.net, ds, hw_steps=p.config.workload.steps, seed=p.config.seed,
                                   n_perm=self.N_PERM)
            self._reference = None
            out = {"samples": int(len(data)), "scored": int(len(self.data)), "mmd2": m["mmd2"], "mmd2_null_sd": m["hardware"]["mmd2_null_sd"],
                   "mmd2_float64": m["mmd2_float64"], "mmd2_fine": m["mmd2_fine"],
                   "mmd2_fine_float64": m["mmd2_fine_float64"], "sw2": m["sw2"], "sw2_float64": m["sw2_float64"],
                   "sw2_excess": m["sw2_excess"], "mmd2_fine_excess": m["mmd2_fine_excess"],
                   "bandwidth": m["bandwidth"], "kernel": m["kernel"], "detail": m}
        else:
            if self.seen < 2:
                return {"samples_per_chain": self.seen}
            ref, impl = self._references()
            used = min(len(self.stream), max(1, self.seen // self.thin))
            m = ws.score_posterior(self.stream[:used].astype(np.float64), ref, implemented=impl, seed=p.config.seed)
            self._refs = (ref, impl)
            out = {"samples_per_chain": self.seen, "thin": self.thin,
                   "cov_rel_error": m["cov_rel_error"], "max_abs_mean_z": m["max_abs_mean_z"],
                   "mean_p_bonferroni": m["mean_p_bonferroni"], "max_abs_cov_z": m["max_abs_cov_z"],
                   "mmd2": m["two_sample"]["mmd2"], "mmd_p": m["two_sample"]["mmd_p"],
                   "ess_mean": float(np.mean(m["ess"])), "detail": m}
            if "vs_implemented" in m:
                vi = m["vs_implemented"]
                out.update(implemented_max_abs_mean_z=vi["max_abs_mean_z"], implemented_cov_rel_error=vi["cov_rel_error"],
                           implemented_mmd_p=vi["two_sample"]["mmd_p"])
        self._metrics = out
        return out

    def plot(self, path, title: str = "") -> None:
        """The workload's PNG: samples against the data (diffusion), marginals and the joint
        against the exact reference (posterior)."""
        from pathlib import Path

        from demonloop.workloads import diffusion as ws
        m = self.metrics()
        if self.kind == "diffusion":
            if self.final is None or not m.get("scored"):
                return
            from demonloop.workloads.references import IDEAL_STEPS, reverse_sde_float

            ref = self._dataset.unnormalise(reverse_sde_float(
                self.program.net, len(self.data), np.random.default_rng(np.random.SeedSequence([self.program.config.seed, 7]).spawn(1)[0]),
                IDEAL_STEPS))
            ws.plot_diffusion(self.data, ref, self._dataset, m["detail"], Path(path), title)
        elif "detail" in m:
            used = min(len(self.stream), max(1, self.seen // self.thin))
            ws.plot_posterior(self.stream[:used].astype(np.float64), self._refs[0], m["detail"], Path(path),
                              title=title)


def make_estimator(program, chains: int):
    """The estimator of ``program``'s workload."""
    if program.config.is_score:
        return ScoreEstimator(program, chains)
    return Estimator(program, chains)
