"""The embedded default dataset: coloured geometric shapes on textured backgrounds.

Deterministic for a given seed, generated in about a minute at the default size, no
download. One set of images serves two tasks:

* detection: COCO-format ``annotations/instances_{train,val}.json`` that mmdet's
  ``CocoDataset`` and ``CocoMetric`` (pycocotools) read;
* classification: one square crop around each shape (a random margin of 10-40 % of its
  longer side, so neighbouring shapes and background show at the borders), listed in
  ``annotations/cls_{train,val}.txt`` in mmpretrain ``CustomDataset`` format
  (``crops/train/000001_0.png 2``).
"""
import json
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw

CLASSES: Tuple[str, ...] = ('ellipse', 'rectangle', 'triangle', 'cross')
Box = Tuple[float, float, float, float]  # x1, y1, x2, y2
# The default size: enough images that the embedded benchmark's students differ by
# their method, not by seed (about 6100 training and 4080 validation crops).
NUM_TRAIN_IMAGES = 3072
NUM_VAL_IMAGES = 2048


def _background(rng: np.random.Generator, size: int) -> Image.Image:
    """Smooth colour noise plus faint stripes: a texture the detector must ignore."""
    coarse = rng.uniform(0, 255, size=(4, 4, 3)).astype(np.uint8)
    smooth = np.asarray(Image.fromarray(coarse).resize((size, size), Image.BICUBIC),
                        dtype=np.float32)
    period = rng.uniform(6, 16)
    angle = rng.uniform(0, np.pi)
    yy, xx = np.mgrid[0:size, 0:size]
    stripes = np.sin((xx * np.cos(angle) + yy * np.sin(angle)) * 2 * np.pi / period)
    grain = rng.normal(0, 8, size=(size, size, 1))
    img = 0.6 * smooth + 20 * stripes[..., None] + grain + 40
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


def _shape_polygons(label: int, box: Box) -> List[List[Tuple[float, float]]]:
    """Polygons whose union draws shape ``label`` filling ``box``."""
    x1, y1, x2, y2 = box
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    if label == 0:  # ellipse, as a polygon fine enough to look smooth at this size
        t = np.linspace(0, 2 * np.pi, 48, endpoint=False)
        rx, ry = (x2 - x1) / 2, (y2 - y1) / 2
        return [list(zip(cx + rx * np.cos(t), cy + ry * np.sin(t)))]
    if label == 1:
        return [[(x1, y1), (x2, y1), (x2, y2), (x1, y2)]]
    if label == 2:
        return [[(cx, y1), (x2, y2), (x1, y2)]]
    wx, wy = (x2 - x1) / 6, (y2 - y1) / 6  # cross: two bars a third as thick as long
    return [[(cx - wx, y1), (cx + wx, y1), (cx + wx, y2), (cx - wx, y2)],
            [(x1, cy - wy), (x2, cy - wy), (x2, cy + wy), (x1, cy + wy)]]


def _overlap(a: Box, b: Box) -> float:
    """Intersection over the smaller box's area."""
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return iw * ih / smaller


def _place_boxes(rng: np.random.Generator, size: int, count: int,
                 min_side: int, max_side: int) -> List[Box]:
    boxes: List[Box] = []
    for _ in range(50 * count):
        if len(boxes) == count:
            break
        w, h = rng.integers(min_side, max_side + 1, size=2)
        x1, y1 = rng.integers(0, size - w + 1), rng.integers(0, size - h + 1)
        box = (float(x1), float(y1), float(x1 + w), float(y1 + h))
        if all(_overlap(box, other) < 0.15 for other in boxes):
            boxes.append(box)
    return boxes


def render_image(rng: np.random.Generator, size: int
                 ) -> Tuple[Image.Image, List[int], List[Box]]:
    """One image with 1-3 shapes; returns the image, the labels and the boxes."""
    img = _background(rng, size)
    draw = ImageDraw.Draw(img)
    boxes = _place_boxes(rng, size, int(rng.integers(1, 4)), size // 6, size // 2)
    labels = [int(rng.integers(len(CLASSES))) for _ in boxes]
    for label, box in zip(labels, boxes):
        colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
        outline = tuple(255 - c for c in colour)
        for poly in _shape_polygons(label, box):
            draw.polygon(poly, fill=colour, outline=outline)
    return img, labels, boxes


def crop_box(rng: np.random.Generator, box: Box, size: int) -> Tuple[int, int, int, int]:
    """A square around ``box``, its side 1.2-1.8 times the box's longer side (at most
    the image), shifted to lie inside the ``size`` x ``size`` image."""
    x1, y1, x2, y2 = box
    side = min(size, int(round(max(x2 - x1, y2 - y1) * rng.uniform(1.2, 1.8))))
    left = int(np.clip(round((x1 + x2 - side) / 2), 0, size - side))
    top = int(np.clip(round((y1 + y2 - side) / 2), 0, size - side))
    return left, top, left + side, top + side


def _coco_json(records: Sequence[Dict], size: int) -> Dict:
    images, annotations = [], []
    for image_id, rec in enumerate(records, start=1):
        images.append(dict(id=image_id, file_name=rec['file_name'], height=size,
                           width=size))
        for label, (x1, y1, x2, y2) in zip(rec['labels'], rec['boxes']):
            w, h = x2 - x1, y2 - y1
            annotations.append(dict(id=len(annotations) + 1, image_id=image_id,
                                    category_id=label + 1, bbox=[x1, y1, w, h],
                                    area=w * h, iscrowd=0))
    categories = [dict(id=i + 1, name=name) for i, name in enumerate(CLASSES)]
    return dict(images=images, annotations=annotations, categories=categories)


def generate_shapes_dataset(out_dir: str, num_train: int = NUM_TRAIN_IMAGES,
                            num_val: int = NUM_VAL_IMAGES, image_size: int = 128,
                            seed: int = 0) -> Path:
    """Write the dataset under ``out_dir`` and return its path.

    Same arguments, same bytes: every image is drawn from a generator seeded by
    ``(seed, split, index)``, so the result does not depend on the generation order.
    """
    root = Path(out_dir)
    (root / 'annotations').mkdir(parents=True, exist_ok=True)
    for split_idx, (split, count) in enumerate((('train', num_train), ('val', num_val))):
        (root / 'images' / split).mkdir(parents=True, exist_ok=True)
        (root / 'crops' / split).mkdir(parents=True, exist_ok=True)
        records, crop_lines = [], []
        for index in range(count):
            rng = np.random.default_rng([seed, split_idx, index])
            img, labels, boxes = render_image(rng, image_size)
            file_name = f'images/{split}/{index:06d}.png'
            img.save(root / file_name)
            records.append(dict(file_name=file_name, labels=labels, boxes=boxes))
            crop_rng = np.random.default_rng([seed, split_idx, index, 1])
            for k, (label, box) in enumerate(zip(labels, boxes)):
                crop_name = f'crops/{split}/{index:06d}_{k}.png'
                img.crop(crop_box(crop_rng, box, image_size)).save(root / crop_name)
                crop_lines.append(f'{crop_name} {label}\n')
        coco = _coco_json(records, image_size)
        (root / 'annotations' / f'instances_{split}.json').write_text(json.dumps(coco))
        (root / 'annotations' / f'cls_{split}.txt').write_text(''.join(crop_lines))
    return root
