"""Model promotion: gate finished training jobs, publish their ONNX model, move the pointer."""
