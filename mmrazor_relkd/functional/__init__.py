"""Pure tensor math of the losses: plain functions, testable and benchmarkable alone."""
from .affinity import affinity_distillation_loss
from .feature_kernel import feature_kernel, feature_kernel_distance
from .kernel_alignment import linear_cka, linear_cka_pair
from .landmark_kernel import (kernel_transfer_error, landmark_gram_min_eigenvalue,
                              landmark_kernel_loss, landmark_transfer_error,
                              nystrom_operators)
from .landmark_selection import (cluster_sums, keep_smallest_keys_per_group,
                                 kmeans_within_groups)
from .logit_cka import logit_cka, soften_logits
from .patch_cka import patch_cka, patch_groups
from .patch_mmd import mean_kernel_discrepancy, patch_mmd
from .precision import to_loss_precision

__all__ = ['affinity_distillation_loss', 'cluster_sums', 'feature_kernel',
           'feature_kernel_distance', 'keep_smallest_keys_per_group', 'kernel_transfer_error',
           'kmeans_within_groups', 'landmark_gram_min_eigenvalue', 'landmark_kernel_loss',
           'landmark_transfer_error', 'linear_cka', 'linear_cka_pair', 'logit_cka',
           'mean_kernel_discrepancy', 'nystrom_operators',
           'patch_cka', 'patch_groups', 'patch_mmd', 'soften_logits', 'to_loss_precision']
