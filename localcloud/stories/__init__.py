"""The stories told with the local cloud: the closed retraining loop (demo) and simulate."""


class StoryError(RuntimeError):
    """A stage of a story failed; the message names the stage and where to look."""
