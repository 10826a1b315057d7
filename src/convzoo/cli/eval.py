"""`convzoo eval CKPT`: a checkpoint (or a baseline's directory) on a test set: accuracy, loss,
per-class accuracy and the confusion matrix (segmentation: pixel accuracy and IoU per class);
with `--mc-dropout N`, test-time dropout averaged over N passes, with its spread."""

from __future__ import annotations

import json

from ..train.mcdropout import MAX_PASSES
from . import argtypes


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


def run_eval(args) -> int:
    from ..baselines import is_baseline_dir

    if is_baseline_dir(args.checkpoint):
        if args.mc_dropout:
            from ..errors import ConvzooError
            raise ConvzooError("--mc-dropout needs a network checkpoint; a baseline has no dropout")
        return _print_baseline_eval(args)
    if args.mc_dropout:
        return _print_mc_dropout(args)
    from ..train.metrics import evaluate_checkpoint

    checked = evaluate_checkpoint(args.checkpoint, args.data, args.data_dir, force=args.force, code=args.code)
    test, result, name = checked.test, checked.evaluation, checked.data
    task = result.task
    if args.json:
        print(json.dumps({"data": name, "precision": checked.precision, **result.to_dict(list(test.classes))}))
        return 0
    width = max(len(c) for c in test.classes)
    if task == "segmentation":
        print(f"{name} test: pixel accuracy {result.accuracy:.4f}, mean IoU {result.mean_iou:.4f}, "
              f"loss {result.loss:.4f} ({len(test):,} images)")
        print(f"  {'class':{width}}  IoU     pixel accuracy")
        for cls, iou, acc in zip(test.classes, result.per_class_iou, result.per_class_accuracy):
            print(f"  {cls:{width}}  {'   -  ' if iou is None else f'{iou:.4f}'}  {acc:.4f}")
        return 0
    print(f"{name} test: accuracy {result.accuracy:.4f}, loss {result.loss:.4f} ({len(test):,} examples)")
    for cls, acc in zip(test.classes, result.per_class_accuracy):
        print(f"  {cls:{width}}  {acc:.4f}")
    print("confusion matrix (rows: true, columns: predicted):")
    for row in result.confusion.tolist():
        print("  " + " ".join(f"{v:5d}" for v in row))
    return 0


def _print_mc_dropout(args) -> int:
    from ..train.mcdropout import mc_dropout_checkpoint

    r = mc_dropout_checkpoint(args.checkpoint, args.mc_dropout, args.data, args.data_dir, force=args.force,
                              code=args.code)
    if args.json:
        print(json.dumps(r.to_dict()))
        return 0
    print(f"{r.data} test, dropout on at test time ({r.dropout_layers} dropout layer"
          f"{'s' if r.dropout_layers > 1 else ''}), {r.passes} pass{'es' if r.passes > 1 else ''}, {r.count:,} examples:")
    print(f"  accuracy of the averaged prediction  {r.accuracy:.4f}   (dropout off: {r.deterministic_accuracy:.4f})")
    print(f"  one pass's accuracy                  {r.pass_accuracy_mean:.4f} ± {r.pass_accuracy_sd:.4f} (sd over passes)")
    print(f"  predictive entropy                   {r.predictive_entropy:.4f} nats per example, of which "
          f"{r.mutual_information:.4f} disagreement between passes")
    return 0


def _print_baseline_eval(args) -> int:
    """`convzoo eval BASELINE_DIR`: printed as for a checkpoint."""
    from ..baselines import evaluate_saved

    r = evaluate_saved(args.checkpoint, args.data, args.data_dir, force=args.force)
    if args.json:
        print(json.dumps(r["json"]))
        return 0
    e, classes = r["evaluation"], r["classes"]
    loss = "-" if e.loss is None else f"{e.loss:.4f}"
    print(f"{r['json']['data']} test: accuracy {e.accuracy:.4f}, loss {loss} ({r['count']:,} examples)")
    width = max(len(c) for c in classes)
    for cls, acc in zip(classes, e.per_class_accuracy):
        print(f"  {cls:{width}}  {acc:.4f}")
    print("confusion matrix (rows: true, columns: predicted):")
    for row in e.confusion.tolist():
        print("  " + " ".join(f"{v:5d}" for v in row))
    return 0
