"""Deployment: a config's model to ONNX, verified with ONNX Runtime (``mmmixer export``)."""

from .onnx_export import Check, ExportError, VerificationError, export_onnx

__all__ = ['Check', 'ExportError', 'VerificationError', 'export_onnx']
