"""`convzoo eval CKPT`: a checkpoint (or a baseline's directory) on a test set: accuracy, loss,
per-class accuracy and the confusion matrix (segmentation: pixel accuracy and IoU per class);
with `--mc-dropout N`, test-time dropout averaged over N passes, with its spread."""

from __future__ import annotations

from ..tables import Grid
from ..train.mcdropout import MAX_PASSES
from . import argtypes
from .output import Result


def register(sub) -> None:
    p = sub.add_parser("eval", help="evaluate a checkpoint on a dataset's test set")
    p.add_argument("checkpoint", help="checkpoint file, run directory, or a pretrained name")
    p.add_argument("--data", help="dataset (default: the one it was trained on)")
    p.add_argument("--data-dir", help="where the dataset's files are (default: the run's, else the usual search)")
    p.add_argument("--force", action="store_true",
                   help="evaluate on a dataset whose classes differ from the checkpoint's (the numbers then "
                        "compare class indices, not meanings)")
    argtypes.add_code_flag(p)
    p.add_argument("--mc-dropout", type=argtypes.integer(1, MAX_PASSES), metavar="N",
                   help="keep dropout on at test time and average the softmax over N passes (1 to "
                        f"{MAX_PASSES}; batch norm stays in eval mode): accuracy and how much the passes disagree")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run_eval)


def run_eval(args) -> Result:
    from ..baselines import is_baseline_dir

    if is_baseline_dir(args.checkpoint):
        if args.mc_dropout:
            from ..errors import ConvzooError
            raise ConvzooError("--mc-dropout needs a network checkpoint; a baseline has no dropout")
        return _baseline_eval(args)
    if args.mc_dropout:
        return _mc_dropout(args)
    from ..train.metrics import evaluate_checkpoint

    checked = evaluate_checkpoint(args.checkpoint, args.data, args.data_dir, force=args.force, code=args.code)
    test, result, name = checked.test, checked.evaluation, checked.data
    data = {"data": name, "precision": checked.precision, **result.to_dict(list(test.classes)), "count": len(test)}
    if result.task == "segmentation":
        return Result(data, _segmentation_text(name, result, test.classes, len(test)))
    return Result(data, _classification_text(name, result, test.classes, len(test)))


def _segmentation_text(name: str, result, classes, count: int) -> list:
    rows = [(cls, "-" if iou is None else f"{iou:.4f}", f"{acc:.4f}")
            for cls, iou, acc in zip(classes, result.per_class_iou, result.per_class_accuracy)]
    return [(f"{name} test: pixel accuracy {result.accuracy:.4f}, mean IoU {result.mean_iou:.4f}, "
            f"loss {result.loss:.4f} ({count:,} images)"),
            Grid(("class", "IoU", "pixel accuracy"), rows, right={1, 2})]


def _classification_text(name: str, e, classes, count: int) -> list:
    """Accuracy and loss, accuracy per class, the confusion matrix: a checkpoint's or a baseline's."""
    loss = "-" if e.loss is None else f"{e.loss:.4f}"
    confusion = e.confusion.tolist()
    return [f"{name} test: accuracy {e.accuracy:.4f}, loss {loss} ({count:,} examples)",
            Grid(("class", "accuracy"), [(cls, f"{acc:.4f}") for cls, acc in zip(classes, e.per_class_accuracy)],
                 right={1}),
            "confusion matrix (rows: true, columns: predicted):",
            Grid(("true \\ predicted", *classes), [(cls, *row) for cls, row in zip(classes, confusion)],
                 right=set(range(1, len(classes) + 1)))]


def _mc_dropout(args) -> Result:
    from ..train.mcdropout import mc_dropout_checkpoint

    r = mc_dropout_checkpoint(args.checkpoint, args.mc_dropout, args.data, args.data_dir, force=args.force,
                              code=args.code)
    rows = [("accuracy of the averaged prediction", f"{r.accuracy:.4f}", f"dropout off: {r.deterministic_accuracy:.4f}"),
            ("one pass's accuracy", f"{r.pass_accuracy_mean:.4f} ± {r.pass_accuracy_sd:.4f}", "sd over passes"),
            ("predictive entropy", f"{r.predictive_entropy:.4f} nats per example",
             f"of which {r.mutual_information:.4f} disagreement between passes")]
    return Result(r.to_dict(), [
        (f"{r.data} test, dropout on at test time ({r.dropout_layers} dropout layer"
         f"{'s' if r.dropout_layers > 1 else ''}), {r.passes} pass{'es' if r.passes > 1 else ''}, {r.count:,} examples:"),
        Grid(("measure", "value", "beside it"), rows)])


def _baseline_eval(args) -> Result:
    """`convzoo eval BASELINE_DIR`: shown as for a checkpoint."""
    from ..baselines import evaluate_saved

    r = evaluate_saved(args.checkpoint, args.data, args.data_dir, force=args.force)
    return Result(r["json"], _classification_text(r["json"]["data"], r["evaluation"], r["classes"], r["count"]))
