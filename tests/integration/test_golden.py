"""org-dump against the expected dumps in tests/golden (made by Emacs with
tests/golden/regen.sh), and against generated extreme inputs."""
import json
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"
ORG_DUMP = os.environ.get("ORG_DUMP", str(ROOT / "build" / "org-dump"))
CASES = sorted(p.stem for p in GOLDEN.glob("*.org"))


def dump(path):
    r = subprocess.run([ORG_DUMP, str(path)], capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.decode("utf-8")


@pytest.mark.parametrize("name", CASES)
def test_golden(name):
    want = (GOLDEN / f"{name}.jsonl").read_text(encoding="utf-8")
    got = dump(GOLDEN / f"{name}.org")
    assert got.splitlines() == want.splitlines()
    for line in got.splitlines():
        json.loads(line)


def test_huge_line_and_deep_heading(tmp_path):
    f = tmp_path / "big.org"
    f.write_bytes(b"* " + b"x" * (3 << 20) + b" :t:\n#+K: v\n"
                  + b"*" * 100000 + b" deep\n")
    els = [json.loads(x) for x in dump(f).splitlines()]
    assert els[0]["tags"] == ["t"] and len(els[0]["title"]) == 3 << 20
    assert els[1] == {"t": "keyword", "line": 2, "key": "K", "value": "v"}
    assert els[2]["level"] == 100000 and els[2]["title"] == "deep"
