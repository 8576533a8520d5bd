"""``trashseg``: one console script, one subcommand per stage."""

from __future__ import annotations

import argparse
import importlib
import sys

# Stage name -> module with add_parser(subparsers). Imports stay light: each
# stage's heavy libraries (torch, transformers) load only when it runs.
STAGE_CLIS = (
    "trashseg.components.sample_data.cli",
    "trashseg.components.ingest.cli",
    "trashseg.components.split.cli",
    "trashseg.components.train.cli",
    "trashseg.components.infer.cli",
    "trashseg.components.export.cli",
    "trashseg.components.serve.cli",
    "trashseg.components.evaluate.cli",
    "trashseg.components.submit.cli",
    "trashseg.components.augment.cli",
    "trashseg.components.pseudo_label.cli",
    "trashseg.components.ensemble.cli",
    "trashseg.components.view.cli",
    "trashseg.pipelines.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trashseg",
        description="Semantic segmentation of recycling trash: split, augment, train, infer, pseudo-label, ensemble, "
        "submit.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in STAGE_CLIS:
        importlib.import_module(module).add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
