# The CIFAR-10 AutoAugment policy (Cubuk et al., CVPR 2019), which the RCKA authors'
# released CIFAR-100 code applies (torchvision `AutoAugment(AutoAugmentPolicy.CIFAR10)`),
# as mmpretrain `AutoAugment` sub-policies: `autoaugment_cifar10`, a pipeline step.
# Each sub-policy is two (operation, probability, magnitude bin of 10) triples; the
# bins map to magnitudes as in torchvision's AutoAugment: shear 0.3 * b / 9, translate
# (150 / 331) * b / 9 of the image size, rotate 30 * b / 9 degrees, colour / contrast /
# brightness / sharpness factor 1 +- 0.9 * b / 9, posterize 8 - round(b / 2.25) bits,
# solarize threshold 255 * (1 - b / 9); signed magnitudes take a random sign; the
# geometric operations fill with 0 and interpolate nearest. mmpretrain's operations
# expect BGR images.

def _cifar10_policy() -> list:
    """The 25 sub-policies: (operation, probability, magnitude bin) pairs."""
    return [
        (('Invert', 0.1, None), ('Contrast', 0.2, 6)),
        (('Rotate', 0.7, 2), ('TranslateX', 0.3, 9)),
        (('Sharpness', 0.8, 1), ('Sharpness', 0.9, 3)),
        (('ShearY', 0.5, 8), ('TranslateY', 0.7, 9)),
        (('AutoContrast', 0.5, None), ('Equalize', 0.9, None)),
        (('ShearY', 0.2, 7), ('Posterize', 0.3, 7)),
        (('Color', 0.4, 3), ('Brightness', 0.6, 7)),
        (('Sharpness', 0.3, 9), ('Brightness', 0.7, 9)),
        (('Equalize', 0.6, None), ('Equalize', 0.5, None)),
        (('Contrast', 0.6, 7), ('Sharpness', 0.6, 5)),
        (('Color', 0.7, 7), ('TranslateX', 0.5, 8)),
        (('Equalize', 0.3, None), ('AutoContrast', 0.4, None)),
        (('TranslateY', 0.4, 3), ('Sharpness', 0.2, 6)),
        (('Brightness', 0.9, 6), ('Color', 0.2, 8)),
        (('Solarize', 0.5, 2), ('Invert', 0.0, None)),
        (('Equalize', 0.2, None), ('AutoContrast', 0.6, None)),
        (('Equalize', 0.2, None), ('Equalize', 0.6, None)),
        (('Color', 0.9, 9), ('Equalize', 0.6, None)),
        (('AutoContrast', 0.8, None), ('Solarize', 0.2, 8)),
        (('Brightness', 0.1, 3), ('Color', 0.7, 0)),
        (('Solarize', 0.4, 5), ('AutoContrast', 0.9, None)),
        (('TranslateY', 0.9, 9), ('TranslateY', 0.7, 9)),
        (('AutoContrast', 0.9, None), ('Solarize', 0.8, 3)),
        (('Equalize', 0.8, None), ('Invert', 0.1, None)),
        (('TranslateY', 0.7, 9), ('AutoContrast', 0.9, None)),
    ]


def _operation(name: str, prob: float, level) -> dict:
    """One (operation, probability, bin) triple as an mmpretrain transform."""
    fraction = (level or 0) / 9
    signed = dict(prob=prob, random_negative_prob=0.5)
    geometric = dict(signed, pad_val=0, interpolation='nearest')
    direction = 'horizontal' if name.endswith('X') else 'vertical'
    return {
        'ShearX': dict(type='Shear', magnitude=0.3 * fraction, direction=direction,
                       **geometric),
        'ShearY': dict(type='Shear', magnitude=0.3 * fraction, direction=direction,
                       **geometric),
        'TranslateX': dict(type='Translate', magnitude=150 / 331 * fraction,
                           direction=direction, **geometric),
        'TranslateY': dict(type='Translate', magnitude=150 / 331 * fraction,
                           direction=direction, **geometric),
        'Rotate': dict(type='Rotate', angle=30 * fraction, **geometric),
        'Color': dict(type='ColorTransform', magnitude=0.9 * fraction, **signed),
        'Contrast': dict(type='Contrast', magnitude=0.9 * fraction, **signed),
        'Brightness': dict(type='Brightness', magnitude=0.9 * fraction, **signed),
        'Sharpness': dict(type='Sharpness', magnitude=0.9 * fraction, **signed),
        'Posterize': dict(type='Posterize', bits=8 - round(fraction * 4), prob=prob),
        'Solarize': dict(type='Solarize', thr=255 * (1 - fraction), prob=prob),
        'AutoContrast': dict(type='AutoContrast', prob=prob),
        'Equalize': dict(type='Equalize', prob=prob),
        'Invert': dict(type='Invert', prob=prob),
    }[name]


autoaugment_cifar10 = dict(
    type='AutoAugment',
    policies=[[_operation(*op) for op in sub_policy] for sub_policy in _cifar10_policy()])
