"""The docs' generated tables: the model tables (README.md, docs/models.md) from the registry, and
the command list (docs/commands.md) from the parser. Hand-pasted tables drift; these are rewritten
between their markers by one command, and a test fails when a committed copy is stale:

    python -m convzoo.cli.docs_tables          # rewrite them (make docs)
    python -m convzoo.cli.docs_tables --check  # exit 1 and name the stale files

A generated region is the text between `<!-- generated: NAME -->` and `<!-- end generated -->`.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from pathlib import Path

from ..atomic import atomic_path
from ..models import list_models, model_info
from ..tables import markdown_table

ROOT = Path(__file__).resolve().parents[3]  # the checkout: src/convzoo/cli/ -> the repository
MARKER = re.compile(r"(<!-- generated: (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- end generated -->)", re.DOTALL)


def model_table() -> str:
    rows = []
    for name in list_models():
        info = model_info(name)
        rows.append((f"`{name}`", info.family, str(info.year), f"{info.params:,}",
                     "x".join(map(str, info.input_size)), "yes" if info.small_input_stem else "-", info.paper))
    return markdown_table(("name", "family", "year", "parameters", "input", "small-input stem", "paper"), rows)


def family_table() -> str:
    families = defaultdict(list)
    for name in list_models():
        families[model_info(name).family].append(name)
    rows = [(family, str(len(names)), ", ".join(f"`{n}`" for n in names)) for family, names in families.items()]
    total = sum(len(names) for names in families.values())
    return (f"{total} models in {len(families)} families (`convzoo models` lists them with their counts; "
            "docs/models.md has the full table):\n\n"
            + markdown_table(("family", "models", "names"), rows))


def command_table() -> str:
    from . import build_parser

    rows = []

    def walk(parser: argparse.ArgumentParser, words: list[str]) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                helps = {a.dest: a.help or "" for a in action._choices_actions}
                for name, sub in action.choices.items():
                    if name in helps:  # aliases share their command's parser and have no help line
                        rows.append((f"`convzoo {' '.join(words + [name])}`", helps[name]))
                        walk(sub, words + [name])

    walk(build_parser(), [])
    return markdown_table(("command", "what it does"), rows)


GENERATED = {"models": model_table, "families": family_table, "commands": command_table}
FILES = ("README.md", "docs/models.md", "docs/commands.md")


def render(text: str) -> str:
    """`text` with every generated region rewritten (an unknown region name is an error)."""
    def fill(match: re.Match) -> str:
        name = match["name"]
        if name not in GENERATED:
            raise KeyError(f"unknown generated region {name!r}; known: {', '.join(GENERATED)}")
        return f"{match[1]}{GENERATED[name]().rstrip()}\n{match[4]}"

    return MARKER.sub(fill, text)


def stale_files(root: Path = ROOT) -> list[str]:
    return [name for name in FILES if (path := root / name).is_file() and render(path.read_text()) != path.read_text()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m convzoo.cli.docs_tables", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say which files are stale (exit 1 if any)")
    args = parser.parse_args(argv)
    stale = stale_files()
    if args.check:
        for name in stale:
            print(f"stale: {name} (python -m convzoo.cli.docs_tables)", file=sys.stderr)
        return 1 if stale else 0
    for name in stale:
        path = ROOT / name
        text = render(path.read_text())
        with atomic_path(path) as tmp:
            Path(tmp).write_text(text)
        print(f"rewrote {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
