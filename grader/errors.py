"""Errors the grader raises on purpose, each with a message meant for the person at the terminal.

    GraderError
    ├── SpecError          a problem or assignment in problems/ is malformed
    ├── AssignmentError    an unknown assignment or problem id was asked for
    ├── SubmissionError    a submission file cannot be read (missing, too large, bad notebook)
    ├── IsolationError     the required isolation is not available on this machine
    └── ReplayError        a replay command names a case that does not exist
"""


class GraderError(Exception):
    """Base class: the CLI prints these as one clear line, without a traceback."""


class SpecError(GraderError):
    pass


class AssignmentError(GraderError):
    pass


class SubmissionError(GraderError):
    pass


class IsolationError(GraderError):
    pass


class ReplayError(GraderError):
    pass
