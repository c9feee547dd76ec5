"""A ROS-free reader of the part of the ROS 2 launch XML format that hearth's launch files use.

Where ROS 2 is installed, ``ros2 launch`` runs the same files; this module exists so that
machines without ROS (CI, the PyPI-wheels set-up) can run them too, through
:mod:`hearth_tools.launch_runner`. It understands:

* ``<launch>``, ``<arg name default description>``, ``<let name value>``,
  ``<include file>`` with ``<arg name value>`` children, ``<group scoped>`` and
  ``<push_ros_namespace namespace>`` (also spelled ``push-ros-namespace``);
* ``<node pkg exec name namespace output args>`` with ``<param from>`` (a params file),
  ``<param name value>`` and ``<remap from to>`` children;
* ``if`` / ``unless`` on every action (values ``true``/``false``/``1``/``0``, any case);
* substitutions ``$(var NAME)``, ``$(find-pkg-share PKG)``, ``$(env NAME [DEFAULT])`` and
  ``$(dirname)``, nested and quoted as in ROS (``$(env X '$(dirname)/a b')``).

Anything else (a tag, an attribute or a substitution it does not know) is an error naming the
file and line, never silently ignored. Semantics follow ``ros2 launch``: launch arguments given
by the caller or an including file win over an ``<arg>`` default, and an included file sees the
including file's arguments. Unlike ``ros2 launch``, a ``<let>`` or ``<push_ros_namespace>``
inside an included file does not leak back into the file that included it (hearth's files
never rely on that); a relative ``<include file>`` is refused, use ``$(dirname)/...``.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from xml.parsers import expat

__all__ = [
    "LaunchArgument",
    "LaunchError",
    "NodeSpec",
    "find_package_prefix",
    "find_package_share",
    "parse_launch_file",
]


class LaunchError(Exception):
    """A launch file cannot be read; the message names the file and line."""


@dataclass
class NodeSpec:
    """One ``<node>`` of a launch file, every substitution resolved."""

    package: str
    executable: str
    name: str | None = None
    namespace: str | None = None  # absolute ("/robot"), or None for the root namespace
    params_files: list[str] = field(default_factory=list)
    inline_params: dict[str, str] = field(default_factory=dict)
    remaps: list[tuple[str, str]] = field(default_factory=list)
    extra_args: list[str] = field(default_factory=list)
    output: str | None = None
    source: str = ""  # "file:line" of the <node> tag, for error messages


@dataclass(frozen=True)
class LaunchArgument:
    """A declared ``<arg>``: its raw (unsubstituted) default, or None when it is required."""

    name: str
    default: str | None
    description: str
    source: str


# --------------------------------------------------------------------------- packages


def _prefixes() -> list[Path]:
    return [Path(p) for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]


def find_package_prefix(package: str) -> Path:
    """The install prefix holding ``package`` in the ament index (first in AMENT_PREFIX_PATH)."""
    for prefix in _prefixes():
        if (prefix / "share/ament_index/resource_index/packages" / package).is_file():
            return prefix
    raise LaunchError(
        f"package '{package}' not found in AMENT_PREFIX_PATH "
        f"({os.environ.get('AMENT_PREFIX_PATH', '<unset>')}); is the workspace built and sourced?"
    )


def find_package_share(package: str) -> Path:
    """``<prefix>/share/<package>``, as ``$(find-pkg-share package)`` gives it."""
    return find_package_prefix(package) / "share" / package


# --------------------------------------------------------------------------- XML with lines


@dataclass
class _Element:
    tag: str
    attrs: dict[str, str]
    line: int
    children: list[_Element] = field(default_factory=list)


def _read_xml(path: Path) -> _Element:
    """Parse ``path`` into elements that remember their line (ElementTree forgets it)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LaunchError(f"cannot read launch file {path}: {exc.strerror}") from exc
    parser = expat.ParserCreate()
    stack: list[_Element] = []
    roots: list[_Element] = []

    def start(tag: str, attrs: dict[str, str]) -> None:
        el = _Element(tag, attrs, parser.CurrentLineNumber)
        (stack[-1].children if stack else roots).append(el)
        stack.append(el)

    parser.StartElementHandler = start
    parser.EndElementHandler = lambda tag: stack.pop()
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise LaunchError(
            f"{path}:{exc.lineno}: malformed XML: {expat.errors.messages[exc.code]}"
        ) from exc
    root = roots[0]
    if root.tag != "launch":
        raise LaunchError(
            f"{path}:{root.line}: the root element must be <launch>, not <{root.tag}>"
        )
    return root


# --------------------------------------------------------------------------- parsing


@dataclass
class _Scope:
    configs: dict[str, str]  # launch configurations ("var"s)
    namespace: str = ""  # pushed ROS namespace, "" or "/a/b"

    def child(self) -> _Scope:
        return _Scope(dict(self.configs), self.namespace)


def _join_namespace(base: str, ns: str) -> str:
    ns = ns.strip()
    if not ns:
        return base
    if ns.startswith("/"):
        return "/" + ns.strip("/") if ns.strip("/") else ""
    return f"{base.rstrip('/')}/{ns.strip('/')}"


_SUBSTITUTIONS = ("var", "find-pkg-share", "env", "dirname")
_CONDITION_ATTRS = frozenset({"if", "unless"})


class _Shared:
    """State shared by a launch file and everything it includes."""

    def __init__(self, find_share: Callable[[str], Path], declared: dict[str, LaunchArgument]):
        self.find_share = find_share
        self.declared = declared
        self.nodes: list[NodeSpec] = []
        self.stack: list[Path] = []


class _FileParser:
    def __init__(self, path: Path, shared: _Shared):
        self.path = path
        self.shared = shared

    # ---- errors, attributes, substitutions

    def fail(self, el: _Element, message: str) -> LaunchError:
        return LaunchError(f"{self.path}:{el.line}: <{el.tag}>: {message}")

    def attrs(
        self,
        el: _Element,
        required: tuple[str, ...] = (),
        optional: tuple[str, ...] = (),
        conditional: bool = True,
    ) -> dict[str, str]:
        allowed = set(required) | set(optional) | (_CONDITION_ATTRS if conditional else set())
        unknown = sorted(set(el.attrs) - allowed)
        if unknown:
            listed = ", ".join(sorted(allowed)) or "none"
            raise self.fail(el, f"unknown attribute '{unknown[0]}' (allowed: {listed})")
        for name in required:
            if name not in el.attrs:
                raise self.fail(el, f"missing required attribute '{name}'")
        return el.attrs

    def expand(self, text: str, el: _Element, scope: _Scope) -> str:
        """``text`` with every ``$(...)`` substitution replaced."""
        out, i = [], 0
        while True:
            j = text.find("$(", i)
            if j < 0:
                out.append(text[i:])
                return "".join(out)
            out.append(text[i:j])
            value, i = self._call(text, j + 2, el, scope)
            out.append(value)

    def _call(self, text: str, i: int, el: _Element, scope: _Scope) -> tuple[str, int]:
        """Evaluate the substitution whose body starts at ``text[i]``; returns (value, end)."""
        words: list[str] = []
        word: str | None = None
        quote = None
        while i < len(text):
            c = text[i]
            if text.startswith("$(", i):
                value, i = self._call(text, i + 2, el, scope)
                word = (word or "") + value
                continue
            if quote:
                if c == quote:
                    quote = None
                else:
                    word += c
            elif c in "'\"":
                quote, word = c, word or ""
            elif c == ")":
                if word is not None:
                    words.append(word)
                return self._apply(words, el, scope), i + 1
            elif c.isspace():
                if word is not None:
                    words.append(word)
                word = None
            else:
                word = (word or "") + c
            i += 1
        raise self.fail(el, f"unterminated substitution in '{text}'")

    def _apply(self, words: list[str], el: _Element, scope: _Scope) -> str:
        if not words:
            raise self.fail(el, "empty substitution '$()'")
        kind, args = words[0], words[1:]
        if kind not in _SUBSTITUTIONS:
            raise self.fail(
                el, f"unknown substitution '$({kind} ...)' (supported: {', '.join(_SUBSTITUTIONS)})"
            )
        arity = {"var": (1, 1), "find-pkg-share": (1, 1), "env": (1, 2), "dirname": (0, 0)}[kind]
        if not arity[0] <= len(args) <= arity[1]:
            raise self.fail(el, f"$({kind}) takes {arity[0]}..{arity[1]} arguments, got {args}")
        if kind == "var":
            if args[0] not in scope.configs:
                known = ", ".join(sorted(scope.configs)) or "none"
                raise self.fail(el, f"undefined launch argument '{args[0]}' (defined: {known})")
            return scope.configs[args[0]]
        if kind == "find-pkg-share":
            try:
                return str(self.shared.find_share(args[0]))
            except LaunchError as exc:
                raise self.fail(el, str(exc)) from None
        if kind == "env":
            value = os.environ.get(args[0])
            if value is None and len(args) == 1:
                raise self.fail(el, f"environment variable '{args[0]}' is not set")
            return value if value is not None else args[1]
        return str(self.path.parent)  # dirname

    def enabled(self, el: _Element, scope: _Scope) -> bool:
        if "if" in el.attrs and "unless" in el.attrs:
            raise self.fail(el, "use either 'if' or 'unless', not both")
        for attr, want in (("if", True), ("unless", False)):
            if attr in el.attrs:
                value = self.expand(el.attrs[attr], el, scope).strip().lower()
                if value not in ("true", "1", "false", "0"):
                    raise self.fail(el, f"{attr}=\"{value}\" must be true, false, 1 or 0")
                return (value in ("true", "1")) == want
        return True

    # ---- actions

    def parse(self, scope: _Scope) -> None:
        root = _read_xml(self.path)
        self.attrs(root, conditional=False)
        self.children(root, scope)

    def children(self, parent: _Element, scope: _Scope) -> None:
        handlers = {
            "arg": self.arg,
            "let": self.let,
            "include": self.include,
            "group": self.group,
            "push_ros_namespace": self.push_ros_namespace,
            "push-ros-namespace": self.push_ros_namespace,
            "node": self.node,
        }
        for el in parent.children:
            handler = handlers.get(el.tag)
            if handler is None:
                raise self.fail(
                    el, f"unknown or misplaced tag (supported here: {', '.join(handlers)})"
                )
            if self.enabled(el, scope):
                handler(el, scope)

    def _no_children(self, el: _Element) -> None:
        if el.children:
            raise self.fail(el.children[0], f"unexpected tag inside <{el.tag}>")

    def arg(self, el: _Element, scope: _Scope) -> None:
        a = self.attrs(el, ("name",), ("default", "description"))
        self._no_children(el)
        name = a["name"]
        self.shared.declared.setdefault(
            name,
            LaunchArgument(name, a.get("default"), a.get("description", ""),
                           f"{self.path}:{el.line}"),
        )
        if name in scope.configs:
            return
        if "default" not in a:
            raise self.fail(el, f"required launch argument '{name}' not given ({name}:=VALUE)")
        scope.configs[name] = self.expand(a["default"], el, scope)

    def let(self, el: _Element, scope: _Scope) -> None:
        a = self.attrs(el, ("name", "value"))
        self._no_children(el)
        scope.configs[a["name"]] = self.expand(a["value"], el, scope)

    def group(self, el: _Element, scope: _Scope) -> None:
        a = self.attrs(el, (), ("scoped",))
        scoped = self.expand(a.get("scoped", "true"), el, scope).strip().lower()
        if scoped not in ("true", "false"):
            raise self.fail(el, f"scoped=\"{scoped}\" must be true or false")
        self.children(el, scope.child() if scoped == "true" else scope)

    def push_ros_namespace(self, el: _Element, scope: _Scope) -> None:
        a = self.attrs(el, ("namespace",))
        self._no_children(el)
        scope.namespace = _join_namespace(scope.namespace, self.expand(a["namespace"], el, scope))

    def include(self, el: _Element, scope: _Scope) -> None:
        a = self.attrs(el, ("file",))
        inner = scope.child()
        for sub in el.children:
            if sub.tag != "arg":
                raise self.fail(sub, "only <arg name value> may appear inside <include>")
            sa = self.attrs(sub, ("name", "value"), conditional=False)
            self._no_children(sub)
            inner.configs[sa["name"]] = self.expand(sa["value"], sub, scope)
        file = Path(self.expand(a["file"], el, scope))
        if not file.is_absolute():
            raise self.fail(el, f"relative include '{file}': write $(dirname)/{file} instead")
        if not file.is_file():
            raise self.fail(el, f"included launch file not found: {file}")
        if file.resolve() in self.shared.stack:
            raise self.fail(el, f"include cycle: {file} includes itself")
        self.shared.stack.append(file.resolve())
        try:
            _FileParser(file, self.shared).parse(inner)
        finally:
            self.shared.stack.pop()

    def node(self, el: _Element, scope: _Scope) -> None:
        a = self.attrs(el, ("pkg", "exec"), ("name", "namespace", "output", "args"))

        def get(key: str) -> str | None:
            return self.expand(a[key], el, scope) if key in a else None

        ns = _join_namespace(scope.namespace, get("namespace") or "")
        spec = NodeSpec(
            package=get("pkg") or "",
            executable=get("exec") or "",
            name=get("name"),
            namespace=ns or None,
            extra_args=shlex.split(get("args") or ""),
            output=get("output"),
            source=f"{self.path}:{el.line}",
        )
        for sub in el.children:
            if sub.tag == "param" and "from" in sub.attrs:
                sa = self.attrs(sub, ("from",), conditional=False)
                spec.params_files.append(self.expand(sa["from"], sub, scope))
            elif sub.tag == "param":
                sa = self.attrs(sub, ("name", "value"), conditional=False)
                spec.inline_params[sa["name"]] = self.expand(sa["value"], sub, scope)
            elif sub.tag == "remap":
                sa = self.attrs(sub, ("from", "to"), conditional=False)
                spec.remaps.append(
                    (self.expand(sa["from"], sub, scope), self.expand(sa["to"], sub, scope))
                )
            else:
                raise self.fail(sub, "only <param> and <remap> may appear inside <node>")
            self._no_children(sub)
        self.shared.nodes.append(spec)


def parse_launch_file(
    path: str | os.PathLike[str],
    args: Mapping[str, str] | None = None,
    *,
    package_share: Callable[[str], Path] = find_package_share,
    declared: dict[str, LaunchArgument] | None = None,
) -> list[NodeSpec]:
    """The nodes ``path`` starts given launch arguments ``args`` (``name:=value`` pairs).

    ``package_share`` resolves ``$(find-pkg-share ...)`` (the ament index by default; tests
    map packages to their source folders). ``declared``, when given, is filled with every
    ``<arg>`` met, in the file and the files it includes.
    """
    file = Path(path).absolute()
    shared = _Shared(package_share, declared if declared is not None else {})
    shared.stack.append(file.resolve())
    _FileParser(file, shared).parse(_Scope(dict(args or {})))
    return shared.nodes
