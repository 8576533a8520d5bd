"""`trashseg serve` in a child process for the tests: start, wait until ready, talk to it, stop it cleanly."""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import requests

INFER_PATH = "/v2/models/trashseg/infer"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def infer_body(photos: list[bytes]) -> dict:
    return {
        "inputs": [
            {
                "name": "image",
                "shape": [len(photos)],
                "datatype": "BYTES",
                "data": [base64.b64encode(photo).decode() for photo in photos],
            }
        ]
    }


def labels_of(answer: dict) -> list[np.ndarray]:
    """Each ``labels`` output as an (H, W) uint8 array, in order."""
    assert all(o["name"] == "labels" and o["datatype"] == "UINT8" for o in answer["outputs"]), answer["outputs"][:1]
    return [np.asarray(o["data"], dtype=np.uint8).reshape(o["shape"]) for o in answer["outputs"]]


class Server:
    """A ``trashseg serve`` child on a free localhost port; ``with Server(...) as s`` waits until it is ready."""

    def __init__(self, model: Path, *args: str, log: Path):
        self.model = Path(model)
        self.args = list(args)
        self.port = free_port()
        self.log = Path(log)
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 180) -> Server:
        command = [
            sys.executable,
            "-m",
            "trashseg.components.cli",
            "serve",
            "--model",
            str(self.model),
            "--port",
            str(self.port),
            *self.args,
        ]
        env = {**os.environ, "TRASHSEG_PROGRESS": "0"}
        with open(self.log, "ab") as handle:
            self.process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, env=env)
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"serve exited with {self.process.returncode}:\n{self.log_text()[-3000:]}")
            try:
                if requests.get(self.url + "/v2/health/ready", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise AssertionError(f"serve was not ready within {timeout} s:\n{self.log_text()[-3000:]}")

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def infer(self, photos: list[bytes], session=None, **kwargs) -> requests.Response:
        return (session or requests).post(self.url + INFER_PATH, json=infer_body(photos), timeout=120, **kwargs)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        """Send ``sig`` and wait: the exit code."""
        self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
