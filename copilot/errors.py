"""Errors a user can act on. The CLI prints them as one line and exits non-zero; everything else is our bug."""


class UserError(Exception):
    """A problem with the user's input, configuration or environment; the message names the input and the fix."""
