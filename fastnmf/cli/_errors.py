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


# The arguments that say what a command was asked for, in the order shown.
REQUEST_ARGUMENTS = (("input", ""), ("source", ""), ("ratings", ""), ("rank", "-r "), ("k", "-k "))


def out_of_memory(args, error):
    """One line for a MemoryError: what the command was asked for, and the
    allocation that failed (NumPy's message names its size and shape)."""
    asked = [args.command] + [
        f"{flag}{getattr(args, name)}" for name, flag in REQUEST_ARGUMENTS if getattr(args, name, None) is not None
    ]
    detail = f": {error}" if str(error) else ""
    return (
        f"'{' '.join(asked)}' does not fit in this machine's memory{detail}. "
        "Ask for less (a smaller rank, fewer items, a smaller input)."
    )
