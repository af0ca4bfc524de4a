"""The domain errors of OneMap; the API maps each to an HTTP status, the CLI to a message."""

SHOWN_CHARACTERS = 40


def shown(text: str, quoted: bool = True) -> str:
    """``text`` for a message, cut short: an error repeats what was asked, not all of it.

    Quoted (``repr``) unless ``quoted`` is False (a number). A 20,000-character collection
    name came back whole in its 404.
    """
    cut = text[:SHOWN_CHARACTERS]
    part = repr(cut) if quoted else cut
    return part if len(text) <= SHOWN_CHARACTERS else f"{part}… ({len(text):,} characters)"


class OneMapError(Exception):
    """Base of every error OneMap reports to a user in words rather than as a crash."""


class NotFound(OneMapError):
    """A layer, feature or other named thing does not exist."""


class InvalidInput(OneMapError):
    """A parameter or a file that cannot be used as given."""


class DatabaseUnavailable(OneMapError):
    """The database cannot be reached or lacks what OneMap needs (such as PostGIS)."""


class QueryTimeout(OneMapError):
    """A query ran past the statement timeout."""


class Unauthorized(OneMapError):
    """Credentials were given and are not valid."""


class Forbidden(OneMapError):
    """The caller is known and may not do this."""


class PreconditionFailed(OneMapError):
    """An edit named a version of a feature (``If-Match``) that is no longer current."""


class TooLarge(OneMapError):
    """A request body above the configured limit."""


class TooSlow(OneMapError):
    """A request whose body came too slowly (a client holding a connection open)."""


class UnsupportedMediaType(OneMapError):
    """A request body of a type the route does not read (a feature sent as text/plain)."""
