"""The stories told with the local cloud: the closed retraining loop (demo) and simulate."""
