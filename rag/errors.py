"""The one exception type the CLI and UI turn into a friendly one-line message."""


class RagError(Exception):
    """A user-facing failure: bad input, a missing index or model, a corrupt file."""
