"""Background jobs: every job runs for one brand, on RQ or in the embedded thread alike."""

QUEUES = ("default", "reports", "models", "sync")


class NoBrandContext(RuntimeError):
    """A job was started without a brand; it must not touch any database."""

    def __init__(self) -> None:
        super().__init__("no brand context: every job takes the brand slug as its first argument")
