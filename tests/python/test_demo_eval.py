"""The Fashion-MNIST demo through Python gives the same top-1 as `octet eval` on the same images: a class folder
(one subfolder per label index, as eval reads it) holding each demo image under its true label and a copy under a
wrong one, so the expected top-1 is 50%, not a trivially perfect score."""
import json
import os
import shutil
import subprocess

import numpy as np

from conftest import MODEL, OCTET_BIN, manifest


def test_python_top1_equals_octet_eval(octet, session, tmp_path):
    labels = session.metadata("labels").splitlines()
    assert len(labels) == 10
    for c in range(10):
        (tmp_path / str(c)).mkdir()
    samples = []  # (path, folder label)
    for _, _, image, ort_top1, label in manifest():
        truth = labels.index(label)
        for folder in (truth, (truth + 1) % 10):
            dst = tmp_path / str(folder) / image.name
            shutil.copy(image, dst)
            samples.append((dst, folder))

    correct = 0
    for path, folder in samples:
        x = session.load_image(str(path))
        top1 = int(np.argmax(session.run(None, {"input": x})[0]))
        correct += top1 == folder
    python_top1 = 100.0 * correct / len(samples)

    r = subprocess.run([OCTET_BIN, "eval", str(MODEL), str(tmp_path), "--json", "--threads", "2"],
                       capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout.strip().splitlines()[-1])
    assert report["count"] == len(samples) == 16
    assert report["top1"] == round(python_top1, 2) == 50.0
