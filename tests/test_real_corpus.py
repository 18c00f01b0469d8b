"""A short real training run: the STL config, as documented, on NCBI-disease."""

import json

from tests.conftest import TINY_XLNET, real_data_root, run_allennlp


def test_stl_config_trains_briefly_on_ncbi_disease(tmp_path):
    root = real_data_root()
    overrides = {
        "trainer.num_epochs": 1,
        "dataset_reader.readers.NCBI-disease.max_instances": 48,
        "trainer.optimizer.lr": 1e-3,
    }
    run_allennlp(
        [
            "train",
            "training_config/stl.jsonnet",
            "-s",
            str(tmp_path / "run"),
            "-o",
            json.dumps(overrides),
        ],
        env={"HSL_BIONER_DATA": str(root), "HSL_BIONER_ENCODER": TINY_XLNET},
    )
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["epoch"] == 0
    for split in ("validation", "test"):
        for measure in ("precision", "recall", "f1"):
            assert 0.0 <= metrics[f"{split}_NCBI-disease_{measure}"] <= 1.0
