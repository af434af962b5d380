"""The recorder-source shim: a misspelled source names the closest valid names."""
import pytest
import torch.nn as nn
from mmrazor.models import ConfigurableDistiller
from mmrazor.models.task_modules import (ModuleInputsRecorder, ModuleOutputsRecorder,
                                         ParameterRecorder)

from mmrazor_relkd.compat import UnknownRecorderSource, check_recorder_sources


class _Detector(nn.Module):

    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
        self.neck = nn.Conv2d(4, 4, 1)
        self.head = nn.Linear(4, 2)


def _prepare(recorders: dict) -> ConfigurableDistiller:
    distiller = ConfigurableDistiller(student_recorders=recorders)
    distiller.prepare_from_student(_Detector())
    return distiller


def test_misspelled_module_source_lists_the_closest_modules():
    with pytest.raises(UnknownRecorderSource) as info:
        _prepare(dict(fpn=dict(type='ModuleOutputs', source='nekc')))
    assert str(info.value) == (
        '"nekc" is not in the model. ModuleOutputsRecorder\'s source must be a module '
        "name; closest module names: 'neck'. Set the recorder's source to one of the "
        'names in model.named_modules().')
    assert isinstance(info.value, AssertionError)  # mmrazor's own type for it


def test_source_with_nothing_close_lists_the_top_level_modules():
    with pytest.raises(UnknownRecorderSource, match=(
            r"source must be a module name; no module name is close; "
            r"top-level names: 'backbone', 'head', 'neck'\. ")):
        _prepare(dict(fpn=dict(type='ModuleOutputs', source='zzz')))


def test_inputs_and_parameter_recorders_are_checked_too():
    with pytest.raises(UnknownRecorderSource, match=r"closest module names: 'backbone\.1'"):
        ModuleInputsRecorder('backbone.l').initialize(_Detector())
    with pytest.raises(UnknownRecorderSource, match=(
            r"ParameterRecorder's source must be a parameter name; closest parameter "
            r"names: 'head.weight'")):
        ParameterRecorder('head.weigth').initialize(_Detector())


@pytest.mark.parametrize('recorder,source', [
    (ModuleOutputsRecorder, 'conv3'), (ModuleInputsRecorder, 'conv3'),
    (ParameterRecorder, 'AAA')])
def test_message_starts_with_mmrazors_own(recorder, source):
    """Code and mmrazor's tests match on mmrazor's sentence (``'"conv3" is not in'``,
    ``'"AAA" is not in the'``): the message begins with exactly what mmrazor's own,
    unpatched method raises."""
    with pytest.raises(AssertionError) as mmrazor_error:
        recorder.prepare_from_model.__wrapped__(recorder(source), _Detector())
    with pytest.raises(UnknownRecorderSource) as error:
        recorder(source).initialize(_Detector())
    assert str(mmrazor_error.value) == f'"{source}" is not in the model.'
    assert str(error.value).startswith(str(mmrazor_error.value) + ' ')


def test_valid_sources_still_record():
    distiller = _prepare(dict(whole=dict(type='ModuleOutputs', source=''),
                              neck=dict(type='ModuleOutputs', source='neck'),
                              w=dict(type='Parameter', source='head.weight')))
    assert distiller.student_recorders.get_recorder('w').data_buffer[0].shape == (2, 4)
    assert check_recorder_sources() is False  # applied by import, once
