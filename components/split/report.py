"""The split's HTML report: each fold's class shares beside the whole set's."""

from __future__ import annotations

from pathlib import Path

from trashseg.components.common.html import page, table
from trashseg.data_contracts.split import WHOLE_SET, Split


def split_report(split_dir: Path) -> str:
    split = Split(split_dir)
    stats = split.stats
    body = []
    for measure in ("annotation_share", "pixel_share"):
        wide = stats.pivot(index="class_name", columns="fold", values=measure)
        wide = wide.reindex(stats.drop_duplicates("class_id").sort_values("class_id")["class_name"]) * 100
        wide.columns = ["all" if c == WHOLE_SET else f"fold {c}" for c in wide.columns]
        wide = wide[["all"] + [c for c in wide.columns if c != "all"]].reset_index()
        body.append(f"<h2>{measure.replace('_', ' ')} (%)</h2>{table(wide, '{:.1f}')}")
    counts = split.folds.groupby("fold").size().reset_index(name="images")
    body.append(f"<h2>images per fold</h2>{table(counts)}")
    return page(f"Split: {split.num_folds} folds, seed {split.seed}", "".join(body))
