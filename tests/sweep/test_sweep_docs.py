"""docs/sweeps.md runs as written: every command of its indented blocks, in a fresh
folder (the base netlists linked in), gives the files and numbers the page describes."""

import json
import re
import subprocess
import sys

from sweepcluster import ROOT


def test_sweeps_doc_runs_as_written(tmp_path):
    doc = (ROOT / "docs/sweeps.md").read_text()
    doc = re.sub(r"```.*?```", "", doc, flags=re.S)  # cluster recipes, not run here
    blocks, cur = [], []
    for line in doc.splitlines():
        if line.startswith("    "):
            cur.append(line[4:])
        elif cur and line.strip():
            blocks.append("\n".join(cur))
            cur = []
    # the output listing is a picture of files, not commands
    blocks = [b for b in blocks if not b.startswith("couplers/results.jsonl")]
    assert len(blocks) >= 4
    script = "set -e\nspu() { \"$PY\" -m spu_emulator \"$@\"; }\npython() { \"$PY\" \"$@\"; }\n"
    script += "\n".join(blocks) + "\n"
    (tmp_path / "netlists").symlink_to(ROOT / "netlists")
    r = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True,
                       env={"PY": sys.executable, "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
                       timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "point 4 as by hand" in r.stdout and "12 points" in r.stdout
    assert "couplers: 9 points (0 run now, 9 done before)" in r.stdout
    lines = (tmp_path / "couplers/results.jsonl").read_text().splitlines()
    assert json.loads(lines[4])["overrides"] == {"cells[0].C": "1.2 nF", "couplers[0].C": "200 pF"}
    assert (tmp_path / "couplers/plot.png").stat().st_size > 1000
    assert (tmp_path / "couplers/summary.csv").read_text().count("\n") == 10
    rec = json.loads((tmp_path / "boards/results.jsonl").read_text().splitlines()[7])
    assert (rec["board"], rec["seed"]) == (2, 1)
    assert (tmp_path / "boards/points/7/traj.npz").is_file()
