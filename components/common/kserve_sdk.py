"""What serve and deploy share about the KServe server: its model name, port and grace period, and importing the
kserve package without letting it read our command line."""

from __future__ import annotations

import sys

MODEL_NAME = "trashseg"  # the name serve registers: /v2/models/trashseg/infer (deploy's readiness probe asks there)
PORT = 8080  # serve's default --port, the container port deploy declares
GRACE_PERIOD_S = 30  # serve's default --grace-period; deploy gives the pod 15 s more before SIGKILL


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
