"""A local run a person can read: one line per task on the terminal, kfp's full log in a file.

Why: kfp.local prints each task's executor input and output JSON and every log
line of every task (about 1,700 lines for the main pipeline), so the four lines
a user wants drown. Everything the run writes to stdout and stderr (this
process and the task subprocesses, which inherit the file descriptors) goes to
the log file; a watcher thread reads kfp's own "Executing task", "finished with
status" and "cache hit" lines from it and prints one line per task.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import threading
from datetime import datetime
from pathlib import Path
from typing import Iterator, TextIO

ANSI = re.compile(r"\x1b\[[0-9;]*m")
STAMP = r"(?P<time>\d\d:\d\d:\d\d\.\d+) - \w+ - "
STARTED = re.compile(STAMP + r"Executing task '?(?P<task>[^'\s]+)'?")
FINISHED = re.compile(STAMP + r"Task '?(?P<task>[^'\s]+)'? finished with status (?P<status>\w+)")
CACHED = re.compile(r"Task '?(?P<task>[^'\s]+)'? cache hit")


def _seconds(stamp: str) -> float:
    moment = datetime.strptime(stamp[:15], "%H:%M:%S.%f")
    return moment.hour * 3600 + moment.minute * 60 + moment.second + moment.microsecond / 1e6


class TaskLines:
    """Turns kfp.local log lines into one line per task: name, ran / cached / failed, seconds."""

    def __init__(self, terminal: TextIO):
        self.terminal = terminal
        self.started: dict[str, float] = {}
        self.tasks: list[tuple[str, str, float | None]] = []

    def feed(self, line: str) -> None:
        line = ANSI.sub("", line)
        if match := STARTED.search(line):
            self.started[match["task"]] = _seconds(match["time"])
        elif match := FINISHED.search(line):
            began = self.started.pop(match["task"], None)
            seconds = (_seconds(match["time"]) - began) % 86400 if began is not None else None
            self._say(match["task"], "ran" if match["status"] == "SUCCESS" else match["status"].lower(), seconds)
        elif match := CACHED.search(line):
            self._say(match["task"], "cached", None)

    def _say(self, task: str, outcome: str, seconds: float | None) -> None:
        self.tasks.append((task, outcome, seconds))
        timing = f"{seconds:6.1f} s" if seconds is not None else ""
        self.terminal.write(f"  {task:32s} {outcome:8s} {timing}\n")  # the longest: infer-validation-and-test-op-N
        self.terminal.flush()


def _follow(path: Path, lines: TaskLines, stop: threading.Event) -> None:
    with open(path, errors="replace") as handle:
        pending = ""
        while True:
            chunk = handle.read()
            if chunk:
                pending += chunk
                *complete, pending = pending.split("\n")
                for line in complete:
                    lines.feed(line)
            elif stop.is_set():
                return
            else:
                stop.wait(0.2)


@contextlib.contextmanager
def tasks_to_log(log_path: Path) -> Iterator[TaskLines]:
    """Send this process's stdout/stderr (and its children's) to ``log_path``; one line per task to the terminal."""
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    terminal = os.fdopen(os.dup(1), "w", buffering=1)
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    saved_streams = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = open(os.dup(log_fd), "w", buffering=1, errors="replace")  # Python-level writes too
    root = logging.getLogger()
    saved_logging = root.level, root.handlers[:]
    handler = logging.StreamHandler(
        sys.stdout
    )  # kfp says "cache hit" at INFO on the root logger, outside its task context
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    lines, stop = TaskLines(terminal), threading.Event()
    watcher = threading.Thread(target=_follow, args=(log_path, lines, stop), daemon=True)
    watcher.start()
    try:
        yield lines
    finally:
        root.setLevel(saved_logging[0])
        root.handlers[:] = saved_logging[1]
        sys.stdout.flush()
        sys.stdout.close()
        sys.stdout, sys.stderr = saved_streams
        os.dup2(saved_out, 1)
        os.dup2(saved_err, 2)
        for fd in (saved_out, saved_err, log_fd):
            os.close(fd)
        stop.set()
        watcher.join()
        terminal.close()
