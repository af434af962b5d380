# RetinaNet R50 trained alone on COCO: the plain student of the RetinaNet X101-64x4d ->
# R50 pair (PCKA paper Tab. 3), mmdet's 2x config (backbone from torchvision's ImageNet
# ResNet-50, as in every distillation config of the pair). The suite
# configs/benchmarks/coco_retina-x101_retina-r50.py sets the batch and lr it shares with
# every method.
_base_ = ['mmdet::retinanet/retinanet_r50_fpn_2x_coco.py']
