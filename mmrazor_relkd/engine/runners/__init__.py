from .data_root_runner import DataRootRunner, redirect_data_root

__all__ = ['DataRootRunner', 'redirect_data_root']
