"""`convzoo data list|get|show`: what datasets exist, fetching them, and looking at them."""

from __future__ import annotations

import torch

from ..data import DATASETS, find_files, load_dataset, obtain


def register(sub) -> None:
    p = sub.add_parser("data", help="list, download and look at datasets", description=__doc__)
    data_sub = p.add_subparsers(dest="data_command", metavar="ACTION", parser_class=type(p))
    data_sub.required = True

    q = data_sub.add_parser("list", help="datasets, and where their files were found")
    q.set_defaults(func=run_list)

    q = data_sub.add_parser("get", help="make sure a dataset is available (download or generate it if "
                                        "needed) and check what can be checked")
    q.add_argument("name")
    q.add_argument("--data-dir", help="look only here")
    q.set_defaults(func=run_get)

    q = data_sub.add_parser("show", help="draw a labelled grid of examples to a PNG")
    q.add_argument("name")
    q.add_argument("-o", "--output", default="grid.png", help="PNG to write (default grid.png)")
    q.add_argument("-n", type=int, default=36, help="number of examples (default 36)")
    q.add_argument("--split", choices=("train", "test"), default="train")
    q.add_argument("--seed", type=int, default=0, help="which examples (random, seeded)")
    q.add_argument("--data-dir", help="where the files are")
    q.set_defaults(func=run_show)


def run_list(args) -> int:
    print(f"{'name':14}  {'shape':8}  {'classes':>7}  where")
    for name, spec in DATASETS.items():
        found = find_files(spec) if spec.files else None
        where = str(next(iter(found.values())).parent) if found else f"not found: {spec.how_to_get}"
        shape = "x".join(map(str, spec.shape)) if spec.shape[1] else "any"
        print(f"{name:14}  {shape:8}  {len(spec.classes) or '-':>7}  {where}")
        print(f"{'':14}  {spec.description}")
    return 0


def run_get(args) -> int:
    files = obtain(args.name, args.data_dir, progress=True)
    folder = next(iter(files.values())).parent if files else args.data_dir
    print(f"{args.name}: {folder}")
    return 0


def run_show(args) -> int:
    from ..analysis.gallery import image_grid
    from ..errors import ConvzooError

    if args.n < 1:
        raise ConvzooError("-n must be at least 1")
    bundle = load_dataset(args.name, args.data_dir)
    data = bundle.train if args.split == "train" else bundle.test
    pick = torch.randperm(len(data), generator=torch.Generator().manual_seed(args.seed))[:args.n]
    titles = [data.classes[int(label)] for label in data.labels[pick]]
    image_grid(data.images[pick].numpy(), titles, args.output,
               title=f"{args.name} ({args.split}, {len(pick)} of {len(data):,})")
    print(f"wrote {args.output}")
    return 0
