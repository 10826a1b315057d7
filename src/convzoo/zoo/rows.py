"""The zoo table's rows as data: one per family, each trained by its recipe (train/zoo_recipes.py).

A row names its recipe (which holds the registry model and its options, so they are stated once),
what differs from the paper at Fashion-MNIST's 28x28 (small-input stem, narrowed widths), the
textbook's printed accuracy where it has one, and how many seeds its published result averages
(3 where a seed trains in <= 5 minutes, else 1, marked in the table).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..train.recipes import RECIPES

INPUT = (1, 28, 28)  # Fashion-MNIST's own size: every row trains and is measured at it
D2L = "d2l.ai (Dive into Deep Learning), the {} section's printed final test accuracy{}"


@dataclass(frozen=True)
class Row:
    name: str  # zoo:NAME
    title: str  # the family as the table shows it
    note: str  # what differs from the paper here
    textbook: float | None = None  # d2l's printed test accuracy for this family
    textbook_source: str | None = None
    seeds: int = 1  # seeds of the published result

    @property
    def recipe(self) -> str:
        return f"zoo-{self.name}"

    @property
    def model(self) -> str:
        return RECIPES[self.recipe].values()["model"]

    @property
    def model_kwargs(self) -> dict:
        return dict(RECIPES[self.recipe].values().get("model_kwargs", {}))


def _row(name, title, note, textbook=None, section=None, seeds=1) -> Row:
    """`section` ending in " ~": the textbook's figure is approximate (it varies between its builds)."""
    approx = bool(section) and section.endswith(" ~")
    source = D2L.format(section.removesuffix(" ~"), " (approximately)" if approx else "") if section else None
    return Row(name, title, note, textbook, source, seeds)


ROWS: dict[str, Row] = {r.name: r for r in (
    _row("lenet", "LeNet (textbook)", "d2l's LeNet: sigmoid, average pooling; as built", 0.789, "LeNet", seeds=3),
    _row("lenet-1998", "LeNet-5 (1998)", "the paper's net: scaled tanh, partial C3, RBF output; 28x28 padded to 32",
         0.789, "LeNet"),
    _row("lenet-bn", "LeNet + BN", "d2l's batch-normed LeNet (sigmoid)", 0.85, "Batch Normalization ~", seeds=3),
    _row("mlp", "MLP", "one hidden layer of 256 ReLUs", seeds=3),
    _row("alexnet", "AlexNet", "small stem; convs 24-64-96-96-64, dense 512; BN added", 0.882, "AlexNet"),
    _row("vgg-a", "VGG-A (vgg11)", "small stem; 1/4 widths, dense 512; BN added", 0.922, "VGG"),
    _row("vgg-d", "VGG-D (vgg16)", "small stem; 1/4 widths, dense 512; BN added", 0.922, "VGG"),
    _row("nin", "NiN", "small stem; half width; BN added", 0.785, "NiN"),
    _row("googlenet", "GoogLeNet", "small stem; 1/4 widths; aux heads; BN; 1 epoch (budget-bound)", 0.883,
         "GoogLeNet"),
    _row("resnet18", "ResNet-18", "small stem; widths 16-32-64-128", 0.918, "ResNet"),
    _row("resnet20", "ResNet-20 (CIFAR)", "the paper's CIFAR net, one grey channel"),
    _row("resnet56", "ResNet-56 (CIFAR)", "the paper's CIFAR net, one grey channel; 1 epoch"),
    _row("resnext", "ResNeXt", "small stem; 3 stages x 2 bottlenecks, 16 groups x 4 channels"),
    _row("se-resnet", "SE-ResNet", "small stem; basic blocks 3,3,3 at 16-32-64, SE gates"),
    _row("wide-resnet", "Wide ResNet", "small stem; wide bottlenecks, 3 stages x 1 at 16-32-64"),
    _row("densenet-bc", "DenseNet-BC", "small stem; k=12, blocks 4,4,4", 0.90, "DenseNet ~"),
    _row("shufflenet-v1", "ShuffleNet v1", "small stem; g=3, 1x width"),
    _row("shufflenet-v2", "ShuffleNet v2", "small stem; 0.5x width"),
    _row("fastnet", "fastnet (convzoo)", "convzoo's residual net for 28x28"),
)}


def get_row(name: str) -> Row:
    from ..errors import ConvzooError

    if name not in ROWS:
        raise ConvzooError(f"unknown zoo row {name!r}; known: {', '.join(ROWS)}")
    return ROWS[name]
