"""The container images components run in: one place, read by the components and by ``make images``.

Tags come from the project version, so the compiled YAML names exactly the
images ``make images`` builds. ``TRASHSEG_IMAGE_PREFIX`` (for example
``registry.example.com/ml/``) is prepended at compile time for clusters that
pull from a registry.
"""

from __future__ import annotations

import os

VERSION = "0.1.0"
PREFIX = os.environ.get("TRASHSEG_IMAGE_PREFIX", "")
CPU_IMAGE = f"{PREFIX}trashseg-cpu:{VERSION}"
GPU_IMAGE = f"{PREFIX}trashseg-gpu:{VERSION}"
