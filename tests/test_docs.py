"""The docs: a README a newcomer reads in minutes, and a site (mkdocs.yml, docs/) that builds offline in
strict mode, with no broken link or anchor and every hubctl command in the CLI reference generated from
hubctl's own parser (docs/hooks.py). Each check is also shown to fail on a synthetic page that breaks it."""
import html
import importlib.util
import logging
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
README_MAX_LINES = 250

os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")  # mkdocs-material's end-of-life banner, printed on import


def _hooks():
    spec = importlib.util.spec_from_file_location("genai_hub_docs_hooks", ROOT / "docs" / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_site(site_dir: Path, **overrides) -> None:
    """`mkdocs build --strict` of mkdocs.yml (overrides as on the command line); raises on any warning."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    config = load_config(config_file=str(ROOT / "mkdocs.yml"), site_dir=str(site_dir), strict=True, **overrides)
    build(config)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    build_site(out)
    return out


# --- README: short, and every relative link resolves -------------------------------------------------------

_FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
_INLINE = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.M)
_HTML = re.compile(r"""<(?:img|a)\b[^>]*?\b(?:src|href)=["']([^"']+)["']""", re.I)


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lowercase, punctuation dropped, spaces to '-'."""
    text = re.sub(r"[`*_~]|\[([^\]]*)\]\([^)]*\)", lambda m: m.group(1) or "", heading.strip()).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors_of(markdown: str) -> set[str]:
    slugs, seen = set(), {}
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", _FENCE.sub("", markdown), re.M):
        slug = github_slug(heading)
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        slugs.add(slug if n == 0 else f"{slug}-{n}")
    return slugs


def broken_links(page: Path) -> list[str]:
    """Relative links of a Markdown page whose file, or whose #anchor in a Markdown file, does not exist."""
    text = page.read_text()
    prose = _FENCE.sub("", text)
    targets = _INLINE.findall(prose) + _REFERENCE.findall(prose) + _HTML.findall(prose)
    broken = []
    for target in targets:
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # http:, https:, mailto: ...: not checked here
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target}: no such file")
        elif anchor and file.suffix == ".md" and anchor not in anchors_of(file.read_text()):
            broken.append(f"{target}: no heading with that anchor")
    return broken


def test_the_readme_is_short():
    lines = README.read_text().splitlines()
    assert len(lines) < README_MAX_LINES, f"README.md has {len(lines)} lines: move details into docs/"


def test_every_relative_link_of_the_readme_resolves():
    assert broken_links(README) == []


def test_every_file_the_readme_names_exists():
    # The quickstart is followed literally: the sample files and make targets it names must exist.
    text = README.read_text()
    named = set(re.findall(r"\b((?:events|docs|examples|spokes|hubsim|requirements)/[\w./-]*\w)", text))
    assert named, "the README names no project file"
    assert sorted(p for p in named if not (ROOT / p).exists()) == []
    makefile = (ROOT / "Makefile").read_text()
    for target in set(re.findall(r"\bmake (\w+)", text)):
        assert re.search(rf"^{target}:", makefile, re.M), f"README: make {target} is not a Makefile target"


def test_the_readme_link_check_finds_broken_links(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "guide.md").write_text("# Guide\n\n## Calling your models (tenants)\n")
    page = tmp_path / "README.md"
    page.write_text(
        "# Title\n\n## Two commands\n\n"
        "[ok](docs/guide.md) [ok anchor](docs/guide.md#calling-your-models-tenants) [ok here](#two-commands)\n"
        "[external](https://example.com/missing) [mail](mailto:someone@example.com)\n"
        "[gone](docs/missing.md) [bad anchor](docs/guide.md#no-such-section) [bad here](#nowhere)\n"
        '<img src="docs/arch.svg">\n\n'
        "[ref]: docs/also-missing.md\n\n"
        "```\n[in a code block](not/checked.md)\n```\n")
    assert broken_links(page) == [
        "docs/missing.md: no such file",
        "docs/guide.md#no-such-section: no heading with that anchor",
        "#nowhere: no heading with that anchor",
        "docs/also-missing.md: no such file",
        "docs/arch.svg: no such file",
    ]


# --- the site ------------------------------------------------------------------------------------------------

def test_the_site_builds_in_strict_mode(site):
    # The fixture's build raised on any warning: a broken link or anchor, a page missing from the nav.
    pages = {p.relative_to(site).parent.as_posix() for p in site.rglob("index.html")}
    for doc in (ROOT / "docs").rglob("*.md"):
        name = doc.relative_to(ROOT / "docs").with_suffix("").as_posix()
        assert (name if name != "index" else ".") in pages, f"docs/{doc.name} was not built"


@pytest.mark.parametrize("breakage", [
    "[gone](missing.md)",
    "[bad anchor](other.md#no-such-section)",
    "[bad anchor here](#nowhere)",
])
def test_the_strict_build_fails_on_a_broken_link(tmp_path, caplog, breakage):
    from mkdocs.exceptions import Abort

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "other.md").write_text("# Other\n\n## A section\n")
    nav = ["index.md", "other.md"]
    (docs / "index.md").write_text("# Home\n\n[fine](other.md#a-section)\n")
    build_site(tmp_path / "ok", docs_dir=str(docs), nav=nav)  # the synthetic site builds...

    (docs / "index.md").write_text(f"# Home\n\n[fine](other.md#a-section) {breakage}\n")
    with caplog.at_level(logging.WARNING, logger="mkdocs"), pytest.raises(Abort):
        build_site(tmp_path / "broken", docs_dir=str(docs), nav=nav)  # ...until one link breaks
    target = re.search(r"\(([^)]+)\)", breakage).group(1)
    assert target.lstrip("#").split("#")[-1] in caplog.text


# --- the CLI reference -----------------------------------------------------------------------------------------

def test_every_hubctl_command_is_in_the_generated_cli_reference(site):
    hooks = _hooks()
    commands = list(hooks.commands())
    names = {" ".join(path) for path, _, _ in commands}
    # The walk really found hubctl's parser (what README and the guides rely on).
    assert {"demo", "local up", "onboard", "tenants show", "retire", "budget run", "audit verify"} <= names

    page = (site / "cli" / "index.html").read_text()
    assert hooks.MARKER not in page
    for path, parser, help_ in commands:
        command = f"hubctl {' '.join(path)}"
        assert help_, f"{command} has no help text: argparse help= or description="
        assert f'id="{hooks.slug(path)}"' in page, f"{command} is not in the generated CLI reference"
        for action in parser._actions:
            for option in action.option_strings:
                assert html.escape(option) in page, f"{command} {option} is not in the CLI reference"


def test_the_parser_is_found_without_knowing_its_builder():
    # hubctl/cli.py may be reorganised (one module per command group): when no builder function of a
    # known name is left, the parser main() builds is used. Both ways must see the same commands.
    import hubctl.cli as cli

    hooks = _hooks()
    from_main = hooks._from_main(cli)
    assert from_main is not None
    assert [p for p, _, _ in hooks.commands(from_main)] == [p for p, _, _ in hooks.commands()]


def test_the_reference_follows_the_parser():
    # A command added to the parser appears in the reference without editing any page.
    import argparse

    hooks = _hooks()
    parser = argparse.ArgumentParser(prog="hubctl")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("research", help="research team helpers").add_subparsers(dest="action").add_parser(
        "drop", help="check and upload a model folder").add_argument("--model")
    text = hooks.reference_markdown(parser)
    assert "### hubctl research drop" in text and "--model" in text
    assert [" ".join(p) for p, _, _ in hooks.commands(parser)] == ["research", "research drop"]
