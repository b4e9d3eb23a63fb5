"""keeper(1) beyond SPEC: `make install` lays out the expected tree (the
binary, keeper-exec in libexec, the man pages, the systemd unit with its
prefix substituted), and systemd-analyze accepts the unit (systemd is in
.ci/deps: missing, the test fails and names the package)."""
import os
import subprocess

from conftest import KEEPER, ROOT, require


def make_install(destdir, prefix):
    args = ["make", "-s", "-C", ROOT, "install", "DESTDIR=" + str(destdir),
            "PREFIX=" + prefix]
    # Install the binary the suite is testing (build/ or build-asan/).
    if "build-asan" in KEEPER:
        args.append("SAN=1")
    r = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    return r


def test_install_tree(tmp_path):
    dest = tmp_path / "root"
    make_install(dest, "/usr")
    binary = dest / "usr/bin/keeper"
    assert binary.is_file() and os.access(binary, os.X_OK)
    unit = dest / "usr/lib/systemd/system/keeper@.service"
    assert unit.is_file()
    text = unit.read_text()
    assert "@BINDIR@" not in text
    assert "ExecStart=/usr/bin/keeper run --crew /etc/keeper/%i.org" in text
    assert "Type=notify" in text
    for page in sorted(os.listdir(os.path.join(ROOT, "man"))
                       if os.path.isdir(os.path.join(ROOT, "man")) else []):
        sect = page.rsplit(".", 1)[-1]
        if sect in ("1", "5"):
            assert (dest / "usr/share/man" / ("man" + sect) / page).is_file()
    # Nothing lands outside DESTDIR's prefix.
    assert sorted(os.listdir(dest)) == ["usr"]
    # The installed binary runs.
    r = subprocess.run([str(binary), "--help"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0 and "usage" in r.stdout
    helper = dest / "usr/libexec/keeper/keeper-exec"
    assert helper.is_file() and os.access(helper, os.X_OK)


def test_installed_keeper_runs_defs_through_libexec(tmp_path):
    dest = tmp_path / "root"
    make_install(dest, "/usr")
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    # Two steps: a def that is one sh step runs as that shell, with no
    # interpreter to find (keeper(1) RUNNING AGENTS).
    (tmp_path / "who.org").write_text(
        "* first\n#+BEGIN_SRC sh\ntrue\n#+END_SRC\n"
        "* who\n#+BEGIN_SRC sh\n"
        "readlink /proc/$PPID/exe > who.txt\n#+END_SRC\n")
    (tmp_path / "crew.org").write_text(
        "#+BOOT-GRACE: 0\n* who\n:PROPERTIES:\n:DEF: who.org\n:END:\n")
    r = subprocess.run([str(dest / "usr/bin/keeper"), "run-once", "who",
                        "--crew", str(tmp_path / "crew.org"), "--repo",
                        str(repo), "--data", str(tmp_path / "data")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    exe = (repo / "who.txt").read_text().strip()
    assert exe == str(dest / "usr/libexec/keeper/keeper-exec")


def test_install_prefix_is_substituted(tmp_path):
    dest = tmp_path / "root"
    make_install(dest, "/opt/keeper")
    unit = dest / "opt/keeper/lib/systemd/system/keeper@.service"
    assert "ExecStart=/opt/keeper/bin/keeper run" in unit.read_text()
    assert (dest / "opt/keeper/bin/keeper").is_file()


def test_unit_verifies(tmp_path):
    analyze = require("systemd-analyze", "systemd")
    dest = tmp_path / "root"
    make_install(dest, "/usr")
    unit = dest / "usr/lib/systemd/system/keeper@.service"
    # verify checks that ExecStart exists on this machine; point it at the
    # binary just installed under DESTDIR, change nothing else.
    text = unit.read_text().replace("=/usr/bin/keeper ",
                                    "=%s " % (dest / "usr/bin/keeper"))
    inst = tmp_path / "keeper@newsroom.service"
    inst.write_text(text)
    r = subprocess.run([analyze, "verify", "--man=no", str(inst)],
                       capture_output=True, text=True, timeout=60)
    # verify exits 0 even for ignored bad settings; they show as warnings
    # naming the file, so there must be none.
    assert r.returncode == 0, r.stderr
    assert str(inst) not in r.stderr, r.stderr
    assert "keeper@newsroom" not in r.stderr, r.stderr


def test_verify_catches_a_broken_unit(tmp_path):
    """The check above can fail: a bad directive is reported."""
    analyze = require("systemd-analyze", "systemd")
    src = open(os.path.join(ROOT, "src/daemon/keeper@.service.in")).read()
    bad = src.replace("@BINDIR@", "/bin").replace("/bin/keeper", "/bin/true") \
        .replace("KillMode=mixed", "KillMode=bogus")
    inst = tmp_path / "keeper@bad.service"
    inst.write_text(bad)
    r = subprocess.run([analyze, "verify", "--man=no", str(inst)],
                       capture_output=True, text=True, timeout=60)
    assert "bogus" in r.stderr
