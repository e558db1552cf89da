#!/usr/bin/python3
"""Makes the test images and torchvision reference tensors for tests/unit/test_image.cpp.

Run with Debian's python (needs python3-pil, python3-torchvision, python3-onnx, python3-numpy):
    /usr/bin/python3 scripts/make_image_reference.py [OUT_DIR]    (default tests/data/image)

Writes small synthetic images (deterministic), one reference tensor <case>.pb per case (a TensorProto made
with onnx.numpy_helper, shape [1, C, H, W]) and cases.txt, one line per case:
    name image channels height width resize crop mean std max_level_diff
where resize 0 means torchvision's round(crop / 0.875), crop is 1 (Resize + CenterCrop) or 0 (Resize straight
to H x W), mean/std are comma lists or "-" for octet's defaults, and max_level_diff is the largest difference
in 8-bit levels the test accepts before normalisation (0: the pipeline must match exactly; the JPEG case allows
for stb and libjpeg-turbo decoding the same file slightly differently).

The reference pipeline is what a torchvision user writes:
    Image.open(f).convert("RGB" or "L") -> Resize -> CenterCrop -> ToTensor -> Normalize
"""
import json
import os
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper
from PIL import Image
from torchvision import transforms

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


def photo_like(h, w, rng):
    """Smooth gradients, a few discs and mild noise: content where resampling errors would show."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 128 + 100 * np.sin(x / 7.0) * np.cos(y / 11.0)
    g = 255 * x / max(w - 1, 1)
    b = 255 * y / max(h - 1, 1)
    img = np.stack([r, g, b], axis=-1)
    for _ in range(5):
        cy, cx, rad = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(3, min(h, w) / 3)
        colour = rng.uniform(0, 255, size=3)
        img[(y - cy) ** 2 + (x - cx) ** 2 < rad**2] = colour
    img += rng.normal(0, 6, size=img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def make_images(out, rng):
    """Returns {file name: path}. Sizes are odd and non-square on purpose."""
    files = {}

    def save(name, im, **kw):
        path = os.path.join(out, name)
        im.save(path, **kw)
        files[name] = path

    photo = photo_like(120, 161, rng)
    save("photo.jpg", Image.fromarray(photo, "RGB"), quality=90)
    # The same JPEG as PIL (libjpeg-turbo) decodes it, losslessly as PNG: isolates the resize from the decoder.
    save("photo_pil_decoded.png", Image.open(files["photo.jpg"]).convert("RGB"))
    rgba = np.concatenate([photo_like(67, 45, rng), rng.randint(0, 256, size=(67, 45, 1), dtype=np.uint8)], -1)
    save("rgba.png", Image.fromarray(rgba, "RGBA"))
    gray = photo_like(13, 19, rng)[..., 1]
    save("gray_small.png", Image.fromarray(gray, "L"))
    gray28 = photo_like(28, 28, rng)[..., 0]
    save("gray28.png", Image.fromarray(gray28, "L"))
    save("rgb_40x30.png", Image.fromarray(photo_like(30, 40, rng), "RGB"))
    save("palette.png", Image.fromarray(photo_like(33, 51, rng), "RGB").quantize(colors=32))
    return files


# name, image, channels, height, width, resize, crop, mean, std, max_level_diff
CASES = [
    # Downscale 161x120 -> shorter side 37 (round(32/0.875)), centre crop 32 (offset (37-32)/2 rounds to 2).
    # stb and libjpeg-turbo decode this file within 1 level after the resize (measured; up to 2 levels on
    # 500x375 and 640x480 photos at quality 85); the same pixels through PNG must match exactly.
    ("jpeg_rgb", "photo.jpg", 3, 32, 32, 0, 1, None, None, 1),
    ("jpeg_pixels_rgb", "photo_pil_decoded.png", 3, 32, 32, 0, 1, None, None, 0),
    # Large factor (x4.3) so the antialiasing filter spans 9 taps.
    ("photo_small_rgb", "photo_pil_decoded.png", 3, 24, 24, 28, 1, None, None, 0),
    # RGBA: alpha dropped, downscale to shorter 27 then crop 24.
    ("rgba_crop", "rgba.png", 3, 24, 24, 27, 1, None, None, 0),
    # RGBA -> gray (luma) with Fashion-MNIST-like normalisation.
    ("rgba_to_gray", "rgba.png", 1, 28, 28, 0, 1, [0.2860], [0.3530], 0),
    # Upscale 19x13 gray: shorter side 13 -> 32, then crop 28.
    ("gray_upscale", "gray_small.png", 1, 28, 28, 0, 1, None, None, 0),
    # Gray expanded to RGB, no crop, non-square target, custom mean/std.
    ("gray_to_rgb_nocrop", "gray_small.png", 3, 16, 20, 0, 0, [0.5, 0.4, 0.3], [0.2, 0.25, 0.3], 0),
    # Resize to the size it already has: plain copy.
    ("gray_identity", "gray28.png", 1, 28, 28, 28, 1, None, None, 0),
    # Crop larger than the resized image: zero padding on the narrow side (20x26 -> pad rows to 24).
    ("rgb_pad", "rgb_40x30.png", 3, 24, 24, 20, 1, None, None, 0),
    # Non-square crop from a wider image; upscale in one direction only for the no-crop case.
    ("rgb_rect_crop", "rgb_40x30.png", 3, 20, 30, 0, 1, None, None, 0),
    ("rgb_stretch_nocrop", "rgb_40x30.png", 3, 45, 33, 0, 0, None, None, 0),
    # Palette PNG: PIL maps through the palette, stb expands it.
    ("palette_rgb", "palette.png", 3, 20, 20, 0, 1, None, None, 0),
]


def reference(path, channels, height, width, resize, crop, mean, std):
    img = Image.open(path).convert("L" if channels == 1 else "RGB")
    if mean is None:
        mean = IMAGENET_MEAN if channels == 3 else [0.0]
    if std is None:
        std = IMAGENET_STD if channels == 3 else [1.0]
    if crop:
        size = resize if resize > 0 else int(round(max(height, width) / 0.875))
        geometry = [transforms.Resize(size), transforms.CenterCrop((height, width))]
    else:
        geometry = [transforms.Resize((height, width))]
    t = transforms.Compose(geometry + [transforms.ToTensor(), transforms.Normalize(mean, std)])
    return t(img).numpy()[None].astype(np.float32)


COLOURS = ["red", "green", "blue"]


def make_colour_models(out):
    """Two tiny classifiers for tests/cli/infer.sh whose answer is known: the class is the channel with the
    largest mean, score_c = 4 * mean over H, W of the normalised channel c. colour_logits.onnx outputs the
    scores (infer must apply softmax), colour_softmax.onnx outputs softmax(scores) (infer must not).
    Input x: [N, 3, 16, 16], batch symbolic. Labels and preprocessing hints come from metadata_props."""
    for name, softmax in (("colour_logits", False), ("colour_softmax", True)):
        nodes = [
            helper.make_node("GlobalAveragePool", ["x"], ["pooled"], name="gap"),
            helper.make_node("Flatten", ["pooled"], ["flat"], name="flatten"),
            helper.make_node("Mul", ["flat", "four"], ["scores" if softmax else "y"], name="scale"),
        ]
        if softmax:
            nodes.append(helper.make_node("Softmax", ["scores"], ["y"], name="softmax", axis=1))
        graph = helper.make_graph(
            nodes, name,
            [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["N", 3, 16, 16])],
            [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["N", 3])],
            [numpy_helper.from_array(np.array([4.0], np.float32), "four")])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
        model.ir_version = 8
        meta = {"labels": "\n".join(COLOURS), "octet.resize": "16", "octet.mean": "0.5,0.5,0.5",
                "octet.std": "0.25,0.25,0.25"}
        for k, v in meta.items():
            e = model.metadata_props.add()
            e.key, e.value = k, v
        onnx.checker.check_model(model)
        onnx.save(model, os.path.join(out, name + ".onnx"))


def colour_image(rng, cls, h, w):
    img = rng.randint(0, 90, size=(h, w, 3))
    img[..., cls] += 120
    return Image.fromarray(img.astype(np.uint8), "RGB")


def make_colour_dataset(out, rng):
    """colours/<i>_<name>/*.png: 4 images per class, 20x24. One image in 0_red is green, so eval must report
    top-1 11/12 = 91.67% and top-5 100%. Also colour_<i>_<name>.png samples for infer (16x16: no resize), and
    colour_expected.json: their class probabilities computed here in float64 from the pixels."""
    expected = {}
    for cls, name in enumerate(COLOURS):
        d = os.path.join(out, "colours", f"{cls}_{name}")
        os.makedirs(d, exist_ok=True)
        for i in range(4):
            actual = 1 if (cls == 0 and i == 3) else cls
            colour_image(rng, actual, 20, 24).save(os.path.join(d, f"img{i}.png"))
        sample = colour_image(rng, cls, 16, 16)
        sample.save(os.path.join(out, f"colour_{cls}_{name}.png"))
        x = (np.asarray(sample, np.float64) / 255.0 - 0.5) / 0.25
        scores = 4.0 * x.mean(axis=(0, 1))
        p = np.exp(scores - scores.max())
        expected[f"colour_{cls}_{name}.png"] = list(p / p.sum())
    with open(os.path.join(out, "colour_expected.json"), "w") as f:
        json.dump(expected, f, indent=1)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests/data/image")
    os.makedirs(out, exist_ok=True)
    rng = np.random.RandomState(20240611)
    files = make_images(out, rng)
    lines = ["# name image channels height width resize crop mean std max_level_diff"]
    for name, image, c, h, w, resize, crop, mean, std, tol in CASES:
        arr = reference(files[image], c, h, w, resize, crop, mean, std)
        assert arr.shape == (1, c, h, w), arr.shape
        with open(os.path.join(out, name + ".pb"), "wb") as f:
            f.write(numpy_helper.from_array(arr, name).SerializeToString())
        fmt = lambda v: "-" if v is None else ",".join(repr(float(x)) for x in v)
        lines.append(f"{name} {image} {c} {h} {w} {resize} {crop} {fmt(mean)} {fmt(std)} {tol}")
    # A truncated JPEG and a file that is not an image, for the error tests.
    with open(files["photo.jpg"], "rb") as f:
        data = f.read()
    with open(os.path.join(out, "truncated.jpg"), "wb") as f:
        f.write(data[: len(data) // 2])
    with open(os.path.join(out, "not_an_image.png"), "wb") as f:
        f.write(b"this is text, not a PNG\n")
    make_colour_models(out)
    make_colour_dataset(out, rng)
    with open(os.path.join(out, "cases.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    total = sum(os.path.getsize(os.path.join(d, n)) for d, _, names in os.walk(out) for n in names)
    print(f"wrote {len(CASES)} cases to {out} ({total / 1024:.1f} KB)")


if __name__ == "__main__":
    main()
