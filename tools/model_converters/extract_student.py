"""Turn a distillation checkpoint into a plain mmdet / mmpretrain checkpoint of the student.

mmrazor's distillation algorithms keep the student as ``architecture``: its weights are
the ``architecture.*`` entries of the state dict. This writes them without the prefix,
with the checkpoint's ``meta`` and without the teacher, the distiller's connectors and
the optimizer state, so that the student config loads it with ``load_from`` or
``tools/test.py``.

Example::

    python tools/model_converters/extract_student.py work_dirs/x/epoch_24.pth \\
        work_dirs/x/student_epoch_24.pth
"""
import argparse
from typing import Dict

import mmrazor_relkd  # noqa: F401  (lets mmengine checkpoints load under weights_only)
import torch
from mmengine.runner import CheckpointLoader

PREFIX = 'architecture.'


def extract_student(checkpoint: Dict) -> Dict:
    """The student-only checkpoint of a distillation ``checkpoint``."""
    state_dict = checkpoint.get('state_dict', checkpoint)
    student = {key[len(PREFIX):]: value for key, value in state_dict.items()
               if key.startswith(PREFIX)}
    if not student:
        sample = ', '.join(list(state_dict)[:5])
        raise ValueError(f'no `{PREFIX}*` weights in this checkpoint (first keys: '
                         f'{sample}): it is not an mmrazor distillation checkpoint')
    return dict(meta=checkpoint.get('meta', {}), state_dict=student)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('checkpoint', help='distillation checkpoint (path or URL)')
    parser.add_argument('out', help='where to write the student checkpoint')
    args = parser.parse_args()
    checkpoint = CheckpointLoader.load_checkpoint(args.checkpoint, map_location='cpu')
    student = extract_student(checkpoint)
    torch.save(student, args.out)
    print(f'{len(student["state_dict"])} student tensors written to {args.out}')


if __name__ == '__main__':
    main()
