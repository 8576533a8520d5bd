"""Kubeflow pipelines over the trashseg components: definitions, compiled YAML, local runs, cluster submission."""
