"""The exception tree. Every error this package raises on purpose is a ``ReminderError``.

::

    ReminderError
    ├── ConfigurationError      a setting is missing or malformed
    ├── DatabaseError           PostgreSQL refused or could not be reached
    │   ├── MigrationError      a migration file failed or the history does not match
    │   ├── SchemaMissingError  a table or function is missing: run `reminders migrate`
    │   ├── DatabasePermissionError  the role lacks a grant
    │   ├── DatabaseUnavailableError  the connection failed or the server went away
    │   ├── ConstraintViolationError  a unique key, foreign key or check refused a write
    │   └── EmbeddedDatabaseError  the embedded PostgreSQL could not be started
    ├── LockError               the advisory lock behaved unexpectedly
    │   ├── LockLostError       the lock stopped being ours while the run was working
    │   └── TransactionPoolerError  a session lock was asked for through a transaction pooler
    ├── RunRowDeletedError      the run's row in the execution log was deleted while it ran
    ├── AuthError               a bearer token is missing, malformed or expired (HTTP 401)
    │   ├── PermissionDeniedError   the token is fine but may not do this (HTTP 403)
    │   └── SignInRequiredError     a browser without an /ops session (HTTP 303 to sign in)
    ├── SigningKeysUnavailableError  the project's JWKS could not be fetched (HTTP 503)
    ├── InputError              a value given by a user is not acceptable (HTTP 422)
    ├── ItemsRejectedError      items of an all-or-nothing batch were refused; nothing written
    ├── NotFoundError           an id names nothing that exists (HTTP 404)
    └── DeliveryError           a channel could not deliver a message (``permanent``: no retry)

Driver errors become ``DatabaseError`` and its subclasses in one place, ``gateway.py``.
The class docstring is the default message, so ``raise LockLostError()`` says something useful.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple


class ReminderError(Exception):
    """Something went wrong in assignment-reminders."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip().splitlines()[0])

    @property
    def message(self) -> str:
        return str(self.args[0])


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (driver errors run on), or its type's name."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class ConfigurationError(ReminderError):
    """A setting is missing or malformed."""


class DatabaseError(ReminderError):
    """The database refused the operation or could not be reached."""


class MigrationError(DatabaseError):
    """A migration could not be applied."""


class SchemaMissingError(DatabaseError):
    """The database lacks a table or function this needs: run `reminders migrate`."""

    def __init__(self, message: str | None = None, *, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


class DatabasePermissionError(DatabaseError):
    """The database role may not do this (a grant is missing, or the wrong role)."""


class DatabaseUnavailableError(DatabaseError):
    """The database connection failed or the server went away."""


class ConstraintViolationError(DatabaseError):
    """A database constraint refused the write."""

    def __init__(self, message: str | None = None, *, constraint: str | None = None) -> None:
        super().__init__(message)
        self.constraint = constraint


class EmbeddedDatabaseError(DatabaseError):
    """The embedded PostgreSQL could not be started."""


class LockError(ReminderError):
    """The advisory lock behaved unexpectedly."""


class LockLostError(LockError):
    """The advisory lock is no longer held by this run."""


class TransactionPoolerError(LockError):
    """The lock connection is transaction-pooled: a session-level lock is not safe on it."""

    def __init__(self, message: str | None = None, *, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason


class RunRowDeletedError(ReminderError):
    """The run's row in the execution log was deleted while the run was going."""

    def __init__(self, run_id: int) -> None:
        super().__init__(
            f"run {run_id}'s row in cron_execution_logs was deleted while the run was going"
            " (by hand: retention deletes no running row), so nothing can record this run, and"
            " it stopped. The reminders it committed stay in the ledger, without a run id, and"
            " the next run does the rest"
        )


class AuthError(ReminderError):
    """The bearer token is missing, malformed or not allowed here."""


class PermissionDeniedError(AuthError):
    """The caller is authenticated but not allowed to do this."""


class SignInRequiredError(AuthError):
    """A browser asked for /ops without a session: it is sent to the sign-in page."""

    def __init__(self, message: str | None = None, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


class SigningKeysUnavailableError(ReminderError):
    """The project's signing keys (JWKS) could not be fetched; tokens cannot be checked now."""


class InputError(ReminderError):
    """A value given by the user is not acceptable."""

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class FieldRejection(NamedTuple):
    """One refused item of a batch: which field, why, and the status it alone would get."""

    field: str
    message: str
    status: int


class ItemsRejectedError(ReminderError):
    """Some items of the batch were refused, so nothing was written."""

    def __init__(self, rejections: Sequence[FieldRejection], *, status: int = 422) -> None:
        super().__init__(None)
        self.rejections = list(rejections)
        self.status = status


class NotFoundError(ReminderError):
    """No such record."""

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class DeliveryError(ReminderError):
    """A channel could not deliver a message."""

    def __init__(self, message: str | None = None, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
