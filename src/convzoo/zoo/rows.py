"""The zoo table's rows as data: one per family, each trained by its recipe (train/zoo_recipes.py),
beside the textbook's printed figure and, where two CPU cores can afford it, our re-run of the
textbook's own recipe (train/d2l_recipes.py, published as rows of `D2L_ROWS`).

A row names its recipe (which holds the registry model and its options, so they are stated once),
what was built (`built`: the network as configured, not the ImageNet name of its builder), what
differs from the textbook's network and recipe, and how many seeds its published result averages
(3 where a seed trains in <= 5 minutes, else 1, marked in the table).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..train.recipes import RECIPES

INPUT = (1, 28, 28)  # Fashion-MNIST's own size: every row trains and is measured at it
D2L_ZH = "https://zh.d2l.ai/chapter_convolutional-{}.html"


@dataclass(frozen=True)
class Printed:
    """A figure printed in a book or paper: the final test accuracy of its run, where it is printed."""

    accuracy: float
    source: str  # edition and section
    link: str
    setting: str  # the run's input size and recipe, as printed
    verified: bool = True  # False: quoted by an earlier version of this table; edition and page not found


def _zh(section: str, page: str, accuracy: float, setting: str, verified: bool = True) -> Printed:
    edition = "d2l-zh 2.0.0" if verified else "d2l, edition not verified (figure kept from an earlier table)"
    return Printed(accuracy, f"{edition}, {section}", D2L_ZH.format(page), setting, verified)


# d2l-zh 2.0.0 (PyTorch) prints each chapter's last line, "loss ..., train acc ..., test acc ...";
# d2l-en 1.0 prints only the curves. Read from the chapters' printed outputs (e.g. LeNet:
# "loss 0.469, train acc 0.823, test acc 0.779"). Unverified figures are marked as such.
TEXTBOOK = {
    "lenet": _zh("6.6 LeNet", "neural-networks/lenet", 0.779, "28x28, SGD lr 0.9, batch 256, 10 epochs"),
    "lenet-bn": _zh("7.5 batch normalization", "modern/batch-norm", 0.85, "28x28, SGD lr 1.0, batch 256, 10 epochs",
                    verified=False),
    "alexnet": _zh("7.1 AlexNet", "modern/alexnet", 0.882, "224x224, SGD lr 0.01, batch 128, 10 epochs",
                   verified=False),
    "vgg": _zh("7.2 VGG (VGG-11 at 1/4 width)", "modern/vgg", 0.920, "224x224, SGD lr 0.05, batch 128, 10 epochs"),
    "nin": _zh("7.3 NiN", "modern/nin", 0.785, "224x224, SGD lr 0.1, batch 128, 10 epochs", verified=False),
    "googlenet": _zh("7.4 GoogLeNet", "modern/googlenet", 0.886, "96x96, SGD lr 0.1, batch 128, 10 epochs"),
    "resnet": _zh("7.6 ResNet (ResNet-18)", "modern/resnet", 0.893, "96x96, SGD lr 0.05, batch 256, 10 epochs"),
    "densenet": _zh("7.7 DenseNet", "modern/densenet", 0.885, "96x96, SGD lr 0.1, batch 256, 10 epochs"),
}
# The 1998 paper's own figure is on MNIST: not comparable with a Fashion-MNIST accuracy, shown as such.
LENET_1998 = Printed(1 - 0.0095, "LeCun et al. 1998, Fig. 14: LeNet-5's 0.95 % test error on MNIST",
                     "http://yann.lecun.com/exdb/publis/pdf/lecun-98.pdf", "MNIST (not Fashion-MNIST), 32x32, 20 epochs")


@dataclass(frozen=True)
class Row:
    name: str  # zoo:NAME
    title: str  # the family as the table shows it
    built: str  # the network as built here (its configuration), not its builder's ImageNet name
    note: str  # what differs from the paper here
    textbook: Printed | None = None  # the printed figure this row stands beside
    d2l: str | None = None  # the row of D2L_ROWS that re-runs the textbook's recipe, where one was run
    differs: str = ""  # against the textbook's run: recipe, BN, width, input size
    same_net: bool = False  # the textbook's network exactly: only then can a row "beat" its re-run
    seeds: int = 1  # seeds of the published result
    recipe_name: str = ""  # default zoo-<name>

    @property
    def recipe(self) -> str:
        return self.recipe_name or f"zoo-{self.name}"

    @property
    def model(self) -> str:
        return RECIPES[self.recipe].values()["model"]

    @property
    def model_kwargs(self) -> dict:
        return dict(RECIPES[self.recipe].values().get("model_kwargs", {}))

    @property
    def textbook_source(self) -> str | None:
        t = self.textbook
        return None if t is None else f"{t.source}, {t.link}"


_SGD = "SGD+Nesterov, one-cycle, label smoothing, augmentation vs plain SGD"
ROWS: dict[str, Row] = {r.name: r for r in (
    Row("lenet", "LeNet (textbook)", "LeNet-5, d2l's (sigmoid, avg pool)", "d2l's LeNet: sigmoid, average pooling; as built",
        TEXTBOOK["lenet"], "d2l-lenet", "recipe only: AdamW one-cycle, normalised inputs, torch's init", True, seeds=3),
    Row("lenet-1998", "LeNet-5 (1998)", "LeNet-5 as published (tanh, partial C3, RBF)",
        "the paper's net: scaled tanh, partial C3, RBF output; 28x28 padded to 32", LENET_1998, None,
        "data (paper: MNIST), AdamW, 6 epochs"),
    Row("lenet-bn", "LeNet + BN", "BN-LeNet, first conv padded", "d2l's batch-normed LeNet (sigmoid)",
        TEXTBOOK["lenet-bn"], "d2l-lenet-bn", "first conv padded (62,158 vs 44,878 params); " + _SGD + "; 6 epochs",
        seeds=3),
    Row("mlp", "MLP", "MLP 784-256-10", "one hidden layer of 256 ReLUs", seeds=3),
    Row("alexnet", "AlexNet", "AlexNet, convs 24-64-96-96-64, BN", "small stem; convs 24-64-96-96-64, dense 512; BN added",
        TEXTBOOK["alexnet"], None, "input 28 vs 224; width ~1/4; BN; " + _SGD + "; 4 epochs"),
    Row("vgg-a", "VGG-A (vgg11)", "VGG-11 (A) 1/4 width, BN", "small stem; 1/4 widths, dense 512; BN added",
        TEXTBOOK["vgg"], None, "input 28 vs 224; dense 512 vs 4096; BN; " + _SGD + "; 12 epochs"),
    Row("vgg-d", "VGG-D (vgg16)", "VGG-16 (D) 1/4 width, BN", "small stem; 1/4 widths, dense 512; BN added",
        TEXTBOOK["vgg"], None, "network (16 vs 11 layers); input 28 vs 224; BN; " + _SGD + "; 7 epochs"),
    Row("nin", "NiN", "NiN 1/2 width, BN", "small stem; half width; BN added",
        TEXTBOOK["nin"], None, "input 28 vs 224; width 1/2; BN; " + _SGD + "; 3 epochs"),
    Row("googlenet", "GoogLeNet", "GoogLeNet 1/4 width, BN, aux heads",
        "small stem; 1/4 widths; aux heads; BN; 1 epoch (budget-bound)",
        TEXTBOOK["googlenet"], None, "input 28 vs 96; width 1/4; BN; aux heads; " + _SGD + "; 1 epoch"),
    Row("resnet18", "ResNet-18", "ResNet-18, widths 16-32-64-128", "small stem; widths 16-32-64-128",
        TEXTBOOK["resnet"], None, "input 28 vs 96; width 1/4; " + _SGD + "; 4 epochs"),
    Row("resnet20", "ResNet-20 (CIFAR)", "ResNet-20 (CIFAR, 16-32-64)", "the paper's CIFAR net, one grey channel"),
    Row("resnet56", "ResNet-56 (CIFAR)", "ResNet-56 (CIFAR, 16-32-64)",
        "the paper's CIFAR net, one grey channel; 1 epoch"),
    Row("resnext", "ResNeXt-20 (16x4d)", "ResNeXt-20, 16x4d, stages 2-2-2",
        "small stem; 3 stages x 2 bottlenecks, 16 groups x 4 channels; builder resnext50_32x4d"),
    Row("se-resnet", "SE-ResNet-20", "SE-ResNet-20, basic 3-3-3 at 16-32-64",
        "small stem; basic blocks 3,3,3 at 16-32-64, SE gates; builder se_resnet50"),
    Row("wide-resnet", "Wide ResNet-11-2", "WRN-11-2, bottlenecks 1-1-1",
        "small stem; wide bottlenecks, 3 stages x 1 at 16-32-64; builder wide_resnet50_2"),
    Row("densenet-bc", "DenseNet-BC-28 (k=12)", "DenseNet-BC-28, k=12, blocks 4-4-4",
        "small stem; k=12, blocks 4,4,4; builder densenet_bc_100_12",
        TEXTBOOK["densenet"], None, "network (BC-28 vs d2l's 4x4 DenseNet); input 28 vs 96; " + _SGD + "; 2 epochs"),
    Row("shufflenet-v1", "ShuffleNet v1", "ShuffleNet v1 g=3 1x", "small stem; g=3, 1x width"),
    Row("shufflenet-v2", "ShuffleNet v2", "ShuffleNet v2 0.5x", "small stem; 0.5x width"),
    Row("fastnet", "fastnet (convzoo)", "fastnet", "convzoo's residual net for 28x28"),
)}

# The textbook's recipes re-run here (zoo:d2l-lenet ...): the same publishing, cards and weights.
D2L_ROWS: dict[str, Row] = {r.name: r for r in (
    Row("d2l-lenet", "LeNet, d2l's recipe", "LeNet-5, d2l's (sigmoid, avg pool)",
        "d2l's LeNet chapter exactly: Xavier init, [0, 1] pixels, SGD lr 0.9, batch 256, 10 epochs",
        TEXTBOOK["lenet"], seeds=3, recipe_name="d2l-lenet"),
    Row("d2l-lenet-bn", "BN-LeNet, d2l's recipe", "BN-LeNet, d2l's (first conv unpadded)",
        "d2l's BatchNorm chapter exactly: Xavier init, [0, 1] pixels, SGD lr 1.0, batch 256, 10 epochs",
        TEXTBOOK["lenet-bn"], seeds=3, recipe_name="d2l-lenet-bn"),
)}


def get_row(name: str) -> Row:
    from ..errors import ConvzooError

    row = ROWS.get(name) or D2L_ROWS.get(name)
    if row is None:
        raise ConvzooError(f"unknown zoo row {name!r}; known: {', '.join([*ROWS, *D2L_ROWS])}")
    return row
