"""Serving package of the inference Lambda: ONNX Runtime + OpenCV, no torch, no Ultralytics."""
