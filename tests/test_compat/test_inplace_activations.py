"""The in-place shim: a recorder on BatchNorm before ReLU(inplace=True) records BN values."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmrazor.models import BaseAlgorithm, SingleTeacherDistill

from mmrazor_relkd.compat import keep_activations_out_of_place
from mmrazor_relkd.compat.inplace_activations import (set_module_inplace_false,
                                                      sets_children_out_of_place)


class _ConvBNReLU(BaseModel):
    """conv -> bn -> ReLU(inplace=True), nested one level down as in real backbones."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential()
        self.stem.add_module('conv', nn.Conv2d(3, 4, 3, padding=1))
        self.stem.add_module('bn', nn.BatchNorm2d(4))
        self.stem.add_module('relu', nn.ReLU(inplace=True))

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.stem(inputs)
        return dict(loss=out.mean()) if mode == 'loss' else out


def _distill() -> SingleTeacherDistill:
    recorders = dict(bn=dict(type='ModuleOutputs', source='stem.bn'))
    return SingleTeacherDistill(
        architecture=_ConvBNReLU(), teacher=_ConvBNReLU(),
        distiller=dict(type='ConfigurableDistiller', student_recorders=recorders,
                       teacher_recorders=recorders))


def test_shim_replaces_mmrazors_method_exactly_where_it_misses_children():
    """mmrazor's method descends only into ``OrderedDict`` children: it misses them
    where torch keeps a module's children in a plain ``dict`` (torch 2.14 does, 2.1 does
    not). There, and only there, the shim replaces it."""
    children_in_plain_dict = type(nn.Sequential()._modules) is dict
    method = BaseAlgorithm.set_module_inplace_false
    original = getattr(method, '__wrapped__', method)
    assert sets_children_out_of_place(original) is not children_in_plain_dict
    assert (method is set_module_inplace_false) is children_in_plain_dict
    assert sets_children_out_of_place(method)
    assert keep_activations_out_of_place() is False  # applied by import, once


def test_recorders_see_batchnorm_outputs_not_relu_outputs():
    torch.manual_seed(0)
    algorithm = _distill()
    algorithm.train()  # student BN in training mode, teacher BN in eval mode
    for model in (algorithm.architecture, algorithm.teacher):
        assert model.stem.relu.inplace is False
    inputs = torch.randn(2, 3, 8, 8)
    algorithm(inputs, mode='loss')

    student, teacher = algorithm.architecture.stem, algorithm.teacher.stem
    recorded_s = algorithm.distiller.student_recorders.get_recorder('bn').get_record_data()
    expected_s = F.batch_norm(student.conv(inputs), None, None, student.bn.weight,
                              student.bn.bias, training=True, eps=student.bn.eps)
    torch.testing.assert_close(recorded_s, expected_s)
    assert recorded_s.min() < 0

    recorded_t = algorithm.distiller.teacher_recorders.get_recorder('bn').get_record_data()
    torch.testing.assert_close(recorded_t, teacher.bn(teacher.conv(inputs)))
    assert recorded_t.min() < 0
