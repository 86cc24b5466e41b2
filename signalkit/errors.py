"""One exception hierarchy for errors a user can cause.

The CLI turns a :class:`SignalkitError` into one line on stderr and exit code 2; anything
else is an internal error (exit code 1). Every message names the file or config key at fault.
"""

from __future__ import annotations


class SignalkitError(Exception):
    """Base class of every error signalkit raises on purpose."""

    exit_code = 2


class InputError(SignalkitError):
    """A data file is missing, unreadable, truncated or holds values we cannot use (NaN, ...)."""


class ConfigError(SignalkitError):
    """A configuration key is unknown, missing or has an invalid value."""


class StoreError(SignalkitError):
    """A zarr store is missing, was built with another schema or config, or is corrupted."""


class ModelError(SignalkitError):
    """A model, checkpoint or pretrained folder cannot be built or loaded."""


class KernelError(SignalkitError, ValueError):
    """A kernel was called with inputs of the wrong shape, dtype or device."""
