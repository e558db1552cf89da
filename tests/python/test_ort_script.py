"""An onnxruntime script runs on octet with only its import line changed: `import onnxruntime as ort` becomes
`import octet as ort`. Its printed top-1 and scores must be ONNX Runtime's (tests/data/demo's references)."""
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import MODEL, ROOT, manifest, read_pb

SCRIPT = ROOT / "tests" / "python" / "ort_style_script.py"


def test_onnxruntime_script_runs_with_its_import_changed(tmp_path):
    text = SCRIPT.read_text()
    assert text.count("import onnxruntime as ort\n") == 1
    changed = text.replace("import onnxruntime as ort\n", "import octet as ort\n")
    # Exactly one line differs.
    assert sum(a != b for a, b in zip(text.splitlines(), changed.splitlines())) == 1
    script = tmp_path / "script.py"
    script.write_text(changed)
    rows = manifest()
    r = subprocess.run([sys.executable, str(script), str(MODEL)] + [str(row[0]) for row in rows],
                       capture_output=True, text=True, env=dict(os.environ), timeout=120)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "input input ['N', 1, 28, 28] output output ['N', 10]"
    for line, (inp, out, _, ort_top1, _) in zip(lines[1:], rows):
        path, top1, score = line.split()
        assert path == str(inp) and int(top1) == ort_top1
        assert float(score) == pytest.approx(float(np.max(read_pb(out))), rel=1e-4)
    assert len(lines) == 1 + len(rows)
