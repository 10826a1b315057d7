"""A speech CNN on log-mel spectrograms, in the shape of the lecture's speech slide.

The slide's network follows Abdel-Hamid, Mohamed, Jiang, Deng, Penn & Yu, "Convolutional Neural
Networks for Speech Recognition" (IEEE/ACM TASLP, 2014) and Sainath, Mohamed, Kingsbury &
Ramabhadran, "Deep convolutional neural networks for LVCSR" (ICASSP 2013): convolutions over a
log-mel spectrogram with kernels 3 mel bands high and 5 frames wide, and max pooling over
frequency only (3x1: 3 bands, 1 frame), which buys invariance to the small formant shifts between
speakers while keeping the time resolution.

`speech_cnn` reads a (1, 40, 101) log-mel image (40 mel bands from low to high by 101 frames of
10 ms: `convzoo.data.audio`) and classifies the whole one-second clip (the papers classify frames
for an HMM; a word classifier instead averages over time at the end). Ten layers:

    conv 3x5 (stride 1x2)  1 -> 16    40x51
    conv 3x5              16 -> 16    40x51
    max pool 3x1                      13x51
    conv 3x5 (stride 1x2) 16 -> 32    13x26
    conv 3x5              32 -> 32    13x26
    max pool 3x1                       4x26
    conv 3x5              32 -> 64     4x26
    conv 3x5              64 -> 64     4x26
    global average pool                  64
    dense                 64 -> classes

Each convolution is followed by batch norm and ReLU (not in the 2013-14 papers, which predate
BN) and is padded to keep its input size ("same"); dropout before the dense layer. The two time
strides (not in the papers) halve the frame rate twice, which keeps a training step cheap on a CPU
(26 M multiply-adds a clip). The 3x1 pools are the lecture's; the frequency axis shrinks 40 -> 13
-> 4, so inputs need at least 9 mel bands.
"""

from __future__ import annotations

from torch import nn

from ..layers import ConvBNAct, check_positive, kaiming_init, knobs
from .registry import register_model


@register_model("speech_cnn", family="speech_cnn", year=2014, input_size=(1, 40, 101), num_classes=10,
                params=120_378, min_size=9,
                paper="Abdel-Hamid et al., Convolutional Neural Networks for Speech Recognition (and Sainath "
                      "et al. 2013, Deep convolutional neural networks for LVCSR)",
                note="3x5 convs (frequency x time) with BN and ReLU, 3x1 max pooling over frequency, "
                     "two time strides of 2, global average pooling over the rest; classifies a whole clip")
def speech_cnn(num_classes: int, in_channels: int, input_size: tuple[int, int],
               channels: tuple[int, int, int] = (16, 32, 64), time_stride: int = 2,
               dropout: float = 0.2) -> nn.Sequential:
    """The lecture's speech CNN for a log-mel image (mel bands x frames).

    Args:
        channels: output channels of the three pairs of 3x5 convolutions
        time_stride: stride over time of the first conv of the first two pairs (1 = none)
        dropout: probability before the dense layer; 0 = none
    """
    check_positive("channels", *channels)
    check_positive("time_stride", time_stride)
    layers: list[nn.Module] = []
    c_in = in_channels
    for stage, c_out in enumerate(channels):
        for j in range(2):
            stride = (1, time_stride) if j == 0 and stage < 2 else 1
            layers.append(ConvBNAct(c_in, c_out, (3, 5), stride=stride))
            c_in = c_out
        if stage < 2:
            layers.append(nn.MaxPool2d((3, 1)))  # over frequency only
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), *knobs.optional_dropout(dropout),
               nn.Linear(c_in, num_classes)]
    model = nn.Sequential(*layers)
    kaiming_init(model)
    return model
