"""Training: a typed config, the Trainer, checkpoints, metrics."""

from .checkpoint import load_checkpoint, model_from_checkpoint, resolve_checkpoint, save_checkpoint
from .config import TrainConfig
from .metrics import Evaluation, evaluate
from .runtime import Runtime
from .trainer import Trainer

__all__ = ["Evaluation", "Runtime", "TrainConfig", "Trainer", "evaluate", "load_checkpoint",
           "model_from_checkpoint", "resolve_checkpoint", "save_checkpoint"]
