#!/usr/bin/env bash
# End-to-end tests of the `tessera` command-line tool: info, run, embed,
# match and bench on the tiny fixture models in Tests/Fixtures, with PNG and
# JPEG images made in a temporary directory, and the error paths (missing
# file, truncated JPEG, non-image file, size not a multiple of the patch,
# bad model, usage errors).
#
#   bash tests/cli/run.sh            # builds the release CLI if missing
#   TESSERA_CLI=path/to/tessera-cli bash tests/cli/run.sh
#
# Images come from Pillow when a Python with it is found ($PYTHON, then
# /work/refvenv/bin/python, then python3); otherwise from the committed
# decoder fixtures. Ends with "N passed, M failed"; exits non-zero on failure.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cli="${TESSERA_CLI:-$root/tessera}"
fixtures="$root/Tests/Fixtures"
dino="$fixtures/dinov2_hf"   # patch 14, trained 56x56, D 48, no classifier
vit="$fixtures/vit_hf"       # patch 8, trained 32x32, D 32, 5 labels

tmp="$(mktemp -d "${TMPDIR:-/tmp}/tessera-cli-test.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

passed=0
failed=0
out="$tmp/stdout"
err="$tmp/stderr"
rc=0

pass() { passed=$((passed + 1)); echo "ok   - $1"; }
fail() {
    failed=$((failed + 1))
    echo "FAIL - $1"
    shift
    for line in "$@"; do echo "       $line"; done
    echo "       --- stdout:"; sed 's/^/       | /' "$out" | head -20
    echo "       --- stderr:"; sed 's/^/       | /' "$err" | head -20
}

# t NAME EXPECTED_STATUS ARGS... : runs the CLI; the checks that follow
# (expect_out / expect_err / check) refer to this run.
current=""
current_ok=1
t() {
    finish
    current="$1"; local want="$2"; shift 2
    "$cli" "$@" >"$out" 2>"$err"
    rc=$?
    current_ok=1
    if [ "$rc" != "$want" ]; then
        current_ok=0
        fail "$current" "exit status $rc, expected $want: tessera $*"
    fi
}
# The current test passes if nothing failed since t().
finish() {
    if [ -n "$current" ] && [ "$current_ok" = 1 ]; then pass "$current"; fi
    current=""
}
_check_failed() {
    if [ "$current_ok" = 1 ]; then
        current_ok=0
        fail "$current" "$1"
    fi
}
expect_out() { grep -qE -- "$1" "$out" || _check_failed "stdout lacks /$1/"; }
expect_err() { grep -qE -- "$1" "$err" || _check_failed "stderr lacks /$1/"; }
check() { # check DESCRIPTION COMMAND...
    local what="$1"; shift
    "$@" >/dev/null 2>&1 || _check_failed "$what"
}

# ---------------------------------------------------------------- setup ---

if [ -z "${TESSERA_CLI:-}" ] && [ ! -x "$root/.build/release/tessera-cli" ]; then
    echo "building the CLI..."
fi
"$cli" --version >/dev/null 2>"$err" || { echo "cannot run $cli:"; cat "$err"; echo "0 passed, 1 failed"; exit 1; }

python=""
for p in "${PYTHON:-}" /work/refvenv/bin/python python3; do
    if [ -n "$p" ] && command -v "$p" >/dev/null 2>&1 && "$p" -c "import PIL" 2>/dev/null; then python="$p"; break; fi
done
imgs="$tmp/images"
mkdir -p "$imgs"
if [ -n "$python" ]; then
    "$python" - "$imgs" <<'PY'
import sys, random
from PIL import Image
d = sys.argv[1]
rng = random.Random(3)
def photo(w, h, shift):
    im = Image.new("RGB", (w, h))
    im.putdata([((x * 255) // w, (y * 255) // h, ((x + y + shift) * 4) % 256) for y in range(h) for x in range(w)])
    return im
a = photo(80, 60, 0)
a.save(f"{d}/a.png")
photo(80, 60, 3).save(f"{d}/b.jpg", quality=90)
photo(45, 70, 9).convert("L").save(f"{d}/c_gray.png")
photo(64, 64, 5).save(f"{d}/d.jpeg", quality=80, progressive=True)
PY
    echo "# images made with Pillow ($python)"
else
    cp "$fixtures/images/rgb.png" "$imgs/a.png"
    cp "$fixtures/images/rgb.jpg" "$imgs/b.jpg"
    cp "$fixtures/images/gray.png" "$imgs/c_gray.png"
    cp "$fixtures/images/rgb444.jpg" "$imgs/d.jpeg"
    echo "# no Python with Pillow: images copied from Tests/Fixtures/images"
fi
a="$imgs/a.png"
b="$imgs/b.jpg"

# ------------------------------------------------------------ help/info ---

t "tessera --help lists the commands" 0 --help
expect_out "^commands:"
for c in info run embed match pca bench; do expect_out "^  $c "; done

for c in info run embed match pca bench; do
    t "tessera $c --help" 0 "$c" --help
    expect_out "^usage: tessera $c "
done

t "info: DINOv2 fixture" 0 info "$dino"
expect_out "^family +DINOv2$"
expect_out "^architecture +Dinov2Model$"
expect_out "^patch size +14$"
expect_out "^trained size +56x56"
expect_out "^hidden size +48$"
expect_out "^classes +0"
expect_out "^position resize +bicubic"
expect_out "^kernels +(portable|avx2|avx512)"
expect_out "^parameters +[0-9,]+$"
expect_out "^image mean +0.4850 0.4560 0.4060$"

t "info: ViT classifier with labels" 0 info "$vit"
expect_out "^family +ViT$"
expect_out "^classes +5$"
expect_out "^labels +cat, dog, bird, fish, horse$"

t "info: registers model" 0 info "$fixtures/dinov2_reg_timm"
expect_out "^registers +4$"
expect_out "^prefix tokens +5 \(CLS \+ 4 registers\)$"

# ------------------------------------------------------------------ run ---

t "run: ViT on a PNG and a JPEG, top-3" 0 run "$vit" "$a" "$b" --top 3
expect_out "input 32x32"
expect_out "a\.png: .* -> 32x32"
expect_out "b\.jpg: .* -> 32x32"
expect_out "embedding: dim 32, L2 norm [0-9]+\.[0-9]{4}, first: "
expect_out "top-3:"
expect_out "^    1\. (cat|dog|bird|fish|horse) +p=0\.[0-9]{4}"
check "three classes per image" test "$(grep -cE '^    [0-9]\. ' "$out")" = 6

t "run: DINOv2 at 42x70, gray PNG and progressive JPEG, no logits" 0 run "$dino" "$imgs/c_gray.png" "$imgs/d.jpeg" --size 42x70 --threads 1
expect_out "input 42x70"
expect_out "embedding: dim 48"
check "no top-k for a model without a classifier" test "$(grep -c 'top-' "$out")" = 0

t "run: bilinear and crop options" 0 run "$dino" "$a" --resample bilinear --crop
expect_out "resampler bilinear \+ center crop"

# ---------------------------------------------------------------- embed ---

edir="$tmp/corpus"
mkdir -p "$edir/sub"
cp "$a" "$edir/02.png"
cp "$b" "$edir/01.jpg"
cp "$imgs/c_gray.png" "$edir/03-no-extension"
cp "$imgs/d.jpeg" "$edir/.hidden.jpg"
echo "not an image" >"$edir/notes.txt"
t "embed: a directory, batch 2" 0 embed "$dino" "$edir" --out "$tmp/emb.npy" --batch 2
expect_out "wrote .*emb\.npy: float32 \[3, 48\]"
expect_err "embedded 3 images in .* images/s"
expect_err "skipped 3 files in"
expect_err "^  \.hidden\.jpg: hidden$"
expect_err "^  notes\.txt: not a PNG or JPEG file$"
expect_err "^  sub: a directory"
check "embeddings.npy starts with the NPY magic" bash -c "head -c 6 '$tmp/emb.npy' | od -An -c | grep -q 'N   U   M   P   Y'"
check "embeddings.npy has 3x48 float32 after a 64-byte-aligned header" \
    bash -c "s=\$(stat -c %s '$tmp/emb.npy'); [ \$(( (s - 576) % 64 )) -eq 0 ] && [ \$(( s - 576 )) -gt 0 ]"
check "embeddings.txt lists the images in name order" \
    bash -c "printf '01.jpg\n02.png\n03-no-extension\n' | cmp -s - '$tmp/emb.txt'"
if [ -n "$python" ] && "$python" -c "import numpy" 2>/dev/null; then
    check "numpy loads [3, 48] float32 rows with the norms run prints" "$python" - "$tmp/emb.npy" <<'PY'
import sys, numpy as np
a = np.load(sys.argv[1])
assert a.shape == (3, 48) and a.dtype == np.float32, (a.shape, a.dtype)
assert np.isfinite(a).all() and (np.linalg.norm(a, axis=1) > 0).all()
PY
fi
t "embed: same rows as run (batch 1 vs batch 2)" 0 run "$dino" "$edir/02.png" --values 0
norm_run="$(grep -oE 'L2 norm [0-9.]+' "$out" | head -1)"
if [ -n "$python" ] && "$python" -c "import numpy" 2>/dev/null; then
    check "row 2 of the .npy has the norm run printed ($norm_run)" "$python" -c "
import numpy as np
a = np.load('$tmp/emb.npy'); n = float('${norm_run#L2 norm }')
assert abs(float(np.linalg.norm(a[1])) - n) < 1e-3, (np.linalg.norm(a[1]), n)"
fi

mkdir -p "$tmp/empty"
t "embed: a directory without images is an error" 1 embed "$dino" "$tmp/empty" --out "$tmp/none.npy"
expect_err "no PNG or JPEG files"
check "no output file left behind" test ! -e "$tmp/none.npy"

t "embed: --out is required" 2 embed "$dino" "$edir"
expect_err "needs --out"

t "embed: --strict stops at the first file it cannot read" 1 embed "$dino" "$edir" --out "$tmp/strict.npy" --strict
expect_err "notes\.txt' is not a PNG or JPEG file \(--strict"
check "no output file left behind" test ! -e "$tmp/strict.npy"
bdir="$tmp/corpus-broken"
mkdir -p "$bdir"
cp "$a" "$bdir/1.png"
head -c 300 "$b" >"$bdir/2-truncated.jpg"
cp "$a" "$bdir/3.png"
t "embed: an image that fails to decode is skipped and reported" 0 embed "$dino" "$bdir" --out "$tmp/broken.npy" --batch 2
expect_out "wrote .*broken\.npy: float32 \[2, 48\]"
expect_err "skipped 1 file in"
expect_err "^  2-truncated\.jpg: cannot load image .*truncated"
check "the names file lists the two embedded images" bash -c "printf '1.png\n3.png\n' | cmp -s - '$tmp/broken.txt'"
if [ -n "$python" ] && "$python" -c "import numpy" 2>/dev/null; then
    check "the .npy header says 2 rows and holds 2 rows" "$python" -c "
import numpy as np
a = np.load('$tmp/broken.npy'); assert a.shape == (2, 48) and np.isfinite(a).all(), a.shape
b = np.load('$tmp/emb.npy'); assert np.array_equal(a[0], a[1])"
fi
t "embed: --strict stops at a file that fails to decode" 1 embed "$dino" "$bdir" --out "$tmp/strict2.npy" --strict
expect_err "2-truncated\.jpg.*--strict"

t "embed: --layer 0 --pool mean (the run stops after block 0)" 0 embed "$dino" "$edir" --out "$tmp/emb_l0.npy" --layer 0 --pool mean
expect_out "wrote .*emb_l0\.npy: float32 \[3, 48\]"
t "embed: --pool mean of the final patch tokens" 0 embed "$dino" "$edir" --out "$tmp/emb_mean.npy" --pool mean
t "embed: --layer 1 (CLS of the last block, before the final norm)" 0 embed "$dino" "$edir" --out "$tmp/emb_l1.npy" --layer 1
if [ -n "$python" ] && "$python" -c "import numpy" 2>/dev/null; then
    check "every embedding kind is [3, 48], finite, and differs from the others" "$python" - "$tmp" <<'PY'
import sys, numpy as np
t = sys.argv[1]
arrays = {k: np.load(f"{t}/{k}.npy") for k in ("emb", "emb_l0", "emb_mean", "emb_l1")}
for k, a in arrays.items():
    assert a.shape == (3, 48) and np.isfinite(a).all(), k
names = list(arrays)
for i in range(len(names)):
    for j in range(i + 1, len(names)):
        assert not np.allclose(arrays[names[i]], arrays[names[j]]), (names[i], names[j])
PY
fi
t "embed: --pool must be cls or mean" 2 embed "$dino" "$edir" --out "$tmp/x.npy" --pool max
expect_err "--pool max: expected cls or mean"
t "embed: --layer beyond the model" 2 embed "$dino" "$edir" --out "$tmp/x.npy" --layer 2

# ---------------------------------------------------------------- match ---

t "match: two images at 112, PNG written" 0 match "$dino" "$a" "$b" --out "$tmp/matches.png" --size 112 --max-lines 20
expect_out "at 112x112: 8x8 patches of 14 px"
expect_out "^matches: [0-9]+ \(mutual nearest neighbours, ratio test 0\.80\)"
expect_out "wrote .*matches\.png: 224x112, [0-9]+ lines?"
check "matches.png starts with the PNG signature" bash -c "head -c 8 '$tmp/matches.png' | od -An -tx1 | grep -q '89 50 4e 47 0d 0a 1a 0a'"

t "match: the PNG decodes at 224x112 (read back by run)" 0 run "$vit" "$tmp/matches.png"
expect_out "matches\.png: 112x224 \(HxW\)"

t "match: default size 448, no ratio test, ViT patch 8" 0 match "$vit" "$a" "$a" --out "$tmp/self.png" --ratio 1 --max-lines 5
expect_out "at 448x448: 56x56 patches of 8 px"
expect_out "^matches: [0-9]+ \(mutual nearest neighbours, no ratio test\)"
expect_out "5 lines"

t "match: --layer 0 (the run stops after block 0)" 0 match "$dino" "$a" "$b" --out "$tmp/l0.png" --size 112 --layer 0
expect_out "^matches: [0-9]+ "

t "match: --ratio out of range" 2 match "$dino" "$a" "$b" --out "$tmp/x.png" --ratio 1.5
expect_err "--ratio 1.5"

# --------------------------------------------------------------- DINOv3 ---

dino3="$fixtures/dinov3_swiglu_timm"   # patch 16, trained 64x64, D 32, SwiGLU, 4 registers, RoPE
t "DINOv3: info" 0 info "$dino3"
expect_out "^family +DINOv3"
expect_out "^position resize +none: no position table"
expect_out "^prefix tokens +5 \(CLS \+ 4 registers\)"
t "DINOv3: run at 48x80, a grid it was not made at (RoPE, nothing resized)" 0 run "$dino3" "$a" --size 48x80
expect_out "embedding: dim 32, L2 norm [0-9]+\.[0-9]{4}"
t "DINOv3: embed a directory" 0 embed "$dino3" "$edir" --out "$tmp/emb3.npy"
expect_out "wrote .*emb3\.npy: float32 \[3, 32\]"
t "DINOv3: match on 16-pixel patches, block 1's tokens after the registers" 0 match "$dino3" "$a" "$b" --out "$tmp/m3.png" --size 96 --layer 1
expect_out "at 96x96: 6x6 patches of 16 px"
expect_out "^matches: [0-9]+ "
t "DINOv3: match an image with itself finds every patch" 0 match "$dino3" "$a" "$a" --out "$tmp/m3self.png" --size 64 --ratio 1
expect_out "^matches: 16 "

# ------------------------------------------------------------------ pca ---

t "pca: the first three principal components beside the photo" 0 pca "$dino" "$a" --out "$tmp/pca.png" --size 112
expect_out "at 112x112: 8x8 patches, 48-d final patch tokens"
expect_out "wrote .*pca\.png: 224x112"
check "pca.png starts with the PNG signature" bash -c "head -c 8 '$tmp/pca.png' | od -An -tx1 | grep -q '89 50 4e 47 0d 0a 1a 0a'"
t "pca: --layer 1 on DINOv3" 0 pca "$dino3" "$a" --out "$tmp/pca3.png" --size 96x64 --layer 1
expect_out "at 96x64: 6x4 patches, 32-d block 1's tokens"
pyvenv="$root/.venv-py/bin/python"
if [ -x "$pyvenv" ] && "$pyvenv" -c "import numpy, PIL" 2>/dev/null; then
    t "pca: the numpy example draws the same picture" 0 pca "$dino" "$a" --out "$tmp/pca-cli.png" --size 112 --layer 0
    check "examples/python/pca.py gives the CLI's pixels" bash -c "
        '$pyvenv' '$root/examples/python/pca.py' '$dino' '$a' --out '$tmp/pca-py.png' --size 112 --layer 0 >/dev/null &&
        '$pyvenv' -c \"
import numpy as np; from PIL import Image
a = np.asarray(Image.open('$tmp/pca-py.png')); b = np.asarray(Image.open('$tmp/pca-cli.png'))
assert a.shape == b.shape == (112, 224, 3) and np.array_equal(a, b), np.abs(a.astype(int) - b).max()\""
fi
t "pca: --out is required" 2 pca "$dino" "$a"
expect_err "needs --out"

# ---------------------------------------------------------------- bench ---

t "bench: batch 2, 3 runs" 0 bench "$dino" --batch 2 --runs 3 --warmup 1 --threads 1
expect_out "input 2x56x56"
expect_out "median [0-9]+\.[0-9]{3} ms, min [0-9]+\.[0-9]{3} ms"
expect_out "throughput: [0-9.]+ images/s"

t "bench: --size 28x42 on DINOv2" 0 bench "$dino" --size 28x42 --runs 2
expect_out "input 1x28x42"
expect_out "runs 2 of 2 blocks"

t "bench: --layer 0 runs one block and no final norm" 0 bench "$dino" --layer 0 --runs 2 --threads 2
expect_out "runs 1 of 2 blocks, [0-9]+ steps, no final norm or head"
expect_out "threads 2, kernels [a-z0-9-]+, GEMM kc [0-9]+ mc [0-9]+"

t "bench: --output embedding runs the last block past attention on the prefix alone" 0 bench "$dino" --output embedding --runs 2
expect_out "runs 2 of 2 blocks, [0-9]+ steps, the last block past attention on the [0-9]+ prefix tokens? alone"
t "bench: --output patch-tokens runs every token" 0 bench "$dino" --output patch-tokens --runs 2
expect_out "runs 2 of 2 blocks, [0-9]+ steps$"
t "error: --output and --layer together" 2 bench "$dino" --output embedding --layer 0 --runs 1
expect_err "--output and --layer: give one of them"
t "error: --output pixels" 2 bench "$dino" --output pixels --runs 1
expect_err "--output pixels: expected embedding, logits, patch-tokens or register-tokens"

t "bench: --precision int8 names its int8 kernel" 0 bench "$dino" --precision int8 --runs 2 --threads 2
expect_out "kernels [a-z0-9-]+, int8 \([a-z0-9 -]+ [0-9]+x[0-9]+( 7-bit)?\), GEMM"
expect_out "median [0-9]+\.[0-9]{3} ms"

t "info: the int8 kernel" 0 info "$dino"
expect_out "^int8 kernel +[a-z0-9 -]+ [0-9]+x[0-9]+"

t "embed: --precision int8" 0 embed "$dino" "$edir" --out "$tmp/emb8.npy" --batch 2 --precision int8
expect_out "wrote .*emb8\.npy: float32 \[3, 48\]"
if [ -n "$python" ] && "$python" -c "import numpy" 2>/dev/null; then
    check "int8 embeddings are close to fp32 (cosine > 0.99 per image)" "$python" -c "
import numpy as np, sys
a, b = np.load('$tmp/emb.npy'), np.load('$tmp/emb8.npy')
c = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
sys.exit(0 if a.shape == b.shape and (c > 0.99).all() else 1)"
fi

t "error: --precision int4" 2 bench "$dino" --precision int4 --runs 1
expect_err "--precision int4: expected fp32 or int8"

# ---------------------------------------------------------------- errors ---

t "error: missing image file" 1 run "$vit" "$tmp/does-not-exist.png"
expect_err "cannot load image '.*does-not-exist\.png': cannot open: No such file"

head -c 300 "$b" >"$tmp/truncated.jpg"
t "error: truncated JPEG" 1 run "$vit" "$tmp/truncated.jpg"
expect_err "truncated\.jpg': JPEG: .*truncated"

echo "just some text" >"$tmp/not-an-image.png"
t "error: non-image file" 1 run "$vit" "$tmp/not-an-image.png"
expect_err "not a PNG or JPEG file"

t "error: size not a multiple of the patch" 2 run "$dino" "$a" --size 50
expect_err "not a multiple of the model's patch size 14 \(try 42 or 56\)"

t "error: bad size syntax" 2 bench "$dino" --size 56x
expect_err "expected HxW"

t "error: missing model (C API status and message)" 1 info "$tmp/no-model"
expect_err "tessera_model_load\(.*\) failed: .*\(TESSERA_ERR_IO\): "

mkdir -p "$tmp/bad-model"
echo "{ this is not json" >"$tmp/bad-model/config.json"
: >"$tmp/bad-model/model.safetensors"
t "error: malformed model (C API status and message)" 1 info "$tmp/bad-model"
expect_err "failed: .*\(TESSERA_ERR_(FORMAT|IO)\): .+"

t "error: unknown option" 2 run "$vit" "$a" --bogus
expect_err "unknown option '--bogus' for 'tessera run'; see 'tessera run --help'"

t "error: unknown command" 2 frobnicate
expect_err "unknown command 'frobnicate'"

t "error: missing arguments" 2 match "$dino" "$a"
expect_err "needs B"

finish
echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
