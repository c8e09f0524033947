"""The `@command` decorator: an application method that decides and saves becomes a
command that its application runs, and that returns the command's Outcome.

The method's body loads aggregates, lets them decide and hands them to `self._save`; how
and when that is stored, and so where the store got to, is the application's business
(application/command_application.py). `app.follow(...)` runs the command and waits for
its Outcome; `app.submit(app.follow, ...)` hands it over without waiting.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Concatenate, Generic, ParamSpec, TypeVar, overload

from application.outcome import Outcome

if TYPE_CHECKING:
    from application.command_application import CommandApplication

App = TypeVar("App", bound="CommandApplication")
P = ParamSpec("P")


class command(Generic[App, P]):  # lower case: a decorator, like `property`
    """Marks a method as a command: reached through an application, it is a BoundCommand."""

    def __init__(self, body: Callable[Concatenate[App, P], None]) -> None:
        self._body = body
        self.__doc__, self.__wrapped__ = body.__doc__, body

    @overload
    def __get__(self, app: None, owner: type[App]) -> command[App, P]: ...

    @overload
    def __get__(self, app: App, owner: type[App]) -> BoundCommand[App, P]: ...

    def __get__(self, app: App | None, owner: type[App]) -> command[App, P] | BoundCommand[App, P]:
        return self if app is None else BoundCommand(app, self._body)


class BoundCommand(Generic[App, P]):
    """A command of one application, as `app.follow` names it."""

    __slots__ = ("_app", "_body")

    def __init__(self, app: App, body: Callable[Concatenate[App, P], None]) -> None:
        self._app = app
        self._body = body

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Outcome:
        """Runs the command and waits for its Outcome."""
        return self._app._execute(self.bind(*args, **kwargs))

    def bind(self, *args: P.args, **kwargs: P.kwargs) -> Callable[[], None]:
        """The body with these arguments, for the application to run."""
        return functools.partial(self._body, self._app, *args, **kwargs)

    def __repr__(self) -> str:
        return f"<command {self._body.__qualname__} of {self._app!r}>"
