"""Model and Session: the Python face of tessera_model and tessera_session."""

from __future__ import annotations

import ctypes
import os
import re
import threading
import weakref
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _library as _c
from .errors import (BusyError, InternalError, InvalidArgumentError, StateError, UnavailableError,
                     check)

PathLike = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]

FAMILY_NAMES = {_c.FAMILY_VIT: "vit", _c.FAMILY_DEIT: "deit", _c.FAMILY_DINOV2: "dinov2",
                _c.FAMILY_DINOV3: "dinov3"}
POS_RESIZE_NAMES = {
    _c.POS_RESIZE_BICUBIC: "bicubic",
    _c.POS_RESIZE_BICUBIC_ANTIALIAS: "bicubic_antialias",
    _c.POS_RESIZE_BICUBIC_OFFSET: "bicubic_offset",
    _c.POS_RESIZE_NONE_ROPE: "none_rope",
}
ISA_VALUES = {
    "auto": _c.ISA_AUTO,
    "portable": _c.ISA_PORTABLE,
    "avx2": _c.ISA_AVX2,
    "avx512": _c.ISA_AVX512,
}

# Output names and their tessera_output codes; "layer_<k>" is added per session.
OUTPUTS: Dict[str, int] = {
    "logits": _c.OUTPUT_LOGITS,
    "embedding": _c.OUTPUT_EMBEDDING,
    "patch_tokens": _c.OUTPUT_PATCH_TOKENS,
    "register_tokens": _c.OUTPUT_REGISTER_TOKENS,
}
_LAYER_NAME = re.compile(r"^layer_(\d+)$")


def version() -> str:
    """The loaded library's version, "MAJOR.MINOR.PATCH"."""
    return _c.decode(_c.lib().tessera_version())


def status_string(status: int) -> str:
    """The library's name for a status code."""
    return _c.decode(_c.lib().tessera_status_string(int(status)))


def output_code(name: str) -> int:
    """The tessera_output code of an output name ("logits", "layer_3", ...)."""
    if name in OUTPUTS:
        return OUTPUTS[name]
    m = _LAYER_NAME.match(name) if isinstance(name, str) else None
    if m:
        return _c.OUTPUT_LAYER(int(m.group(1)))
    raise InvalidArgumentError(
        f"unknown output {name!r}; expected one of {', '.join(OUTPUTS)} or 'layer_<k>'"
    )


@dataclass(frozen=True)
class ModelInfo:
    """tessera_model_info as Python values (every field but struct_size)."""

    family: int                      # FAMILY_VIT / FAMILY_DEIT / FAMILY_DINOV2
    hidden_size: int
    num_layers: int
    num_heads: int
    mlp_size: int
    patch_size: int
    image_height: int                # the trained input size
    image_width: int
    num_channels: int
    num_classes: int                 # 0: no classifier head
    num_register_tokens: int
    num_prefix_tokens: int           # CLS + distillation + registers
    pos_resize: int                  # POS_RESIZE_*
    isa: int                         # kernel variant chosen on this CPU
    image_mean: Tuple[float, float, float]
    image_std: Tuple[float, float, float]
    num_parameters: int
    weight_bytes: int                # fp32 weights as held in memory
    l1d_bytes: int
    l2_bytes: int
    isa_name: str
    architecture: str
    gemm_kc: int                     # GEMM blocking on this CPU (timed, cached per user)
    gemm_mc: int
    blocking_source: str             # "tuned", "cached", "formula" or "environment"
    int8_kernel: str                 # what precision="int8" runs on this CPU

    @property
    def family_name(self) -> str:
        return FAMILY_NAMES.get(self.family, f"family {self.family}")

    @property
    def pos_resize_name(self) -> str:
        return POS_RESIZE_NAMES.get(self.pos_resize, f"pos_resize {self.pos_resize}")

    @classmethod
    def _from_c(cls, raw: _c.tessera_model_info) -> "ModelInfo":
        values = {}
        for name, _type in _c.tessera_model_info._fields_:
            if name == "struct_size":
                continue
            v = getattr(raw, name)
            if name in ("image_mean", "image_std"):
                v = tuple(float(x) for x in v)
            elif name in ("isa_name", "architecture", "blocking_source", "int8_kernel"):
                v = _c.decode(v)
            values[name] = v
        return cls(**values)


@dataclass(frozen=True)
class SessionInfo:
    """What a session really runs (tessera_session_info), not what was asked."""

    batch: int
    height: int
    width: int
    threads: int                     # threads each run uses
    isa: str                         # kernel variant in use, e.g. "avx512"
    gemm_kc: int                     # GEMM blocking in use
    gemm_mc: int
    blocking_source: str             # "tuned", "cached", "formula" or "environment"
    arena_bytes: int
    outputs: Tuple[str, ...]         # every output name a run returns
    blocks_run: int                  # transformer blocks each run executes
    num_layers: int                  # blocks the model has
    tokens: int                      # tokens per image
    ops: int                         # steps of the session's plan
    precision: str                   # "fp32" or "int8"
    int8_kernel: str                 # the int8 tile, e.g. "avx512-vnni 12x32"; "" for fp32
    int8_weight_bytes: int           # the model's int8 weights (made at its first int8 session)

    @classmethod
    def _from_c(cls, raw: _c.tessera_session_info) -> "SessionInfo":
        finals = tuple(name for name, code in OUTPUTS.items() if raw.outputs & _c.OUTPUT_BIT(code))
        layers = tuple(f"layer_{k}" for k in range(64) if raw.layers_mask >> k & 1)
        return cls(batch=raw.batch, height=raw.height, width=raw.width, threads=raw.num_threads,
                   isa=_c.decode(raw.isa_name), gemm_kc=raw.gemm_kc, gemm_mc=raw.gemm_mc,
                   blocking_source=_c.decode(raw.blocking_source), arena_bytes=raw.arena_bytes,
                   outputs=finals + layers, blocks_run=raw.blocks_run, num_layers=raw.num_layers,
                   tokens=raw.num_tokens, ops=raw.num_ops,
                   precision="int8" if raw.precision == _c.PRECISION_INT8 else "fp32",
                   int8_kernel=_c.decode(raw.int8_kernel), int8_weight_bytes=raw.int8_weight_bytes)


class Model:
    """A loaded model: ``tessera.Model(path)``.

    ``path`` is a model directory (config.json + model.safetensors) or a
    .safetensors file with config.json beside it. The model is immutable and
    may be shared by threads; each thread runs its own Session.

    Use it as a context manager or call close(); close() also closes the
    sessions made from it. A Session keeps its Model alive, so dropping the
    last reference to a Model while sessions exist frees nothing early.
    """

    def __init__(self, path: PathLike):
        self._handle: Optional[int] = None
        self._lock = threading.Lock()
        self._sessions: "weakref.WeakSet[Session]" = weakref.WeakSet()
        # Handles of open sessions: freed by their Session, or by close().
        self._session_handles: set = set()
        self.path = os.fsdecode(os.fspath(path))
        lib = _c.lib()
        handle = _c.model_p()
        check(lib.tessera_model_load(os.fsencode(self.path), ctypes.byref(handle)),
              "tessera_model_load")
        self._handle = handle.value
        raw = _c.tessera_model_info()
        raw.struct_size = ctypes.sizeof(raw)
        try:
            check(lib.tessera_model_get_info(self._handle, ctypes.byref(raw)),
                  "tessera_model_get_info")
        except BaseException:
            self.close()
            raise
        self._info = ModelInfo._from_c(raw)

    # -- lifetime --------------------------------------------------------

    def close(self) -> None:
        """Closes every session made from this model, then frees it. Idempotent."""
        with self._lock:
            handle, self._handle = self._handle, None
            sessions = list(self._sessions)
        for s in sessions:
            s.close()
        with self._lock:
            orphans, self._session_handles = self._session_handles, set()
        lib = _c.lib() if (handle or orphans) else None
        for h in orphans:  # sessions collected together with the model
            lib.tessera_session_free(h)
        if handle:
            lib.tessera_model_free(handle)

    def _release_session(self, handle: int) -> None:
        """Frees a session handle exactly once (the session or close() may call it)."""
        with self._lock:
            if handle not in self._session_handles:
                return
            self._session_handles.discard(handle)
        _c.lib().tessera_session_free(handle)

    def __del__(self) -> None:
        try:
            if getattr(self, "_lock", None) is not None:
                self.close()
        except Exception:
            pass  # interpreter shutdown

    def __enter__(self) -> "Model":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._handle is None

    def _require(self) -> int:
        handle = self._handle
        if not handle:
            raise StateError("the model is closed", _c.ERR_STATE)
        return handle

    def __repr__(self) -> str:
        state = "closed" if self.closed else self._info.architecture
        return f"<tessera.Model {self.path!r} {state}>"

    # -- queries ---------------------------------------------------------

    @property
    def info(self) -> ModelInfo:
        """The model's tessera_model_info."""
        self._require()
        return self._info

    def label(self, index: int) -> Optional[str]:
        """Class label ``index`` from config.json's id2label, or None."""
        handle = self._require()
        index = int(index)
        if not -(2**31) <= index < 2**31:
            return None
        raw = _c.lib().tessera_model_label(handle, index)
        return None if raw is None else _c.decode(raw)

    @property
    def labels(self) -> Optional[List[Optional[str]]]:
        """All class labels (index i is class i), or None if the model has none."""
        n = self.info.num_classes
        labels = [self.label(i) for i in range(n)]
        if not any(l is not None for l in labels):
            return None
        return labels

    def session(
        self,
        batch: int = 1,
        height: Optional[int] = None,
        width: Optional[int] = None,
        threads: int = 0,
        layers: Iterable[int] = (),
        isa: Union[None, str, int] = None,
        max_arena_bytes: int = 0,
        outputs: Optional[Iterable[str]] = None,
        precision: str = "fp32",
    ) -> "Session":
        """A Session for ``batch`` images of ``height`` x ``width`` (default: trained size).

        ``outputs``: the names ``run`` should return ("embedding",
        "patch_tokens", "logits", "register_tokens", "layer_<k>"); the
        session computes only what they need: ``outputs=["layer_5"]`` runs
        blocks 0..5 and stops. None (the default): every final output the
        model has, plus ``layers``.
        ``layers``: 0-based block indices whose outputs to keep ("layer_<k>"),
        added to ``outputs``.
        ``threads``: 0 uses the cores the process may use.
        ``isa``: None/"auto", or force "portable", "avx2" or "avx512".
        ``max_arena_bytes``: 0 for no cap; otherwise creation fails beyond it.
        ``precision``: "fp32" (the default) or "int8": every block's qkv,
        proj, fc1 and fc2 in int8 (weights per channel, made once per model;
        activations per token; both rotated per 128 channels first),
        the rest in fp32. ``session.info.int8_kernel``
        names the kernel the CPU runs.
        """
        return Session(self, batch=batch, height=height, width=width, threads=threads,
                       layers=layers, isa=isa, max_arena_bytes=max_arena_bytes, outputs=outputs,
                       precision=precision)


_PRECISIONS = {"fp32": _c.PRECISION_FP32, "int8": _c.PRECISION_INT8}


def _as_int(name: str, value, lo: int, hi: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise InvalidArgumentError(f"{name} must be an integer, got {value!r}")
    v = int(value)
    if not lo <= v <= hi:
        raise InvalidArgumentError(f"{name} must be in [{lo}, {hi}], got {v}")
    return v


def _isa_code(isa: Union[None, str, int]) -> int:
    if isa is None:
        return _c.ISA_AUTO
    if isinstance(isa, str):
        code = ISA_VALUES.get(isa.lower())
        if code is None:
            raise InvalidArgumentError(
                f"unknown isa {isa!r}; expected None, 'auto', 'portable', 'avx2' or 'avx512'"
            )
        return code
    return _as_int("isa", isa, _c.ISA_AUTO, _c.ISA_AVX512)


_INT32_MAX = 2**31 - 1


def _parse_outputs(names) -> Tuple[List[int], set]:
    """outputs=[...] -> (final output codes, layer indices)."""
    if isinstance(names, (str, bytes)):
        names = (names,)
    try:
        names = list(names)
    except TypeError:
        raise InvalidArgumentError(f"outputs must be a list of output names, got {names!r}") from None
    finals, layers = [], set()
    for name in names:
        if not isinstance(name, str):
            raise InvalidArgumentError(f"outputs must be names (str), got {name!r}")
        if name in OUTPUTS:
            finals.append(OUTPUTS[name])
            continue
        m = _LAYER_NAME.match(name)
        if not m:
            raise InvalidArgumentError(
                f"unknown output {name!r}; expected one of {', '.join(OUTPUTS)} or 'layer_<k>'")
        layers.add(int(m.group(1)))
    return finals, layers


class Session:
    """A planned run of a Model for fixed batch, height and width.

    Made by ``Model.session(...)``. One thread at a time may use a session;
    a concurrent run raises BusyError. Use it as a context manager or call
    close() (idempotent); it keeps its Model alive while open.
    """

    def __init__(self, model: Model, *, batch: int = 1, height: Optional[int] = None,
                 width: Optional[int] = None, threads: int = 0, layers: Iterable[int] = (),
                 isa: Union[None, str, int] = None, max_arena_bytes: int = 0,
                 outputs: Optional[Iterable[str]] = None, precision: str = "fp32"):
        self._handle: Optional[int] = None
        self._lock = threading.Lock()
        self.model = model
        info = model.info
        lib = _c.lib()

        opts = _c.tessera_session_options()
        check(lib.tessera_session_options_init(ctypes.byref(opts), ctypes.sizeof(opts)),
              "tessera_session_options_init")
        if not isinstance(precision, str) or precision not in _PRECISIONS:
            raise InvalidArgumentError(f"precision must be one of {', '.join(_PRECISIONS)}, got {precision!r}")
        opts.precision = _PRECISIONS[precision]
        opts.batch = _as_int("batch", batch, 1, _INT32_MAX)
        opts.height = 0 if height is None else _as_int("height", height, 0, _INT32_MAX)
        opts.width = 0 if width is None else _as_int("width", width, 0, _INT32_MAX)
        opts.num_threads = _as_int("threads", threads, 0, _INT32_MAX)
        opts.max_arena_bytes = _as_int("max_arena_bytes", max_arena_bytes, 0, 2**64 - 1)
        opts.isa = _isa_code(isa)

        if isinstance(layers, (int, np.integer)):
            layers = (layers,)
        wanted = {_as_int("layers[...]", k, 0, _INT32_MAX) for k in layers}
        if outputs is not None:
            finals, from_names = _parse_outputs(outputs)
            wanted |= from_names
            opts.outputs = _c.OUTPUTS_EXPLICIT
            for code in finals:
                opts.outputs |= _c.OUTPUT_BIT(code)
        wanted = sorted(wanted)
        limit = min(info.num_layers, _c.MAX_MASK_LAYERS)
        bad = [k for k in wanted if k >= limit]
        if bad:
            raise InvalidArgumentError(
                f"layers {bad} out of range: the model has {info.num_layers} blocks, "
                f"so layers must be in [0, {limit - 1}]"
            )
        mask = 0
        for k in wanted:
            mask |= 1 << k
        opts.layers_mask = mask

        handle = _c.session_p()
        with model._lock:
            model_handle = model._require()
            check(lib.tessera_session_create(model_handle, ctypes.byref(opts),
                                             ctypes.byref(handle)),
                  "tessera_session_create")
            self._handle = handle.value
            model._sessions.add(self)
            model._session_handles.add(self._handle)

        try:
            raw = _c.tessera_session_info()
            raw.struct_size = ctypes.sizeof(raw)
            check(lib.tessera_session_get_info(self._handle, ctypes.byref(raw)),
                  "tessera_session_get_info")
        except BaseException:
            self.close()
            raise
        self._info = SessionInfo._from_c(raw)
        self.batch = self._info.batch
        self.height = self._info.height
        self.width = self._info.width
        self.layers: Tuple[int, ...] = tuple(wanted)

    @property
    def info(self) -> SessionInfo:
        """What the session really runs: variant, threads, blocking, arena, outputs."""
        self._require()
        return self._info

    @property
    def threads(self) -> int:
        """Threads each run uses (0 = "all cores" resolved)."""
        return self._info.threads

    @property
    def isa(self) -> str:
        """The kernel variant in use ("auto" resolved), e.g. "avx512"."""
        return self._info.isa

    # -- lifetime --------------------------------------------------------

    def close(self) -> None:
        """Frees the session (waits for a run in progress). Idempotent."""
        with self._lock:
            handle, self._handle = self._handle, None
        if handle:
            self.model._release_session(handle)

    def __del__(self) -> None:
        try:
            handle = getattr(self, "_handle", None)
            if handle:
                self._handle = None
                self.model._release_session(handle)
        except Exception:
            pass  # interpreter shutdown

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._handle is None

    def _require(self) -> int:
        handle = self._handle
        if not handle:
            raise StateError("the session is closed", _c.ERR_STATE)
        return handle

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"{self.arena_bytes} arena bytes"
        return (f"<tessera.Session batch={self.batch} {self.height}x{self.width} "
                f"layers={list(self.layers)} {state}>")

    @property
    def arena_bytes(self) -> int:
        """Bytes of the session's activation arena."""
        return int(_c.lib().tessera_session_arena_bytes(self._require()))

    @property
    def output_names(self) -> List[str]:
        """The output names each run returns."""
        return list(self._info.outputs)

    def output_shape(self, name: str, images: Optional[int] = None) -> Tuple[int, ...]:
        """The shape of output ``name`` for ``images`` images (default: the batch)."""
        n = self.batch if images is None else _as_int("images", images, 1, self.batch)
        output_code(name)  # an unknown name raises here
        if name not in self._info.outputs:
            raise UnavailableError(
                f"output {name!r} was not asked for; this session computes "
                f"{', '.join(self._info.outputs)} (pass it in outputs=[...] when making the session)",
                _c.ERR_UNAVAILABLE)
        i, d = self.model.info, self.model.info.hidden_size
        grid = (self.height // i.patch_size) * (self.width // i.patch_size)
        shapes = {"logits": (n, i.num_classes), "embedding": (n, d),
                  "patch_tokens": (n, grid, d), "register_tokens": (n, i.num_register_tokens, d)}
        return shapes.get(name, (n, self._info.tokens, d))

    # -- running ---------------------------------------------------------

    def preprocess(self, image, resize: str = "stretch", resample: Optional[str] = None) -> np.ndarray:
        """One RGB8 photo of any size, ``[H, W, 3]`` uint8, as this session's
        input ``[height, width, 3]`` uint8 (what ``run`` takes), resized in the
        library exactly as Pillow's ``Image.resize`` does:

        * ``resize="stretch"``: the whole image to the session's size;
        * ``"cover"``: the shorter side to cover it, then the centre cropped;
        * ``"model"``: the model's own pipeline (``preprocessor_config.json``:
          shortest edge or height/width, then ``crop_size`` when
          ``do_center_crop``, as transformers' image processors; timm's
          ``pretrained_cfg``); it must end at the session's size.

        ``resample``: None (bicubic, or the model's own for "model"),
        "bicubic" or "bilinear".
        """
        modes = {"stretch": _c.RESIZE_STRETCH, "cover": _c.RESIZE_COVER_CROP, "model": _c.RESIZE_MODEL}
        filters = {None: _c.RESAMPLE_DEFAULT, "bicubic": _c.RESAMPLE_BICUBIC, "bilinear": _c.RESAMPLE_BILINEAR}
        if resize not in modes:
            raise InvalidArgumentError(f"resize must be one of {', '.join(modes)}, got {resize!r}")
        if resample not in filters:
            raise InvalidArgumentError(f"resample must be None, 'bicubic' or 'bilinear', got {resample!r}")
        a = np.asarray(image)
        if a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != 3:
            raise InvalidArgumentError(
                f"an image to preprocess must be uint8 RGB [H, W, 3]; got dtype {a.dtype}, shape {a.shape}")
        a = np.ascontiguousarray(a)
        out = np.empty((self.height, self.width, 3), np.uint8)
        check(_c.lib().tessera_preprocess_rgb8(
            self._require(), a.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8)), a.shape[0], a.shape[1], 0,
            modes[resize], filters[resample], out.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8)), out.nbytes),
            "tessera_preprocess_rgb8")
        return out

    def _prepare(self, images) -> Tuple[np.ndarray, bool]:
        """Checks and converts input; returns (contiguous array, is_uint8)."""
        a = np.asarray(images)
        expected_hwc = f"[N, {self.height}, {self.width}, 3]"
        expected_chw = f"[N, 3, {self.height}, {self.width}]"
        if a.dtype == np.uint8:
            if a.ndim == 3:
                a = a[np.newaxis]
            if a.ndim != 4 or a.shape[-1] != 3:
                hint = ""
                if a.ndim == 4 and a.shape[1] == 3:
                    hint = (" It looks like NCHW: transpose it with "
                            "images.transpose(0, 2, 3, 1), or pass normalized float32 NCHW.")
                raise InvalidArgumentError(
                    f"uint8 images must be RGB in NHWC {expected_hwc} (or one HWC image) "
                    f"with 3 channels last; got shape {tuple(np.shape(images))}.{hint}"
                )
            n, h, w = a.shape[0], a.shape[1], a.shape[2]
            is_u8 = True
        elif a.dtype.kind == "f":
            if a.dtype != np.float32:
                a = a.astype(np.float32)
            if a.ndim == 3:
                a = a[np.newaxis]
            if a.ndim != 4 or a.shape[1] != 3:
                hint = ""
                if a.ndim == 4 and a.shape[-1] == 3:
                    hint = (" It looks like NHWC: float input must be normalized NCHW "
                            "(images.transpose(0, 3, 1, 2)); raw pixels go in as uint8 NHWC.")
                raise InvalidArgumentError(
                    f"float images must be normalized NCHW {expected_chw} (or one CHW image) "
                    f"with 3 channels in dimension 1; got shape {tuple(np.shape(images))}.{hint}"
                )
            n, h, w = a.shape[0], a.shape[2], a.shape[3]
            is_u8 = False
        else:
            raise InvalidArgumentError(
                f"images must be uint8 RGB NHWC or float NCHW (float32, float64 or float16); "
                f"got dtype {a.dtype}"
            )
        if n < 1 or n > self.batch:
            raise InvalidArgumentError(
                f"got {n} images but the session runs 1 to {self.batch} "
                f"(batch={self.batch}); make a session with a larger batch or split the input"
            )
        if (h, w) != (self.height, self.width):
            raise InvalidArgumentError(
                f"images are {h}x{w} (height x width) but the session was made for "
                f"{self.height}x{self.width}; resize them or make a session with "
                f"height={h}, width={w}"
            )
        return np.ascontiguousarray(a), is_u8

    def run(self, images, out: Optional[Dict[str, np.ndarray]] = None,
            resize: Optional[str] = None) -> Dict[str, np.ndarray]:
        """Runs images and returns the session's outputs (``output_names``).

        ``images`` may also be a list of uint8 ``[H, W, 3]`` numpy arrays,
        photos of any sizes: each is brought to the session's size with
        ``preprocess`` (``resize`` "stretch" by default, or "cover" or
        "model") first. (Other lists are read as nested numbers, as before.)

        Input (1..batch images of the session's height x width):

        * ``uint8``: RGB images in NHWC ``[N, H, W, 3]`` (or one ``[H, W, 3]``),
          normalized inside with the model's mean and std (tessera_run_rgb8).
        * float (``float32``; ``float64``/``float16`` are converted): already
          normalized NCHW ``[N, 3, H, W]`` (or one ``[3, H, W]``) (tessera_run_f32).
        * Non-contiguous arrays are copied to contiguous ones.
        * A uint8 array whose last dimension is not 3 (e.g. NCHW uint8), a
          float array whose dimension 1 is not 3 (e.g. NHWC float), another
          dtype, or a size that does not match the session raises
          InvalidArgumentError (a ValueError).

        Returns a dict of float32 arrays, each with a leading dimension N:
        "logits" [N, classes], "embedding" [N, D], "patch_tokens" [N, Hp*Wp, D],
        "register_tokens" [N, R, D] and "layer_<k>" [N, T, D]; those the
        session was made for (``outputs=`` / ``layers=``).

        ``out``: arrays to write outputs into instead of new ones, by name
        (some or all of the session's outputs). Each must be a writable,
        C-contiguous float32 array of exactly ``output_shape(name, N)``; the
        library copies straight into it, and the returned dict holds it.
        """
        photos = (isinstance(images, (list, tuple)) and len(images) > 0 and
                  all(isinstance(im, np.ndarray) and im.dtype == np.uint8 and im.ndim == 3 for im in images))
        if photos:
            images = np.stack([self.preprocess(im, resize or "stretch") for im in images])
        elif isinstance(images, (list, tuple)) and not images:
            raise InvalidArgumentError("images is an empty list")
        elif resize is not None:
            raise InvalidArgumentError("resize= applies to a list of [H, W, 3] photos; an array must already be "
                                       "the session's size")
        a, is_u8 = self._prepare(images)
        targets = self._check_out(out, a.shape[0])
        lib = _c.lib()
        if not self._lock.acquire(blocking=False):
            raise BusyError("the session is running on another thread", _c.ERR_BUSY)
        try:
            handle = self._require()
            n = a.shape[0]
            if is_u8:
                status = lib.tessera_run_rgb8(
                    handle, a.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8)), n)
                check(status, "tessera_run_rgb8")
            else:
                status = lib.tessera_run_f32(
                    handle, a.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), n)
                check(status, "tessera_run_f32")
            result: Dict[str, np.ndarray] = {}
            for name in self.output_names:
                result[name] = self._copy(handle, output_code(name), into=targets.get(name))
            return result
        finally:
            self._lock.release()

    def _check_out(self, out, n: int) -> Dict[str, np.ndarray]:
        """Checks run(out=...) before anything runs."""
        if out is None:
            return {}
        if not isinstance(out, dict):
            raise InvalidArgumentError(f"out must be a dict of name -> numpy array, got {type(out).__name__}")
        for name, arr in out.items():
            want = self.output_shape(name, n)
            if not isinstance(arr, np.ndarray):
                raise InvalidArgumentError(f"out[{name!r}] must be a numpy array, got {type(arr).__name__}")
            problems = []
            if arr.dtype != np.float32:
                problems.append(f"dtype {arr.dtype} (expected float32)")
            if arr.shape != want:
                problems.append(f"shape {arr.shape} (expected {want} for {n} image(s))")
            if not arr.flags.c_contiguous:
                problems.append("not C-contiguous")
            if not arr.flags.writeable:
                problems.append("read-only")
            if problems:
                raise InvalidArgumentError(f"out[{name!r}] cannot take the output: " + ", ".join(problems))
        return out

    def output(self, name: str) -> np.ndarray:
        """One output of the last run, e.g. "embedding" or "layer_0".

        Raises UnavailableError if the model or session lacks it, StateError
        before any run.
        """
        code = output_code(name)
        with self._lock:
            return self._copy(self._require(), code)

    def _copy(self, handle: int, code: int, into: Optional[np.ndarray] = None) -> np.ndarray:
        lib = _c.lib()
        shape = (ctypes.c_int64 * 4)()
        rank = ctypes.c_int32()
        check(lib.tessera_output_shape(handle, code, shape, ctypes.byref(rank)), "tessera_output_shape")
        if not 1 <= rank.value <= 4:
            raise InternalError(f"tessera_output_shape returned rank {rank.value}",
                                _c.ERR_INTERNAL)
        dims = tuple(int(shape[i]) for i in range(rank.value))
        arr = np.empty(dims, dtype=np.float32) if into is None else into
        if arr.shape != dims:
            raise InternalError(f"output {code} has shape {dims}, the target {arr.shape}",
                                _c.ERR_INTERNAL)
        check(lib.tessera_output_copy(handle, code,
                                      arr.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
                                      arr.size),
              "tessera_output_copy")
        return arr
