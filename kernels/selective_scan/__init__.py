"""kernel family."""
