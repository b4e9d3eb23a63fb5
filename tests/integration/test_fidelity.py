"""Fidelity of orgparse against Emacs org-element (Org 9.5.5).

Runs build/org-dump and tests/fidelity/org-dump.el over every .org file in
../shared/corpus and tests/golden, compares the dumps element by element and
prints the agreement. Emacs runs once, in batch, over all files."""
import difflib
import os
import random
import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpus"
GOLDEN = ROOT / "tests" / "golden"
ELISP = ROOT / "tests" / "fidelity" / "org-dump.el"
ORG_DUMP = os.environ.get("ORG_DUMP", str(ROOT / "build" / "org-dump"))


# Generated documents: random mixes of the constructs whose boundaries
# matter, so the comparison reaches combinations no hand-written case does.
PIECES = [
    "* ", "** ", "*", "TODO ", "DONE ", "COMMENT ", "[#A] ", "[#", ":tag:",
    ":a:b:", " :x:", "\t", " ", "#+BEGIN_SRC", "#+begin_src sh", "#+END_SRC",
    "#+BEGIN_EXAMPLE", "#+END_EXAMPLE", "#+BEGIN_QUOTE", "#+END_QUOTE",
    "#+BEGIN_foo", "#+END_foo", "#+BEGIN: dyn", "#+END:", ":PROPERTIES:",
    ":END:", ":end:", ":ID: x", ":FOO+: y", ":a:b: c", ":LOGBOOK:", ": fixed",
    ":", "#+TITLE: t", "#+TODO: A B | C", "#+NAME: n", "#+RESULTS:",
    "#+RESULTS[x]:", "#+CAPTION: c", "#+ATTR_HTML: x", "#+CALL: f()",
    "#+TBLFM: x", "#+K[x]: v", "#+", "# c", "#", "- ", "+ ", "1. ", "2) ",
    "- [ ] ", "- a :: ", " :: ", "SCHEDULED: <2020-01-01 Wed>",
    "DEADLINE: [2020-01-02]", "CLOSED: <2020-01-01>--<2020-01-03>",
    "CLOCK: [2020-01-01]", "| a |", "+--+--+", "-----", "%%(d)", "[fn:1] ",
    "\\begin{eq}", "\\end{eq}", ",* ", ",#+x", ",,* ", "text", "A",
    "\u00e9", "\u00a0", "\r", "\x00",
]


def generate(dirpath, seed, count):
    rnd = random.Random(seed)
    out = []
    for i in range(count):
        lines = []
        for _ in range(rnd.randrange(1, 40)):
            ind = rnd.choice(["", "", "", " ", "  ", "\t", "    "])
            lines.append(ind + "".join(rnd.choice(PIECES)
                                       for _ in range(rnd.randrange(4))))
            if rnd.random() < 0.2:
                lines.append("")
        sep = "\n" if rnd.random() < 0.9 else "\r\n"
        path = dirpath / f"gen-{seed}-{i:04d}.org"
        path.write_bytes((sep.join(lines) + sep).encode("utf-8"))
        out.append(str(path))
    return out


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


def test_fidelity(capsys, tmp_path):
    if shutil.which("emacs") is None:
        pytest.skip("emacs not installed")
    files = sorted(str(p) for p in GOLDEN.glob("*.org"))
    if CORPUS.is_dir():
        files += sorted(str(p) for p in CORPUS.rglob("*.org"))
    files += generate(tmp_path, 1, 300)
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
            if "/gen-" in name:
                # Keep the generated input for a look after the run.
                name += " (generated)"
            print(f"  differs: {name}")
    assert total > 0
    assert pct >= 99.9
