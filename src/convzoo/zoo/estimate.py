"""Budget a zoo row before training it: time its recipe's model on this machine and turn the rates
into minutes for the recipe's epochs (`convzoo zoo --estimate`).

A training step (forward, the loss of every head, backward, SGD update) is timed at the recipe's
batch size in both memory layouts, NCHW and channels_last, in alternating rounds, and the faster
layout is kept, as the Trainer's `auto` setup does; a forward pass in eval mode gives the test
evaluation's rate. Estimated minutes = epochs x (training images / training rate + 10,000 test
images / evaluation rate). Augmentation, data loading and the checkpoint writes are not counted,
so a real run takes somewhat longer; the card of a trained row holds the time it really took.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .rows import INPUT, get_row

TEST_IMAGES = 10_000
TRAIN_IMAGES = 60_000
EVAL_BATCH = 256


@dataclass(frozen=True)
class Estimate:
    row: str
    model: str
    macs: int
    layout: str  # the faster of NCHW and channels_last for a training step
    train_per_sec: float
    eval_per_sec: float
    epochs: int
    images: int  # training images per epoch (the recipe's train_size, else all)
    minutes: float

    def to_dict(self) -> dict:
        return asdict(self)


def estimate_row(name: str, rounds: int = 3) -> Estimate:
    """Time row `name`'s model as its recipe builds and trains it, at torch's current thread count."""
    import torch
    import torch.nn.functional as F

    from ..analysis.flops import count_macs
    from ..bench.timing import alternating_medians
    from ..models import create_model
    from ..train.recipes import RECIPES

    row = get_row(name)
    values = RECIPES[row.recipe].values()
    batch, epochs = values["batch_size"], values["epochs"]
    images = values.get("train_size") or TRAIN_IMAGES
    torch.manual_seed(0)
    model = create_model(row.model, num_classes=10, in_channels=INPUT[0], input_size=INPUT[1:], **row.model_kwargs)
    macs = count_macs(model, (1, *INPUT))
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    x, y = torch.randn(batch, *INPUT), torch.randint(0, 10, (batch,))

    def step(layout: torch.memory_format):
        def run():
            model.to(memory_format=layout).train()
            outputs = model(x.contiguous(memory_format=layout))
            heads = outputs if isinstance(outputs, tuple) else (outputs,)
            loss = sum(F.cross_entropy(h, y) for h in heads)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        return run

    layouts = {"NCHW": torch.contiguous_format, "channels_last": torch.channels_last}
    seconds = alternating_medians({k: step(v) for k, v in layouts.items()}, rounds)
    layout = min(seconds, key=seconds.get)
    model.to(memory_format=layouts[layout]).eval()
    test = torch.randn(EVAL_BATCH, *INPUT).contiguous(memory_format=layouts[layout])
    with torch.no_grad():
        eval_seconds = alternating_medians({"eval": lambda: model(test)}, rounds)["eval"]
    train_rate, eval_rate = batch / seconds[layout], EVAL_BATCH / eval_seconds
    minutes = epochs * (images / train_rate + TEST_IMAGES / eval_rate) / 60
    return Estimate(name, row.model, macs, layout, train_rate, eval_rate, epochs, images, minutes)


def format_estimates(estimates: list[Estimate], machine: dict) -> str:
    from ..analysis.summary import human
    from ..tables import text_table

    rows = [(e.row, e.model, human(e.macs), e.layout, f"{e.train_per_sec:,.0f}", f"{e.eval_per_sec:,.0f}",
             f"{e.epochs} x {e.images:,}", f"{e.minutes:.1f}") for e in estimates]
    table = text_table(["row", "model", "MACs", "layout", "train ex/s", "eval ex/s", "epochs x images",
                        "~minutes"], rows, right={2, 4, 5, 7})
    return (f"{table}\n{machine['cpu']}, {machine['threads']} thread(s), torch {machine['torch']}; "
            "minutes = epochs x (images / train rate + 10,000 / eval rate), no augmentation or loading")
