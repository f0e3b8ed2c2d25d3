"""YOLO training entrypoint package, run by SageMaker's PyTorch container or locally."""
