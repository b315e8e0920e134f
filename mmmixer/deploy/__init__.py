"""Deployment: a config's model to ONNX, verified with ONNX Runtime (``mmmixer export``)."""

from .onnx_export import Check, ExportError, VerificationError, default_size, export_onnx
from .preprocessing import preprocessing_metadata

__all__ = ['Check', 'ExportError', 'VerificationError', 'default_size', 'export_onnx', 'preprocessing_metadata']
