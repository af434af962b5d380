"""Registered into the OpenMMLab registries on import."""
from .affinity_loss import AffinityLoss
from .fcka_loss import FCKALoss
from .fkd_loss import FKDLoss
from .kda_loss import KDALoss
from .lcka_loss import LCKALoss
from .mmd_loss import MMDLoss
from .patch_wise_loss import PatchWiseLoss
from .pcka_loss import PCKALoss

__all__ = ['AffinityLoss', 'FKDLoss', 'FCKALoss', 'KDALoss', 'LCKALoss', 'MMDLoss',
           'PatchWiseLoss', 'PCKALoss']
