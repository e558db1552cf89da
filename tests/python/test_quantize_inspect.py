"""octet.quantize and octet.inspect are the functions `octet quantize` and `octet inspect` run: same table, same
model bytes, same per-node report. calib may be a folder or any iterable of batches (arrays, a DataLoader-like
object of (inputs, labels) pairs, a generator); the progress bar appears only when asked or on a terminal."""
import subprocess

import numpy as np
import pytest

from conftest import IMAGES, MODEL, OCTET_BIN, manifest


def cli(*args):
    r = subprocess.run([OCTET_BIN, *map(str, args)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return r


@pytest.fixture(scope="module")
def cli_result(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    cli("quantize", MODEL, "--calib", IMAGES, "-o", d / "q.onnx", "--table", d / "t.txt", "--threads", "2")
    return d


def test_folder_gives_the_cli_table_and_model(octet, cli_result, tmp_path, capsys):
    n = octet.quantize(str(MODEL), IMAGES, tmp_path / "q.onnx", table=tmp_path / "t.txt", threads=2)
    assert n == 8
    assert (tmp_path / "t.txt").read_text() == (cli_result / "t.txt").read_text()
    assert (tmp_path / "q.onnx").read_bytes() == (cli_result / "q.onnx").read_bytes()
    assert capsys.readouterr().err == ""  # stderr is not a terminal here: no progress bar


class FakeLoader:
    """What a torch DataLoader looks like to quantize: a sized iterable of (inputs, labels) batches."""

    def __init__(self, batches):
        self.batches = batches

    def __len__(self):
        return len(self.batches)

    def __iter__(self):
        return iter([(b, np.zeros(len(b), np.int64)) for b in self.batches])


def test_iterables_give_the_folder_table(octet, session, cli_result, tmp_path, capsys):
    # The folder's 8 images in path order, as one batch (the folder is calibrated in batches of 16).
    images = sorted(IMAGES.glob("*.png"))
    batch = np.concatenate([session.load_image(str(p)) for p in images])
    want = (cli_result / "t.txt").read_text()
    for name, calib in [("list", [batch]), ("loader", FakeLoader([batch])), ("generator", (b for b in [batch]))]:
        table = tmp_path / (name + ".txt")
        octet.quantize(MODEL, calib, tmp_path / (name + ".onnx"), table=table, progress=(name == "loader"))
        assert table.read_text() == want, name
    err = capsys.readouterr().err
    assert "calibrating [##############################] 1/1 batches" in err and err.count("calibrating") == 1


def test_folder_progress_bar(octet, tmp_path, capsys):
    octet.quantize(MODEL, IMAGES, tmp_path / "q.onnx", progress=True)
    err = capsys.readouterr().err
    assert err.endswith("calibrating [##############################] 8/8 samples\n"), err


def test_samples_limit_and_method(octet, tmp_path):
    n = octet.quantize(MODEL, IMAGES, tmp_path / "q.onnx", method="percentile", percentile=99.9, samples=3,
                       table=tmp_path / "t.txt", weight_bits=7)
    assert n == 3
    text = (tmp_path / "t.txt").read_text()
    assert "# method: percentile 99.9" in text and "# samples: 3" in text


def parse_cli_inspect(text):
    rows = []
    lines = text.splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith("#")) + 1
    for line in lines[start:]:
        if line.strip().startswith("^"):
            rows[-1]["note"] = line.strip()[2:]
            continue
        idx, name, op, fused, prec, kernel, shapes = line.split(maxsplit=6)
        ins, outs = shapes.split(" -> ")
        rows.append(dict(name=name, op=op, fused="" if fused == "-" else fused, precision=prec, kernel=kernel,
                         inputs=ins, outputs=outs, note=""))
    return rows


@pytest.mark.parametrize("which", ["fp32", "int8"])
def test_inspect_is_octet_inspect(octet, cli_result, which):
    model = MODEL if which == "fp32" else cli_result / "q.onnx"
    got = octet.inspect(model, threads=2)
    want = parse_cli_inspect(cli("inspect", model, "--threads", "2").stdout)
    assert got == want
    if which == "int8":
        assert sum(r["op"] == "QConv" for r in got) >= 6


def test_inspect_says_why_a_node_stayed_float(octet, cli_result, tmp_path):
    report = octet.inspect(cli_result / "q.onnx")
    conv = next(r["name"] for r in report if r["op"] == "QConv")
    excluded = tmp_path / "x.onnx"
    octet.quantize(MODEL, IMAGES, excluded, exclude=[conv])
    rows = {r["name"]: r for r in octet.inspect(excluded)}
    assert rows[conv]["precision"] == "float32"
    stayed = [r for r in rows.values() if r["note"] and r["precision"] == "float32"]
    assert stayed, "a float node of a quantized model carries a note"


def test_torch_dataloader(octet, session, cli_result, tmp_path):
    """A real torch DataLoader over the 8 demo images (batch 8, labels alongside) gives the folder's table."""
    torch = pytest.importorskip("torch", reason="python3-torch is not installed (scripts/setup.sh --models)")
    images = sorted(IMAGES.glob("*.png"))
    x = torch.from_numpy(np.concatenate([session.load_image(str(p)) for p in images]))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, torch.arange(len(images))), batch_size=8)
    octet.quantize(MODEL, loader, tmp_path / "q.onnx", table=tmp_path / "t.txt")
    assert (tmp_path / "t.txt").read_text() == (cli_result / "t.txt").read_text()
