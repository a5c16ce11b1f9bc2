"""What the plan says and what happened: the targets and the historical record."""
