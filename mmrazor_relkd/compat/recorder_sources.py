"""A misspelled recorder ``source`` names the closest modules of the model.

mmrazor's ``ModuleOutputsRecorder`` / ``ModuleInputsRecorder`` (a module name) and
``ParameterRecorder`` (a parameter name) fail on an unknown ``source`` with only
``"nekc" is not in the model.``; finding the right name then means printing the model.
This shim checks the source first and raises :class:`UnknownRecorderSource` (an
``AssertionError`` too, as mmrazor's), whose message starts with mmrazor's own sentence
(code and mmrazor's tests match on it) and goes on to list the closest valid names
(``difflib``), or the top-level ones when none is close. A valid source goes to
mmrazor's method unchanged.
"""
import difflib
import functools
from typing import Callable, Iterable, List, Optional

import torch.nn as nn

_PATCHED = '_mmrazor_relkd_checks_source'


class UnknownRecorderSource(ValueError, AssertionError):
    """A recorder's ``source`` is not in the model (also an ``AssertionError``, the type
    mmrazor raises for it)."""


def unknown_source_message(recorder: str, source: str, kind: str,
                           names: List[str]) -> str:
    """The message for ``source`` missing from ``names`` (the model's ``kind`` names):
    mmrazor's own (``"<source>" is not in the model.``), then the closest names."""
    close = difflib.get_close_matches(source, [n for n in names if n], n=5, cutoff=0.6)
    if close:
        hint = f'closest {kind} names: ' + ', '.join(repr(n) for n in close)
    else:
        top = sorted({n.split('.')[0] for n in names if n})
        hint = f'no {kind} name is close; top-level names: ' + ', '.join(
            repr(n) for n in top)
    return (f'"{source}" is not in the model. {recorder}\'s source must be a {kind} '
            f'name; {hint}. Set the recorder\'s source to one of the names in '
            f'model.named_{kind}s().')


def _checking_prepare(prepare_from_model: Callable, kind: str,
                      names_of: Callable[[nn.Module], Iterable[str]]) -> Callable:

    @functools.wraps(prepare_from_model)
    def prepare(self, model: Optional[nn.Module] = None) -> None:
        if model is not None:
            names = list(names_of(model))
            if self.source not in names:
                raise UnknownRecorderSource(
                    unknown_source_message(type(self).__name__, self.source, kind, names))
        prepare_from_model(self, model)

    setattr(prepare, _PATCHED, True)
    return prepare


def check_recorder_sources() -> bool:
    """Install the check on mmrazor's module and parameter recorders (once)."""
    from mmrazor.models.task_modules.recorder import (ModuleOutputsRecorder,
                                                      ParameterRecorder)
    if getattr(ModuleOutputsRecorder.prepare_from_model, _PATCHED, False):
        return False
    ModuleOutputsRecorder.prepare_from_model = _checking_prepare(
        ModuleOutputsRecorder.prepare_from_model, 'module',
        lambda model: (name for name, _ in model.named_modules()))
    ParameterRecorder.prepare_from_model = _checking_prepare(
        ParameterRecorder.prepare_from_model, 'parameter',
        lambda model: (name for name, _ in model.named_parameters()))
    return True
