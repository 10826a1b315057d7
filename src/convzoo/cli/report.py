"""`convzoo report RUN`: one self-contained HTML page for a run, or for a study's output folder."""

from __future__ import annotations

from . import argtypes
from .output import Result
from .show import RUN_HELP


def register(sub) -> None:
    p = sub.add_parser("report", help="one self-contained HTML page for a run or a study's output folder",
                       description="Write one HTML page (images embedded, no server needed) with the run's "
                                   "config, metrics, curves, confusion matrix, mistakes and filters; for a study's "
                                   "output folder, the study's table, finding, figures and runs.")
    p.add_argument("run", help=RUN_HELP + ", or a study's output folder (convzoo study ... --out DIR)")
    p.add_argument("-o", "--output", help="output file (default: report.html in the run directory)")
    argtypes.add_code_flag(p)
    p.add_argument("--json", action="store_true", help='print {"wrote": PATH} as JSON')
    p.set_defaults(func=run_report)


def run_report(args) -> Result:
    from ..analysis.report import build_report

    path = build_report(args.run, args.output, code=args.code)
    return Result({"wrote": str(path)}, [f"wrote {path}"])
