"""The main job: every stage chained, each output reused by content hash."""
