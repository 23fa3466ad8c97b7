"""The config schema is built from the registries: a section per kind, chosen by its ``kind``
(or ``model``); errors name the field and the reason in one line."""

from __future__ import annotations

import copy

import pytest

from demonloop import demon, workloads
from demonloop.config import ConfigError, validate_config
from demonloop.config.schema import Config
from demonloop.plant.converters import ADC_MODELS, DAC_MODELS
from tests.conftest import SMALL


def with_(**changes) -> dict:
    d = copy.deepcopy(SMALL)
    for key, value in changes.items():
        cur = d
        *head, last = key.split(".")
        for p in head:
            cur = cur.setdefault(p, {})
        cur[last] = value
    return d


def error_of(doc: dict) -> ConfigError:
    with pytest.raises(ConfigError) as exc:
        validate_config(doc)
    return exc.value


def test_every_registered_kind_has_its_section_in_the_schema() -> None:
    members = Config.model_fields["workload"].annotation
    text = repr(members) + repr(Config.model_fields["demon"].annotation)
    for w in workloads.WORKLOADS:
        assert w.section.__name__ in text and w.section.model_fields["kind"].annotation.__args__ == (w.kind,)
    for k in demon.DEMONS:
        assert k.section.__name__ in text
    assert ADC_MODELS.names() == ("standard",) and DAC_MODELS.names() == ("standard",)


@pytest.mark.parametrize("field,value,where,words", [
    ("workload.kind", "sorting", "workload.kind", "linear_solve, gaussian"),
    ("demon.kind", "fpga", "demon.kind", "must be one of linear, mlp"),
    ("adc.model", "sigma_delta", "adc.model", "must be one of standard"),
    ("workload.target", "ring2d", "workload.target", "unknown key for workload.kind linear_solve"),
    ("demon.weight", {"int_bits": 2, "frac_bits": 2}, "demon.weight", "unknown key"),
])
def test_a_kind_mismatch_names_the_field(field, value, where, words) -> None:
    e = error_of(with_(**{field: value}))
    assert e.field == where and words in e.reason, str(e)


def test_a_workload_on_the_wrong_demon_says_which_demon_it_needs() -> None:
    e = error_of(with_(**{"demon.kind": "mlp"}))
    assert e.field == "demon.kind" and "runs on demon.kind linear" in e.reason


def test_defaults_come_from_the_registered_sections() -> None:
    cfg = validate_config(copy.deepcopy(SMALL))
    assert cfg.demon.kind == "linear" and cfg.adc.model == "standard" and cfg.dac.model == "standard"
    assert demon.of(cfg) is demon.DEMONS.get("linear") and workloads.of(cfg) is workloads.WORKLOADS.get("linear_solve")
    assert not hasattr(cfg, "is_score")


def test_overrides_revalidate() -> None:
    cfg = validate_config(copy.deepcopy(SMALL))
    assert cfg.with_overrides({"adc.bits": 10}).adc.bits == 10
    with pytest.raises(ConfigError) as exc:
        cfg.with_overrides({"adc.bits": 1})
    assert exc.value.field == "adc.bits"
