"""The invoice-reading core: bytes in, pages and detections out. ONNX Runtime + OpenCV + PDFium,
no torch, no Ultralytics, and no knowledge of Lambda, HTTP or queues: the API Gateway adapter
(`serving`) and the queue worker call the same functions and map its errors each in one place.
"""
