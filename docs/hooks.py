"""MkDocs hook (mkdocs.yml `hooks:`): the CLI reference, generated from hubctl's own argparse parser.

docs/cli.md holds the hand-written part and the marker below; at build time the marker is replaced by
one section per command and subcommand (`hubctl tenants list`, ...) with its help as argparse prints it.
So the reference follows hubctl/cli.py without anyone regenerating a file. Offline, no plugin to install.
tests/test_docs.py imports this module for `hubctl_parser()` and `commands()`.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
MARKER = "<!-- hubctl-reference -->"
WIDTH = "80"  # argparse wraps help to $COLUMNS: fixed, so the page is the same on every machine

# Names a parser-building function of hubctl.cli may have; when none is found (the module was reorganised),
# the parser is taken from `main(["--help"])` as it is built.
BUILDERS = ("_parser", "build_parser", "make_parser", "get_parser", "create_parser", "parser")


def _subparsers(parser: argparse.ArgumentParser) -> list[argparse._SubParsersAction]:
    return [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]


def _count(parser: argparse.ArgumentParser) -> int:
    return sum(1 + _count(p) for action in _subparsers(parser) for p in action.choices.values())


def _from_builder(cli) -> argparse.ArgumentParser | None:
    for name in BUILDERS:
        build = getattr(cli, name, None)
        if isinstance(build, argparse.ArgumentParser):
            return build
        if callable(build) and not isinstance(build, type):
            try:
                parser = build()
            except TypeError:  # needs arguments: not a plain builder
                continue
            if isinstance(parser, argparse.ArgumentParser) and _subparsers(parser):
                return parser
    return None


def _from_main(cli) -> argparse.ArgumentParser | None:
    """Every parser `main(["--help"])` creates, recorded; the one with the most commands is hubctl's."""
    created: list[argparse.ArgumentParser] = []
    init = argparse.ArgumentParser.__init__

    def record(self, *args, **kwargs):
        init(self, *args, **kwargs)
        created.append(self)

    with mock.patch.object(argparse.ArgumentParser, "__init__", record), \
            contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            cli.main(["--help"])
        except SystemExit:
            pass
    return max(created, key=_count, default=None)


def hubctl_parser() -> argparse.ArgumentParser:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import hubctl.cli as cli

    parser = _from_builder(cli) or _from_main(cli)
    if parser is None or not _subparsers(parser):
        raise RuntimeError("docs/hooks.py: no argparse parser with subcommands found in hubctl.cli")
    return parser


def commands(parser: argparse.ArgumentParser | None = None, path: tuple[str, ...] = ()):
    """(path, parser, help) of every command and subcommand, depth first: (("tenants",), ...), (("tenants", "list"), ...)."""
    parser = parser or hubctl_parser()
    for action in _subparsers(parser):
        helps = {choice.dest: choice.help for choice in action._choices_actions}
        seen = set()
        for name, sub in action.choices.items():
            if id(sub) in seen:  # an alias
                continue
            seen.add(id(sub))
            yield path + (name,), sub, helps.get(name) or sub.description
            yield from commands(sub, path + (name,))


def _help(parser: argparse.ArgumentParser) -> str:
    with mock.patch.dict(os.environ, {"COLUMNS": WIDTH}):
        return parser.format_help().rstrip()


def _fence(text: str) -> str:
    return "```text\n" + text.replace("```", "` ` `") + "\n```"


def reference_markdown(parser: argparse.ArgumentParser | None = None) -> str:
    parser = parser or hubctl_parser()
    listed = list(commands(parser))
    out = ["## Every command", "",
           "Generated from hubctl's argparse parser when the site is built: what `hubctl ... --help` prints.", ""]
    for path, _, help_ in listed:
        indent = "    " * (len(path) - 1)
        out.append(f"{indent}- [`hubctl {' '.join(path)}`](#{slug(path)}): {help_ or ''}".rstrip(": "))
    out += ["", "### hubctl", "", _fence(_help(parser)), ""]
    for path, sub, help_ in listed:
        out += [f"### hubctl {' '.join(path)}", ""]
        if help_:
            out += [help_[0].upper() + help_[1:] + ("" if help_.endswith(".") else "."), ""]
        out += [_fence(_help(sub)), ""]
    return "\n".join(out)


def slug(path: tuple[str, ...]) -> str:
    """The id MkDocs gives the heading `hubctl <path>` (lowercase, words joined by '-')."""
    return "-".join(("hubctl",) + tuple(p.lower() for p in path))


def on_page_markdown(markdown: str, page, config, files) -> str:  # MkDocs event
    if MARKER in markdown:
        return markdown.replace(MARKER, reference_markdown())
    return markdown
