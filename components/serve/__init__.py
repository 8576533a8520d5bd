"""serve: a model or its ONNX export behind a KServe model server (Open Inference Protocol v2 over REST)."""
