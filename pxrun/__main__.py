"""`python -m pxrun` runs the same entry point as the `pxrun` console script."""

from pxrun.cli.main import run

if __name__ == "__main__":
    raise SystemExit(run())
