"""sample-data: a synthetic COCO dataset the project makes itself (no download needed)."""
