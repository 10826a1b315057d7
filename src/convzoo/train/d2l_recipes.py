"""d2l's own recipes: the textbook's chapter settings, re-run through the engine, so the zoo's
"textbook" column is measured here and not only quoted (`convzoo zoo train d2l-lenet`).

Source: Dive into Deep Learning, d2l-zh 2.0.0 (PyTorch), whose `train_ch6` is the same loop as
d2l-en 0.17's (https://zh.d2l.ai/chapter_convolutional-neural-networks/lenet.html and
.../chapter_convolutional-modern/batch-norm.html): Fashion-MNIST scaled to [0, 1] by `ToTensor`
and not normalised further, Xavier-uniform weights for every conv and linear layer (`init_weights`),
plain SGD (no momentum, no weight decay) at a constant rate, cross-entropy, batch 256, 10 epochs, fp32.
What the engine cannot copy: it drops the last, partial batch of each epoch (96 of 60,000 images),
which d2l keeps. Everything else here is the chapter's value.
"""

from __future__ import annotations

from .config import Recipe

_D2L = {
    "data": ("fashion-mnist", "the chapter's dataset: 60,000 train, the official 10,000 test images"),
    "normalize": ("none", "d2l's ToTensor only: pixels in [0, 1], no mean/std normalisation"),
    "init": ("xavier", "train_ch6 applies init_weights: Xavier-uniform weights of every Linear and Conv2d"),
    "optimizer": ("sgd", "train_ch6: torch.optim.SGD(net.parameters(), lr=lr)"),
    "momentum": (0.0, "plain SGD: the chapter's optimiser has no momentum"),
    "nesterov": (False, "no momentum, so no look-ahead"),
    "weight_decay": (0.0, "none in train_ch6"),
    "schedule": ("constant", "a constant learning rate for all 10 epochs"),
    "label_smoothing": (0.0, "plain cross-entropy"),
    "batch_size": (256, "load_data_fashion_mnist(batch_size=256)"),
    "epochs": (10, "num_epochs = 10"),
    "augment": ("none", "no augmentation in the chapter"),
    "precision": ("fp32", "the chapter trains in fp32; fixed, so no machine picks another"),
    "channels_last": (True, ("NHWC, not the chapter's NCHW: a layout changes only the rounding, not the arithmetic, "
                             "and LeNet's sigmoid and average pooling ran 2.2x faster in it (1,087 against 502 ex/s "
                             "a step of 256 at one thread, measured under load); fixed, so no timing picks another")),
    "tta": (False, "the chapter's test accuracy is one plain pass over the test set"),
    "ema": (0.0, "the chapter evaluates the trained weights"),
}


def _d2l(name: str, summary: str, model: str, why: str, lr: float, lr_why: str, kwargs: dict | None = None,
         **settings) -> Recipe:
    body = {**_D2L, "model": (model, why), "lr": (lr, lr_why)}
    if kwargs:
        body["model_kwargs"] = (kwargs, "the chapter's layout: " + ", ".join(f"{k}={v}" for k, v in kwargs.items()))
    return Recipe(f"d2l-{name}", summary, {**body, **settings})


D2L_RECIPES: dict[str, Recipe] = {r.name: r for r in (
    _d2l("lenet", "d2l's LeNet chapter exactly: sigmoid LeNet, Xavier init, SGD lr 0.9, batch 256, 10 epochs",
         "lenet", "the chapter's net: 5x5 convs of 6 (padding 2) and 16, sigmoid, 2x2 average pooling, "
                  "dense 120-84-10 (61,706 parameters)",
         0.9, "lr, num_epochs = 0.9, 10"),
    _d2l("lenet-bn", "d2l's BatchNorm chapter exactly (concise version): BN-LeNet, SGD lr 1.0, batch 256, "
                     "10 epochs", "lenet_bn",
         "the chapter's nn.Sequential: BN after each conv and hidden dense layer, sigmoid, average pooling, "
         "biases kept, first conv unpadded (16x4x4 = 256 features: 44,878 parameters)",
         1.0, "lr, num_epochs, batch_size = 1.0, 10, 256", kwargs={"padding": 0}),
)}
