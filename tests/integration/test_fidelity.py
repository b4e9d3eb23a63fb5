"""Fidelity of orgparse against Emacs org-element (Org 9.5.5).

Runs build/org-dump and tests/fidelity/org-dump.el over every .org file in
../shared/corpus and tests/golden, compares the dumps element by element and
prints the agreement. Emacs runs once, in batch, over all files."""
import difflib
import os
import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpus"
GOLDEN = ROOT / "tests" / "golden"
ELISP = ROOT / "tests" / "fidelity" / "org-dump.el"
ORG_DUMP = os.environ.get("ORG_DUMP", str(ROOT / "build" / "org-dump"))


def split_by_file(text):
    """{file name: [element line, ...]} from a multi-file dump."""
    out, cur = {}, None
    for line in text.splitlines():
        if line.startswith('{"t":"file","name":'):
            cur = line
            out[cur] = []
        elif cur is not None:
            out[cur].append(line)
    return out


def agreement(a, b):
    """Matched elements and the size of the aligned union of two lists."""
    sm = difflib.SequenceMatcher(None, a, b, autojunk=False)
    eq = sum(m.size for m in sm.get_matching_blocks())
    return eq, len(a) + len(b) - eq


def test_fidelity(capsys):
    if shutil.which("emacs") is None:
        pytest.skip("emacs not installed")
    files = sorted(str(p) for p in GOLDEN.glob("*.org"))
    if CORPUS.is_dir():
        files += sorted(str(p) for p in CORPUS.rglob("*.org"))
    env = dict(os.environ, LANG="C.UTF-8")
    ref = subprocess.run(["emacs", "--batch", "-Q", "-l", str(ELISP)] + files,
                         capture_output=True, env=env, timeout=600)
    assert ref.returncode == 0, ref.stderr.decode(errors="replace")[-2000:]
    ours = subprocess.run([ORG_DUMP] + files, capture_output=True,
                          timeout=120)
    assert ours.returncode == 0
    want = split_by_file(ref.stdout.decode("utf-8"))
    got = split_by_file(ours.stdout.decode("utf-8"))
    assert len(want) == len(files) and len(got) == len(files)
    equal = total = 0
    differing = []
    for name, els in want.items():
        assert not any('"t":"error"' in e for e in els), (name, els)
        eq, tot = agreement(els, got[name])
        equal += eq
        total += tot
        if eq != tot:
            differing.append(name)
    pct = 100.0 * equal / total if total else 100.0
    with capsys.disabled():
        print(f"\nfidelity: {equal} equal / {total} total elements "
              f"({pct:.3f}%) over {len(files)} files")
        for name in differing[:20]:
            print(f"  differs: {name}")
    assert total > 0
    assert pct >= 99.9
