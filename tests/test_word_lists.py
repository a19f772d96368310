"""The per-language word lists of the lexical and stance flags (``dembias/fidelity/resources/<lang>.json``)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from fnmatch import fnmatch
from pathlib import Path

import pytest

from dembias.fidelity.lexical import SUPPORTED_LANGUAGES
from dembias.fidelity.polarity import POLARITY_LANGUAGES
from dembias.fidelity.word_lists import WORD_LIST_KEYS, word_lists

ROOT = Path(__file__).resolve().parent.parent
RESOURCES = ROOT / "dembias" / "fidelity" / "resources"


def test_every_language_has_its_file_with_every_list():
    languages = set(SUPPORTED_LANGUAGES) | set(POLARITY_LANGUAGES)
    assert {p.stem for p in RESOURCES.glob("*.json")} == languages
    concepts = list(word_lists(POLARITY_LANGUAGES[0])["polarity"])
    for lang in languages:
        lists = word_lists(lang)
        assert set(lists) == set(WORD_LIST_KEYS), lang
        assert list(lists["polarity"]) == concepts, lang
        assert len(lists["amount_words"]) == 2, lang
        assert all(len(idiom.split(" ")) == 2 for idiom in lists["amount_idioms"]), lang


def test_a_language_without_a_file_is_an_error():
    with pytest.raises(FileNotFoundError):
        word_lists("zz")


def test_pyproject_ships_the_resource_files():
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    for path in RESOURCES.glob("*.json"):
        relative = path.relative_to(ROOT / "dembias").as_posix()
        assert any(fnmatch(relative, pattern) for pattern in package_data["dembias"]), relative


@pytest.mark.slow
def test_the_built_wheel_finds_the_word_lists(tmp_path):
    """Build the wheel (setuptools, offline), unpack it and load every language from the unpacked package."""
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "dembias", source / "dembias", ignore=shutil.ignore_patterns("__pycache__"))
    build = "from setuptools import build_meta; print(build_meta.build_wheel('dist'))"
    built = subprocess.run([sys.executable, "-c", build], cwd=source, capture_output=True, text=True, check=True)
    wheel = source / "dist" / built.stdout.strip().splitlines()[-1]
    installed = tmp_path / "installed"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(installed)
    check = (
        "import dembias, sys\n"
        "from dembias.fidelity.lexical import SUPPORTED_LANGUAGES\n"
        "from dembias.fidelity.word_lists import word_lists\n"
        f"assert dembias.__file__.startswith({str(installed)!r}), dembias.__file__\n"
        "print(sorted(len(word_lists(lang)['polarity']) for lang in SUPPORTED_LANGUAGES))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", check],
        cwd=tmp_path,
        env={"PYTHONPATH": str(installed), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str([8] * len(SUPPORTED_LANGUAGES))
