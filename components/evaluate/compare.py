"""compare: the report's evidence, deltas between prediction sets (pseudo-label gain, ensemble gain), each with a
bootstrap confidence interval over images.

Why a bootstrap: the validation fold is a sample of images, and +0.02 mIoU on a
few dozen of them may be noise. Every resample draws the same images for every
member (a paired bootstrap, so what the members share cancels out), and each
member's mIoU is recomputed from the resample's summed confusion matrix, exactly
as evaluate computes it on the whole fold.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from trashseg.components.common.log import get_logger, progress
from trashseg.components.common.metrics import iou_per_class, mean_iou
from trashseg.components.common.scoring import per_image_confusions, select_images
from trashseg.components.evaluate.params import CompareParams
from trashseg.data_contracts.artifact import atomic_file, check_not_an_input
from trashseg.data_contracts.dataset import Dataset
from trashseg.data_contracts.errors import ContractError, ParameterError
from trashseg.data_contracts.predictions import Predictions
from trashseg.data_contracts.split import Split

log = get_logger("trashseg.compare")
BEST = "best"  # in a delta, the best of the other members by mIoU (the ensemble's gain over its best member)


@dataclass(frozen=True)
class DeltaSpec:
    """``name = better - worse``: the mIoU of ``better`` minus that of ``worse`` (or of the best other member); with
    ``class_name`` (``name = better - worse @ Class``), that class's IoU instead (copy-paste's gain on a pasted
    class)."""

    name: str
    better: str
    worse: str
    class_name: str | None = None

    @classmethod
    def parse(cls, text: str) -> DeltaSpec:
        text, at, class_name = text.partition("@")
        name, sep, expression = text.partition("=")
        better, minus, worse = expression.partition("-")
        if (
            not sep
            or not minus
            or not name.strip()
            or not better.strip()
            or not worse.strip()
            or (at and not class_name.strip())
        ):
            raise ParameterError(
                "--delta",
                f"{text + at + class_name!r} is not NAME=A-B or NAME=A-B@CLASS (B may be '{BEST}': "
                "the best other member)",
            )
        return cls(name.strip(), better.strip(), worse.strip(), class_name.strip() or None)


def batched_miou(totals: np.ndarray) -> np.ndarray:
    """mIoU of each of a stack of confusion matrices (B, C, C), with ``mean_iou``'s rule for absent classes."""
    iou = iou_per_class(totals)
    present = np.isfinite(iou).any(1)
    out = np.full(len(totals), np.nan)
    out[present] = np.nanmean(iou[present], axis=1)
    return out


def resample_weights(images: int, resamples: int, seed: int) -> np.ndarray:
    """How often each image is drawn in each resample (resamples, images): the same draws for every member."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(images, np.full(images, 1.0 / images), size=resamples)


def compare(
    confusions: dict[str, np.ndarray],
    deltas: list[DeltaSpec],
    resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    class_names: list[str] | None = None,
) -> dict[str, Any]:
    """Point mIoU of every member, and each delta with its percentile interval over ``resamples`` paired resamples.

    A class delta compares that class's IoU; resamples where the class is in neither truth nor prediction are left out.
    """
    images = len(next(iter(confusions.values())))
    weights = resample_weights(images, resamples, seed)
    point = {name: mean_iou(stack.sum(0)) for name, stack in confusions.items()}
    summed = {name: np.tensordot(weights, stack, axes=(1, 0)) for name, stack in confusions.items()}
    drawn = {name: batched_miou(totals) for name, totals in summed.items()}
    tail = (1 - confidence) / 2 * 100
    results = {}
    for spec in deltas:
        worse = spec.worse
        if worse == BEST:
            others = {k: v for k, v in point.items() if k != spec.better}
            worse = max(others, key=lambda k: others[k])
        if spec.class_name is None:
            value, spread = point[spec.better] - point[worse], drawn[spec.better] - drawn[worse]
        else:
            c = list(class_names or []).index(spec.class_name)
            value = float(iou_per_class(confusions[spec.better].sum(0))[c] - iou_per_class(confusions[worse].sum(0))[c])
            spread = iou_per_class(summed[spec.better])[:, c] - iou_per_class(summed[worse])[:, c]
        low, high = np.nanpercentile(spread, [tail, 100 - tail]) if np.isfinite(spread).any() else (np.nan, np.nan)
        results[spec.name] = {
            "better": spec.better,
            "worse": worse,
            "value": value,
            "ci_low": float(low),
            "ci_high": float(high),
            "p_not_better": float(np.mean(spread[np.isfinite(spread)] <= 0)) if np.isfinite(spread).any() else np.nan,
            **({"class": spec.class_name} if spec.class_name else {}),
        }
    return {
        "members": point,
        "deltas": results,
        "images": images,
        "resamples": resamples,
        "confidence": confidence,
        "seed": seed,
    }


def run_compare(
    members: dict[str, Path],
    dataset_dir: Path,
    out: Path,
    deltas: list[DeltaSpec],
    split_dir: Path | None = None,
    params: CompareParams | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Score every member on the same images, write the comparison JSON at ``out`` and return it."""
    params = params or CompareParams()
    params.check(split_given=split_dir is not None)
    fold, resamples, seed, confidence = params.fold, params.resamples, params.seed, params.confidence
    if len(members) < 2:
        raise ParameterError("--member", "compare needs at least two prediction sets")
    for spec in deltas:
        for side in (spec.better, spec.worse):
            if side != BEST and side not in members:
                raise ParameterError("--delta", f"{spec.name}: {side!r} is not a member ({', '.join(members)})")
    inputs = [*map(Path, members.values()), Path(dataset_dir), *([Path(split_dir)] if split_dir else [])]
    check_not_an_input(Path(out), inputs)
    if (Path(out).exists() or Path(out).is_symlink()) and not overwrite:  # before any scoring, not after
        raise ContractError(out, "already exists; pass --overwrite to replace it")
    dataset = Dataset(dataset_dir)
    if not dataset.labeled:
        raise ContractError(dataset_dir, "has no ground truth (unlabeled dataset)")
    for spec in deltas:
        if spec.class_name is not None and spec.class_name not in dataset.classes.names:
            raise ParameterError(
                "--delta", f"{spec.name}: unknown class {spec.class_name!r} ({', '.join(dataset.classes.names)})"
            )
    split = Split(split_dir) if split_dir else None
    opened = {name: Predictions(path) for name, path in members.items()}
    chosen = None
    for name, predictions in opened.items():
        if predictions.classes.names != dataset.classes.names:
            raise ContractError(members[name], "class list differs from the dataset's", field="classes")
        ids, _ = select_images(predictions, dataset, split, fold, False)  # every member must cover every scored image
        chosen = chosen or ids
    confusions = {
        name: per_image_confusions(predictions, dataset, chosen)
        for name, predictions in progress(opened.items(), "compare")
    }
    summary = {
        **compare(confusions, deltas, resamples, seed, confidence, list(dataset.classes.names)),
        "fold": fold,
        "inputs": {name: predictions.content_hash for name, predictions in opened.items()},
    }
    with atomic_file(Path(out), overwrite, inputs, looks_like=b'{\n "confidence"') as tmp:
        tmp.write_text(json.dumps(summary, indent=1, sort_keys=True))
    for name, delta in summary["deltas"].items():
        log.info(
            "%s (%s - %s): %+.4f %s, %d%% interval [%+.4f, %+.4f] over %d images",
            name,
            delta["better"],
            delta["worse"],
            delta["value"],
            f"IoU of {delta['class']}" if "class" in delta else "mIoU",
            round(confidence * 100),
            delta["ci_low"],
            delta["ci_high"],
            summary["images"],
        )
    return summary


def flat_metrics(summary: dict[str, Any]) -> dict[str, float]:
    """Scalars for the Kubeflow UI: each member's mIoU, each delta and its interval."""
    values = {f"miou_{name}": value for name, value in summary["members"].items()}
    for name, delta in summary["deltas"].items():
        values.update({name: delta["value"], f"{name}_ci_low": delta["ci_low"], f"{name}_ci_high": delta["ci_high"]})
    return {k: float(v) for k, v in values.items() if v == v}  # NaN (no class present) is left out


def comparison_html(summary: dict[str, Any]) -> str:
    """A self-contained table of members and deltas (no scripts, no external links)."""
    from html import escape

    members = "".join(
        f"<tr><td>{escape(name)}</td><td>{value:.4f}</td></tr>" for name, value in summary["members"].items()
    )
    level = round(summary["confidence"] * 100)
    deltas = "".join(
        f"<tr><td>{escape(name)}</td><td>{escape(d['better'])} &minus; "
        f"{escape(d['worse'])}</td><td>{d['value']:+.4f}</td>"
        f"<td>[{d['ci_low']:+.4f}, {d['ci_high']:+.4f}]</td><td>{d['p_not_better']:.3f}</td></tr>"
        for name, d in summary["deltas"].items()
    )
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>comparison</title></head><body>"
        f"<h2>mIoU on {summary['images']} images</h2><table "
        f"border='1'><tr><th>member</th><th>mIoU</th></tr>{members}</table>"
        f"<h2>Deltas ({level}% paired bootstrap interval, {summary['resamples']} resamples)</h2><table border='1'>"
        f"<tr><th>delta</th><th>of</th><th>value</th><th>interval</th><th>share of resamples &le; "
        f"0</th></tr>{deltas}</table>"
        "<p>An interval that contains 0 means the fold cannot tell the difference from noise.</p></body></html>"
    )
