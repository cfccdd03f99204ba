"""A node's settings: one frozen :class:`Settings`, read once at the edge from one table.

:data:`SETTINGS` lists every setting with its default and help; it feeds the settings file ``gsomia init``
writes, the environment overrides (``GSOMIA_<NAME>``, e.g. ``GSOMIA_DATABASE_URL``) and the docs. Values
come, lowest first, from the defaults, the node's ``gsomia.toml``, the environment, then the command line.
A bad value fails loudly, naming the setting and where the value came from.

``{node_dir}`` in a value stands for the node's directory, so a node can move without editing its file.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from .domain.ids import id_problem, shorten
from .services.errors import NodeError, SettingsError

SETTINGS_FILE = "gsomia.toml"
ENV_PREFIX = "GSOMIA_"
_ID = re.compile(r"[^\s\x00-\x1f\x7f]+")
_DATABASES = ("sqlite:///", "postgresql://", "postgresql+psycopg://", "memory:")
MAX_FILE_BYTES = 2**20  # a settings file is a few lines; anything larger is not one


def _check_party(value: str) -> str | None:
    if value and (not _ID.fullmatch(value) or id_problem(value) is not None):
        return "is not a party id; write the id as in the world file, with no spaces or control characters"
    return None


def _check_database(value: str) -> str | None:
    if not value.startswith(_DATABASES):
        return "is not a database URL; write sqlite:///PATH, postgresql://[USER@]HOST[:PORT]/DB or memory:"
    return None


def _check_size(value: str) -> str | None:
    if not (value.isascii() and value.isdigit()) or int(value) < 1 or len(value) > 15:
        return "is not a size in bytes; write a whole number of bytes such as 67108864 (64 MiB)"
    return None


@dataclass(frozen=True, slots=True)
class Setting:
    """One setting: its name, default, help, and a check returning what is wrong with a value (or None)."""

    name: str
    default: str
    help: str
    check: Callable[[str], str | None] = lambda _value: None

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "node_dir",
        ".",
        "The node's directory: its gsomia.toml, keys/ and, by default, its database. Set by --node.",
    ),
    Setting(
        "party",
        "",
        "The party this node speaks for (a party id of its world); empty until set.",
        _check_party,
    ),
    Setting(
        "database_url",
        "sqlite:///{node_dir}/node.db",
        "Where the node's records live: sqlite:///PATH (default), postgresql://HOST/DB or memory:.",
        _check_database,
    ),
    Setting(
        "max_body_bytes",
        str(64 * 1024 * 1024),
        "The largest item body the node accepts, in bytes (default 64 MiB); a larger one is refused.",
        _check_size,
    ),
)
_BY_NAME = {s.name: s for s in SETTINGS}
FILE_SETTINGS = tuple(s for s in SETTINGS if s.name != "node_dir")  # the file sits in node_dir


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a node is configured with, resolved: ``{node_dir}`` already expanded."""

    node_dir: Path
    party: str
    database_url: str
    max_body_bytes: int = 64 * 1024 * 1024

    @classmethod
    def resolve(cls, values: Mapping[str, str]) -> Settings:
        """Settings from raw ``values`` (defaults filled in); values were checked by the caller."""
        raw = {s.name: values.get(s.name, s.default) for s in SETTINGS}
        node_dir = Path(raw["node_dir"]).resolve()
        expand = {k: v.replace("{node_dir}", str(node_dir)) for k, v in raw.items()}
        return cls(
            node_dir=node_dir,
            party=expand["party"],
            database_url=expand["database_url"],
            max_body_bytes=int(expand["max_body_bytes"]),
        )

    @classmethod
    def load(
        cls,
        node_dir: str | os.PathLike[str] | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        overrides: Mapping[str, str] | None = None,
    ) -> Settings:
        """The settings of the node at ``node_dir`` (default: ``$GSOMIA_NODE_DIR``, else the cwd)."""
        env = os.environ if environ is None else environ
        node = os.fspath(node_dir) if node_dir is not None else env.get(_BY_NAME["node_dir"].env, ".")
        values = {"node_dir": node, **read_file(_settings_path(node))}
        values.update(from_environ(env))
        values.update(checked(overrides or {}, "the command line"))
        return cls.resolve(values)

    def file_values(self) -> dict[str, str]:
        """What ``gsomia init`` writes: every file setting, with the node's directory as ``{node_dir}``."""
        out = {s.name: str(getattr(self, s.name)) for s in FILE_SETTINGS}
        inside = f"sqlite:///{self.node_dir}/"
        if out["database_url"].startswith(inside):
            out["database_url"] = "sqlite:///{node_dir}/" + out["database_url"][len(inside) :]
        return out


def _settings_path(node: str) -> Path:
    """The settings file of the node directory ``node``; NodeError saying why there is no node there."""
    path = Path(node) / SETTINGS_FILE
    if os.path.exists(node) and not os.path.isdir(node):
        raise NodeError(
            f"{node} is a file, not a node directory; give the directory gsomia init made "
            f"(the one holding {SETTINGS_FILE}), or create one with: gsomia init DIR"
        )
    if not path.exists():
        raise NodeError(f"no gsomia node at {node} (no {SETTINGS_FILE}); create one with: gsomia init {node}")
    return path


def checked(values: Mapping[str, str], source: str) -> dict[str, str]:
    """``values`` after checking each against its setting; SettingsError naming the first bad one."""
    for name, value in values.items():
        setting = _BY_NAME.get(name)
        if setting is None:
            known = ", ".join(_BY_NAME)
            raise SettingsError(f"{source}: unknown setting {_shown(name)}; settings are {known}")
        if not isinstance(value, str):
            raise SettingsError(
                f"setting {name} (from {source}) must be text, in quotes; got {_shown(value)}"
            )
        problem = setting.check(value)
        if problem is not None:
            raise SettingsError(f"setting {name} (from {source}): {_shown(value)} {problem}")
    return dict(values)


def from_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """The settings the environment overrides (``GSOMIA_<NAME>``), checked."""
    found = {s.name: environ[s.env] for s in FILE_SETTINGS if s.env in environ}
    for name, value in found.items():
        checked({name: value}, _BY_NAME[name].env)
    return found


def _shown(value: object) -> str:
    """A value for an error message: its repr, cut short (a setting is never long)."""
    return shorten(repr(value))


def read_file(path: Path) -> dict[str, str]:
    """The settings in a node's ``gsomia.toml``, checked; the node's directory is not one of them."""
    raw = _read_bytes(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise SettingsError(
            f"{path}:{line}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at byte offset {exc.start}, "
            f"column {column}); save the file as UTF-8 or retype that line"
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML ({exc})") from None
    if "node_dir" in data:
        raise SettingsError(f"{path}: node_dir is the directory this file is in; it is not set inside it")
    return checked(data, str(path))


def _read_bytes(path: Path) -> bytes:
    """The settings file's bytes: a regular file only (a FIFO would block), opened non-blocking."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise SettingsError(f"{path}: not a regular file; the settings file is a text file")
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read the settings ({exc.strerror or exc})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise SettingsError(f"{path}: larger than {MAX_FILE_BYTES // 1024} KiB; this is no settings file")
    return raw


def write_file(path: Path, values: Mapping[str, str]) -> None:
    """Write a new settings file (never over an existing one), each value under its help as a comment."""
    lines = ["# gsomia node settings; each may be overridden by the environment variable named.", ""]
    for setting in FILE_SETTINGS:
        if setting.name in values:
            lines += [
                f"# {setting.help} (${setting.env})",
                f"{setting.name} = {toml_string(values[setting.name])}",
            ]
    with open(path, "x", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")


def toml_string(value: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for char in value:
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def describe_settings() -> list[dict[str, str]]:
    """The settings table as data (name, default, environment variable, help), for docs and ``--help``."""
    return [{"name": s.name, "default": s.default, "env": s.env, "help": s.help} for s in SETTINGS]
