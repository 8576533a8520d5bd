"""A local run prints one line per task and keeps kfp's whole log in a file."""

from __future__ import annotations

import io

from trashseg.pipelines.task_log import TaskLines, tasks_to_log


def test_real_kfp_local_run_is_one_line_per_task(tmp_path, capfd):
    from kfp import local

    from tests.kfp_tiny_pipeline import tiny_pipeline

    local.init(
        runner=local.SubprocessRunner(use_venv=False),
        pipeline_root=str(tmp_path / "root"),
        enable_caching=True,
        raise_on_error=True,
    )
    capfd.readouterr()
    with tasks_to_log(tmp_path / "first.log") as lines:
        assert tiny_pipeline(word="glass").output == "GLASS"
    with tasks_to_log(tmp_path / "second.log") as again:
        tiny_pipeline(word="glass")
    shown = capfd.readouterr().out.splitlines()
    assert [(task, outcome) for task, outcome, _ in lines.tasks] == [("shout", "ran"), ("shout-2", "ran")]
    assert all(seconds is not None and seconds >= 0 for _, _, seconds in lines.tasks)
    assert [(task, outcome) for task, outcome, _ in again.tasks] == [("shout", "cached"), ("shout-2", "cached")]
    assert len(shown) == 4 and shown[0].split()[:2] == ["shout", "ran"] and shown[2].split() == ["shout", "cached"]
    log = (tmp_path / "first.log").read_text()
    assert "noise line 49 of glass" in log and "noise line 49 of GLASS" in log and "Executing task" in log
    assert not any("noise line" in line for line in shown)


def test_failed_tasks_are_reported_as_such():
    out = io.StringIO()
    lines = TaskLines(out)
    lines.feed("10:00:01.500 - INFO - Executing task \x1b[96m'train-op'\x1b[0m")
    lines.feed("10:00:04.000 - ERROR - Task \x1b[96m'train-op'\x1b[0m finished with status \x1b[91mFAILURE\x1b[0m")
    assert lines.tasks == [("train-op", "failure", 2.5)]
    assert out.getvalue().split() == ["train-op", "failure", "2.5", "s"]
