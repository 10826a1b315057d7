"""The rows of `convzoo compare`: the lectures' MNIST error table in its order, each row trained by
the method it names (classical rows: table_methods.py; networks: the engine), then this project's
modern LeNet.

Every published figure is on MNIST's 60,000 training / 10,000 test digits; `train` carries that size
beside the figure, so the table can say how many digits the measured row had instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MNIST_TRAIN = 60_000


@dataclass(frozen=True)
class Row:
    key: str
    label: str  # the method, as the lectures' table names it ({n}: a committee's members)
    kind: str  # "classical" | "network" | "committee" | "recipe"
    name: str  # a classical method (table_methods.METHODS), a registered model or a recipe
    published: dict = field(default_factory=dict)  # "mnist" -> (figure's source, error %)
    training: dict = field(default_factory=dict)  # a network's TrainConfig values beside the defaults
    distortion: str = "none"
    preprocessing: str = "none"
    seeds: int = 1  # full setting: a network row trained with seeds 0..seeds-1, reported as mean +- sd
    members: tuple = ()  # a committee: each member's width normalisation in pixels (0: the digit as given)
    runs_of: str = ""  # a committee whose members are that row's seeds (their runs are shared)
    quick: bool = False  # in `--quick`'s subset
    why: str = ""  # how this row's method or budget differs from the paper's


LECUN = "LeCun et al. 1998"
ELASTIC = "elastic (Simard: sigma 4, alpha 34)"
EXPANDED = "affine + elastic, new each epoch"
# Ciresan et al. 2012 normalised the digits' widths to 10, 12, ..., 20 pixels and kept the originals:
# seven preprocessings with five columns each. The budget (~40 minutes for the table on 2 cores)
# allows five columns: the originals and four of their widths, one column each.
WIDTHS = (0, 10, 14, 18, 20)
# The committee of five 784-50-100-500-1000-10-10 nets is the single-net row's five seeds, averaged.
# The deep nets without batch norm train with AdamW at 0.001: with SGD at 0.05 the 6-layer MLP and the
# CNNs stayed near chance for their first 32 steps on 2,000 digits (loss 2.28-2.29; AdamW: 0.41-1.27).
FIVE = (0, 0, 0, 0, 0)

ROWS = [
    Row("pairwise-linear", "pairwise linear classifier (45 one-vs-one)", "classical", "pairwise-linear",
        {"mnist": (LECUN, 7.6)}, preprocessing="deskewing", quick=True),
    Row("idm-knn", "k-NN (1-NN), image distortion model on gradients", "classical", "idm-knn",
        {"mnist": ("Keysers et al. 2007, P2DHMDM (IDM: 0.54)", 0.52)}, preprocessing="Sobel gradients (\"shiftable edges\")",
        why="IDM, the P2DHMDM's zero-order form"),
    Row("haar-stumps", "boosted stumps on Haar features", "classical", "haar-stumps",
        {"mnist": ("Kegl & Busa-Fekete 2009, products of stumps", 0.87)}, preprocessing="Haar features",
        why="300 rounds of AdaBoost.MH over single stumps, against their 10^5+ rounds over products of stumps"),
    Row("pca-quadratic", "40 PCA + quadratic classifier", "classical", "pca-quadratic", {"mnist": (LECUN, 3.3)},
        quick=True),
    Row("virtual-svm", "virtual SVM, degree-9 polynomial, 2-pixel jittered", "classical", "virtual-svm",
        {"mnist": ("DeCoste & Schoelkopf 2002", 0.56)}, preprocessing="deskewing"),
    Row("mlp", "2-layer NN 784-800-10", "network", "mlp_784_800_10",
        {"mnist": ("Simard et al. 2003", 1.6)}, {"epochs": 10}, seeds=3, quick=True),
    Row("mlp-elastic", "2-layer NN 784-800-10", "network", "mlp_784_800_10",
        {"mnist": ("Simard et al. 2003", 0.7)}, {"epochs": 15, "augment": "elastic"}, distortion=ELASTIC, seeds=3, why="15 epochs",
        quick=True),
    Row("mlp-6", "6-layer NN 784-2500-2000-1500-1000-500-10", "network", "mlp_6_layer",
        {"mnist": ("Ciresan et al. 2010", 0.35)}, {"epochs": 6, "optimizer": "adamw", "lr": 0.001, "augment": "elastic"},
        distortion=ELASTIC, why="6 epochs, against the paper's 800 on 60,000 digits"),
    # LeNet-5 trained as its paper trained it (input scaling, MAP loss, SDLM, 20 passes): docs/baselines.md.
    Row("lenet-1998", "LeNet-5 (1998), as its paper trained it", "recipe", "lenet5-paper",
        {"mnist": (f"LeNet-5: {LECUN}", 0.95)}, quick=True,
        why=("the paper's recipe (`--recipe lenet5-paper`) on 9,000 digits: 134 epochs, its 20 passes of 60,000 "
             "digits; its step scaled by 1/50 (docs/baselines.md)")),
    Row("lenet-1998-distort", "LeNet-5 (1998), as its paper trained it, with its distortions", "recipe",
        "lenet5-paper-distort", {"mnist": (f"LeNet-5: {LECUN}", 0.8)},
        distortion="planar affine (shift, scale, squeeze, shear)",
        why="`--recipe lenet5-paper-distort`: the row above with a new random planar distortion of 9 digits in 10 "
            "every epoch, as the paper's 540,000 distortions of its 60,000 digits, and its schedule's pass of "
            "120,000 digits for 2.4 M seen (docs/baselines.md)"),
    Row("cnn-40-80", "CNN 6-layer 784-40-80-500-1000-2000-10", "network", "cnn_40_80_500_1000_2000",
        {"mnist": ("Romanuke 2016", 0.31)}, {"epochs": 5, "optimizer": "adamw", "lr": 0.001, "augment": "affine+elastic"},
        distortion=EXPANDED, preprocessing="expansion of the training data",
        why="the training set expanded on the fly (new distortions every epoch) for 5 epochs"),
    Row("cnn-50-100", "CNN 6-layer 784-50-100-500-1000-10-10", "network", "cnn_50_100_500_1000_10",
        {"mnist": ("Romanuke 2016", 0.27)}, {"epochs": 4, "optimizer": "adamw", "lr": 0.001, "augment": "affine+elastic"},
        distortion=EXPANDED, preprocessing="expansion of the training data", seeds=5,
        why="the training set expanded on the fly (new distortions every epoch) for 4 epochs"),
    Row("committee-mcdnn", "committee of {n} CNNs 1-20-P-40-P-150-10", "committee", "cnn_mcdnn_column",
        {"mnist": ("Ciresan et al. 2012, 35 CNNs", 0.23)}, {"epochs": 5, "optimizer": "adamw", "lr": 0.001, "augment": "elastic"},
        distortion=ELASTIC, preprocessing="width normalisation (original; 10, 14, 18, 20 px)", members=WIDTHS, quick=True,
        why="5 columns (one per width normalisation), 5 epochs each, against the paper's 35 (five per width)"),
    Row("committee-cnn-50-100", "committee of {n} CNNs 784-50-100-500-1000-10-10", "committee",
        "cnn_50_100_500_1000_10", {"mnist": ("Romanuke 2016", 0.21)},
        {"epochs": 4, "optimizer": "adamw", "lr": 0.001, "augment": "affine+elastic"}, distortion=EXPANDED,
        preprocessing="expansion of the training data", members=FIVE, runs_of="cnn-50-100",
        why="the five seeds of the row above (4 epochs each), averaged"),
    Row("lenet-modern", "LeNet (modern: ReLU, max-pool, BN; this project)", "network", "lenet_modern",
        {}, {"epochs": 10}),
]
RECIPE_ROW = Row("recipe", "convzoo recipe", "recipe", "")
