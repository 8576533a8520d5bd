"""serve: a model artifact or its ONNX export behind KServe's model server, Open Inference Protocol v2 over REST.

``POST /v2/models/trashseg/infer`` takes one input ``image`` (``BYTES``, shape ``[N]``, each item a base64 JPEG or
PNG; raw bytes through the binary-data extension work too) and answers one ``labels`` output per image, in the
input's order (``UINT8``, shape ``[H, W]`` at that photo's own size), with the class names (JSON text) and the model
in the response parameters. One output per image rather than one ``[N, H, W]`` tensor: photos rarely share a size,
and a client then reads every answer the same way.

A photo is decoded as ingest decodes it (its EXIF orientation applied) and predicted through the same code as
``trashseg infer`` (components.models.predict) with infer's defaults, so it gets the labels infer writes for it.
Bad requests get a 4xx with a one-line JSON ``{"error": ...}`` and the server stays ready: bytes that are not a
JPEG or PNG, an image over ``--max-pixels`` (checked from the header, before decoding), malformed JSON, no inputs,
a body over ``--max-request-mb`` (413). Predictions run one request at a time in a worker thread (the network already
uses every core), so health checks answer while a request is being predicted. SIGTERM stops accepting connections,
lets requests in flight finish (up to ``--grace-period`` s), frees the port and ends the process; nothing is forked.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import errno
import io
import json
import socket
import uuid
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from trashseg.components.common.kserve_sdk import MODEL_NAME, import_kserve
from trashseg.components.common.log import get_logger
from trashseg.components.common.machine import Machine
from trashseg.components.models.predict import Predictor, check_tta, load_predictor
from trashseg.components.serve.params import ServeParams
from trashseg.data_contracts.errors import ParameterError
from trashseg.data_contracts.exported import open_model_or_export
from trashseg.data_contracts.images import decode_image

log = get_logger("trashseg.serve")
INPUT_NAME = "image"
OUTPUT_NAME = "labels"
FORMATS = ("JPEG", "PNG")
EXIF_ORIENTATION_TAG = 0x0112  # the tag ingest reads (components/ingest/logic.py)
kserve = import_kserve()


class BadRequest(kserve.errors.InvalidInput):
    """A request the server refuses with a 4xx and one line; a subclass, so our handler wins over kserve's (which logs a
    traceback for every refusal)."""

    def __init__(self, reason: str, status: int = 400):
        super().__init__(reason)
        self.reason = reason
        self.status = status


class BadImage(ValueError):
    """Bytes that are not a JPEG or PNG this server will decode."""


def decode_photo(data: bytes, max_pixels: int) -> np.ndarray:
    """Encoded bytes -> (H, W, 3) uint8 RGB, upright: what ingest stores for the file (its default ``--exif transpose``)
    and every stage decodes. The size is checked from the header before any pixel is decoded."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=FORMATS) as handle:
                width, height = handle.size
                if width * height > max_pixels:
                    raise BadImage(
                        f"{width}x{height} = {width * height} pixels is over the limit of {max_pixels} (--max-pixels)"
                    )
                orientation = int(handle.getexif().get(EXIF_ORIENTATION_TAG, 1))
    except BadImage:
        raise
    except UnidentifiedImageError:
        raise BadImage("not a JPEG or PNG image") from None
    except Image.DecompressionBombError as err:  # Pillow's own limit, checked in open() for sizes far over --max-pixels
        raise BadImage(f"over the pixel limit ({err})") from None
    except (OSError, SyntaxError, ValueError, TypeError) as err:
        raise BadImage(f"not a readable JPEG or PNG image ({err})") from None
    try:
        return decode_image(data, orientation if orientation in range(1, 9) else 1)
    except (OSError, SyntaxError, ValueError, TypeError, Image.DecompressionBombError) as err:
        raise BadImage(f"the image cannot be decoded ({err})") from None


class SegmentationModel(kserve.Model):
    """The KServe model: one input ``image`` of encoded photos in, one ``labels`` map per photo out."""

    def __init__(self, predictor: Predictor, params: ServeParams):
        super().__init__(MODEL_NAME)
        self.predictor = predictor
        self.params = params
        artifact = predictor.artifact
        self.response_parameters = {
            "classes": json.dumps(list(artifact.classes.names)),
            "model_preset": artifact.preset,
            "model_family": artifact.family,
            "model_hash": artifact.content_hash,
            "model_contract": artifact.manifest.contract,
            "runtime": predictor.runtime,
            "tta": params.tta_text(),
        }
        self._executor: ThreadPoolExecutor | None = None

    def load(self) -> bool:
        """Start the prediction thread and predict once, so the first request does not pay the warm-up."""
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trashseg-predict")
        self.predictor.labels([np.zeros((64, 64, 3), np.uint8)], self.params)
        self.ready = True
        return self.ready

    def stop(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        self.ready = False

    async def predict(self, payload, headers=None, response_headers=None):
        encoded = self.encoded_images(payload)
        labels = await asyncio.get_running_loop().run_in_executor(self._executor, self.label_maps, encoded)
        outputs = [kserve.InferOutput(OUTPUT_NAME, list(label.shape), "UINT8", data=label) for label in labels]
        return kserve.InferResponse(
            response_id=payload.id or uuid.uuid4().hex,
            model_name=self.name,
            infer_outputs=outputs,
            parameters=dict(self.response_parameters),
            use_binary_outputs=payload.use_binary_outputs,
        )  # "binary_data_output": true in the request

    def get_input_types(self) -> list[dict]:
        return [{"name": INPUT_NAME, "datatype": "BYTES", "shape": [-1]}]

    def get_output_types(self) -> list[dict]:
        return [{"name": OUTPUT_NAME, "datatype": "UINT8", "shape": [-1, -1]}]

    def encoded_images(self, payload) -> list[bytes]:
        """The request's photos as bytes, or one line saying what is wrong with the request."""
        inputs = payload.inputs or []
        usage = f"send one input named '{INPUT_NAME}', datatype BYTES, shape [N], data: N base64 JPEG or PNG images"
        if len(inputs) != 1:
            raise BadRequest(f"the request has {len(inputs)} inputs: {usage}")
        given = inputs[0]
        if given.name != INPUT_NAME or given.datatype != "BYTES":
            raise BadRequest(f"input '{given.name}' ({given.datatype}): {usage}")
        items = list(given.data) if given.data is not None else list(given.as_numpy().ravel())
        if not 1 <= len(items) <= self.params.max_images:
            raise BadRequest(
                f"input '{INPUT_NAME}' holds {len(items)} images; "
                f"1 to {self.params.max_images} (--max-images) are allowed"
            )
        if list(given.shape) != [len(items)]:
            raise BadRequest(
                f"input '{INPUT_NAME}' has shape {list(given.shape)} but {len(items)} data items: the shape must be "
                f"[{len(items)}]"
            )
        encoded = []
        for k, item in enumerate(items):
            if isinstance(item, (bytes, bytearray)):  # the binary-data extension delivers raw bytes
                encoded.append(bytes(item))
                continue
            if not isinstance(item, str):
                raise BadRequest(f"input '{INPUT_NAME}' item {k}: expected base64 text, got {type(item).__name__}")
            try:
                encoded.append(base64.b64decode(item, validate=True))
            except (binascii.Error, ValueError) as err:
                raise BadRequest(f"input '{INPUT_NAME}' item {k}: not base64 ({err})") from None
        return encoded

    def label_maps(self, encoded: list[bytes]) -> list[np.ndarray]:
        """Decode every photo first (a bad one refuses the request before any prediction), then predict them all."""
        images = []
        for k, data in enumerate(encoded):
            try:
                images.append(decode_photo(data, self.params.max_pixels))
            except BadImage as err:
                raise BadRequest(f"input '{INPUT_NAME}' item {k}: {err}") from None
        return self.predictor.labels(images, self.params)


class _ModelServer(kserve.ModelServer):
    """kserve's ModelServer, listening on ``host``: kserve 0.21 always binds 0.0.0.0."""

    def __init__(self, host: str, **kwargs):
        super().__init__(**kwargs)
        self.host = host

    def setup_event_loop(self):
        # ModelServer.start() calls this after creating the REST server and before running it: its address is set here.
        if self._rest_server is not None:
            self._rest_server.config.host = self.host
        super().setup_event_loop()


class BodyLimit:
    """ASGI middleware: a body over ``limit`` bytes gets 413 before it is parsed (declared or streamed)."""

    def __init__(self, app, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            await _discard_body(receive, int(declared))
            return await _send_error(
                send,
                413,
                f"the request body has {int(declared)} bytes, over the limit of {self.limit} (--max-request-mb)",
            )
        received = 0

        async def counted():
            nonlocal received
            message = await receive()
            received += len(message.get("body", b"")) if message["type"] == "http.request" else 0
            if received > self.limit:
                raise _TooLarge()
            return message

        try:
            await self.app(scope, counted, send)
        except _TooLarge:
            await _send_error(send, 413, f"the request body is over the limit of {self.limit} bytes (--max-request-mb)")


class _TooLarge(Exception):
    pass


async def _discard_body(receive, declared: int, cap: int = 2**30) -> None:
    """Read and drop a refused body (up to 1 GiB), so the client, still sending, can read the 413 instead of a reset."""
    seen = 0
    while seen < min(declared, cap):
        message = await receive()
        if message["type"] != "http.request":
            return
        seen += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


async def _send_error(send, status: int, message: str) -> None:
    log.info("refused (%d): %s", status, message)
    body = json.dumps({"error": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _install_on(app, params: ServeParams) -> None:
    """One-line JSON errors for refused requests and malformed bodies, and the body limit, on kserve's FastAPI app."""
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse

    async def bad_request(_request, err: BadRequest):
        log.info("refused (%d): %s", err.status, err.reason)
        return JSONResponse({"error": err.reason}, status_code=err.status)

    async def invalid_body(_request, err: RequestValidationError):
        message = _validation_message(err.errors())
        log.info("refused (422): %s", message)
        return JSONResponse({"error": message}, status_code=422)

    app.add_exception_handler(BadRequest, bad_request)
    app.add_exception_handler(RequestValidationError, invalid_body)
    app.add_middleware(BodyLimit, limit=params.max_request_mb * 2**20)


def _validation_message(errors) -> str:
    """FastAPI's list of validation errors -> one line (the request body is parsed as an InferenceRequest)."""
    errors = list(errors) or [{"msg": "invalid request"}]
    for error in errors:
        if error.get("type") == "json_invalid":
            reason = (error.get("ctx") or {}).get("error", error.get("msg"))
            return f"the request body is not valid JSON: {reason} (at character {error.get('loc', ['', '?'])[-1]})"
    # the endpoint takes an InferenceRequest or raw bytes: report the InferenceRequest's complaints
    wanted = [e for e in errors if "bytes" not in e.get("loc", ())] or errors
    parts = []
    for error in wanted[:3]:
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "InferenceRequest"))
        parts.append(f"{where or 'body'}: {error.get('msg')}")
    return "the request is not an Open Inference Protocol v2 request: " + "; ".join(parts)


def check_listen(host: str, port: int) -> None:
    """The address resolves and the port is free, before the model is loaded."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except (socket.gaierror, UnicodeError) as err:
        raise ParameterError("--host", f"{host!r} is not an address this machine can listen on ({err})") from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(
            socket.SOL_SOCKET, socket.SO_REUSEADDR, 1
        )  # as uvicorn does: a restart is not refused for TIME_WAIT
        try:
            probe.bind(address)
        except OSError as err:
            if err.errno == errno.EADDRNOTAVAIL:
                raise ParameterError("--host", f"{host!r} is not an address of this machine ({err.strerror})") from None
            raise ParameterError("--port", f"{port} on {host} cannot be used ({err.strerror or err})") from None


def _quiet_logs(params: ServeParams) -> None:
    import logging

    logging.getLogger("kserve").setLevel(logging.WARNING)  # registration chatter; its errors still show
    logging.getLogger("kserve.trace").setLevel(logging.WARNING)  # a timing line per request
    logging.getLogger("uvicorn.access").setLevel(logging.INFO if params.log_requests else logging.WARNING)
    warnings.filterwarnings("ignore", message="ORJSONResponse is deprecated")  # kserve 0.21 with FastAPI 0.165


def run_serve(model_path: Path, params: ServeParams | None = None, machine: Machine | None = None) -> None:
    """Serve ``model_path`` (a model or an exported-model) until SIGTERM or SIGINT."""
    params, machine = params or ServeParams(), machine or Machine()
    params.check()
    machine.check()
    artifact = open_model_or_export(model_path)
    check_tta(artifact, params)
    check_listen(params.host, params.port)
    predictor = load_predictor(artifact, machine.device, machine.precision)
    model = SegmentationModel(predictor, params)
    model.load()
    server = _ModelServer(
        params.host,
        http_port=params.port,
        enable_grpc=False,
        workers=1,
        grace_period=params.grace_period,
        enable_latency_logging=False,
    )
    _quiet_logs(params)
    _install_on(kserve.model_server.app, params)
    log.info(
        "loaded %s (%s, %s on %s, TTA %s); listening on http://%s:%d/v2/models/%s/infer",
        model_path,
        artifact.preset,
        artifact.manifest.contract,
        predictor.runtime,
        params.tta_text(),
        params.host,
        params.port,
        MODEL_NAME,
    )
    server.start([model])
    log.info("stopped")
