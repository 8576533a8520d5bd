"""What differs between model families, held in one object per family.

Building, the forward pass, training and the GPU bench ask the family (its
class, where its backbone and classifiers sit, whether it predicts a set of
query masks) instead of comparing family names, so a new family is one entry
here and a preset naming it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce

import torch

from trashseg.data_contracts.errors import ParameterError


@dataclass(frozen=True)
class ModelFamily:
    name: str
    class_name: str  # the transformers class
    model_type: str  # config.model_type of a whole checkpoint of this family
    backbone_prefixes: tuple[str, ...]  # parameter names trained at the small (backbone) learning rate
    backbone_path: str  # attribute path of the backbone module
    classifier_paths: tuple[
        str, ...
    ]  # layers sized by the class count, replaced for a new class list (absent ones skipped)
    compile_path: (
        str | None
    )  # the module torch.compile compiles ("" = the whole model, None = none: the loss is inside)
    takes_backbone_start: bool  # can start from an ImageNet backbone under a fresh head
    set_prediction: (
        bool  # query-based: class-mask pair targets, scores mixed over queries, a Hungarian matcher in fp32,
    )
    #                       and parameters without gradients in some steps (DDP must look for them)
    channels_last: bool  # convolutional enough that channels-last memory pays on a GPU
    anneals_attention_masks: bool = False  # EoMT: masked attention in its last blocks, annealed away during training
    fixed_input_size: bool = (
        False  # position embeddings fixed to config.image_size: no other training size or TTA scale
    )

    def model_class(self):
        import transformers

        return getattr(transformers, self.class_name)

    @staticmethod
    def _at(model: torch.nn.Module, path: str):
        return reduce(lambda module, name: getattr(module, name, None), path.split("."), model) if path else model

    def backbone(self, model: torch.nn.Module) -> torch.nn.Module:
        return self._at(model, self.backbone_path)

    def classifiers(self, model: torch.nn.Module) -> list[torch.nn.Module]:
        return [m for m in (self._at(model, p) for p in self.classifier_paths) if m is not None]

    def compile_target(self, model: torch.nn.Module) -> torch.nn.Module | None:
        return None if self.compile_path is None else self._at(model, self.compile_path)


FAMILIES = {
    family.name: family
    for family in (
        ModelFamily(
            "upernet",
            "UperNetForSemanticSegmentation",
            "upernet",
            ("backbone.",),
            "backbone",
            ("decode_head.classifier", "auxiliary_head.classifier"),
            "",
            takes_backbone_start=True,
            set_prediction=False,
            channels_last=True,
        ),
        ModelFamily(
            "beit",
            "BeitForSemanticSegmentation",
            "beit",
            ("beit.",),
            "beit",
            ("decode_head.classifier", "auxiliary_head.classifier"),
            "",
            takes_backbone_start=False,
            set_prediction=False,
            channels_last=False,
        ),
        # Mask2Former compiles its network, not the loss: the matcher calls SciPy on the CPU, splitting the graph per
        # image.
        ModelFamily(
            "mask2former",
            "Mask2FormerForUniversalSegmentation",
            "mask2former",
            ("model.pixel_level_module.encoder.",),
            "model.pixel_level_module.encoder",
            ("class_predictor",),
            "model",
            takes_backbone_start=True,
            set_prediction=True,
            channels_last=False,
        ),
        # EoMT: a plain ViT whose last blocks also carry the queries; the mask and class heads sit on top. Its forward
        # computes
        # the loss (matcher on the CPU), so nothing is compiled.
        ModelFamily(
            "eomt",
            "EomtForUniversalSegmentation",
            "eomt",
            ("embeddings.", "layers.", "layernorm."),
            "",
            ("class_predictor",),
            None,
            takes_backbone_start=False,
            set_prediction=True,
            channels_last=False,
            anneals_attention_masks=True,
            fixed_input_size=True,
        ),
    )
}


def get_family(name: str) -> ModelFamily:
    if name not in FAMILIES:
        raise ParameterError("family", f"unknown model family {name!r} ({', '.join(FAMILIES)})")
    return FAMILIES[name]
