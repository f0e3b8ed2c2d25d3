"""The demo-model recipe, the shipped model and its card agree; each stage chains on the last."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import onnxruntime as ort
import pytest

from devkit import demo_model

pytestmark = pytest.mark.unit

SHIPPED = Path(__file__).resolve().parents[2] / "models" / "demo"


def test_each_stage_fine_tunes_the_previous_stage_best_weights(tmp_path: Path) -> None:
    stages = demo_model.plan(tmp_path)
    assert len(stages) == len(demo_model.STAGES)
    assert not any(a.startswith("--weights") for a in stages[0].train_argv)  # stage 1: from scratch
    for before, after in itertools.pairwise(stages):
        assert f"--weights={before.model_dir / 'best.pt'}" in after.command
    for stage in stages:
        assert f"--data={stage.dataset}" in stage.command
        assert stage.dataset.name == f"dataset-{stage.n_train}"
        assert stage.train_argv[stage.train_argv.index("--model-version") + 1] == demo_model.VERSION


def test_a_later_first_stage_starts_from_the_given_weights(tmp_path: Path) -> None:
    weights = tmp_path / "earlier" / "best.pt"
    stages = demo_model.plan(tmp_path, first=len(demo_model.STAGES), weights=weights)
    assert len(stages) == 1
    assert f"--weights={weights}" in stages[0].command
    assert stages[0].n_train == demo_model.STAGES[-1][1]
    with pytest.raises(ValueError, match="needs the weights"):
        demo_model.plan(tmp_path, first=2)


def test_dry_run_prints_every_stage_and_trains_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert demo_model.main(["--dry-run", "--work", str(tmp_path), "--out", str(tmp_path / "out")]) == 0
    printed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("+ ")]
    assert len(printed) == len(demo_model.STAGES)
    assert list(tmp_path.iterdir()) == []  # no dataset, no run dir, no output


@pytest.mark.skipif(not (SHIPPED / "metrics.json").is_file(), reason="no shipped model")
def test_shipped_card_metrics_and_onnx_match_the_recipe() -> None:
    card = (SHIPPED / "MODEL_CARD.md").read_text(encoding="utf-8")
    metrics = json.loads((SHIPPED / "metrics.json").read_text())
    for stage in demo_model.plan(Path("/work")):
        assert f"`{stage.recipe}`" in card  # the card shows the flags the make target runs
    assert metrics["version"] == demo_model.VERSION
    assert f"**{metrics['mAP50']:.3f}** / {metrics['mAP50-95']:.3f}" in card
    assert metrics["mAP50"] >= 0.8  # the target for the shipped model
    session = ort.InferenceSession(str(SHIPPED / "model.onnx"), providers=["CPUExecutionProvider"])
    assert session.get_modelmeta().custom_metadata_map["version"] == demo_model.VERSION
