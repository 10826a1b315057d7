"""Budget a zoo row before training it: a short run of its recipe through the engine on this
machine, turned into minutes for the recipe's epochs (`convzoo zoo estimate`).

The run is the recipe's own (model, options, optimizer, augmentation, precision and the Trainer's
`auto` layout choice) on a class-balanced subset of `steps` batches of training images and
`test_images` test images, one epoch, in a temporary folder. Its examples/s give the training rate;
one more pass over the test images, timed, the evaluation's. Estimated minutes = epochs x (training images
/ training rate + the whole test set / evaluation rate). The first steps of a process are slower than the
rest (allocations, kernel choice), so the estimate errs long; the start-up (imports, data loading,
the auto setup's timing) is not counted. The card of a trained row holds the time it really took.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .rows import get_row


@dataclass(frozen=True)
class Estimate:
    row: str
    model: str
    macs: int
    setup: str  # precision and layout the Trainer chose
    train_per_sec: float
    eval_per_sec: float
    epochs: int
    images: int  # training images per epoch (the recipe's train_size, else all)
    minutes: float

    def to_dict(self) -> dict:
        return asdict(self)


def estimate_row(name: str, threads: int, steps: int = 20, test_images: int = 1000, data_dir=None) -> Estimate:
    """Run row `name`'s recipe for `steps` batches and one pass over `test_images` test images."""
    import contextlib
    import dataclasses
    import io
    import tempfile

    from ..analysis.flops import count_macs
    from ..data import load_dataset
    from ..data.sampling import balanced_subset, with_train_size
    from ..timing import seconds_of
    from ..train import TrainConfig, Trainer
    from ..train.recipes import RECIPES

    row = get_row(name)
    values = RECIPES[row.recipe].values()
    bundle = load_dataset(values["data"], data_dir, seed=0)
    images, full_test = values.get("train_size") or len(bundle.train), len(bundle.test)
    test_images = min(test_images, len(bundle.test))
    bundle = dataclasses.replace(bundle, test=balanced_subset(bundle.test, test_images, 0))
    bundle = with_train_size(bundle, min(steps * values["batch_size"], len(bundle.train)), 0)
    with tempfile.TemporaryDirectory(prefix="convzoo-estimate-") as out:
        config = TrainConfig(**{**values, "epochs": 1, "train_size": None, "out": out, "progress": False,
                                "threads": threads,
                                "data_dir": None if data_dir is None else str(data_dir)})
        trainer = Trainer(config, data=bundle)
        with contextlib.redirect_stdout(io.StringIO()):  # the engine's log; the estimate prints its own table
            trainer.fit()
            eval_seconds = seconds_of(trainer.evaluate)  # the test pass, as after every epoch
        epoch = trainer.history[-1]
        macs = count_macs(trainer.model, (1, *bundle.train.shape))
        setup = f"{trainer.setup.precision}{' channels_last' if trainer.setup.channels_last else ''}"
    train_rate, eval_rate = epoch["examples_per_sec"], test_images / eval_seconds
    minutes = values["epochs"] * (images / train_rate + full_test / eval_rate) / 60
    return Estimate(name, row.model, macs, setup, train_rate, eval_rate, values["epochs"], images, minutes)


def format_estimates(estimates: list[Estimate], machine: dict) -> str:
    from ..tables import human, text_table

    rows = [(e.row, e.model, human(e.macs), e.setup, f"{e.train_per_sec:,.0f}", f"{e.eval_per_sec:,.0f}",
             f"{e.epochs} x {e.images:,}", f"{e.minutes:.1f}") for e in estimates]
    table = text_table(["row", "model", "MACs", "setup", "train ex/s", "eval ex/s", "epochs x images",
                        "~minutes"], rows, right={2, 4, 5, 7})
    return (f"{table}\n{machine['cpu']}, {machine['threads']} thread(s), torch {machine['torch']}; a short run of "
            "each recipe; minutes = epochs x (images / train rate + test images / eval rate), start-up not counted")
