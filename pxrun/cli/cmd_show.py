"""`pxrun show PLANFILE`: a saved plan, rendered for review, without touching the cluster.

Why: a plan saved in CI (`pxrun plan -o plan.json`) is reviewed by someone else, later,
often from an artifact download. The JSON document is the public format and the human
text is rendered from it, so what `show` prints is exactly what `plan` printed and what
`apply plan.json` will do. The file is checked as apply would read it (format major
version, shape); `--json` prints it back normalised.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from pxrun.cli.context import Settings
from pxrun.cli.status import ExitStatus


@click.command("show")
@click.argument("planfile", type=click.Path(path_type=Path, dir_okay=False))
@click.pass_obj
def show_cmd(settings: Settings | None, planfile: Path) -> int:
    """Show a plan saved with `pxrun plan -o FILE`, as plan printed it.

    Reads only the file: no cluster, no spec. Exits 0, or 1 when the plan has errors
    (it cannot be applied), 3 when the file is not a pxrun plan.
    """
    from pxrun.cli.cmd_apply import read_plan_document
    from pxrun.cli.cmd_plan import _colour, _echo
    from pxrun.render.human import render_diagnostics, render_saved
    from pxrun.render.jsonplan import dumps

    settings = settings if settings is not None else Settings()
    doc, _ = read_plan_document(planfile)  # the same checks apply makes
    if settings.json:
        click.echo(dumps(doc), nl=False)
    else:
        for line in render_diagnostics(doc, markup=_colour(settings, sys.stderr)):
            _echo(line, settings, err=True)
        _echo(render_saved(doc, str(planfile), markup=_colour(settings, sys.stdout)),
              settings, nl=False)
    return int(ExitStatus.ERROR if doc.get("errored") else ExitStatus.OK)
