"""`python -m pxrun` runs the same entry point as the `pxrun` console script."""

from pxrun.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
