"""What the command lines apply to a config to run it fast and end it cleanly: mixed precision, fused optimizers,
``torch.compile`` in place, dataloader settings, CPU distributed set-up and prompt worker shutdown.
Imports nothing heavy (no mmpretrain, no mmcv); what configs name by type lives in :mod:`mmmixer.engine`."""
