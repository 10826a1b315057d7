"""`convzoo data list|get|show`: what datasets exist, fetching or generating them, and looking at them."""

from __future__ import annotations

import torch

from ..analysis.gallery import MAX_GRID
from ..data import DATASETS, find_files, load_dataset, obtain
from ..tables import Grid
from . import argtypes
from .output import Result


def register(sub) -> None:
    p = sub.add_parser("data", help="list, download and look at datasets", description=__doc__)
    data_sub = p.add_subparsers(dest="data_command", metavar="ACTION", parser_class=type(p))
    data_sub.required = True

    q = data_sub.add_parser("list", help="datasets, and where their files were found")
    q.add_argument("--json", action="store_true", help="print the list as JSON")
    q.set_defaults(func=run_list)

    q = data_sub.add_parser("get", help="make sure a dataset is available (download or generate it if "
                                        "needed) and check what can be checked")
    q.add_argument("name")
    q.add_argument("--data-dir", help="look only here (generated datasets are written to DIR/NAME)")
    q.add_argument("--json", action="store_true", help='print {"name", "folder"} as JSON')
    q.set_defaults(func=run_get)

    q = data_sub.add_parser("show", help="draw a labelled grid of examples to a PNG (masks as a colour overlay)")
    q.add_argument("name")
    q.add_argument("-o", "--output", default="grid.png", help="PNG to write (default grid.png)")
    q.add_argument("-n", type=argtypes.positive, default=36,
                   help=f"number of examples (default 36; at most {MAX_GRID}, and the split's size)")
    q.add_argument("--split", choices=("train", "test"), default="train")
    q.add_argument("--seed", type=argtypes.non_negative, default=0, help="which examples (random, seeded)")
    q.add_argument("--data-dir", help="where the files are")
    q.add_argument("--json", action="store_true", help='print {"wrote", "shown"} as JSON')
    q.set_defaults(func=run_show)


def run_list(args) -> Result:
    rows = []
    for name, spec in DATASETS.items():
        found = find_files(spec) if spec.files else None
        rows.append({"name": name, "shape": list(spec.shape), "classes": len(spec.classes), "task": spec.task,
                     "found": str(next(iter(found.values())).parent) if found else None,
                     "how_to_get": spec.how_to_get, "origin": spec.origin, "description": spec.description})
    cells = []
    for r in rows:  # each dataset's line, then its description (in the last column: it sets no width)
        absent = "not generated yet" if r["origin"] == "generated" else "not found"
        shape = "x".join(map(str, r["shape"])) if r["shape"][1] else "any"
        cells.append([r["name"], shape, r["classes"] or "-", r["task"], r["found"] or f"{absent}: {r['how_to_get']}"])
        cells.append(["", "", "", "", r["description"]])
    return Result(rows, [Grid(("name", "shape", "classes", "task", "where, then what it is"), cells, right={2})],
                  indent=2)


def run_get(args) -> Result:
    files = obtain(args.name, args.data_dir, progress=True)
    folder = next(iter(files.values())).parent if files else args.data_dir
    return Result({"name": args.name, "folder": str(folder)}, [f"{args.name}: {folder}"])


def run_show(args) -> Result:
    from ..analysis.gallery import image_grid
    from ..data.scenes import overlay

    bundle = load_dataset(args.name, args.data_dir)
    data = bundle.train if args.split == "train" else bundle.test
    n = argtypes.capped(args.n, MAX_GRID, "-n", "the most one grid shows")
    n = argtypes.capped(n, len(data), "-n", f"the {args.split} split's size")
    pick = torch.randperm(len(data), generator=torch.Generator().manual_seed(args.seed))[:n]
    images, labels = data.images[pick].numpy(), data.labels[pick]
    if data.task == "segmentation":  # titles: the classes present; the mask tints their pixels
        titles = [", ".join(data.classes[k] for k in mask.unique().tolist() if k) for mask in labels]
        images = overlay(images, labels.numpy())
    else:
        titles = [data.classes[int(label)] for label in labels]
    image_grid(images, titles, args.output, title=f"{args.name} ({args.split}, {len(pick)} of {len(data):,})",
               cell_inches=1.3 if data.task == "classification" else 1.8)
    return Result({"wrote": str(args.output), "shown": len(pick), "of": len(data), "split": args.split},
                  [f"wrote {args.output} ({len(pick)} of {len(data):,} {args.split} examples)"])
