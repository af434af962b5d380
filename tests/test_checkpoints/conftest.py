"""Session fixtures of the checkpoint tests: tiny data and the toy runs, each made once."""
from pathlib import Path
from typing import Callable, Dict

import pytest
from toy_runs import ToyRun, run_toy_config

from mmrazor_relkd.datasets import generate_shapes_dataset


@pytest.fixture(scope='session')
def tiny_shapes(tmp_path_factory) -> Path:
    """16 training and 8 validation images (``generate_shapes_dataset.py --num-train 16
    --num-val 8``)."""
    return generate_shapes_dataset(str(tmp_path_factory.mktemp('shapes')), num_train=16,
                                   num_val=8, seed=1)


@pytest.fixture(scope='session')
def toy_run(tiny_shapes, tmp_path_factory) -> Callable[[str], ToyRun]:
    """``toy_run(config)``: the config's tiny run, trained on first use."""
    runs: Dict[str, ToyRun] = {}

    def get(config: str) -> ToyRun:
        if config not in runs:
            work_dir = tmp_path_factory.mktemp(Path(config).stem)
            runs[config] = run_toy_config(config, tiny_shapes, work_dir)
        return runs[config]

    return get
