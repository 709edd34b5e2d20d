"""The errors a user can cause, each a ``ValueError`` that names what was received and expected.

Entry points catch :class:`UserInputError` and print its message without a traceback; anything
else is a bug and keeps its traceback.
"""


class UserInputError(ValueError):
    """Input from the user (a flag, a file, a folder) that cannot be used as given."""


class ConfigError(UserInputError):
    """A preset, flag or config field value that cannot be used."""


class DataError(UserInputError):
    """A dataset file or folder that is missing, empty or in an unexpected layout."""


class DataNotFoundError(DataError):
    """No source (local folder, online, bundled) could provide the requested dataset."""


class ModelFileError(UserInputError):
    """A file that was expected to be a saved Keras model (of the right kind) but is not."""
