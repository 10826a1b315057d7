"""Execute the lectures' notebooks top to bottom and print each one's wall time.

    python scripts/run-notebooks.py                 # every notebook, full size (the times in their headers)
    python scripts/run-notebooks.py --quick 03 05   # the tests' quick mode (CONVZOO_NOTEBOOK_QUICK=1), two of them
    python scripts/run-notebooks.py --keep DIR      # also write the executed copies (with outputs) into DIR

The notebooks in the repository stay stripped (notebooks/README.md): the executed copies go to
--keep's folder only. Needs nbclient, nbformat and ipykernel (`pip install -e ".[test]"`).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebook name prefixes (default: all)")
    parser.add_argument("--quick", action="store_true", help="CONVZOO_NOTEBOOK_QUICK=1, as the tests run them")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="write the executed notebooks here")
    args = parser.parse_args()
    import nbclient
    import nbformat

    paths = [p for p in sorted((ROOT / "notebooks").glob("*.ipynb"))
             if not args.names or any(p.name.startswith(n) for n in args.names)]
    if not paths:
        print(f"run-notebooks: error: no notebook matches {' '.join(args.names)}", file=sys.stderr)
        return 2
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))
    os.environ["CONVZOO_NOTEBOOK_QUICK"] = "1" if args.quick else "0"
    failed = 0
    for path in paths:
        notebook = nbformat.read(path, as_version=4)
        start = time.perf_counter()
        try:
            nbclient.NotebookClient(notebook, timeout=1200, kernel_name="python3",
                                    resources={"metadata": {"path": str(path.parent)}}).execute()
            status = "ok"
        except nbclient.exceptions.CellExecutionError as exc:
            failed += 1
            status = "FAILED: " + str(exc).strip().splitlines()[-1]
        print(f"{path.name}: {time.perf_counter() - start:.0f} s {status}", flush=True)
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            nbformat.write(notebook, args.keep / path.name)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
