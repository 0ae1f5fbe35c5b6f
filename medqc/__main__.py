"""``python -m medqc``: the CLI; ``load`` is dispatched before the rest of the CLI is imported (a load
starts in well under a second, not after importing every command's dependencies)."""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:2] == ["load"]:
        import typer

        from medqc.commands.load_cmd import load_command

        command = typer.Typer(add_completion=False)
        command.command()(load_command)
        command(args=sys.argv[2:], prog_name="medqc load")
        return
    from medqc.cli import app

    app()


if __name__ == "__main__":
    main()
