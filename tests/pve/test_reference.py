"""docs/spec-reference.md: fresh, and it names every key a spec may hold with its row."""

from __future__ import annotations

from pathlib import Path

import pytest

from pxrun.cli.main import main
from pxrun.pve.options import OPTIONS
from pxrun.pve.reference import DOC_PATH, render_reference, stale_reason
from pxrun.spec.model import Container, StackFile


def test_the_checked_in_reference_is_fresh() -> None:
    assert stale_reason() is None, "run `python -m pxrun schema --write` and commit the result"


def test_every_field_and_option_row_is_listed_with_its_proxmox_key() -> None:
    text = render_reference()
    for name in StackFile.model_fields:
        if name not in ("defaults", "containers"):
            assert f"| `{name}` |" in text, name
    for name in Container.model_fields:
        if name != "name":
            assert f"| `{name}` |" in text, name
    lines = text.splitlines()
    for row in OPTIONS:
        if row.spec_only or row.path == "name":
            continue
        path = row.path.replace(".*", ".")
        line = next((x for x in lines if x.startswith(f"| `{path}")), None)
        assert line is not None, row.path
        if row.key is not None:
            assert f"`{row.key}`" in line, (row.path, line)


def test_schema_check_and_write_cover_the_reference(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import pxrun.pve.reference as reference
    import pxrun.spec.jsonschema as jsonschema

    doc, schema = tmp_path / "docs" / "spec-reference.md", tmp_path / "schema.json"
    monkeypatch.setattr(reference, "DOC_PATH", doc)
    monkeypatch.setattr(jsonschema, "SCHEMA_PATH", schema)
    assert main(["schema", "--check"]) == 1
    assert "spec-reference.md does not exist" in capsys.readouterr().err
    assert main(["schema", "--write"]) == 0
    assert doc.read_text(encoding="utf-8") == render_reference()
    assert main(["schema", "--check"]) == 0
    doc.write_text("# old\n", encoding="utf-8")
    assert main(["schema", "--check"]) == 1
    assert "spec-reference.md is stale" in capsys.readouterr().err
    assert DOC_PATH.name == "spec-reference.md"
