"""Exception hierarchy: callers catch only what they can handle.

A ``UserError`` is a mistake the user can fix (bad override, invalid architecture,
missing data or key, corrupt file). The CLI turns it into one line on stderr and
exit code 2; anything else is a bug and exits 1 with a traceback.
"""


class LlmppError(Exception):
    """Base class of every error llmpp raises on purpose."""


class UserError(LlmppError):
    """A problem the user can fix; its message says what and how."""


class InvalidArchitectureError(UserError):
    """An architecture is malformed or outside its search space."""


class DataNotFoundError(UserError):
    """Required data is neither on disk nor downloadable."""


class CorruptFileError(UserError):
    """A file on disk does not match its checksum or cannot be parsed."""


class ConfigError(UserError):
    """A configuration value is missing, unknown or inconsistent."""
