"""The feature networks style transfer measures images with, all usable offline.

- `random` (the default): single-layer banks of random convolutions with ReLU, one bank per scale.
  Ustyuzhaninov et al. (ICLR 2017, "What does it take to generate natural textures?") showed that
  the Gram matrices of such random multi-scale features synthesise natural textures about as well
  as a trained VGG's. Their banks grow the kernel (3 ... 55 pixels) at full resolution; here the
  image is shrunk instead (a 5x5 bank on the image at 1/8 size sees 40 pixels), which gives the same
  receptive fields at a fraction of the cost on a CPU. Weights are drawn from a fixed seed.
- `convzoo:CKPT`: the convolutions of a model trained with convzoo (a run directory, a checkpoint
  file, or `digits` / `fashion`); a grey model sees the picture's luminance.
- `vgg19:PATH`: Gatys et al.'s network, from the user's own torchvision-format VGG-19 state dict
  (nothing is downloaded). Max pooling becomes average pooling, as the paper recommends.

Each network maps an RGB image in [0, 1], (1, 3, H, W), to a dict of named feature maps, and knows
its layer names and its default content and style layers.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConvzooError

# (name, kernel, scale, filters): bank `sSkK` is a KxK bank on the image shrunk S times. More filters
# make richer textures and cost time: a Gram matrix costs filters^2 per pixel, so the full-size
# bank, which has 4x the pixels of the next, gets half the filters.
RANDOM_BANKS = (("s1k5", 5, 1, 64), ("s2k5", 5, 2, 128), ("s4k5", 5, 4, 128), ("s8k5", 5, 8, 128),
                ("s16k5", 5, 16, 128))
RANDOM_SEED = 0  # the same features on every run, so results are reproducible

# Torchvision's VGG-19 `features` layout: index of each ReLU whose output is a named layer.
VGG19_RELUS = {"conv1_1": 1, "conv1_2": 3, "conv2_1": 6, "conv2_2": 8, "conv3_1": 11, "conv3_2": 13,
               "conv3_3": 15, "conv3_4": 17, "conv4_1": 20, "conv4_2": 22, "conv4_3": 24, "conv4_4": 26,
               "conv5_1": 29, "conv5_2": 31, "conv5_3": 33, "conv5_4": 35}
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
LUMINANCE = (0.299, 0.587, 0.114)  # ITU-R BT.601, as Pillow's convert("L")


class FeatureNet(nn.Module):
    """Named feature maps of an image; subclasses set `layers`, `content_layers`, `style_layers`."""

    layers: tuple[str, ...] = ()
    content_layers: tuple[str, ...] = ()
    style_layers: tuple[str, ...] = ()
    description = ""

    def forward(self, image: torch.Tensor, names: set[str]) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def check_layers(self, names, role: str) -> tuple[str, ...]:
        names = tuple(names)
        unknown = [name for name in names if name not in self.layers]
        if unknown or not names:
            what = f"unknown {role} layer {unknown[0]!r}" if unknown else f"no {role} layers given"
            raise ConvzooError(f"{what} for {self.description}; layers: {', '.join(self.layers)}")
        return names


class RandomFeatures(FeatureNet):
    def __init__(self, banks=RANDOM_BANKS, seed: int = RANDOM_SEED):
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.banks = nn.ModuleDict()
        self.scales = {}
        for name, kernel, scale, filters in banks:
            # Replicate padding works on any map, even the 1x1 coarsest one of a small picture.
            conv = nn.Conv2d(3, filters, kernel, padding=kernel // 2, padding_mode="replicate")
            weight = torch.randn(conv.weight.shape, generator=generator)
            # Zero mean in each colour channel: a filter sees contrasts (edges, grain, colour edges) and
            # no flat colour, so the content loss measures layout rather than palette, and the
            # result keeps the content's colours. Unit norm gives every bank's responses (and so its
            # share of the style loss) one size.
            weight -= weight.mean(dim=(2, 3), keepdim=True)
            conv.weight.data = weight / weight.flatten(1).norm(dim=1)[:, None, None, None]
            conv.bias.data.zero_()
            conv.requires_grad_(False)
            self.banks[name] = conv
            self.scales[name] = scale
        self.layers = tuple(bank[0] for bank in banks)
        self.content_layers = ("s2k5", "s4k5", "s8k5")  # not s1k5: the finest detail is the style's
        self.style_layers = self.layers
        self.description = f"random features (seed {seed})"

    def forward(self, image, names):
        x = (image - 0.5) / 0.25
        out = {}
        for name in names:
            out[name] = F.relu(self.banks[name](_shrink(x, self.scales[name])))
        return out


def _shrink(x: torch.Tensor, scale: int) -> torch.Tensor:
    if scale == 1:
        return x
    size = (max(1, x.shape[2] // scale), max(1, x.shape[3] // scale))  # a small picture's coarsest map is 1x1
    # Antialiased bilinear, not block averages: a block grid would print itself on the result.
    return F.interpolate(x, size=size, mode="bilinear", antialias=True)


class VGG19Features(FeatureNet):
    def __init__(self, path: str | Path):
        super().__init__()
        from ..models.vgg import CONFIGS, make_features

        with torch.device("meta"):  # shapes only: the weights come from the file, so skip initialising 20M
            layers, _, _ = make_features(CONFIGS["vgg19"], 3, (224, 224))
        layers.load_state_dict(_vgg19_state(path, layers), assign=True)
        # Gatys et al.: average pooling gives smoother gradients (and slightly better pictures).
        self.features = nn.Sequential(*[nn.AvgPool2d(2, 2) if isinstance(m, nn.MaxPool2d) else m
                                        for m in layers])
        self.features.requires_grad_(False).eval()
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN)[None, :, None, None])
        self.register_buffer("std", torch.tensor(IMAGENET_STD)[None, :, None, None])
        self.layers = tuple(VGG19_RELUS)
        self.content_layers = ("conv4_2",)
        self.style_layers = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")
        self.description = f"VGG-19 from {path}"

    def forward(self, image, names):
        x = (image - self.mean) / self.std
        wanted = {VGG19_RELUS[name]: name for name in names}
        out = {}
        for index, module in enumerate(self.features[:max(wanted) + 1]):  # nothing beyond the deepest layer
            x = module(x)
            if index in wanted:
                out[wanted[index]] = x
        return out


def _vgg19_state(path, layers: nn.Sequential) -> dict:
    """The `features.N.*` tensors of a torchvision VGG-19 state dict, checked against `layers`."""
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ConvzooError(f"{path}: no such file") from None
    except Exception as exc:  # noqa: BLE001 - any failure to parse a user's file is a user error
        raise ConvzooError(f"{path}: not a PyTorch state dict ({type(exc).__name__})") from None
    if not isinstance(saved, dict):
        raise ConvzooError(f"{path}: not a state dict (a {type(saved).__name__})")
    state = {}
    for key, expected in layers.state_dict().items():
        value = saved.get(f"features.{key}")
        if not isinstance(value, torch.Tensor):
            raise ConvzooError(f"{path}: not a torchvision VGG-19 state dict (no tensor features.{key})")
        if value.shape != expected.shape:
            raise ConvzooError(f"{path}: features.{key} has shape {tuple(value.shape)}, VGG-19's is "
                               f"{tuple(expected.shape)}")
        state[key] = value.float()
    return state


class _Enough(Exception):
    """Raised by a hook once the deepest wanted layer has run: the rest of the model (a classifier
    head that only fits its training size, say) never runs."""


class ConvzooFeatures(FeatureNet):
    def __init__(self, checkpoint: str):
        super().__init__()
        from ..infer import conv_map_modules
        from ..train.checkpoint import model_from_checkpoint

        self.model, payload = model_from_checkpoint(checkpoint)
        self.model.requires_grad_(False)
        data = payload["data"]
        self.grey = data["shape"][0] == 1
        if data["shape"][0] not in (1, 3):
            raise ConvzooError(f"{checkpoint}: a model of {data['shape'][0]}-channel images cannot see "
                               "a picture")
        self.register_buffer("mean", torch.tensor(data["mean"], dtype=torch.float32)[None, :, None, None])
        self.register_buffer("std", torch.tensor(data["std"], dtype=torch.float32)[None, :, None, None])
        self.modules_by_name = dict(conv_map_modules(self.model, max_layers=10_000))
        if not self.modules_by_name:
            raise ConvzooError(f"{checkpoint}: the model has no convolutions to take features from")
        self.checkpoint = checkpoint
        # Only convolutions that run on a picture are layers (an auxiliary head runs only in training):
        # one pass at the model's own input size finds them.
        ran = self.forward(torch.full((1, 3, *data["shape"][1:]), 0.5), set(self.modules_by_name), strict=False)
        self.modules_by_name = {k: v for k, v in self.modules_by_name.items() if k in ran} or self.modules_by_name
        self.layers = tuple(self.modules_by_name)
        self.content_layers = self.layers[-1:]
        self.style_layers = self.layers
        self.description = f"the convolutions of {checkpoint} ({'grey: luminance' if self.grey else 'RGB'})"

    def forward(self, image, names, strict: bool = True):
        """{name: feature map} of the layers `names` on `image`; a picture too small for the model
        (a kernel or pooling larger than what reaches it) is a one-line ConvzooError."""
        if self.grey:
            image = torch.tensordot(torch.tensor(LUMINANCE), image, dims=([0], [1]))[:, None]
        x = (image - self.mean) / self.std
        out, handles = {}, []

        def keeper(name):
            def hook(_module, _inputs, output):
                out[name] = output
                if len(out) == len(names):
                    raise _Enough
            return hook

        try:
            for name in names:
                handles.append(self.modules_by_name[name].register_forward_hook(keeper(name)))
            self.model(x)
        except _Enough:
            pass
        except RuntimeError as exc:  # torch: "Kernel size can't be greater than actual input size", ...
            raise ConvzooError(f"a {image.shape[-2]}x{image.shape[-1]} picture is too small for the convolutions of "
                               f"{self.checkpoint} ({str(exc).splitlines()[0][:100]}); use a larger --size") from None
        finally:
            for handle in handles:
                handle.remove()
        missing = sorted(set(names) - set(out))
        if strict and missing:
            raise ConvzooError(f"layers {', '.join(missing[:3])} of {self.checkpoint} do not run on a "
                               f"{image.shape[-2]}x{image.shape[-1]} picture; choose others (--content-layers, "
                               "--style-layers) or a larger --size")
        return out


def feature_net(spec: str) -> FeatureNet:
    """`random`, `convzoo:CKPT` or `vgg19:PATH` -> the network, in eval mode, frozen."""
    kind, _, where = spec.partition(":")
    if kind == "random" and not where:
        return RandomFeatures().eval()
    if kind == "convzoo" and where:
        return ConvzooFeatures(where).eval()
    if kind == "vgg19" and where:
        return VGG19Features(where).eval()
    raise ConvzooError(f"unknown features {spec!r}; use random, convzoo:CKPT or vgg19:PATH")
