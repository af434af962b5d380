"""Every distillation algorithm registered in mmrazor builds and trains one step with the
plugin imported, each on a minimal student / teacher pair with fitting teacher
checkpoints (so the teacher checks pass). The algorithms come from mmrazor's registry:
one without a case in :mod:`mmrazor_algorithms` fails
:func:`test_every_registered_algorithm_has_a_case`."""
import pytest
import torch

import mmrazor_relkd  # noqa: F401  (compat shims + registration, before mmrazor)
from distill_algorithms import batch
from mmrazor.registry import MODELS
from mmrazor_algorithms import CASES, registered_distillation_algorithms

pytestmark = pytest.mark.usefixtures('single_thread')


def test_every_registered_algorithm_has_a_case():
    assert registered_distillation_algorithms() == set(CASES)


@pytest.mark.parametrize('name', sorted(CASES))
def test_builds_and_trains_one_step(name, tmp_path):
    config, optim_wrapper = CASES[name]
    torch.manual_seed(0)
    algorithm = MODELS.build(config(str(tmp_path)))
    assert type(algorithm).__name__ == name
    algorithm.init_weights()
    student = {k: v.clone() for k, v in algorithm.architecture.state_dict().items()}
    algorithm.train()
    log_vars = algorithm.train_step(batch(0), optim_wrapper(algorithm))
    distill = [key for key in log_vars if key.startswith('distill.')]
    assert distill, log_vars
    for key, value in log_vars.items():
        assert torch.isfinite(torch.as_tensor(value)).all(), key
    trained = algorithm.architecture.state_dict()
    assert not torch.equal(trained['head.fc.weight'], student['head.fc.weight'])
