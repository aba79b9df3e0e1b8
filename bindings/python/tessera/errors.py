"""Exceptions: one class per tessera_status, all deriving from TesseraError.

A failing library call raises the subclass for its status, carrying the
library's own message (tessera_last_error()) as ``str(error)`` and
``error.message``, and the status code as ``error.status``. Some subclasses
also derive from the matching built-in exception, so that ordinary Python
handlers work: InvalidArgumentError is a ValueError, TesseraIOError an
OSError, UnavailableError a LookupError, OutOfMemoryError a MemoryError.
"""

from __future__ import annotations

from typing import Dict, Optional, Type

from . import _library as _c


class TesseraError(Exception):
    """An error reported by Tessera (or by this binding on its behalf)."""

    status: int = _c.ERR_INTERNAL

    def __init__(self, message: str, status: Optional[int] = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status

    @property
    def status_name(self) -> str:
        return STATUS_NAMES.get(self.status, f"status {self.status}")

    def __str__(self) -> str:
        return self.message


class InvalidArgumentError(TesseraError, ValueError):
    """TESSERA_ERR_INVALID_ARGUMENT: a bad size, option, array layout or dtype."""

    status = _c.ERR_INVALID_ARGUMENT


class TesseraIOError(TesseraError, OSError):
    """TESSERA_ERR_IO: a file could not be opened or read."""

    status = _c.ERR_IO


class FormatError(TesseraError):
    """TESSERA_ERR_FORMAT: a file is malformed or inconsistent."""

    status = _c.ERR_FORMAT


class UnsupportedError(TesseraError):
    """TESSERA_ERR_UNSUPPORTED: a valid model Tessera cannot run."""

    status = _c.ERR_UNSUPPORTED


class UnavailableError(TesseraError, LookupError):
    """TESSERA_ERR_UNAVAILABLE: an output the model or session lacks."""

    status = _c.ERR_UNAVAILABLE


class OutOfMemoryError(TesseraError, MemoryError):
    """TESSERA_ERR_OUT_OF_MEMORY: an allocation failed or a cap was hit."""

    status = _c.ERR_OUT_OF_MEMORY


class BusyError(TesseraError):
    """TESSERA_ERR_BUSY: the session is running on another thread."""

    status = _c.ERR_BUSY


class StateError(TesseraError):
    """TESSERA_ERR_STATE: e.g. an output read before any run, or a closed handle."""

    status = _c.ERR_STATE


class InternalError(TesseraError):
    """TESSERA_ERR_INTERNAL: a bug in Tessera."""

    status = _c.ERR_INTERNAL


ERRORS: Dict[int, Type[TesseraError]] = {
    cls.status: cls
    for cls in (
        InvalidArgumentError,
        TesseraIOError,
        FormatError,
        UnsupportedError,
        UnavailableError,
        OutOfMemoryError,
        BusyError,
        StateError,
        InternalError,
    )
}

STATUS_NAMES: Dict[int, str] = {
    _c.OK: "TESSERA_OK",
    _c.ERR_INVALID_ARGUMENT: "TESSERA_ERR_INVALID_ARGUMENT",
    _c.ERR_IO: "TESSERA_ERR_IO",
    _c.ERR_FORMAT: "TESSERA_ERR_FORMAT",
    _c.ERR_UNSUPPORTED: "TESSERA_ERR_UNSUPPORTED",
    _c.ERR_UNAVAILABLE: "TESSERA_ERR_UNAVAILABLE",
    _c.ERR_OUT_OF_MEMORY: "TESSERA_ERR_OUT_OF_MEMORY",
    _c.ERR_BUSY: "TESSERA_ERR_BUSY",
    _c.ERR_STATE: "TESSERA_ERR_STATE",
    _c.ERR_INTERNAL: "TESSERA_ERR_INTERNAL",
}


def error_for(status: int, message: str) -> TesseraError:
    """The exception for a status code (TesseraError for unknown codes)."""
    cls = ERRORS.get(status)
    if cls is None:
        return TesseraError(message, status)
    return cls(message, status)


def check(status: int, what: str) -> None:
    """Raises the matching exception if a library call did not return TESSERA_OK.

    Must be called on the thread that made the call, right after it: the
    library's message is thread-local and replaced by the next failure.
    """
    if status == _c.OK:
        return
    message = _c.decode(_c.lib().tessera_last_error())
    if not message:
        message = f"{what} failed with {STATUS_NAMES.get(status, f'status {status}')}"
    raise error_for(status, message)
