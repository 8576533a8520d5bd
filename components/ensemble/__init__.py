"""ensemble: pixel-wise hard (weighted) vote or soft (probability) vote over several predictions."""
