"""The Lambda edge shared by every function of the stack: one error shape, one AWS-error mapping,
one JSON reader and one way to load settings.

Shipped to the zip functions through the layer (`layers/yolo_deps/Makefile`) and copied into the
inference image (`functions/infer/Dockerfile`). It knows Powertools and botocore, nothing about
models or invoices.
"""
