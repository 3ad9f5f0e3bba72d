"""A clone in any folder passes its own tests: nothing in the project reads a file outside the repo."""

import re
from pathlib import Path

from tests.samples import SAMPLES

ROOT = Path(__file__).resolve().parent.parent
SCANNED_DIRS = ("apps", "portal", "tests", "scripts", "bench", "docs", "templates", "static")
SCANNED_FILES = ("Makefile", "Procfile", "pyproject.toml", "manage.py", "requirements.txt")
SUFFIXES = {".py", ".json", ".toml", ".cfg", ".ini", ".sh", ".yml", ".yaml", ".html", ".js", ".txt", ".md", ""}
# Spelled in pieces so this file does not match itself.
OUTSIDE = re.compile(
    "|".join(
        [
            re.escape(".." + "/shared"),
            re.escape('"shared"' + " / " + '"samples"'),
            r"(?<![\w.])" + re.escape("/" + "work/"),
            re.escape("parent" + ' / "shared"'),
        ]
    )
)


def _project_files() -> list[Path]:
    files = [ROOT / name for name in SCANNED_FILES if (ROOT / name).is_file()]
    for folder in SCANNED_DIRS:
        files += [
            p
            for p in (ROOT / folder).rglob("*")
            if p.is_file() and p.suffix in SUFFIXES and "node_modules" not in p.parts and "__pycache__" not in p.parts
        ]
    return files


def test_no_source_or_test_file_points_outside_the_repo():
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in _project_files()
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert offenders == []


def test_the_scan_recognises_each_forbidden_spelling():
    for line in (
        "Path('..' '/shared')".replace("' '", ""),
        "ROOT.parent / " + '"shared"' + " / " + '"samples"',
        'Path("/' + 'work/shared/samples/whatsapp")',
    ):
        assert OUTSIDE.search(line), line
    assert not OUTSIDE.search("apps/conversations/services/inbound.py")


def test_meta_fixtures_live_inside_the_repo():
    assert SAMPLES.resolve().is_relative_to(ROOT)
    kinds = {p.parent.name for p in SAMPLES.rglob("*.json")}
    assert kinds == {"whatsapp", "messenger"}
