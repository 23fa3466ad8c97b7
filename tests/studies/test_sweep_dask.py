"""``demonloop sweep --dask``: a real Dask cluster (a scheduler and two worker processes on the
loopback interface) gives the same rows, bit for bit, as the local run, because every run's seed
comes from the sweep's SeedSequence, never from which worker ran it or when."""

from __future__ import annotations

import pytest

from demonloop.studies.sweep import run_sweep
from tests.studies.test_sweep import make_sweep, strip

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None, silence_logs=40) as c:
        yield c


def test_dask_cluster_rows_equal_the_local_rows_bit_for_bit(cluster, tmp_path):
    axes = ["demon.latency_cycles=0,40,300", "adc.bits=8,10"]
    local = run_sweep(make_sweep(tmp_path, "local", axes=axes), workers=1, progress=False)
    with distributed.Client(cluster.scheduler_address) as client:
        client.get_task_stream()            # installs the scheduler's task-stream recorder
        remote = run_sweep(make_sweep(tmp_path, "dask", axes=axes), dask_address=cluster.scheduler_address,
                           progress=False)
        stream = client.get_task_stream()
    assert remote["ran"] == 12 and local["ran"] == 12
    assert strip(remote["rows"]) == strip(local["rows"])
    # both worker processes ran some of them (so "the same" is not one process doing everything)
    ours = [t for t in stream if str(t["key"]).startswith("demonloop-")]
    assert len(ours) == 12 and len({t["worker"] for t in ours}) == 2
    # the results include both outcomes, so the comparison covers the divergence path too
    assert {r["stable"] for r in remote["rows"]} == {True, False}
    # files on disk are the same too (atomic per-run results, then the tables)
    assert (tmp_path / "dask" / "sweep.csv").read_text().count("\n") == 13


def test_dask_sweep_resumes_like_a_local_one(cluster, tmp_path):
    axes = ["demon.latency_cycles=0,300"]
    first = run_sweep(make_sweep(tmp_path, axes=axes), dask_address=cluster.scheduler_address, progress=False)
    (tmp_path / "sw" / "runs" / "p00001-r00.json").unlink()
    again = run_sweep(make_sweep(tmp_path, axes=axes), dask_address=cluster.scheduler_address, progress=False)
    assert again["ran"] == 1 and again["skipped"] == 3
    assert strip(again["rows"]) == strip(first["rows"])


def test_unreachable_scheduler_is_one_clear_error_and_writes_nothing(tmp_path, monkeypatch):
    import demonloop.studies.sweep as sweep_mod
    from demonloop.config import ConfigError

    monkeypatch.setattr(sweep_mod, "DASK_CONNECT_TIMEOUT", "1s")
    with pytest.raises(ConfigError) as exc:
        run_sweep(make_sweep(tmp_path, axes=["demon.latency_cycles=0"]), dask_address="tcp://127.0.0.1:1",
                  progress=False)
    assert exc.value.field == "--dask" and "127.0.0.1:1" in exc.value.reason
    assert not (tmp_path / "sw").exists()
