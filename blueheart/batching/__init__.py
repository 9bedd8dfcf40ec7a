"""Many files: the walk, the plan, the destination's lock, the workers, the report,
contact sheets."""
