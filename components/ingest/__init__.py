"""ingest: COCO annotations + image folder -> a self-contained dataset artifact."""
