"""The knobs of serve, in one plain dataclass (light imports: the CLI builds its options from it)."""

from __future__ import annotations

from dataclasses import dataclass, field

from trashseg.components.common import checks
from trashseg.components.common.kserve_sdk import GRACE_PERIOD_S, PORT
from trashseg.components.models.tta import TTA
from trashseg.data_contracts.errors import ParameterError
from trashseg.data_contracts.images import DEFAULT_MAX_PIXELS


@dataclass
class ServeParams(TTA):
    """How the server listens, predicts and refuses. ``tta_flip`` and ``tta_scales`` are infer's (the same class), and
    the device and precision come from the same ``Machine`` options, so a served photo gets the labels ``trashseg
    infer`` writes for it (tests/serve/test_serve.py checks that)."""

    host: str = field(
        default="127.0.0.1", metadata={"help": "address to listen on (0.0.0.0: every interface, as in a pod)"}
    )
    port: int = field(default=PORT, metadata={"help": "HTTP port, 1024..65535"})
    max_pixels: int = field(
        default=DEFAULT_MAX_PIXELS,
        metadata={"help": "refuse images larger than this (decompression bombs), as ingest does"},
    )
    max_request_mb: int = field(default=64, metadata={"help": "refuse request bodies larger than this many MiB (413)"})
    max_images: int = field(default=16, metadata={"help": "most images in one request"})
    grace_period: int = field(
        default=GRACE_PERIOD_S, metadata={"help": "seconds SIGTERM waits for requests in flight before stopping"}
    )
    log_requests: bool = field(
        default=False, metadata={"help": "log every request (the access log); errors are always logged"}
    )

    def check(self) -> None:
        """Refuse values outside their ranges before the model is loaded."""
        if not isinstance(self.host, str) or not self.host.strip() or any(c.isspace() for c in self.host):
            raise ParameterError("--host", f"{self.host!r} is not an address; expected e.g. 127.0.0.1 or 0.0.0.0")
        checks.number("--port", self.port, low=1024, high=65535, integer=True)
        self.check_tta()
        checks.number("--max-pixels", self.max_pixels, low=1, high=1_000_000_000, integer=True)
        checks.number("--max-request-mb", self.max_request_mb, low=1, high=4096, integer=True)
        checks.number("--max-images", self.max_images, low=1, high=256, integer=True)
        checks.number("--grace-period", self.grace_period, low=0, high=3600, integer=True)
