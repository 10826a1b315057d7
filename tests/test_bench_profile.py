"""`convzoo bench train MODEL --profile` (bench/step_profile.py): the step's time by family. Nothing
asserts a time: only that the rows add up, the convolutions are found and counted, and the text's
numbers are the JSON's."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from helpers import run_cli
from test_output import missing_numbers, rendered_once, text_numbers

from convzoo.bench import step_profile
from convzoo.bench.step_profile import (
    BATCH_LABEL,
    CONV_BACKWARD,
    CONV_FORWARD,
    DATA,
    OPTIMIZER,
    OPTIMIZER_LABEL,
    OTHER,
    family_of,
    self_times_by_family,
)


@pytest.mark.parametrize(("name", "family"), [
    ("aten::mkldnn_convolution", CONV_FORWARD),
    ("aten::conv2d", CONV_FORWARD),
    ("aten::convolution_backward", CONV_BACKWARD),
    ("autograd::engine::evaluate_function: ConvolutionBackward0", CONV_BACKWARD),
    ("aten::native_batch_norm_backward", "batch norm (fwd + bwd)"),
    ("aten::max_pool2d_with_indices_backward", "pooling (fwd + bwd)"),
    ("aten::threshold_backward", "activations (fwd + bwd)"),
    ("aten::_foreach_add_", OPTIMIZER),
    ("Optimizer.step#AdamW.step", OPTIMIZER),
    ("aten::_to_copy", "casts between precisions"),
    ("aten::add", OTHER),  # the residual sums: element-wise
    ("aten::an_operator_torch_adds_in_2031", OTHER),  # an unknown name is "other", never an error
    ("aten::_convert_indices_from_coo_to_csr", OTHER),  # "conv" inside a word is not a convolution
])
def test_the_family_table_names_operators(name, family):
    assert family_of(name) == family


@dataclass
class Event:  # the fields of torch.profiler's FunctionEvent that the grouping reads
    name: str
    self_cpu_time_total: float
    cpu_parent: Event | None = None


def test_an_operator_counts_for_its_region_else_its_nearest_named_operator():
    pool_backward = Event("aten::max_pool2d_with_indices_backward", 5.0)
    batch = Event(BATCH_LABEL, 1.0)
    events = [pool_backward, Event("aten::fill_", 2.0, pool_backward),  # pooling zeroes its gradient
              batch, Event("aten::to", 3.0, batch),  # a batch's cast is data, not a cast of the model's
              Event("aten::mul_", 7.0, Event(OPTIMIZER_LABEL, 0.0)),  # a momentum update
              Event("aten::an_unknown_op", 11.0)]
    times = self_times_by_family(events)
    assert times == {"pooling (fwd + bwd)": {"aten::max_pool2d_with_indices_backward": 5.0, "aten::fill_": 2.0},
                     DATA: {BATCH_LABEL: 1.0, "aten::to": 3.0}, OPTIMIZER: {"aten::mul_": 7.0},
                     OTHER: {"aten::an_unknown_op": 11.0}}


@pytest.mark.slow  # builds a Trainer, which times its layouts (~2 s)
def test_profile_reports_families_that_add_up_and_the_convolutions_rates():
    text, data = rendered_once("bench", "train", "lenet_modern", "--profile", "--steps", "2", "--batch-size", "16",
                               "--precision", "fp32", "--data", "mnist-sample")
    families = {row["family"]: row for row in data["families"]}
    assert sum(row["percent"] for row in families.values()) == pytest.approx(100)
    assert sum(row["ms_per_step"] for row in families.values()) == pytest.approx(data["profiled_step_ms"])
    flops = data["flops_per_step"]
    # Backward computes the weights' gradients and all but the first layer's inputs' gradients.
    assert 0 < flops[CONV_FORWARD] < flops[CONV_BACKWARD] <= 2 * flops[CONV_FORWARD]
    assert flops["step"] > flops[CONV_FORWARD] + flops[CONV_BACKWARD]  # the linear layers too
    peak = data["peak_estimate"].get("fp32")
    for family in (CONV_FORWARD, CONV_BACKWARD):
        row = families[family]
        assert row["ms_per_step"] > 0 and row["gflops"] == pytest.approx(flops[family] / row["ms_per_step"] / 1e6)
        assert row["percent_of_peak"] == (pytest.approx(100 * row["gflops"] / peak) if peak else None)
        assert family in text
    assert any("convolution_backward" in op["operator"] for op in families[CONV_BACKWARD]["largest"])
    for row in families.values():
        assert sum(op["ms_per_step"] for op in row["largest"]) <= row["ms_per_step"] * (1 + 1e-9)
    assert set(families) <= {family for family, _ in step_profile.FAMILIES} | {
        DATA, OTHER, step_profile.UNCOVERED}
    assert text_numbers(text) and missing_numbers(text, data) == []


def test_profile_rejects_a_batch_larger_than_the_data_in_one_line(capsys):
    code, _, err = run_cli(capsys, "bench", "train", "lenet_modern", "--profile", "--batch-size", "20000",
                           "--data", "mnist-sample")
    assert code == 1 and "fewer than one batch" in err and len(err.strip().splitlines()) == 1
