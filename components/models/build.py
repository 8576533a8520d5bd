"""Build a model from a preset, optionally from a user's whole pretrained checkpoint."""

from __future__ import annotations

from pathlib import Path

import torch

from components.common.log import get_logger
from components.models.presets import Preset
from data_contracts.classes import ClassTable
from data_contracts.errors import ContractError

log = get_logger("trashseg.models")

# The checkpoint's config.model_type each family loads from.
FAMILY_MODEL_TYPE = {"upernet": "upernet", "beit": "beit", "mask2former": "mask2former"}


def model_class(family: str):
    from transformers import BeitForSemanticSegmentation, Mask2FormerForUniversalSegmentation, UperNetForSemanticSegmentation

    return {"upernet": UperNetForSemanticSegmentation, "beit": BeitForSemanticSegmentation,
            "mask2former": Mask2FormerForUniversalSegmentation}[family]


def backbone_prefixes(family: str) -> tuple[str, ...]:
    """Parameter-name prefixes of the backbone (small learning rate); everything else is head."""
    return {"upernet": ("backbone.",), "beit": ("beit.",), "mask2former": ("model.pixel_level_module.encoder.",)}[family]


def classifier_modules(model: torch.nn.Module, family: str) -> list[torch.nn.Module]:
    """The layers whose size depends on the number of classes: replaced for a new class list."""
    if family == "mask2former":
        return [model.class_predictor]
    modules = [model.decode_head.classifier]
    if getattr(model, "auxiliary_head", None) is not None:
        modules.append(model.auxiliary_head.classifier)
    return modules


def label_maps(classes: ClassTable) -> tuple[dict[int, str], dict[str, int]]:
    id2label = {i: n for i, n in enumerate(classes.names)}
    return id2label, {n: i for i, n in id2label.items()}


def build_model(preset: Preset, classes: ClassTable, pretrained: Path | None = None, seed: int = 0) -> torch.nn.Module:
    """A fresh model for ``classes``; with ``pretrained``, keep all its weights but the classifiers.

    ``pretrained`` is a ``save_pretrained`` directory (for example an ADE20K
    checkpoint the user downloaded): its architecture wins over the preset's,
    since whole-model weights only fit their own architecture.
    """
    torch.manual_seed(seed)
    id2label, label2id = label_maps(classes)
    cls = model_class(preset.family)
    if pretrained is None:
        config = preset.make_config(classes.num_classes)
        config.id2label, config.label2id = id2label, label2id
        return cls(config)
    pretrained = Path(pretrained)
    if not (pretrained / "config.json").is_file():
        raise ContractError(pretrained, "no pretrained checkpoint here (expected config.json and weights written by save_pretrained; "
                                        "nothing is downloaded at run time)", field="pretrained")
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(pretrained, local_files_only=True)
    if config.model_type != FAMILY_MODEL_TYPE[preset.family]:
        raise ContractError(pretrained / "config.json", f"is a '{config.model_type}' checkpoint but preset {preset.name} needs "
                                                        f"'{FAMILY_MODEL_TYPE[preset.family]}'", field="model_type")
    same_classes = getattr(config, "id2label", None) and {int(k): v for k, v in config.id2label.items()} == id2label
    model = cls.from_pretrained(pretrained, local_files_only=True, id2label=id2label,
                                label2id=label2id, ignore_mismatched_sizes=True)
    if not same_classes:
        for module in classifier_modules(model, preset.family):
            module.reset_parameters()
        log.info("loaded %s; classification layers re-initialised for %d classes", pretrained, classes.num_classes)
    return model
