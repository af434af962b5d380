"""Generate the embedded synthetic "shapes" dataset (detection + classification).

Example::

    python tools/generate_shapes_dataset.py --out data/shapes
"""
import argparse

from mmrazor_relkd.datasets import (NUM_TRAIN_IMAGES, NUM_VAL_IMAGES,
                                    generate_shapes_dataset)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default='data/shapes', help='output folder')
    parser.add_argument('--num-train', type=int, default=NUM_TRAIN_IMAGES)
    parser.add_argument('--num-val', type=int, default=NUM_VAL_IMAGES)
    parser.add_argument('--image-size', type=int, default=128)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    root = generate_shapes_dataset(args.out, args.num_train, args.num_val,
                                   args.image_size, args.seed)
    print(f'shapes dataset written to {root}')


if __name__ == '__main__':
    main()
