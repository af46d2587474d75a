"""How the command reports a user mistake: exit statuses, :class:`CommandError`
and the one-line description of an error."""

EXIT_USER_ERROR = 1
EXIT_USAGE = 2


class CommandError(Exception):
    """A user mistake the command reports in one line."""


def describe(error):
    """One line for an OSError or a user mistake."""
    if isinstance(error, OSError) and error.filename is not None and error.strerror:
        return f"{error.filename}: {error.strerror}"
    return str(error)
