"""A file that is not a checkpoint fails with an error that names it.

mmengine loads every local checkpoint (``load_from``, ``--resume``, a distillation's
``teacher_ckpt``) through one loader, ``load_from_local``, which calls ``torch.load``.
Given a file that is no checkpoint at all (a wrong path, a download that is an HTML
page, a file cut short by a killed save), torch >= 2.6 reports a failed
``weights_only`` load and advises re-running with ``weights_only=False`` or filing an
issue: misleading, and unsafe advice. This shim wraps that loader: when loading fails
and the file is neither a ``torch.save`` zip archive nor a legacy ``torch.save`` file,
it raises :class:`InvalidCheckpointError` naming the file, without torch's text (the
error chain is cut; the message keeps the type of torch's error). A real checkpoint that is
refused (a disallowed global, such as a pickled ``os.system``) keeps torch's error, and
loading a valid file is unchanged.
"""
import functools
import os.path as osp
import pickle
import zipfile
from typing import Any, Callable, NoReturn

_PATCHED = '_mmrazor_relkd_checks_files'
_LEGACY_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C  # torch.serialization.MAGIC_NUMBER


class InvalidCheckpointError(ValueError):
    """Raised when a file given as a checkpoint is not one."""


class _NoGlobalsUnpickler(pickle.Unpickler):

    def find_class(self, module: str, name: str) -> NoReturn:
        raise pickle.UnpicklingError(f'{module}.{name}')


def is_torch_checkpoint_file(path: str) -> bool:
    """Whether ``path`` is a ``torch.save`` file (zip archive or legacy format).

    Only the container is checked: a zip archive holding a ``data.pkl`` record, or a
    file whose first pickled object is torch's legacy magic number (read without
    resolving any global).
    """
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                return any(n.rsplit('/', 1)[-1] == 'data.pkl' for n in archive.namelist())
        with open(path, 'rb') as file:
            return _NoGlobalsUnpickler(file).load() == _LEGACY_MAGIC_NUMBER
    except Exception:  # noqa: BLE001  arbitrary bytes fail to parse in many ways
        return False


def invalid_checkpoint_message(path: str, error: BaseException) -> str:
    """The message of :class:`InvalidCheckpointError` for ``path``."""
    return (f'{path} is not a valid checkpoint: it is neither a zip archive written by '
            'torch.save nor a legacy torch.save file (torch.load failed with '
            f'{type(error).__name__}). Check the path given to --resume, load_from or '
            'teacher_ckpt; a file cut short by an interrupted save must be replaced.')


def _checking_loader(load_from_local: Callable) -> Callable:

    @functools.wraps(load_from_local)
    def load(filename: str, map_location: Any = None) -> Any:
        try:
            return load_from_local(filename, map_location)
        except Exception as err:
            path = osp.expanduser(filename)
            if osp.isfile(path) and not is_torch_checkpoint_file(path):
                raise InvalidCheckpointError(invalid_checkpoint_message(path, err)) from None
            raise

    setattr(load, _PATCHED, True)
    return load


def check_checkpoint_files() -> bool:
    """Wrap mmengine's local checkpoint loader once; returns False if already done."""
    from mmengine.runner import CheckpointLoader
    local = CheckpointLoader._schemes['']
    if getattr(local, _PATCHED, False):
        return False
    CheckpointLoader.register_scheme(prefixes='', loader=_checking_loader(local),
                                     force=True)
    return True
