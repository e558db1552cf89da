"""docs/python.md's walkthrough runs: its ```python blocks, in order, in one namespace, from a scratch folder that
sees the repository's models/ (so the files the walkthrough writes stay out of the checkout)."""
import contextlib
import io
import os
import re

from conftest import ROOT


def test_walkthrough_runs(tmp_path):
    text = (ROOT / "docs" / "python.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 8
    (tmp_path / "models").symlink_to(ROOT / "models")
    # The onnxruntime block rebinds `ort`; everything else shares one namespace, as a notebook does.
    namespace = {"__name__": "walkthrough"}
    out = io.StringIO()
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        with contextlib.redirect_stdout(out):
            for i, block in enumerate(blocks):
                exec(compile(block, f"docs/python.md block {i + 1}", "exec"), namespace)
    finally:
        os.chdir(cwd)
    printed = out.getvalue()
    # The results the walkthrough states.
    assert "Trouser" in printed and "8 samples" in printed
    assert "top-1 agreement: 1.0" in printed
    assert printed.count("True") >= 2
    assert "expects shape Nx1x28x28, got 1x3x28x28" in printed
