"""``demonloop regress``: the demon-interface conformance regression (:mod:`demonloop.cosim.conformance`)
on the project's demon or a user's, host side: check the RTL against the contract, build it (in
the cache), run the cocotb tests in the simulator, read their JUnit results.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from xml.etree import ElementTree

from demonloop.config import Config, ConfigError
from demonloop.cosim import simulators as sim
from demonloop.cosim.reference import GOLDEN, Reference
from demonloop.cosim.rtl import RTLDesign
from demonloop.cosim.run import cached_build, prepare_rtl

TEST_MODULE = "demonloop.cosim.conformance"


@contextmanager
def _outside_pytest():
    """The cocotb runner exits the process on a failed test when it thinks pytest runs it; the
    regression reads the results itself."""
    saved = os.environ.pop("PYTEST_CURRENT_TEST", None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ["PYTEST_CURRENT_TEST"] = saved


def results(xml: Path) -> list[dict]:
    """Every test case of a JUnit results file: name, seconds, passed, and the failure's message."""
    out = []
    for case in ElementTree.parse(xml).getroot().iter("testcase"):
        bad = case.find("failure") if case.find("failure") is not None else case.find("error")
        message = None
        if bad is not None:
            lines = [s.strip() for s in (bad.get("message") or bad.text or "").splitlines() if s.strip()]
            message = lines[0].removeprefix("AssertionError: ") if lines else "failed"
        out.append({"name": case.get("name"), "seconds": float(case.get("time") or 0.0),
                    "passed": bad is None, "message": message})
    return out


def run_regression(cfg: Config, simulator: str, rtl: RTLDesign | None = None, reference: Reference = GOLDEN,
                   junit: Path | None = None, vectors: int = 2000, seed: int | None = None,
                   quiet: bool = False) -> dict:
    """Run the conformance regression of ``rtl`` (default: the project's demon) for ``cfg``'s demon
    (its widths, formats and compiled program); returns the summary (``tests``, ``passed``,
    ``failed``, ``junit``, ``seed``)."""
    design, params, iface = prepare_rtl(cfg, rtl)
    seed = cfg.seed if seed is None else seed

    def log(msg):
        if not quiet:
            print(f"demonloop: {msg}", file=sys.stderr)

    try:
        runner, build_dir, build_s = cached_build(simulator, params, False, log, design, iface)
    except sim.SimulatorMissing as e:
        raise ConfigError("--simulator", str(e)) from None
    job = {"config": cfg.raw(), "base_dir": str(cfg.base_dir), "reference": reference.to_json(),
           "has_axi": iface.has_axi if iface else True, "vectors": int(vectors)}
    where = "the project's demon" if design.is_bundled else f"{design.toplevel} from {design.origin}"
    log(f"conformance regression of {where} on {simulator}, checked against {reference.name}, seed {seed} "
        f"(replay: --seed {seed})")
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"demonloop-regress-{simulator}-") as tmp:
        log_path = Path(tmp) / "sim.log"
        with _outside_pytest():
            try:
                xml = sim.run(runner, build_dir, TEST_MODULE, seed=seed, test_dir=Path(tmp),
                              extra_env={"DEMONLOOP_REGRESS_JOB": json.dumps(job),
                                         "DEMONLOOP_SPEC": json.dumps(params),
                                         "PYTHONWARNINGS": "ignore::DeprecationWarning"},
                              log_file=log_path)
            except SystemExit:
                xml = Path(tmp) / "results.xml"
        xml = Path(xml)
        if not xml.is_file():
            text = log_path.read_text(errors="replace") if log_path.exists() else "(no log)"
            raise RuntimeError(f"the {simulator} regression wrote no results; its log ends with:\n"
                               + "\n".join(text.splitlines()[-40:]))
        cases = results(xml)
        if junit is not None:
            junit.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(xml, junit)
    failed = [c for c in cases if not c["passed"]]
    return {"simulator": simulator, "rtl": where, "reference": reference.name, "seed": seed,
            "tests": cases, "passed": len(cases) - len(failed), "failed": len(failed),
            "junit": str(junit) if junit else None, "build_s": round(build_s, 3),
            "wall_s": round(time.perf_counter() - t0, 3)}


def summary(rep: dict) -> str:
    lines = [f"demonloop regress: {rep['rtl']} on {rep['simulator']}, against {rep['reference']}, "
             f"seed {rep['seed']}: {rep['passed']} passed, {rep['failed']} failed ({rep['wall_s']:.3g} s)"]
    for c in rep["tests"]:
        mark = "PASS" if c["passed"] else "FAIL"
        lines.append(f"  {mark}  {c['name']}" + (f": {c['message']}" if c["message"] else ""))
    if rep["junit"]:
        lines.append(f"  wrote {rep['junit']}")
    return "\n".join(lines)
