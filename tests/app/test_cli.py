"""CLI contract: exit codes 0/1/2, one-line errors naming the entry, JSON output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

CLI = str(Path(sys.executable).with_name("citydata"))


def run(*args: str, env_home: Path) -> subprocess.CompletedProcess:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYDATA_")}
    env["CITYDATA_HOME"] = str(env_home)
    return subprocess.run([CLI, *args], capture_output=True, text=True, env=env, timeout=120, check=False)


def test_bad_usage_exits_2(home: Path) -> None:
    assert run(env_home=home).returncode == 2
    assert run("frobnicate", env_home=home).returncode == 2
    p = run("generate", "water", "--rows", "-3", env_home=home)
    assert p.returncode == 2 and "--rows must be >= 0" in p.stderr
    assert run("generate", "water", "--defect-rate", "7", env_home=home).returncode == 2


def test_failures_exit_1_with_one_line_naming_the_entry(home: Path) -> None:
    p = run("generate", "electricity", env_home=home)
    assert p.returncode == 1
    assert p.stderr.strip() == "citydata: error: unknown department 'electricity' (known: gas, health, parking, water)"
    p = run("generate", "water", "--resource", "nope", env_home=home)
    assert p.returncode == 1 and "unknown resource water.nope" in p.stderr
    assert "Traceback" not in p.stderr


def test_bad_registry_is_one_line(home: Path, tmp_path: Path) -> None:
    reg = tmp_path / "r.yaml"
    reg.write_text("departments:\n  water:\n    name_zh: 水\n", encoding="utf-8")
    import os

    env = dict(os.environ, CITYDATA_HOME=str(home), CITYDATA_REGISTRY=str(reg))
    p = subprocess.run([CLI, "audit"], capture_output=True, text=True, env=env, check=False)
    assert p.returncode == 1
    assert p.stderr.count("\n") == 1 and "department water" in p.stderr and "r.yaml" in p.stderr


def test_generate_then_audit_json(home: Path) -> None:
    p = run("generate", "water", "--rows", "5", "--seed", "3", "--json", env_home=home)
    assert p.returncode == 0, p.stderr
    paths = json.loads(p.stdout)
    assert paths and all(Path(x).exists() and "/landing/water/" in x for x in paths)
    p = run("audit", "--json", env_home=home)
    assert p.returncode == 0 and json.loads(p.stdout) == []


@pytest.mark.parametrize("command", ["generate", "audit", "run", "demo", "env"])
def test_help_for_every_command(home: Path, command: str) -> None:
    p = run(command, "--help", env_home=home)
    assert p.returncode == 0 and "usage: citydata" in p.stdout
