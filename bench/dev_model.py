"""An untrained YOLO26n of the shipped architecture, exported like the training job does.

Used for development, tests and the benchmark until (or where) the shipped model in
`models/demo/` is absent. Weights are random, so confidences are tiny; the serving path, the
metadata contract and the shapes are what it exercises. The input is deliberately not square
(640 high, 480 wide) so a height/width mix-up in the letterbox shows.

    python -m bench.dev_model build/dev-model            # raw head + best.pt
    python -m bench.dev_model build/dev-model --end2end  # [1, 300, 6] head
"""

from __future__ import annotations

import argparse
from pathlib import Path

DEV_IMGSZ: tuple[int, int] = (640, 480)  # (height, width), the training contract's order
DEV_MODEL_NAME = "invoice-fields-dev-untrained"
DEV_MODEL_VERSION = "dev-untrained-0"


def _spread_outputs(model: object, torch: object) -> None:
    """Re-initialise so an untrained model gives varied, non-tied scores.

    With Ultralytics' default init the activations vanish with depth and every anchor gets the
    same score (~0.001), which leaves thresholds, NMS and parity nothing to bite on.
    """
    nn = torch.nn
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
            if module.bias is not None:
                nn.init.zeros_(module.bias)
    head = model.model[-1]
    for branch in [*head.cv3, *(head.one2one_cv3 or [])]:
        nn.init.normal_(branch[-1].weight, std=10.0)
        nn.init.constant_(branch[-1].bias, -3.0)
    # Box distances (left, top, right, bottom in strides) positive, so boxes have an area:
    # random ones give inverted boxes, and NMS on those differs between implementations.
    for branch in [*head.cv2, *(head.one2one_cv2 or [])]:
        nn.init.normal_(branch[-1].weight, std=0.05)
        nn.init.constant_(branch[-1].bias, 1.5)


def export_dev_model(
    out_dir: str | Path, *, end2end: bool = False, imgsz: tuple[int, int] = DEV_IMGSZ, seed: int = 0
) -> Path:
    """Write `best.pt` and `model.onnx` (or `model-e2e.onnx`) into `out_dir`; return the ONNX path."""
    from yolo_train import offline  # noqa: PLC0415 - ultralytics is imported only after configure()

    offline.configure()
    import torch  # noqa: PLC0415
    from ultralytics import YOLO  # noqa: PLC0415
    from ultralytics.nn.tasks import DetectionModel  # noqa: PLC0415

    from devkit.synth.fields import CLASS_NAMES  # noqa: PLC0415
    from yolo_train.export import add_metadata  # noqa: PLC0415 - the training job's metadata contract

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    weights = out / "best.pt"
    if not weights.exists():
        torch.manual_seed(seed)
        model = DetectionModel("yolo26n.yaml", nc=len(CLASS_NAMES), verbose=False)
        model.names = dict(enumerate(CLASS_NAMES))
        _spread_outputs(model, torch)
        # The same keys Ultralytics' trainer writes, so YOLO(best.pt) loads it like a trained model.
        torch.save({"model": model, "train_args": {"imgsz": list(imgsz), "task": "detect"}}, weights)

    target = out / ("model-e2e.onnx" if end2end else "model.onnx")
    exported = Path(
        YOLO(str(weights)).export(
            format="onnx", imgsz=list(imgsz), nms=False if end2end else None, simplify=True, dynamic=False
        )
    )
    if exported != target:
        exported.replace(target)
    add_metadata(
        target, {"model_name": DEV_MODEL_NAME, "version": DEV_MODEL_VERSION + ("-e2e" if end2end else "")}
    )
    return target


def main() -> None:
    """CLI: export the dev model(s)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("out_dir", nargs="?", default="build/dev-model")
    parser.add_argument("--end2end", action="store_true", help="export the one-to-one [1, 300, 6] head")
    args = parser.parse_args()
    print(export_dev_model(args.out_dir, end2end=args.end2end))


if __name__ == "__main__":
    main()
