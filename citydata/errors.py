"""User-facing errors: one line, naming the file or registry entry at fault."""


class CitydataError(Exception):
    """An error a user can act on; the CLI prints it as one line and exits 1."""


class RegistryError(CitydataError):
    """The department registry (or a suite it points to) is invalid."""


class FileRejected(CitydataError):
    """A landed file cannot be loaded at all; it goes to rejected/ with an .error.json."""

    def __init__(self, reason: str, details: str = "", rows_read: int = 0) -> None:
        super().__init__(f"{reason}: {details}" if details else reason)
        self.reason = reason
        self.details = details
        self.rows_read = rows_read
