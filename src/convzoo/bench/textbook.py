"""The textbook training loop, the yardstick of `convzoo bench train` (step speed) and `convzoo bench
race` (time to accuracy).

It is d2l's `train_ch6` (Dive into Deep Learning, the LeNet chapter): a per-sample
`torch.utils.data.DataLoader` over a TensorDataset of float tensors, fp32, NCHW, plain SGD,
cross-entropy, the running loss and accuracy read back after every step, and the test set's
accuracy after every epoch (d2l's `evaluate_accuracy_gpu` over its `test_iter`). `D2L_LENET` is that
chapter's recipe: the registry's `lenet` (sigmoid, average pooling), Xavier-uniform weights, lr 0.9,
batch 256, 10 epochs, pixels scaled to [0, 1] by `ToTensor` and not normalised further.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from ..data import ArrayDataset, DataBundle
from ..layers import xavier_init
from ..models import create_model
from ..timing import forever

EVAL_BATCH = 1024  # evaluation only: no batch norm, so the batch size does not change the answer


@dataclass(frozen=True)
class TextbookRecipe:
    model: str = "lenet"
    lr: float = 0.9
    batch_size: int = 256
    epochs: int = 10
    xavier: bool = True  # d2l's init_weights: Xavier-uniform weights of every Linear and Conv2d
    normalize: bool = False  # d2l: ToTensor only (pixels / 255); True: the dataset's mean and std as well
    drop_last: bool = False  # d2l keeps the last, smaller batch
    test_every_epoch: bool = True  # d2l's train_ch6 evaluates the test set after every epoch
    model_kwargs: dict = field(default_factory=dict)

    def describe(self) -> str:
        return (f"{self.model}, {'Xavier init, ' if self.xavier else ''}SGD lr {self.lr:g}, batch {self.batch_size}, "
                f"{self.epochs} epochs, per-sample DataLoader, fp32 NCHW")


D2L_LENET = TextbookRecipe()


class TextbookLoop:
    """`recipe` on `bundle`'s training set. `seed` fixes the initial weights and the shuffling."""

    def __init__(self, recipe: TextbookRecipe, bundle: DataBundle, seed: int | None = None):
        self.recipe = recipe
        train = bundle.train
        channels, height, width = train.shape
        if seed is not None:
            torch.manual_seed(seed)
        self.model = create_model(recipe.model, num_classes=len(train.classes), in_channels=channels,
                                  input_size=(height, width), **recipe.model_kwargs).train()
        if recipe.xavier:
            xavier_init(self.model)
        self.mean = torch.tensor(train.mean)[None, :, None, None]
        self.std = torch.tensor(train.std)[None, :, None, None]
        dataset = torch.utils.data.TensorDataset(self.inputs(train.images), train.labels)
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        self.loader = torch.utils.data.DataLoader(dataset, batch_size=recipe.batch_size, shuffle=True,
                                                  drop_last=recipe.drop_last, generator=generator)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=recipe.lr)
        self.step = 0
        self._endless = None

    @property
    def steps_per_epoch(self) -> int:
        return len(self.loader)

    def inputs(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 (N, C, H, W) -> float32 NCHW, as the recipe preprocesses."""
        x = images.float() / 255
        return (x - self.mean) / self.std if self.recipe.normalize else x

    def train_step(self, x: torch.Tensor, y: torch.Tensor) -> None:
        self.optimizer.zero_grad()
        logits = self.model(x)
        loss = F.cross_entropy(logits, y)
        loss.backward()
        self.optimizer.step()
        loss.item(), (logits.argmax(1) == y).sum().item()  # the textbook's running metrics
        self.step += 1

    def run(self, steps: int) -> None:
        """`steps` steps, data loading included, continuing through epochs (for step timing)."""
        if self._endless is None:
            self._endless = forever(self.loader)
        for _ in range(steps):
            self.train_step(*next(self._endless))

    def train_epoch(self, on_step: Callable[[TextbookLoop], None] | None = None, on_step_every: int = 1) -> None:
        """One pass over the training set; `on_step(loop)` after every `on_step_every`-th step of the
        run (the model is put back in training mode after it, since it may evaluate)."""
        self.model.train()
        for x, y in self.loader:
            self.train_step(x, y)
            if on_step is not None and self.step % on_step_every == 0:
                on_step(self)
                self.model.train()

    @torch.inference_mode()
    def test_accuracy(self, data: ArrayDataset) -> float:
        """d2l's `evaluate_accuracy_gpu(net, test_iter)`: the whole of `data` in order through a
        per-sample DataLoader at the training batch size, the count read back after every batch."""
        self.model.eval()
        dataset = torch.utils.data.TensorDataset(self.inputs(data.images), data.labels)
        correct = 0
        for x, y in torch.utils.data.DataLoader(dataset, batch_size=self.recipe.batch_size, shuffle=False):
            correct += (self.model(x).argmax(1) == y).sum().item()
        return correct / max(len(data), 1)

    @torch.inference_mode()
    def accuracy(self, data: ArrayDataset) -> float:
        """Accuracy of the current model on `data` (the whole of it), fp32, preprocessed as in training."""
        self.model.eval()
        correct = 0
        for start in range(0, len(data), EVAL_BATCH):
            x = self.inputs(data.images[start:start + EVAL_BATCH])
            correct += (self.model(x).argmax(1) == data.labels[start:start + EVAL_BATCH]).sum().item()
        return correct / max(len(data), 1)
