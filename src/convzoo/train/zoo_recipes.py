"""The zoo's recipes: one per family of `convzoo zoo`, each trainable in <= 15 minutes on 2 CPU cores.

Every row of the zoo table (convzoo.zoo.rows) is trained by `convzoo train --recipe zoo-<row>`.
Epochs are set from each model's multiply-adds (MACs) per 28x28 image: a training step costs about
3x the forward pass, and 2 AVX2 cores sustain roughly 25 G multiply-adds a second, so about 8 G
image-MACs a second are trained and 15 minutes hold ~125 M "MAC-epochs" (MACs x epochs over 60,000
images), less the test evaluation after each epoch. The few speeds quoted were measured with one
thread on the loaded 2-core AMD EPYC (AVX2, no bf16): upper bounds (docs/zoo.md).

Common to all: Fashion-MNIST at its own 28x28 (small-input stems, no resizing), fp32, the memory
layout each card records (fixed, not timed again), no TTA and no EMA, so that the final epoch's test accuracy is exactly what `convzoo eval zoo:NAME` gives.
"""

from __future__ import annotations

from .config import Recipe

_COMMON = {
    "data": ("fashion-mnist", "the textbook's dataset: 60,000 train, the official 10,000 test images"),
    "precision": ("fp32", ("this machine's CPU has no bf16 units (AVX2 only); fixed, so `convzoo eval` "
                           "evaluates exactly as the run did")),
    "channels_last": (True, ("NHWC, the layout the Trainer's `auto` choice timed fastest for these rows and that their "
                             "cards record; fixed, so a machine that times NCHW faster still runs the recorded setup")),
    "tta": (False, "the card reports the final epoch's plain test accuracy, which `convzoo eval` reproduces"),
    "ema": (0.0, "off: the evaluated weights are the trained ones"),
}

_SGD = {
    "optimizer": ("sgd", "SGD with Nesterov momentum: the standard for nets with batch norm"),
    "nesterov": (True, "look-ahead momentum, steadier at a high peak lr"),
    "weight_decay": (5e-4, "the usual for SGD on small nets; conv and linear weights only"),
    "schedule": ("onecycle", "warm up for 30% of the run, then anneal to ~0: short runs earn most at the low-lr end"),
    "batch_size": (128, "more steps per epoch than 256 at nearly the same examples/s on 2 cores"),
    "label_smoothing": (0.1, "softer targets against overconfidence on shirt / T-shirt / pullover / coat"),
}

_ADAM = {
    "optimizer": ("adamw", ("AdamW: per-weight step sizes get a sigmoid net without batch norm moving, where "
                            "SGD stalls on its flat start (d2l needs lr 0.9 and 10 epochs for 0.789)")),
    "weight_decay": (1e-4, "decoupled, light: these nets are small and barely overfit in the epochs run"),
    "schedule": ("onecycle", "warm up for 30% of the run, then anneal to ~0"),
    "batch_size": (128, "more steps per epoch than 256 at nearly the same examples/s on 2 cores"),
}


def _zoo(name: str, summary: str, model: str, why: str, kwargs: dict | None = None, **settings) -> Recipe:
    body = {**_COMMON, "model": (model, why)}
    if kwargs:
        body["model_kwargs"] = (kwargs, "the row's options: " + ", ".join(f"{k}={v}" for k, v in kwargs.items()))
    return Recipe(f"zoo-{name}", summary, {**body, **settings})


ZOO_RECIPES: dict[str, Recipe] = {r.name: r for r in (
    _zoo("lenet", "zoo: d2l's LeNet (sigmoid, average pooling) past the textbook's 0.789", "lenet",
         "d2l's LeNet-5: 6 and 16 5x5 convs, sigmoid, average pooling, dense 120-84-10 (61,706 parameters)",
         **_ADAM,
         lr=(3e-3, "AdamW's usual peak for a small net; higher diverges in the warm-up with sigmoids"),
         epochs=(10, "the textbook's 10 epochs: 3.6-6.5 minutes a seed at one thread under load (its card)"),
         augment=("none", "the net is too small to overfit Fashion-MNIST in 10 epochs")),
    _zoo("mlp", "zoo: the one-hidden-layer MLP (784-256-10)", "mlp",
         "the d2l MLP: one hidden layer of 256 ReLUs (203,530 parameters), the no-convolution baseline",
         **_ADAM,
         lr=(1e-3, "AdamW's default peak; an MLP on pixels is happy with it"),
         epochs=(20, "cheap (3 s an epoch at one thread under load) and still improving at 10"),
         augment=("flip", "mirror images: an MLP has no built-in invariance, and it starts overfitting by epoch 10"),
         channels_last=(False, "NCHW, what `auto` chose and the card records (an MLP has no convolution to lay out)"),
         label_smoothing=(0.1, "softer targets against overconfidence on the look-alike classes")),
    _zoo("lenet-bn", "zoo: d2l's batch-normed LeNet (sigmoid) past the textbook's ~0.85", "lenet_bn",
         "d2l's LeNet with BN after every conv and hidden dense layer, biases kept (62,158 parameters)",
         **_SGD,
         lr=(0.2, "BN lets the sigmoid net take a high peak (d2l: 1.0 with plain SGD)"),
         epochs=(6, "6 epochs: 2.2-9.2 minutes a seed at one thread under load (its card)"),
         augment=("flip", "mirror images: free extra data for a 6-epoch run")),
    _zoo("lenet-1998", "zoo: LeCun et al.'s LeNet-5 (scaled tanh, partial C3, RBF output) on 28x28", "lenet5_1998",
         ("the 1998 paper's LeNet-5 (60,000 parameters): C1 zero-pads the 28x28 images to the paper's "
          "32x32 field"),
         **_ADAM,
         lr=(4e-3, ("its outputs are minus squared distances to +-1 codes, hundreds at initialisation: SGD at lr "
                    "0.1 sent every image to one class; of SGD at 0.002-0.03 and AdamW at 0.001/0.004, AdamW at "
                    "0.004 learned fastest (docs/baselines.md)")),
         epochs=(6, ("`convzoo compare` trained it 10 epochs on Fashion-MNIST in 21.2 min on this machine "
                     "(85.7 %): 6 epochs fit about 13 minutes; its many small ops run at 190-420 ex/s at one "
                     "thread under load")),
         augment=("none", "as in the comparison that measured it")),
    _zoo("alexnet", "zoo: AlexNet narrowed (24-64-96-96-64 convs, 512-wide dense layers), small stem", "alexnet",
         "AlexNet's layout with the small-input stem (3x3 stride-1 first conv below 67 pixels)",
         {"widths": (24, 64, 96, 96, 64), "hidden": 512, "batch_norm": True},
         **_SGD,
         lr=(0.1, "SGD's usual peak with BN at batch 128"),
         epochs=(4, ("14.0 M multiply-adds an image; measured by a first run (stopped after 2 of 6 epochs): "
                     "190-200 s an epoch with its test pass at two threads, so 4 epochs fit in 15 minutes")),
         augment=("crop+flip", "shifts of up to 2 pixels and flips: a 630 K-parameter net overfits without them"),
         channels_last=(False, "NCHW, what `auto` timed faster for it and the card records")),
    _zoo("vgg-a", "zoo: VGG-A (vgg11) with BN at a quarter of the widths (d2l's narrow VGG), small stem", "vgg11_bn",
         "VGG configuration A with BN after every conv (the paper has none; BN lets a short run converge)",
         {"width": 0.25, "hidden": 512},
         **_SGD,
         lr=(0.1, "SGD's usual peak with BN at batch 128"),
         epochs=(12, "6.3 M multiply-adds an image: 12 epochs are about 76 M MAC-epochs, ~9 minutes on 2 cores"),
         augment=("crop+flip", "shifts and flips keep 12 epochs from overfitting")),
    _zoo("vgg-d", "zoo: VGG-D (vgg16) with BN at a quarter of the widths, small stem", "vgg16_bn",
         "VGG configuration D with BN after every conv (not in the paper)",
         {"width": 0.25, "hidden": 512},
         **_SGD,
         lr=(0.1, "SGD's usual peak with BN at batch 128"),
         epochs=(7, "13.2 M multiply-adds an image: 7 epochs are about 92 M MAC-epochs, ~11 minutes on 2 cores"),
         augment=("crop+flip", "shifts and flips")),
    _zoo("nin", "zoo: NiN with BN at half width, small stem", "nin",
         "d2l's NiN with BN after every conv (not in the paper), the small-input first block and half its "
         "channels (48-128-192, then one map per class): 46 M multiply-adds an image against 184 M at full width",
         {"batch_norm": True, "width": 0.5},
         **_SGD,
         lr=(0.1, "SGD's usual peak with BN at batch 128"),
         epochs=(3, ("250 ex/s training and 540 ex/s evaluating (one step of batch 128 at two threads on the "
                     "quiet machine): ~4.3 minutes an epoch with its test pass, so 3 epochs fit in 15")),
         augment=("flip", "mirror images")),
    _zoo("googlenet", "zoo: GoogLeNet with BN and aux heads at a quarter of the widths, small stem, 1 epoch",
         "googlenet", ("GoogLeNet with its two auxiliary classifiers (loss weight 0.3) and BN, every conv at a "
                       "quarter of its channels; the small stem keeps 28x28 maps up to inception 3a, where the "
                       "paper has them too: 75 M multiply-adds an image"),
         {"aux_logits": True, "bn": True, "width": 0.25},
         **_SGD,
         lr=(0.1, "SGD's usual peak with BN at batch 128"),
         epochs=(1, ("96 ex/s training (channels_last) and 256 ex/s evaluating at two threads on the quiet "
                     "machine: one epoch and its test pass are ~11 minutes. Its nine stride-1 3x3 max pools "
                     "on wide maps cost more than its convs on a CPU, so narrowing further barely helps "
                     "(width 0.1875: 95 ex/s)")),
         augment=("flip", "mirror images")),
    _zoo("resnet18", "zoo: ResNet-18 with the small stem at a quarter of the widths (16-32-64-128)", "resnet18",
         "ResNet-18's basic blocks (2,2,2,2) with the small-input stem (3x3 stride-1, no max pool)",
         {"widths": (16, 32, 64, 128)},
         **_SGD,
         lr=(0.1, "SGD's usual peak with BN at batch 128"),
         epochs=(4, "28.6 M multiply-adds an image: 4 epochs are about 114 M MAC-epochs, ~14 minutes on 2 cores"),
         augment=("crop+flip", "shifts and flips")),
    _zoo("resnet20", "zoo: the paper's CIFAR ResNet-20 (16-32-64 channels, option A shortcuts)", "resnet20",
         "He et al.'s CIFAR-10 network as published (0.27 M parameters), on one grey channel",
         **_SGD,
         lr=(0.1, "the paper's lr at batch 128"),
         epochs=(3, "30.8 M multiply-adds an image: 3 epochs are about 92 M MAC-epochs, ~12 minutes on 2 cores"),
         augment=("crop+flip", "the paper's CIFAR augmentation: shifts and flips")),
    _zoo("resnet56", "zoo: the paper's CIFAR ResNet-56 (one epoch: it costs 96 M MACs an image)", "resnet56",
         "He et al.'s CIFAR-10 network as published (0.85 M parameters), on one grey channel",
         **_SGD,
         lr=(0.1, "the paper's lr at batch 128"),
         epochs=(1, "95.8 M multiply-adds an image: one epoch is ~12 minutes on 2 cores"),
         augment=("flip", "mirror images (shifts slow a one-epoch run)")),
    _zoo("resnext", "zoo: a small ResNeXt (3 stages of 2 bottlenecks, 16 groups of 4 channels)", "resnext50_32x4d",
         "ResNeXt's grouped bottlenecks (cardinality 16, width 4) in three stages of 2, small stem",
         {"depths": (2, 2, 2), "widths": (16, 32, 64), "groups": 16, "base_width": 4},
         **_SGD,
         lr=(0.1, "SGD's usual peak with BN at batch 128"),
         epochs=(2, ("15.4 M multiply-adds an image, but grouped convs run far below the dense rate: 240 ex/s "
                     "(`convzoo zoo estimate`, 2 threads): 2 epochs took 8.1 minutes, a third would not fit")),
         augment=("crop+flip", "shifts and flips")),
    _zoo("se-resnet", "zoo: SE-ResNet-20-like (basic blocks 3,3,3 at 16-32-64 with SE gates)", "se_resnet50",
         "SENet's squeeze-and-excitation gates (reduction 16) on basic blocks in three stages of 3, small stem",
         {"block": "basic", "depths": (3, 3, 3), "widths": (16, 32, 64)},
         **_SGD,
         lr=(0.1, "SGD's usual peak with BN at batch 128"),
         epochs=(3, "31.0 M multiply-adds an image at 236-284 ex/s (2 threads): 3 epochs took 11.9 minutes"),
         augment=("crop+flip", "shifts and flips")),
    _zoo("wide-resnet", "zoo: a small Wide ResNet (wide bottlenecks, 3 stages of 1, small stem)", "wide_resnet50_2",
         "Wide ResNet-50-2's bottlenecks (twice the inner width) in three stages of one block at 16-32-64",
         {"depths": (1, 1, 1), "widths": (16, 32, 64)},
         **_SGD,
         lr=(0.1, "SGD's usual peak with BN at batch 128"),
         epochs=(2, ("37.4 M multiply-adds an image at 194-209 ex/s (2 threads): 2 epochs took 10.3 minutes, "
                     "a third would not fit")),
         augment=("crop+flip", "shifts and flips")),
    _zoo("densenet-bc", "zoo: DenseNet-BC (k=12) with 3 blocks of 4 bottleneck layers, small stem", "densenet_bc_100_12",
         "the paper's CIFAR DenseNet-BC (growth 12, compression 0.5) at a third of its depth (blocks 4,4,4)",
         {"blocks": (4, 4, 4)},
         **_SGD,
         lr=(0.1, "SGD's usual peak with BN at batch 128"),
         epochs=(2, ("33.1 M multiply-adds an image and the concatenations: 153 ex/s (2 threads), so 2 epochs "
                     "took 14.0 minutes")),
         augment=("crop+flip", "shifts and flips")),
    _zoo("shufflenet-v1", "zoo: ShuffleNet v1 (g=3, 1x) with the small stem", "shufflenet_v1_g3",
         "ShuffleNet v1 with 3 groups at the paper's 1x width; small stem (3x3 stride-1, no max pool)",
         **_SGD,
         lr=(0.1, "SGD's usual peak with BN at batch 128"),
         epochs=(1, ("34.2 M multiply-adds an image, grouped and depthwise convs far below the dense rate: "
                     "91 ex/s (2 threads), so its one epoch took 11.9 minutes")),
         augment=("flip", "mirror images")),
    _zoo("shufflenet-v2", "zoo: ShuffleNet v2 0.5x with the small stem", "shufflenet_v2_x0_5",
         "ShuffleNet v2 at the paper's 0.5x width; small stem (3x3 stride-1, no max pool)",
         **_SGD,
         lr=(0.1, "SGD's usual peak with BN at batch 128"),
         epochs=(4, ("9.0 M multiply-adds an image, depthwise convs below the dense rate: 350 ex/s training and "
                     "900 evaluating (one step of batch 128 at two threads, quiet): ~3 minutes an epoch with its "
                     "test pass, so 4 epochs")),
         augment=("crop+flip", "shifts and flips")),
    _zoo("fastnet", ("zoo: convzoo's fastnet, SGD for 12 epochs (the accurate recipe until 2026-11-30) in fp32 "
                     "without TTA"), "fastnet",
         "convzoo's residual net for 28x28 (116,602 parameters, 9.1 M multiply-adds)",
         **_SGD,
         lr=(0.15, "the fast and accurate recipes' peak for batch 128"),
         epochs=(12, ("the accurate recipe's 12 epochs (0.934-0.935 with TTA and bf16 on an AVX512-BF16 "
                      "machine in 3.5 min); fp32 here, ~12 minutes on 2 cores")),
         augment=("crop+flip", "shifts of up to 2 pixels and flips")),
)}
