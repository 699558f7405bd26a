"""``sparsity-lab figures RUN [--out DIR] [--formats png,pdf] [--jobs N]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sparsity_lab.errors import UserError
from sparsity_lab.figures.make import DEFAULT_FORMATS, FIGURES_DIR, make_figures
from sparsity_lab.results import check_writable_dir, io_error_line


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sparsity-lab figures",
        description=(
            "Regenerate every figure a run's tables support (reads fits/coefs/trajectories "
            "tables, never re-fits). Figures the tables cannot support are skipped with a reason."
        ),
    )
    parser.add_argument("run", metavar="RUN", help="run dir, e.g. results/quickstart/<run id>")
    parser.add_argument("--out", default=None, help="output folder (default: RUN/figures)")
    parser.add_argument(
        "--formats",
        default=",".join(DEFAULT_FORMATS),
        help="comma-separated file formats (default: %(default)s)",
    )
    add_jobs_argument(parser)
    return parser


def jobs_value(text: str) -> int:
    """argparse type of ``--jobs``: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}; allowed: an integer >= 1")
    return value


def add_jobs_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--jobs",
        type=jobs_value,
        default=None,
        metavar="N",
        help="processes drawing figures at once (default: the usable cores, at most 8)",
    )


def cli_main(argv: list[str]) -> int:
    """Returns 0 when the figures were written, 2 on bad input (a folder that cannot be written
    included), 1 when a write fails midway (one line on stderr)."""
    args = build_parser().parse_args(argv)
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    out = Path(args.out or Path(args.run) / FIGURES_DIR)
    try:
        if args.out is not None or Path(args.run).is_dir():  # before drawing anything
            check_writable_dir(out)
        written = make_figures(args.run, out=args.out, formats=formats, n_jobs=args.jobs)
    except UserError as exc:  # ResultsError included
        print(f"sparsity-lab figures: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a write failing midway (a full disk): the path and the cause
        print(f"sparsity-lab figures: error: {io_error_line(exc, out)}", file=sys.stderr)
        return 1
    print(f"{len(written)} files written")
    return 0
