"""Shared helpers of the Python examples: finding the binding, loading and
resizing images with Pillow, the image side of the known transforms, and
running Tessera on Pillow images.

Resizing is always Pillow's ``Image.resize(size, Image.BICUBIC)`` (bicubic,
antialiased when shrinking), the resampler people compare DINOv2 features
against. Images are resized to the run size as given (no crop, no padding),
so a non-square photo run at a square size is stretched.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import List, Sequence, Tuple

import numpy as np

REPO = Path(__file__).resolve().parents[2]
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm")


def import_tessera():
    """The ``tessera`` package: installed, or else the repository's bindings/python."""
    try:
        import tessera  # noqa: F401
    except ImportError:
        sys.path.insert(0, str(REPO / "bindings" / "python"))
        import tessera  # noqa: F401
    return sys.modules["tessera"]


def import_pil():
    try:
        from PIL import Image  # noqa: F401
    except ImportError as e:
        raise SystemExit("this example needs Pillow: pip install Pillow") from e
    return Image


def parse_size(text: str) -> Tuple[int, int]:
    """'448' -> (448, 448); '518x392' -> (518, 392), as (width, height)."""
    t = text.lower().strip()
    try:
        if "x" in t:
            w, h = t.split("x", 1)
            size = (int(w), int(h))
        else:
            size = (int(t), int(t))
    except ValueError:
        raise ValueError(f"size must be N or WIDTHxHEIGHT, got {text!r}") from None
    if size[0] <= 0 or size[1] <= 0:
        raise ValueError(f"size must be positive, got {text!r}")
    return size


def check_size(size: Tuple[int, int], patch: int) -> None:
    w, h = size
    if w % patch or h % patch:
        raise SystemExit(f"--size {w}x{h}: width and height must be multiples of the "
                         f"model's patch size {patch} (e.g. {patch * round(w / patch)})")


def load_rgb(path):
    """A Pillow RGB image (any mode converted to RGB)."""
    Image = import_pil()
    with Image.open(path) as im:
        return im.convert("RGB")


def resize(image, size: Tuple[int, int]):
    """Pillow bicubic resize to size = (width, height)."""
    Image = import_pil()
    if image.size == tuple(size):
        return image.copy()
    return image.resize(tuple(size), Image.BICUBIC)


def to_array(images: Sequence) -> np.ndarray:
    """Pillow RGB images of one size -> uint8 NHWC."""
    return np.stack([np.asarray(im.convert("RGB"), dtype=np.uint8) for im in images])


def list_images(directory) -> List[Path]:
    """Image files directly in ``directory`` (not hidden, sorted by name)."""
    d = Path(directory)
    return sorted(p for p in d.iterdir()
                  if p.is_file() and not p.name.startswith(".")
                  and p.suffix.lower() in IMAGE_SUFFIXES)


def run_batches(session, images: Sequence, batch: int, key: str) -> np.ndarray:
    """Runs Pillow images (already at the session size) through a session in
    batches and concatenates output ``key`` along the first axis."""
    out = []
    for start in range(0, len(images), batch):
        chunk = to_array(images[start:start + batch])
        out.append(session.run(chunk)[key])
    return np.concatenate(out, axis=0)


# --- the image side of the known transforms (the point side is in matching.py) ---


def mean_color(image) -> Tuple[int, int, int]:
    a = np.asarray(image.convert("RGB"), dtype=np.float64)
    return tuple(int(round(v)) for v in a.reshape(-1, 3).mean(axis=0))


def shift_image(image, dx: int, dy: int = 0, fill=None):
    """Content moved by (dx, dy) whole pixels; the uncovered band is filled with
    ``fill`` (default: the image's mean colour)."""
    Image = import_pil()
    a = np.asarray(image.convert("RGB"))
    h, w = a.shape[:2]
    out = np.empty_like(a)
    out[...] = np.array(fill if fill is not None else mean_color(image), dtype=np.uint8)
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[yd, xd] = a[ys, xs]
    return Image.fromarray(out)


def crop_scale_image(image, box: Tuple[float, float, float, float]):
    """image.crop(box) resized (bicubic) back to the image's size."""
    Image = import_pil()
    return image.resize(image.size, Image.BICUBIC, box=box)


def rotate_image(image, degrees: float, fill=None):
    """Pillow's counter-clockwise rotation about the centre, bicubic, same size;
    the corners are filled with ``fill`` (default: the image's mean colour)."""
    Image = import_pil()
    return image.rotate(degrees, resample=Image.BICUBIC, expand=False,
                        fillcolor=fill if fill is not None else mean_color(image))


def brightness_contrast(image, contrast: float = 1.3, brightness: float = 30.0):
    """v -> clip((v - 128) * contrast + 128 + brightness), per channel."""
    Image = import_pil()
    a = np.asarray(image.convert("RGB"), dtype=np.float64)
    b = np.clip(np.rint((a - 128.0) * contrast + 128.0 + brightness), 0, 255)
    return Image.fromarray(b.astype(np.uint8))


# --- which tokens to match --------------------------------------------------------


def feature_key(layer) -> str:
    """Output name holding the features: "patch_tokens" (after the final norm)
    or "layer_<k>" (block k's output, before the final norm)."""
    return "patch_tokens" if layer is None else f"layer_{int(layer)}"


def session_outputs(layer, pool: str = "tokens"):
    """The one output a feature needs, for ``model.session(outputs=...)``: the
    session then runs only up to it (block ``layer`` and stop, or every block
    and the final norm without the classifier head)."""
    if layer is not None:
        return [f"layer_{int(layer)}"]
    return ["embedding"] if pool == "cls" else ["patch_tokens"]


def patch_part(tokens: np.ndarray, key: str, num_prefix_tokens: int) -> np.ndarray:
    """[N, Hp*Wp, D] patch tokens of an output: "layer_<k>" outputs carry the
    prefix tokens (CLS, distillation, registers) first; "patch_tokens" does not."""
    return tokens if key == "patch_tokens" else tokens[:, num_prefix_tokens:]


def update_doc_section(doc: Path, name: str, section: str) -> None:
    """Replaces (or appends) the section between <!-- BEGIN name --> and
    <!-- END name --> of a Markdown file, creating the file if needed."""
    begin, end = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"
    text = doc.read_text() if doc.is_file() else "# Matching and retrieval\n"
    block = f"{begin}\n{section.rstrip()}\n{end}"
    if begin in text and end in text:
        text = re.sub(re.escape(begin) + r".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text)
