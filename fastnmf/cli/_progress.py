"""Terminal output while fitting: the progress bar and one-line warnings."""

import sys
import time

PROGRESS_INTERVAL = 0.1  # seconds between progress-bar redraws


def _format_seconds(seconds):
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class ProgressBar:
    """An ``nmf`` callback that draws ``iteration, loss, relative change, ETA``
    on one line of a terminal, at most every :data:`PROGRESS_INTERVAL` s.

    Parameters
    ----------
    max_iter : int
        The iteration budget (the ETA assumes all of it; ``tol`` may stop sooner).
    stream : file
        Where to draw (stderr).
    enabled : bool
        False makes every call a no-op.
    """

    WIDTH = 20

    def __init__(self, max_iter, stream, enabled):
        self.max_iter = max(max_iter, 1)
        self.stream = stream
        self.enabled = enabled
        self.first_done = None
        self.last_drawn = -float("inf")
        self.previous_loss = None
        self.line_length = 0

    def __call__(self, iteration, W, H, loss):
        change = None
        if self.previous_loss:
            change = (self.previous_loss - loss) / abs(self.previous_loss)
        self.previous_loss = loss
        now = time.perf_counter()
        if iteration == 1:
            self.first_done = now  # the first iteration may include compiling: the ETA starts after it
        if not self.enabled or (now - self.last_drawn < PROGRESS_INTERVAL and iteration < self.max_iter):
            return False
        self.last_drawn = now
        filled = int(round(min(iteration / self.max_iter, 1.0) * self.WIDTH))
        eta = "--"
        if iteration > 1 and self.first_done is not None:
            eta = _format_seconds((now - self.first_done) / (iteration - 1) * (self.max_iter - iteration))
        line = (
            f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] iteration {iteration}/{self.max_iter}  "
            f"loss {loss:.6g}  rel. change {'--' if change is None else f'{change:.2e}'}  ETA {eta}"
        )
        self.stream.write("\r" + line.ljust(self.line_length))
        self.stream.flush()
        self.line_length = len(line)
        return False

    def close(self):
        """Erase the bar."""
        if self.enabled and self.line_length:
            self.stream.write("\r" + " " * self.line_length + "\r")
            self.stream.flush()


def show_warning(message, category, filename, lineno, file=None, line=None):
    """A :func:`warnings.showwarning` that prints ``fastnmf: warning: ...`` on stderr."""
    print(f"fastnmf: warning: {message}", file=sys.stderr)


def on_terminal(quiet):
    """Whether to draw the progress bar: not ``--quiet`` and both outputs are a terminal."""
    return not quiet and sys.stderr.isatty() and sys.stdout.isatty()
