"""torchvision-style state dicts load into convzoo's models: reference implementations written here
in torchvision's layout (its module names and registration order, as in torchvision/models/*.py),
randomly initialised, loaded through `load_torchvision_state_dict`, and compared output for output."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from convzoo.errors import ConvzooError
from convzoo.models import create_model, load_torchvision_state_dict


class BasicBlock(nn.Module):
    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class TorchvisionStyleResNet18(nn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        inplanes, layers = 64, []
        for planes, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            down = None
            if stride != 1 or inplanes != planes:
                down = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))
            layers.append(nn.Sequential(BasicBlock(inplanes, planes, stride, down), BasicBlock(planes, planes)))
            inplanes = planes
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class TorchvisionStyleVGG11(nn.Module):
    def __init__(self, batch_norm: bool, num_classes=1000):
        super().__init__()
        layers, channels = [], 3
        for v in (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"):
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
                continue
            layers.append(nn.Conv2d(channels, v, 3, padding=1))
            layers += [nn.BatchNorm2d(v), nn.ReLU(inplace=True)] if batch_norm else [nn.ReLU(inplace=True)]
            channels = v
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(nn.Linear(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(),
                                        nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(),
                                        nn.Linear(4096, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


def _randomised(module: nn.Module) -> nn.Module:
    """Random weights and BN statistics, so a misplaced tensor changes the output."""
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, tensor in module.state_dict().items():
            if tensor.is_floating_point():
                values = torch.rand(tensor.shape, generator=generator) + 0.5 if "running_var" in name \
                    else torch.randn(tensor.shape, generator=generator) * 0.05
                tensor.copy_(values)
    return module.eval()


@pytest.mark.parametrize("name, reference", [
    ("resnet18", lambda: TorchvisionStyleResNet18()),
    # VGG-11's 133 M parameters take seconds to randomise and copy: checked by `make test`.
    pytest.param("vgg11", lambda: TorchvisionStyleVGG11(batch_norm=False), marks=pytest.mark.slow),
    pytest.param("vgg11_bn", lambda: TorchvisionStyleVGG11(batch_norm=True), marks=pytest.mark.slow),
])
def test_a_torchvision_style_state_dict_gives_the_same_outputs(name, reference):
    theirs = _randomised(reference())
    ours = create_model(name).eval()
    mapping = load_torchvision_state_dict(ours, theirs.state_dict())
    assert len(mapping) == len(theirs.state_dict()) and len(set(mapping.values())) == len(mapping)
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        assert torch.allclose(ours(x), theirs(x), atol=1e-4, rtol=1e-4)


def test_another_architecture_is_refused_and_nothing_is_loaded():
    ours = create_model("resnet18")
    before = {k: v.clone() for k, v in ours.state_dict().items()}
    with pytest.raises(ConvzooError, match="not the same architecture"):
        load_torchvision_state_dict(ours, TorchvisionStyleVGG11(batch_norm=False).state_dict())
    shuffled = dict(reversed(list(TorchvisionStyleResNet18().state_dict().items())))
    with pytest.raises(ConvzooError, match="does not match"):
        load_torchvision_state_dict(ours, shuffled)
    assert all(torch.equal(v, before[k]) for k, v in ours.state_dict().items())
