"""One row of the settings table: a setting's name, where it is given, its environment variables, parser,
default and meaning. The option groups declare theirs on their fields (:func:`option`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from llmotel.config.validation import Parser


def env_name(setting: str) -> str:
    """The ``LLMOTEL_*`` variable for a setting."""
    return "LLMOTEL_" + setting.upper()


@dataclass(frozen=True)
class Setting:
    """A setting: ``name`` is its :class:`~llmotel.config.Settings` field (and ``LLMOTEL_<NAME>``)."""

    name: str
    #: reads and checks its values; None for an ``enable()`` argument ``resolve()`` does not handle
    parser: Parser | None
    #: the value when nothing sets it (None also where the default is derived from other settings)
    default: Any
    #: what it means (one line of the README's table)
    doc: str
    #: standard variables read after ``LLMOTEL_<NAME>``, in order
    env: tuple[str, ...] = ()
    #: how the default reads in the README, when not the value itself
    default_doc: str = ""
    #: whether ``LLMOTEL_<NAME>`` is read (False for objects, which only an argument can give)
    llmotel_env: bool = True
    #: variables the OpenTelemetry SDK itself reads for it (documented; not read by llmotel)
    sdk_env: tuple[str, ...] = ()
    #: never shown in errors or reprs
    secret: bool = False
    #: a field of ``Settings`` (False: an ``enable()`` argument only, like ``tracer_provider``)
    stored: bool = True
    #: the ``enable()`` argument that holds it: None when the setting is an argument itself, else a group's
    group: str | None = None
    #: its field in the group (its own name when flat)
    option: str = ""

    @property
    def env_names(self) -> tuple[str, ...]:
        """Every environment variable read for it, the first one set wins."""
        return ((env_name(self.name),) if self.llmotel_env else ()) + self.env


def option(name: str, parser: Parser, default: Any, doc: str, *, env: tuple[str, ...] = (),
           default_doc: str = "", secret: bool = False) -> Any:
    """A field of an option group: None ("not given": the environment, else ``default``), and its table row."""
    row = Setting(name, parser, default, doc, env=env, default_doc=default_doc, secret=secret)
    return dataclasses.field(default=None, repr=not secret, metadata={"setting": row})
