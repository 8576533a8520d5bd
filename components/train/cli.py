"""``trashseg train``: datasets + split + fold -> model."""

from __future__ import annotations

import argparse
from pathlib import Path

from components.common.cli import add_overwrite, run_cli


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train", help="train a UperNet / BEiT / Mask2Former preset; the best epoch by validation mIoU is the output",
        description="Train on every fold but --fold of the first dataset (plus all of any further datasets: copy-paste "
                    "output, pseudo-labels), validate on --fold after each epoch, and write the best epoch as a model "
                    "artifact. Unset learning rates, batch size and image size come from the preset (--list-models).",
    )
    parser.add_argument("--list-models", action="store_true", help="list the model presets and exit")
    parser.add_argument("--dataset", type=Path, action="append", help="dataset artifact; repeat to add training-only datasets")
    parser.add_argument("--split", type=Path, help="split artifact of the first dataset")
    parser.add_argument("--fold", type=int, default=0, help="validation fold (default 0)")
    parser.add_argument("--model", default="upernet-convnext-tiny", help="preset name (default upernet-convnext-tiny)")
    parser.add_argument("--out", type=Path, help="model directory to create")
    parser.add_argument("--pretrained", help="Hugging Face Hub id (through the HF cache; HF_HUB_OFFLINE=1 for a pre-filled one) or a "
                                             "local save_pretrained folder: a whole segmentation model (its classifiers are replaced "
                                             "for these classes) or a backbone (under the preset's fresh head). Default: the preset's "
                                             "checkpoint (--list-models)")
    parser.add_argument("--from-scratch", action="store_true",
                        help="train a pretrained preset from random weights, at from-scratch learning rates")
    parser.add_argument("--epochs", type=int, default=10, help="epochs (default 10)")
    parser.add_argument("--batch-size", type=int, help="images per step (default: the preset's)")
    parser.add_argument("--lr-backbone", type=float, help="backbone learning rate (default: the preset's, see --list-models)")
    parser.add_argument("--lr-head", type=float, help="head learning rate (report: 4e-5; default: the preset's)")
    parser.add_argument("--warmup-steps", type=int, help="linear warmup steps (default: the preset's)")
    parser.add_argument("--loss", default="", help="model (its own cross-entropy), ce_dice (+ soft Dice, for rare classes) or "
                                                   "weighted_ce; Mask2Former keeps its own (default: the preset's)")
    parser.add_argument("--schedule", choices=["poly", "cosine", "constant"], default="poly", help="decay after warmup (default poly)")
    parser.add_argument("--weight-decay", type=float, default=0.01, help="AdamW weight decay (default 0.01)")
    parser.add_argument("--image-size", type=int, help="train and validate at this square size (default: the preset's)")
    parser.add_argument("--seed", type=int, default=42, help="seed for weights, order and flips (default 42)")
    parser.add_argument("--no-hflip", action="store_true", help="turn off random horizontal flips")
    parser.add_argument("--augment", default="", help="extra training augmentations, comma-separated: brightness_contrast, "
                                                      "hue_saturation, noise, random_resized_crop (default none, as the report)")
    parser.add_argument("--device", default="auto", help="auto (GPU if present), cpu, cuda, cuda:N")
    parser.add_argument("--precision", choices=["auto", "fp32", "bf16", "fp16"], default="auto",
                        help="autocast dtype; auto = bf16 on GPUs that support it, fp32 on CPU")
    parser.add_argument("--compile", choices=["auto", "on", "off"], default="auto",
                        help="torch.compile the model; auto = on CUDA devices, off on CPU (default auto)")
    parser.add_argument("--workers", type=int, default=-1,
                        help="data-loader worker processes (-1 = 0 on CPU, up to 8 on a GPU; default -1)")
    parser.add_argument("--max-steps-per-epoch", type=int, default=0, help="cap steps per epoch (0 = all)")
    parser.add_argument("--checkpoint-dir", type=Path, help="where per-epoch checkpoints go (default OUT.checkpoints)")
    parser.add_argument("--resume", action="store_true", help="continue from the last checkpoint if there is one")
    parser.add_argument("--keep-checkpoints", action="store_true", help="keep the checkpoints after a successful run")
    add_overwrite(parser)
    parser.set_defaults(func=lambda args: run_cli(_run, args), parser=parser)


def _run(args: argparse.Namespace) -> None:
    from components.models.presets import describe_presets

    if args.list_models:
        print(describe_presets())
        return
    if not (args.dataset and args.split and args.out):
        args.parser.error("--dataset, --split and --out are required")
    from components.train.logic import run_train

    run_train(args.dataset, args.split, args.out, params_from_args(args), args.pretrained, args.checkpoint_dir, args.resume,
              args.keep_checkpoints, overwrite=args.overwrite)


def params_from_args(args: argparse.Namespace):
    """The TrainParams a command line asks for (also used to check that launch.train_arguments round-trips)."""
    from components.train.logic import TrainParams
    from components.train.photometric import parse_augmentations

    return TrainParams(
        model=args.model, fold=args.fold, epochs=args.epochs, batch_size=args.batch_size, lr_backbone=args.lr_backbone,
        lr_head=args.lr_head, warmup_steps=args.warmup_steps, loss=args.loss, schedule=args.schedule, weight_decay=args.weight_decay,
        image_size=args.image_size, seed=args.seed, hflip=not args.no_hflip, device=args.device, precision=args.precision,
        max_steps_per_epoch=args.max_steps_per_epoch, augment=parse_augmentations(args.augment),
        compile=args.compile, workers=args.workers, from_scratch=args.from_scratch,
    )
