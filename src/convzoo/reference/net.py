"""LeNet with batch norm, in NumPy only, and its SGD training loop.

The network of the lectures' batch-norm chapter (LeNet-5 with BN after every conv and hidden dense
layer, ReLU, max pooling):

    conv 6@5x5 pad 2 -> BN -> ReLU -> maxpool 2 -> conv 16@5x5 -> BN -> ReLU -> maxpool 2
    -> dense 400->120 -> BN -> ReLU -> 120->84 -> BN -> ReLU -> 84->10

Differences from a textbook copy, and why: layers followed by BN have no bias (BN's beta is that
bias; a second one only adds a parameter with zero gradient); the optimiser is SGD with momentum
0.9 (said in every log line) and a learning rate that falls linearly to zero over the run.
Everything runs in float32; tests prove the ops in float64.
"""

from __future__ import annotations

import time

import numpy as np

from .activations import (
    linear_backward,
    linear_forward,
    relu_backward,
    relu_forward,
    softmax_cross_entropy_backward,
    softmax_cross_entropy_forward,
)
from .blas import single_threaded_blas
from .conv import conv2d_backward, conv2d_forward
from .norm import batch_norm_backward, batch_norm_forward
from .pool import max_pool2d_backward, max_pool2d_forward

MOMENTUM = 0.9


class Conv:
    """conv2d without bias (BN follows). He-normal init, the right scale in front of a ReLU."""

    def __init__(self, c_in, c_out, k, rng, *, padding=0, first=False):
        std = np.sqrt(2.0 / (c_in * k * k))
        self.params = {"w": (rng.standard_normal((c_out, c_in, k, k)) * std).astype(np.float32)}
        self.padding, self.first = padding, first

    def forward(self, x, training):
        out, self.cache = conv2d_forward(x, self.params["w"], padding=self.padding)
        return out

    def backward(self, dout):
        # The first layer's input is the image: no gradient needed, and skipping it skips col2im.
        dx, dw, _ = conv2d_backward(dout, self.cache, input_grad=not self.first)
        self.grads = {"w": dw}
        return dx


class Dense:
    def __init__(self, d_in, d_out, rng, *, bias=False, gain=2.0):
        std = np.sqrt(gain / d_in)
        self.params = {"w": (rng.standard_normal((d_out, d_in)) * std).astype(np.float32)}
        if bias:
            self.params["b"] = np.zeros(d_out, np.float32)

    def forward(self, x, training):
        out, self.cache = linear_forward(x, self.params["w"], self.params.get("b"))
        return out

    def backward(self, dout):
        dx, dw, db = linear_backward(dout, self.cache)
        self.grads = {"w": dw} if db is None else {"w": dw, "b": db}
        return dx


class BatchNorm:
    def __init__(self, channels):
        self.params = {"gamma": np.ones(channels, np.float32), "beta": np.zeros(channels, np.float32)}
        self.running_mean = np.zeros(channels, np.float32)
        self.running_var = np.ones(channels, np.float32)

    def forward(self, x, training):
        out, self.cache = batch_norm_forward(x, self.params["gamma"], self.params["beta"],
                                             self.running_mean, self.running_var, training=training)
        return out

    def backward(self, dout):
        dx, dgamma, dbeta = batch_norm_backward(dout, self.cache)
        self.grads = {"gamma": dgamma, "beta": dbeta}
        return dx


class Parameterless:
    def __init__(self):
        self.params = {}


class ReLU(Parameterless):
    def forward(self, x, training):
        out, self.cache = relu_forward(x)
        return out

    def backward(self, dout):
        return relu_backward(dout, self.cache)


class MaxPool(Parameterless):
    def forward(self, x, training):
        out, self.cache = max_pool2d_forward(x, 2)
        return out

    def backward(self, dout):
        return max_pool2d_backward(dout, self.cache)


class Flatten(Parameterless):
    def forward(self, x, training):
        self.shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dout):
        return dout.reshape(self.shape)


class LeNetBN:
    """The layers in order; forward keeps each layer's cache, backward walks them in reverse."""

    def __init__(self, seed: int = 0, num_classes: int = 10):
        rng = np.random.default_rng(seed)
        self.layers = [
            Conv(1, 6, 5, rng, padding=2, first=True), BatchNorm(6), ReLU(), MaxPool(),  # (N, 6, 14, 14)
            Conv(6, 16, 5, rng), BatchNorm(16), ReLU(), MaxPool(),                       # (N, 16, 5, 5)
            Flatten(),                                                                   # (N, 400)
            Dense(400, 120, rng), BatchNorm(120), ReLU(),                                # (N, 120)
            Dense(120, 84, rng), BatchNorm(84), ReLU(),                                  # (N, 84)
            Dense(84, num_classes, rng, bias=True, gain=1.0),                            # (N, 10)
        ]

    def forward(self, x, *, training: bool):
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def backward(self, dlogits) -> None:
        for layer in reversed(self.layers):
            dlogits = layer.backward(dlogits)

    def parameters(self):
        """(layer, name) pairs of every learnable array, for the optimiser."""
        return [(layer, name) for layer in self.layers for name in layer.params]

    def num_parameters(self) -> int:
        return sum(layer.params[name].size for layer, name in self.parameters())

    def state_arrays(self) -> dict[str, np.ndarray]:
        """Every learnt array and batch-norm statistic, named as torch names the same layers of an
        `nn.Sequential` (index.weight, index.running_mean, ...): convzoo's `lenet_modern` loads them."""
        names = {"w": "weight", "b": "bias", "gamma": "weight", "beta": "bias"}
        arrays = {}
        for index, layer in enumerate(self.layers):
            for key, value in layer.params.items():
                arrays[f"{index}.{names[key]}"] = value.copy()
            if isinstance(layer, BatchNorm):
                arrays[f"{index}.running_mean"] = layer.running_mean.copy()
                arrays[f"{index}.running_var"] = layer.running_var.copy()
        return arrays


class SGDMomentum:
    """v = momentum*v + grad; param -= lr*v (torch's SGD with momentum, no dampening)."""

    def __init__(self, model: LeNetBN, momentum: float = MOMENTUM):
        self.model, self.momentum = model, momentum
        self.velocity = {(id(layer), name): np.zeros_like(layer.params[name])
                         for layer, name in model.parameters()}

    def step(self, lr: float) -> None:
        for layer, name in self.model.parameters():
            velocity = self.velocity[(id(layer), name)]
            velocity *= self.momentum
            velocity += layer.grads[name]
            layer.params[name] -= np.float32(lr) * velocity


def _as_float_batch(images, mean: float, std: float) -> np.ndarray:
    """uint8 (N, H, W) or (N, 1, H, W) -> normalised float32 (N, 1, H, W)."""
    x = images.reshape(images.shape[0], 1, *images.shape[-2:]).astype(np.float32)
    x *= np.float32(1 / (255 * std))
    x -= np.float32(mean / std)
    return x


def evaluate(model: LeNetBN, images, labels, *, mean, std, batch_size: int = 1000):
    """(accuracy, mean loss) with batch norm's running statistics."""
    correct, loss_sum = 0, 0.0
    for start in range(0, len(labels), batch_size):
        x = _as_float_batch(images[start:start + batch_size], mean, std)
        y = labels[start:start + batch_size]
        logits = model.forward(x, training=False)
        loss, _ = softmax_cross_entropy_forward(logits.astype(np.float64), y)
        loss_sum += float(loss) * len(y)
        correct += int((logits.argmax(axis=1) == y).sum())
    return correct / len(labels), loss_sum / len(labels)


def train_numpy(train_images, train_labels, test_images, test_labels, *, epochs=1, batch_size=64,
                lr=0.05, seed=0, mean=0.2860, std=0.3530, log=print) -> dict:
    """train_images: uint8 (N, H, W) or (N, 1, H, W); labels int64 (N,). Returns
    {"test_acc", "test_loss", "train_loss", "examples_per_sec", "seconds", "epochs", "history",
    "model"}: `history` has one row per epoch, `model` is the trained LeNetBN. Calls log(str) with
    progress lines, including examples/sec. A loss, weight or batch-norm statistic that stops being
    finite (a learning rate too high) raises FloatingPointError at the end of that epoch."""
    if train_images.shape[-2:] != (28, 28) or test_images.shape[-2:] != (28, 28):
        raise ValueError(f"LeNet expects 28x28 images, got {train_images.shape[-2:]}")
    if epochs < 1 or len(train_labels) < batch_size:
        raise ValueError(f"need epochs >= 1 and at least one batch of {batch_size} training images")
    train_labels, test_labels = np.asarray(train_labels, np.int64), np.asarray(test_labels, np.int64)
    with single_threaded_blas():  # see blas.py: small products, shared cores
        return _train(train_images, train_labels, test_images, test_labels, epochs=epochs,
                      batch_size=batch_size, lr=lr, seed=seed, mean=mean, std=std, log=log)


def _train(train_images, train_labels, test_images, test_labels, *, epochs, batch_size, lr, seed,
           mean, std, log) -> dict:
    model = LeNetBN(seed)
    optimiser = SGDMomentum(model)
    rng = np.random.default_rng(seed)
    steps_per_epoch = len(train_labels) // batch_size  # the last partial batch is dropped
    total_steps = epochs * steps_per_epoch
    log(f"numpy LeNet-BN: {model.num_parameters():,} parameters, {len(train_labels):,} training "
        f"images, batch {batch_size}, SGD lr {lr} momentum {MOMENTUM} linear decay, {epochs} epoch(s)")
    step, seen, train_seconds, epoch_loss = 0, 0, 0.0, float("nan")
    history = []
    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(train_labels))
        loss_sum, correct, started = 0.0, 0, time.perf_counter()
        for batch in range(steps_per_epoch):
            index = order[batch * batch_size:(batch + 1) * batch_size]
            x, y = _as_float_batch(train_images[index], mean, std), train_labels[index]
            logits = model.forward(x, training=True)
            loss, loss_cache = softmax_cross_entropy_forward(logits, y)
            model.backward(softmax_cross_entropy_backward(np.float32(1.0), loss_cache))
            optimiser.step(lr * (1 - step / total_steps))
            step, seen, loss_sum = step + 1, seen + len(y), loss_sum + float(loss)
            correct += int((logits.argmax(axis=1) == y).sum())
            if (batch + 1) % 200 == 0 or batch + 1 == steps_per_epoch:
                elapsed = train_seconds + time.perf_counter() - started
                log(f"epoch {epoch} step {batch + 1}/{steps_per_epoch} loss {loss_sum / (batch + 1):.4f} "
                    f"{seen / elapsed:,.0f} examples/s")
        epoch_seconds = time.perf_counter() - started
        train_seconds += epoch_seconds
        epoch_loss = loss_sum / max(steps_per_epoch, 1)
        if not np.isfinite(epoch_loss):
            raise FloatingPointError(f"the loss is {epoch_loss} in epoch {epoch}")
        broken = [name for name, array in model.state_arrays().items() if not np.isfinite(array).all()]
        if broken:  # batch norm can keep the loss finite while a weight or a statistic overflows
            raise FloatingPointError(f"{broken[0]} holds non-finite values after epoch {epoch}")
        test_acc, test_loss = evaluate(model, test_images, test_labels, mean=mean, std=std)
        log(f"epoch {epoch}: train loss {epoch_loss:.4f}, test loss {test_loss:.4f}, "
            f"test accuracy {test_acc:.4f}, {seen / train_seconds:,.0f} examples/s")
        history.append({"epoch": epoch, "train_loss": epoch_loss,
                        "train_acc": correct / max(steps_per_epoch * batch_size, 1),
                        "test_loss": test_loss, "test_acc": test_acc,
                        "lr": lr * (1 - step / total_steps), "seconds": time.perf_counter() - started,
                        "examples_per_sec": steps_per_epoch * batch_size / epoch_seconds})
    return {"test_acc": test_acc, "test_loss": test_loss, "train_loss": epoch_loss,
            "examples_per_sec": seen / train_seconds, "seconds": train_seconds, "epochs": epochs,
            "history": history, "model": model}
