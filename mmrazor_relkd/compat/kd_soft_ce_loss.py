"""Make mmrazor's ``KDSoftCELoss`` work without mmcls.

mmrazor 1.0.0's ``KDSoftCELoss`` takes its criterion, ``soft_cross_entropy``, from
mmcls; where mmcls is not installed (mmpretrain replaced it) mmrazor puts a
placeholder class there, and every forward fails with ``TypeError:
PlaceHolder.__init__() got an unexpected keyword argument 'reduction'``. mmpretrain,
the successor of mmcls, has the same function with the same signature; this shim puts
it in the placeholder's place, and only where the criterion is a placeholder (a class
instead of a function).
"""
import inspect


def provide_soft_cross_entropy() -> bool:
    """Give ``KDSoftCELoss`` mmpretrain's ``soft_cross_entropy`` where it lacks mmcls's.

    Returns:
        True if the criterion was replaced now, False if it was already a function.
    """
    from mmrazor.models.losses import kd_soft_ce_loss
    if not inspect.isclass(kd_soft_ce_loss.soft_cross_entropy):
        return False
    from mmpretrain.models.losses.cross_entropy_loss import soft_cross_entropy
    kd_soft_ce_loss.soft_cross_entropy = soft_cross_entropy
    return True
