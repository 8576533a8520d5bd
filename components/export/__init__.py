"""export: a model artifact as an ONNX graph (exported-model), checked against the model before it is written."""
