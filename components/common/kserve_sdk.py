"""Importing the kserve package without letting it read our command line (serve and deploy both use it)."""

from __future__ import annotations

import sys


def import_kserve():
    """``kserve`` imports ``kserve.model_server``, which parses ``sys.argv`` for its own flags at import time (so
    ``trashseg serve --model M`` would set its ``--model_name``, and a value it cannot parse would exit the process):
    it gets an empty command line instead."""
    argv = sys.argv
    sys.argv = argv[:1]
    try:
        import kserve
    finally:
        sys.argv = argv
    return kserve
