"""Recipes: named TrainConfig presets, each choice with the reason it was made.

`convzoo train --recipe NAME` starts from a recipe's values; explicit flags override them. The
measurements behind the choices (time to accuracy on a 2-core CPU) are in docs/speed.md.
"""

from __future__ import annotations

from .config import Recipe
from .d2l_recipes import D2L_RECIPES  # the textbook's own chapter settings, which the zoo re-runs
from .zoo_recipes import ZOO_RECIPES  # the zoo's rows (`convzoo zoo`, docs/zoo.md), one recipe per family

_FASHION = {
    "model": ("fastnet", ("convzoo's residual net for 28x28 (116,602 parameters, 9.1 M multiply-adds, "
                         "most at 14x14 and 7x7); wider variants cost 2x per epoch and were no better "
                         "in equal time")),
    "data": ("fashion-mnist", "the recipes' target; any 28x28 grey dataset works"),
    "batch_size": (128, ("twice the steps per epoch of 256 (+0.6 points after 3 of 4 epochs, +0.2 at "
                        "the end, earlier fastnet) at nearly the same examples/s on 2 cores")),
    "optimizer": ("sgd", "SGD with momentum and BN: the standard for residual nets"),
    "nesterov": (True, "look-ahead momentum, a little steadier at a high peak lr"),
    "lr": (0.15, "peak of the one-cycle for batch 128 (0.2 at batch 256, scaled down)"),
    "weight_decay": (5e-4, "the usual for SGD on small nets; conv and linear weights only"),
    "schedule": ("onecycle", ("warm up for 30% of the run, then anneal to ~0: a short run earns most of "
                             "its accuracy in the low-lr end (the last epoch adds 1-2 points)")),
    "label_smoothing": (0.1, ("softer targets; against overconfident logits on the look-alike classes "
                             "(shirt, T-shirt, pullover, coat)")),
    "precision": ("auto", ("the faster of fp32 and bf16 autocast, measured once per machine (bf16 is "
                           "tried where the CPU has AVX512-BF16 or AMX; there it was 1.4-1.7x the fp32 step for fastnet). "
                           "The quoted numbers say which they ran in (docs/speedrun.md: fp32 on the AVX2 Zen 3, where "
                           "bf16 is never a candidate; bf16 on the Zen 4), and every run records it in its checkpoint")),
    "channels_last": (True, ("NHWC: 1.3x the NCHW step for fastnet in fp32 and in bf16 (oneDNN's "
                             "convolutions run NHWC natively); fixed, so nothing is measured for it")),
    "ema": (0.0, ("off: an average of the weights helps mid-run (+3 points after epoch 1) but not "
                 "at the end of an annealed one-cycle (0.9191 vs 0.9198 with TTA, fast recipe, earlier fastnet)")),
    "tta": (True, ("the final evaluation averages the views training used (identity, flip, and "
                  "1-pixel shifts when trained with shifts): +0 to +0.4 points for about 1 s")),
}

# fast until 2026-12-07 (commit bd0ce0f), kept whole as the yardstick of today's fast.
_FAST_2026_11 = {
        **_FASHION,
        "model_kwargs": ({"whiten": True}, ("a frozen patch-whitening stem (airbench's first layer): 0.9225 against "
                                            "0.9185 after 3 epochs (seed 0), 0.873 against 0.845 after the first, "
                                            "at the same speed")),
        "optimizer": ("muon", ("Muon's orthogonalised update for the hidden convs, SGD for the stem, classifier and "
                               "norms: with the whitened stem 0.9271 after 3 epochs and 0.9205 after 2 (seed 0), "
                               "which is what lets the recipe drop an epoch; 10% slower steps")),
        "muon_lr": (0.06, ("3x torch.optim.Muon's usual 0.02: the same accuracy at the end (0.9220 against 0.9205, "
                           "seed 0, with the average below) and the first 0.79 reached after 63-81 steps instead "
                           "of 81-108 (seeds 0-2; docs/speedrun.md)")),
        "ema": (0.9, ("evaluate an average of the last ~10 steps' weights: the same at the end of the annealed "
                      "run, but early on the test accuracy climbs steadily instead of jumping by 5-8 points "
                      "from one point to the next (0.900 against 0.888 after epoch 1, seed 0)")),
        "epochs": (2, ("2 epochs with the two tricks above reach what 3 plain ones did (docs/speedrun.md: 3 seeds "
                       "each); 3 plain epochs gave 0.917-0.921 over 3 seeds")),
        "augment": ("flip", "mirror images only: shifts make a run this short converge slower"),
    }

# `accurate`, which `best` runs for longer.
_ACCURATE = {
    **_FASHION,
    "model_kwargs": ({"whiten": True}, "fast's whitened stem: the next layers see decorrelated patches from step 1"),
    "optimizer": ("muon", ("fast's Muon for the hidden convs: with the whitened stem 0.9353 after 8 epochs (seed 0), "
                           "what 12 plain SGD epochs gave (0.934-0.935)")),
    "muon_lr": (0.02, ("torch.optim.Muon's usual peak (fast's 0.06 buys it an early climb in a 2-epoch run; not "
                       "measured over 18 epochs)")),
    "ema": (0.9, ("as in fast, the average of the last ~10 steps (the same end there; not measured apart over "
                  "18 epochs)")),
    "epochs": (18, ("with the two tricks 18 epochs reach 0.94 (docs/speedrun.md), which plain SGD needed 32 "
                    "for (the best recipe); 8 gave 0.9353")),
    "augment": ("crop+flip", ("shifts of up to 2 pixels and flips: without them the net overfits "
                             "after ~4 epochs")),
}

RECIPES: dict[str, Recipe] = {r.name: r for r in (
    Recipe("fast", "Fashion-MNIST to >= 0.92 test accuracy with under half the training FLOPs of fast-2026-11: a "
                   "narrower fastnet for 4 epochs (docs/speedrun.md)", {
        **_FAST_2026_11,
        "model_kwargs": ({"whiten": True, "widths": (16, 12, 36)}, (
            "fastnet narrowed to 12 channels at 14x14 and 36 at 7x7 (2.3 M multiply-adds an image against 9.1 M): "
            "at the same FLOPs a smaller net trained longer beat a larger one trained shorter; seed 0 at 0.41-0.49x "
            "the FLOPs: 2 epochs of widths 16,20,48 0.9193, 3 of 16,16,36 0.9206, 3 of 16,12,44 0.9217, 4 of "
            "16,12,32 0.9228 (seed 1: 0.9191), 4 of 16,12,36 0.9240 (seed 1: 0.9210), 5 of 16,12,24 0.9199 "
            "(docs/speedrun.md)")),
        "epochs": (4, "4 epochs of the narrow net: 239,616 images, 3.23 TFLOP against fast-2026-11's 6.65"),
    }),
    Recipe("fast-2026-11", "fast until 2026-12-07 (commit bd0ce0f): fastnet with the whitened stem and Muon, 2 "
                           "epochs; the yardstick of `bench recipe fast --against fast-2026-11`", _FAST_2026_11),
    Recipe("accurate", "Fashion-MNIST to >= 0.94 test accuracy in 18 epochs (about 18 minutes on a 2-core AVX2 "
                       "CPU, docs/speedrun.md)", _ACCURATE),
    Recipe("best", "Fashion-MNIST to 0.9496 +- 0.0002 test accuracy (3 seeds): accurate's recipe on a wider "
                   "fastnet for 32 epochs (about 26 minutes on a 2-core AVX512-BF16 CPU, docs/speedrun.md)", {
        **_ACCURATE,
        "model_kwargs": ({"whiten": True, "widths": (16, 64, 128)}, (
            "fastnet widened to 64 channels at 14x14 and 128 at 7x7 (454,202 parameters, 3.8x the FLOPs of the "
            "32/64 net), chosen on a validation split: 0.9516 on 5,000 held-out training images after 32 epochs "
            "(0.95 first at epoch 27), where the narrower net's 3 seeds peaked at 0.9460 (docs/speedrun.md)")),
        "epochs": (32, ("best-2026-12's 32 epochs, kept for the wider net: 0.9496 +- 0.0002 over 3 seeds, the "
                        "test set read once (0.9454 +- 0.0006 on the narrower net; docs/speedrun.md)")),
    }),
    Recipe("best-2026-12", "best until 2026-12-08: accurate's recipe on the 32/64 fastnet for 32 epochs (0.9454 +- "
                           "0.0006 on the full training set; 0.9437 +- 0.0007 under the validation protocol)", {
        **_ACCURATE,
        "epochs": (32, ("accurate run long: 0.9454 +- 0.0006 after 32 epochs (3 seeds), where plain SGD gave "
                        "0.9404-0.9422 (the best recipe until 2026-11-30) and accurate's 18 epochs 0.9407-0.9428; "
                        "random erasing on top cost accurate 0.5 point (docs/speedrun.md)")),
    }),
    Recipe("speech", "speech_cnn on spoken-digits (synthetic speech) to >= 0.99 on held-out voices in 5 epochs, "
                     "about 2 min of CPU time (docs/applications.md)", {
        "model": ("speech_cnn", ("the lecture's speech CNN: 3x5 convs, 3x1 pooling over frequency (120,378 "
                                 "parameters, 26 M multiply-adds a clip)")),
        "data": ("spoken-digits", "espeak-ng's digits in 240 training voices; the test set is 80 voices never heard"),
        "epochs": (5, ("an 8-epoch run was at 0.98 after 2 epochs and 0.995 at its end; 5 annealed epochs gave "
                       "0.9962 (797 of 800) in half the steps")),
        "batch_size": (64, "75 steps an epoch on 4,800 clips: enough steps for a 5-epoch one-cycle"),
        "optimizer": ("sgd", "SGD with momentum and BN, as the image recipes"),
        "nesterov": (True, "look-ahead momentum, a little steadier at a high peak lr"),
        "lr": (0.1, "peak of the one-cycle for batch 64 (the image recipes' 0.15 at 128, scaled down)"),
        "weight_decay": (5e-4, "the usual for SGD on small nets; conv and linear weights only"),
        "schedule": ("onecycle", "warm up for 30% of the run, then anneal: most accuracy comes in the low-lr end"),
        "label_smoothing": (0.1, "softer targets: the synthetic voices are cleaner than any recording"),
        "augment": ("none", ("the clips already carry random time shifts and noise; a flip would play the word "
                             "backwards and a crop would shift the formants")),
        "channels_last": (True, "NHWC: 337 ms a step against 478 NCHW for speech_cnn in fp32 (1 thread, measured)"),
        "tta": (False, "no views to average: no flips (time runs one way), no shifts trained"),
    }),
    Recipe("scenes", "unet_padded on digit-scenes: every pixel labelled background or its digit, to mean IoU "
                     ">= 0.6 in 6 epochs, about 10 minutes on 2 CPU cores (docs/applications.md)", {
        "model": ("unet_padded", "U-Net with 'same' convolutions: a mask the size of the 64x64 canvas"),
        "model_kwargs": ({"width": 8}, ("8 channels at the top of the U (the paper's 64 / 8: 485,763 parameters, "
                                         "~1/64 of its multiply-adds); a digit still gets a 4x4 bottleneck "
                                         "with a receptive field larger than the canvas")),
        "data": ("digit-scenes", "1-4 real MNIST digits per 64x64 canvas, generated offline from mnist-sample"),
        "epochs": (6, "mean IoU 0.34 after 3 epochs and 0.59 after 4 of 6; most of it comes as the lr anneals"),
        "batch_size": (32, "313 steps an epoch on 10,000 canvases; a canvas is 16 digit-sized images of pixels"),
        "optimizer": ("adamw", "Adam's per-weight steps for the unnormalised decoder/encoder mix"),
        "lr": (0.003, ("0.003 with cosine; 0.004 one-cycle and 0.001 cosine both sat at 'all background' "
                       "(mean IoU 0.104) for 2-6 epochs without --class-balance")),
        "weight_decay": (5e-4, "light: the net is small and the canvases are many"),
        "schedule": ("cosine", "from the peak straight down: no warm-up, which only lengthened the background plateau"),
        "class_balance": (0.5, ("93.6 % of the pixels are background: weighting each class by frequency^-0.5 "
                                "(background 0.57, a digit 5.5-7.7) is what got the net off the all-background "
                                "answer (mean IoU 0.108 after 3 of 8 epochs without it, 0.34 after 3 of 6 with it)")),
        "augment": ("none", "flips would make new, wrong digits (a mirrored 2 is not a 2)"),
        "tta": (False, "no flip to average for the same reason"),
    }),
)}

# LeNet-5 trained as its paper trained it (LeCun et al. 1998, sec. II.B, V.B and Appendices A-C).
_LENET5_PAPER = {
    "model": ("lenet5_1998", "LeNet-5 as published: Table I's C3, trainable subsampling, scaled tanh, RBF output"),
    "model_kwargs": ({"codes": "digits", "background": -0.1}, (
        "the RBF codes are 7x12 bitmaps of the digits (the paper's Fig. 3, redrawn); the 28x28 digit is padded "
        "to 32x32 with the background's value after scaling, -0.1")),
    "data": ("mnist-sample", "real MNIST digits: 9,000 to train, 1,000 held out (the paper: 60,000 / 10,000)"),
    "normalize": ("lecun98", "background -0.1, ink 1.175: mean about 0 and variance about 1, as the paper"),
    "loss": ("map", "the paper's MAP criterion: the correct penalty down, the others up through e^-y, with e^-j"),
    "optimizer": ("sdlm", "stochastic diagonal Levenberg-Marquardt, the paper's: a step lr / (mu + h) per weight"),
    "lr": (0.00001, ("the paper's schedule scaled by 1/50 (its eta 0.0005 for the first 2 passes): with the paper's "
                     "init the second derivatives start near 0, every weight takes lr / mu, and 0.0005 sent every "
                     "digit to one class within the first pass at batch 1 and 16; 1/25 did too, 1/50 learned "
                     "(docs/baselines.md)")),
    "schedule": ("lecun98", ("the paper's eta: 0.0005 x2, 0.0002 x3, 0.0001 x3, 0.00005 x4, then 0.00001, by passes "
                             "of 60,000 digits")),
    "sdlm_mu": (0.02, "the paper's mu"),
    "sdlm_samples": (500, "the paper re-estimates the second derivatives on 500 patterns before each pass"),
    "batch_size": (16, ("the paper updates after each example; batch 1 costs 17.7 ms an example here, batch 16 "
                        "2.3 ms (2 cores under load), and the step is scaled by the batch (train/sdlm.py)")),
    "weight_decay": (0.0, "the paper uses none"),
    "epochs": (134, ("the paper's 20 passes over its 60,000 digits are 1.2 M digits seen: 134 epochs of mnist-sample's "
                     "9,000 (the schedule steps down by the paper's passes, not by epochs); 20 epochs, 180,000 "
                     "digits, ended at 3.0-3.6 percent error (docs/baselines.md)")),
    "augment": ("none", "no distortions (lenet5-paper-distort has them)"),
    "precision": ("fp32", "a 60 k-parameter tanh net: bf16 saves nothing here and blunts the small steps"),
    "channels_last": (False, "per-operator overhead dominates LeNet's step, not memory layout"),
    "tta": (False, "the paper evaluates the plain image"),
}
RECIPES.update({r.name: r for r in (
    Recipe("lenet5-paper", "LeNet-5 (1998) as its paper trained it, 20 of its passes on mnist-sample: 2.40 +- 0.20 "
                           "percent error over 3 seeds (docs/baselines.md)", _LENET5_PAPER),
    Recipe("lenet5-paper-distort", "lenet5-paper with the paper's random planar affine distortions (one digit in "
                                   "ten left as it is) and its schedule's pass over a twice larger, distorted set: "
                                   "1.40 +- 0.10 percent error over 3 seeds (docs/baselines.md)", {
        **_LENET5_PAPER,
        "schedule_pass": (120_000, ("the paper stepped eta down by passes over its whole training set, 600,000 "
                                    "patterns with the distortions: each eta for 10x the digits of the undistorted "
                                    "run; 2x (a pass of 120,000) is what the budget allows here. With the 60,000-digit "
                                    "pass: 1.57 +- 0.21; with 120,000: 1.40 +- 0.10 (3 seeds, docs/baselines.md)")),
        "epochs": (268, "20 passes of 120,000 digits: 2.4 M digits seen, 268 epochs of mnist-sample's 9,000"),
        "augment": ("planar", ("the paper's distortions: shifts, scaling, squeezing and horizontal shearing, a new "
                               "random one per digit per epoch, one digit in ten undistorted as among the paper's "
                               "600,000 patterns (data/distort.py)")),
    }),
)})


RECIPES.update(ZOO_RECIPES)
RECIPES.update(D2L_RECIPES)
