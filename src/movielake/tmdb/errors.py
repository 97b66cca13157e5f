"""How a TMDB run stops: the errors the CLI and the Lambdas tell apart."""

from __future__ import annotations


class RunError(RuntimeError):
    """The run cannot go on or does not add up; the message says which batch or id."""


class RunStoppedError(RunError):
    """The run stopped before doing harm, for a reason the user can act on; rerunning resumes."""


class TmdbUnreachableError(RunStoppedError):
    """No id of a whole batch got TMDB's answer (a movie body or TMDB's 404): TMDB or the
    network is down, or something else answers in its place."""


class PlanMismatchError(RunStoppedError):
    """The date's unfinished plan was made with other filters than this run asks for."""
