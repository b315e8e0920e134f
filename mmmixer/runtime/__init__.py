"""How the command lines run a config fast and end cleanly; imports nothing heavy (no mmpretrain, no mmcv)."""
