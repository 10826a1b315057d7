"""What several test files share that is not a fixture."""

from __future__ import annotations

from convzoo.cli import main


def run_cli(capsys, *args):
    """`convzoo ARGS` in process, as a user calls it: (exit code, stdout, stderr). A bad flag's
    argparse exit counts as the exit code; a traceback on stderr fails the test."""
    capsys.readouterr()  # what was printed before is not this command's
    try:
        code = main([str(a) for a in args])
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err
