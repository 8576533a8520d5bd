"""Errors of a stage's own making (not bad input): the CLI reports them in one line with exit code 3."""


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite: stop instead of saving garbage."""


class ExportDisagrees(RuntimeError):
    """An ONNX export whose labels differ from its torch model's on too many pixels: refused, nothing is written."""
