"""summary: where a pipeline run's results went, and its headline metrics."""
