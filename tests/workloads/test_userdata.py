"""Posteriors on the user's own data (examples/posterior_csv): the data-built network samples the
posterior it implements, scored against NUTS (logistic) or the closed form (linear) with
tolerances from standard errors (a moment fails when its Bonferroni-corrected two-sided p-value
is below 0.001, as in test_score.py); bad data is refused in one line with exit 2."""

import shutil

import numpy as np
import pytest
import yaml

from demonloop.cli.main import main
from demonloop.config import load_config
from demonloop.loop import run_golden
from tests.conftest import REPO
from tests.workloads.test_score import bonferroni_ok

EX = REPO / "examples" / "posterior_csv"


def test_logistic_posterior_on_a_csv_matches_its_nuts_reference():
    cfg = load_config(EX / "logistic.yaml").with_overrides({"chains": 128})
    rep, _ = run_golden(cfg)
    m = rep["metrics"]
    assert m["detail"]["reference"]["name"] == "nuts"
    vi = m["detail"]["vs_implemented"]
    d = len(vi["mean"])
    assert d == 4
    assert bonferroni_ok(vi["max_abs_mean_z"], d), vi["mean_z"]
    assert bonferroni_ok(vi["max_abs_cov_z"], d * (d + 1) // 2)
    assert vi["two_sample"]["mmd_p"] > 1e-3


def test_linear_posterior_on_a_csv_matches_the_closed_form():
    cfg = load_config(EX / "linear.yaml").with_overrides({"chains": 128})
    rep, _ = run_golden(cfg)
    m = rep["metrics"]
    assert m["detail"]["reference"]["name"] == "closed_form"
    assert bonferroni_ok(m["max_abs_mean_z"], 3), m["detail"]["mean_z"]
    # the closed form: the posterior mean solves (X^T X / s^2 + I / s0^2) mu = X^T y / s^2
    from demonloop.workloads.userdata import load_regression_data

    data = load_regression_data(cfg)
    P = data.X.T @ data.X / 1.0**2 + np.eye(3) / 2.5**2
    np.testing.assert_allclose(m["detail"]["exact_mean"], np.linalg.solve(P, data.X.T @ data.y), rtol=1e-12)


def test_the_reference_is_cached_by_the_data_hash(tmp_path, monkeypatch):
    from demonloop.workloads import userdata

    monkeypatch.setenv("DEMONLOOP_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(userdata, "NUTS_SAMPLES", 300)
    monkeypatch.setattr(userdata, "NUTS_WARMUP", 200)
    shutil.copy(EX / "trial.csv", tmp_path / "trial.csv")
    shutil.copy(EX / "logistic.yaml", tmp_path / "logistic.yaml")
    cfg = load_config(tmp_path / "logistic.yaml")
    calls = []
    real = userdata.nuts_reference
    monkeypatch.setattr(userdata, "nuts_reference", lambda *a, **k: calls.append(1) or real(*a, **k))
    a = userdata.user_references(cfg)
    b = userdata.user_references(cfg)
    assert len(calls) == 2                          # exact and hard-tanh, once
    np.testing.assert_array_equal(a[0].mean, b[0].mean)
    key = userdata.load_regression_data(cfg).key
    # another dataset (one label flipped) has another key
    text = (tmp_path / "trial.csv").read_text().splitlines()
    f = text[1].split(",")
    f[3] = "1" if f[3] == "0" else "0"
    text[1] = ",".join(f)
    (tmp_path / "trial.csv").write_text("\n".join(text) + "\n")
    cfg2 = load_config(tmp_path / "logistic.yaml")
    assert userdata.load_regression_data(cfg2).key != key
    userdata.user_references(cfg2)
    assert len(calls) == 4


def _check(tmp_path, capsys, csv_text, **workload):
    (tmp_path / "d.csv").write_text(csv_text)
    doc = yaml.safe_load((EX / "logistic.yaml").read_text())
    doc["workload"].update({"data": "d.csv", **workload})
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(doc))
    with pytest.raises(SystemExit) as exc:
        main(["check", str(tmp_path / "c.yaml")])
        raise SystemExit(0)
    out, err = capsys.readouterr()
    return exc.value.code, err


GOOD = "dose,age,weight,responded\n" + "".join(f"{i % 7},{30 + i},{60 + (i * 3) % 11},{i % 2}\n" for i in range(20))


@pytest.mark.parametrize("csv_text, workload, field, words", [
    (GOOD, {"features": ["dose", "height", "weight"]}, "workload.features", "no column 'height'"),
    (GOOD, {"label": "outcome"}, "workload.label", "no column 'outcome'"),
    (GOOD.replace("\n3,33,", "\nthree,33,", 1), {}, "workload.features", "not numeric"),
    (GOOD.replace("\n3,33,", "\nnan,33,", 1), {}, "workload.features", "non-finite"),
    (GOOD.replace("\n3,33,", "\n,33,", 1), {}, "workload.features", "not numeric"),
    (GOOD.replace(",1\n", ",2\n", 1), {}, "workload.label", "labels 0 or 1"),
    (GOOD, {"data": "missing.csv"}, "workload.data", "no such file"),
])
def test_bad_data_is_refused_in_one_line(tmp_path, capsys, monkeypatch, csv_text, workload, field, words):
    monkeypatch.setenv("DEMONLOOP_CACHE", str(tmp_path / "cache"))
    code, err = _check(tmp_path, capsys, csv_text, **workload)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), err
    assert field in lines[0] and words in lines[0], lines[0]
    assert "Traceback" not in err
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").rglob("*.npz"))


def test_good_data_passes_the_same_check(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DEMONLOOP_CACHE", str(tmp_path / "cache"))
    code, err = _check(tmp_path, capsys, GOOD)
    assert code == 0, err


def test_npz_columns_give_the_same_data_as_the_csv(tmp_path, monkeypatch):
    from demonloop.workloads.userdata import load_regression_data

    monkeypatch.setenv("DEMONLOOP_CACHE", str(tmp_path / "cache"))
    cfg = load_config(EX / "logistic.yaml")
    a = load_regression_data(cfg)
    import csv

    with open(EX / "trial.csv") as f:
        rows = list(csv.DictReader(f))
    np.savez(tmp_path / "trial.npz", **{k: np.array([float(r[k]) for r in rows]) for k in rows[0]})
    doc = yaml.safe_load((EX / "logistic.yaml").read_text())
    doc["workload"]["data"] = "trial.npz"
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(doc))
    b = load_regression_data(load_config(tmp_path / "c.yaml"))
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    assert a.names == b.names == ("intercept", "dose", "age", "weight")
    # standardised features and an intercept
    np.testing.assert_allclose(a.X[:, 1:].mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(a.X[:, 1:].std(axis=0), 1, rtol=1e-12)
