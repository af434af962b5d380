"""Tiny-ImageNet-200 read from the folder layout it is distributed in."""
from pathlib import Path
from typing import Dict, List, Tuple

from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS

SPLITS = ('train', 'val')


@DATASETS.register_module()
class TinyImageNet(BaseDataset):
    """Tiny-ImageNet-200 (64 x 64 images, 200 classes) in its original layout::

        data_root/wnids.txt                        one wnid per line
        data_root/train/<wnid>/images/*.JPEG       500 per class
        data_root/val/images/*.JPEG                50 per class
        data_root/val/val_annotations.txt          file <TAB> wnid <TAB> box

    mmpretrain has no reader for it and its ``CustomDataset`` cannot read the
    validation split (labels live in ``val_annotations.txt``). The class index is the
    position of the wnid in the **sorted** wnids, as a folder-based reader of the
    training split would number them; ``metainfo['classes']`` lists those wnids.

    Args:
        data_root: the unpacked ``tiny-imagenet-200`` folder.
        split: ``'train'`` or ``'val'``.
        **kwargs: other :class:`mmpretrain.datasets.BaseDataset` arguments
            (``pipeline``, ``test_mode``, ...).
    """

    def __init__(self, data_root: str, split: str = 'train', **kwargs) -> None:
        if split not in SPLITS:
            raise ValueError(f"TinyImageNet: split must be one of {SPLITS}, got '{split}'")
        self.split = split
        super().__init__(ann_file='', data_root=data_root, **kwargs)

    def _wnids(self) -> List[str]:
        wnids_file = Path(self.data_root) / 'wnids.txt'
        if not wnids_file.is_file():
            raise FileNotFoundError(
                f'TinyImageNet: {wnids_file} not found; data_root must be the unpacked '
                'tiny-imagenet-200 folder (wnids.txt, train/, val/)')
        return sorted(line.strip() for line in wnids_file.read_text().splitlines()
                      if line.strip())

    def _samples(self, class_index: Dict[str, int]) -> List[Tuple[Path, int]]:
        root = Path(self.data_root)
        if self.split == 'train':
            paths = sorted((root / 'train').glob('*/images/*.JPEG'))
            unknown = sorted({path.parent.parent.name for path in paths} - set(class_index))
            if unknown:
                raise ValueError(f'TinyImageNet: class folders {unknown} under '
                                 f'{root / "train"} are not in wnids.txt')
            return [(path, class_index[path.parent.parent.name]) for path in paths]
        annotations = root / 'val' / 'val_annotations.txt'
        if not annotations.is_file():
            raise FileNotFoundError(f'TinyImageNet: {annotations} not found')
        samples = []
        for line_number, line in enumerate(annotations.read_text().splitlines(), 1):
            if not line.strip():
                continue
            filename, wnid = line.split('\t')[:2]
            if wnid not in class_index:
                raise ValueError(f'TinyImageNet: {annotations}:{line_number} names wnid '
                                 f"'{wnid}', which is not in wnids.txt")
            samples.append((root / 'val' / 'images' / filename, class_index[wnid]))
        return samples

    def load_data_list(self) -> List[dict]:
        wnids = self._wnids()
        self._metainfo['classes'] = tuple(wnids)
        samples = self._samples({wnid: index for index, wnid in enumerate(wnids)})
        if not samples:
            raise FileNotFoundError(
                f"TinyImageNet: no '{self.split}' images under {self.data_root}")
        return [dict(img_path=str(path), gt_label=label) for path, label in samples]
