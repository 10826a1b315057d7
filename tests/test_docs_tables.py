"""The docs' generated tables (README.md, docs/models.md, docs/commands.md) are what the registry and
the parser say today: regenerate them with `make docs` when this fails."""

from __future__ import annotations

from convzoo.cli.docs_tables import FILES, ROOT, render, stale_files
from convzoo.models import list_models


def test_the_committed_tables_are_current():
    assert stale_files() == [], "run `make docs` (python -m convzoo.cli.docs_tables) and commit the result"


def test_a_table_that_lost_a_model_is_stale_and_rendered_back(tmp_path):
    text = (ROOT / "docs/models.md").read_text()
    name = list_models()[0]
    edited = "\n".join(line for line in text.splitlines() if not line.startswith(f"| `{name}` |")) + "\n"
    assert edited != text and render(edited) == text
    (tmp_path / "docs").mkdir()
    for file in FILES:
        (tmp_path / file).write_text((ROOT / file).read_text())
    (tmp_path / "docs/models.md").write_text(edited)
    assert stale_files(tmp_path) == ["docs/models.md"]


def test_every_registered_model_and_command_is_listed():
    models = (ROOT / "docs/models.md").read_text()
    assert all(f"| `{name}` |" in models for name in list_models())
    commands = (ROOT / "docs/commands.md").read_text()
    assert "| `convzoo train` |" in commands and "| `convzoo bench recipe` |" in commands
