"""Finding and loading libtessera.so, and the C declarations of include/tessera.h.

Everything here mirrors the header by hand: the constants, the structs
(field for field, in order) and each function's argtypes/restype. The tests
compare the structs with the header (names, order, offsets) so that the two
cannot drift silently.

Lookup order for the shared library (the first that loads wins):

1. the environment variable ``TESSERA_LIBRARY`` (a path to the .so); when it
   is set it is the only candidate, so that a wrong value fails loudly
   instead of silently loading another copy;
2. ``libtessera.so`` beside this file (a copy placed into the package);
3. ``.build/release/libtessera.so`` then ``.build/debug/libtessera.so`` in
   the repository that holds this file (searched upwards from the package
   directory, so it also works from a virtual environment inside the
   repository);
4. the system's loader path (``ctypes.util.find_library("tessera")``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
from pathlib import Path
from typing import List, Optional, Tuple

# --- constants (tessera.h) ---------------------------------------------------

VERSION_MAJOR = 0
VERSION_MINOR = 3
VERSION_PATCH = 0
VERSION_STRING = "0.3.0"

OK = 0
ERR_INVALID_ARGUMENT = 1
ERR_IO = 2
ERR_FORMAT = 3
ERR_UNSUPPORTED = 4
ERR_UNAVAILABLE = 5
ERR_OUT_OF_MEMORY = 6
ERR_BUSY = 7
ERR_STATE = 8
ERR_INTERNAL = 9

FAMILY_VIT = 1
FAMILY_DEIT = 2
FAMILY_DINOV2 = 3
FAMILY_DINOV3 = 4

POS_RESIZE_BICUBIC = 1
POS_RESIZE_BICUBIC_ANTIALIAS = 2
POS_RESIZE_BICUBIC_OFFSET = 3
POS_RESIZE_NONE_ROPE = 4

PRECISION_FP32 = 0
PRECISION_INT8 = 1
ISA_AUTO = 0
ISA_PORTABLE = 1
ISA_AVX2 = 2
ISA_AVX512 = 3

OUTPUT_LOGITS = 0
OUTPUT_EMBEDDING = 1
OUTPUT_PATCH_TOKENS = 2
OUTPUT_REGISTER_TOKENS = 3
OUTPUT_LAYER_BASE = 256


def OUTPUT_LAYER(k: int) -> int:
    """TESSERA_OUTPUT_LAYER(k): block k's output (0-based)."""
    return OUTPUT_LAYER_BASE + k


def OUTPUT_BIT(which: int) -> int:
    """TESSERA_OUTPUT_BIT(which): a final output's bit in options.outputs."""
    return 1 << which


OUTPUTS_EXPLICIT = 1 << 31

RESIZE_STRETCH = 1
RESIZE_COVER_CROP = 2
RESIZE_MODEL = 3
RESAMPLE_DEFAULT = 0
RESAMPLE_BICUBIC = 1
RESAMPLE_BILINEAR = 2


# The layers mask is a uint64_t: at most 64 blocks can be requested.
MAX_MASK_LAYERS = 64

# --- types -------------------------------------------------------------------

tessera_status = ctypes.c_int32
tessera_family = ctypes.c_int32
tessera_pos_resize = ctypes.c_int32
tessera_isa = ctypes.c_int32
tessera_output = ctypes.c_int32
model_p = ctypes.c_void_p      # tessera_model *
session_p = ctypes.c_void_p    # tessera_session *


class tessera_model_info(ctypes.Structure):
    """struct tessera_model_info, field for field."""

    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("family", tessera_family),
        ("hidden_size", ctypes.c_int32),
        ("num_layers", ctypes.c_int32),
        ("num_heads", ctypes.c_int32),
        ("mlp_size", ctypes.c_int32),
        ("patch_size", ctypes.c_int32),
        ("image_height", ctypes.c_int32),
        ("image_width", ctypes.c_int32),
        ("num_channels", ctypes.c_int32),
        ("num_classes", ctypes.c_int32),
        ("num_register_tokens", ctypes.c_int32),
        ("num_prefix_tokens", ctypes.c_int32),
        ("pos_resize", tessera_pos_resize),
        ("isa", tessera_isa),
        ("image_mean", ctypes.c_float * 3),
        ("image_std", ctypes.c_float * 3),
        ("num_parameters", ctypes.c_int64),
        ("weight_bytes", ctypes.c_size_t),
        ("l1d_bytes", ctypes.c_size_t),
        ("l2_bytes", ctypes.c_size_t),
        ("isa_name", ctypes.c_char * 16),
        ("architecture", ctypes.c_char * 64),
        ("gemm_kc", ctypes.c_int32),
        ("gemm_mc", ctypes.c_int32),
        ("blocking_source", ctypes.c_char * 16),
        ("int8_kernel", ctypes.c_char * 32),
    ]


class tessera_session_options(ctypes.Structure):
    """struct tessera_session_options, field for field."""

    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("batch", ctypes.c_int32),
        ("height", ctypes.c_int32),
        ("width", ctypes.c_int32),
        ("num_threads", ctypes.c_int32),
        ("layers_mask", ctypes.c_uint64),
        ("max_arena_bytes", ctypes.c_size_t),
        ("isa", tessera_isa),
        ("outputs", ctypes.c_uint32),
        ("precision", ctypes.c_int32),
        ("reserved", ctypes.c_int32),
    ]


class tessera_session_options_48(ctypes.Structure):
    """The first 48 bytes of tessera_session_options: what the library's
    tessera_session_default_options returns (for programs built against 0.1
    and 0.2); use tessera_session_options_init."""

    _fields_ = tessera_session_options._fields_[:9]


class tessera_session_info(ctypes.Structure):
    """struct tessera_session_info, field for field."""

    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("batch", ctypes.c_int32),
        ("height", ctypes.c_int32),
        ("width", ctypes.c_int32),
        ("num_threads", ctypes.c_int32),
        ("isa", tessera_isa),
        ("isa_name", ctypes.c_char * 16),
        ("gemm_kc", ctypes.c_int32),
        ("gemm_mc", ctypes.c_int32),
        ("blocking_source", ctypes.c_char * 16),
        ("arena_bytes", ctypes.c_size_t),
        ("outputs", ctypes.c_uint32),
        ("layers_mask", ctypes.c_uint64),
        ("blocks_run", ctypes.c_int32),
        ("num_layers", ctypes.c_int32),
        ("num_tokens", ctypes.c_int32),
        ("num_ops", ctypes.c_int32),
        ("precision", ctypes.c_int32),
        ("int8_kernel", ctypes.c_char * 32),
        ("int8_weight_bytes", ctypes.c_size_t),
    ]


_P = ctypes.POINTER

# name: (restype, argtypes)
FUNCTIONS = {
    "tessera_version": (ctypes.c_char_p, []),
    "tessera_last_error": (ctypes.c_char_p, []),
    "tessera_status_string": (ctypes.c_char_p, [tessera_status]),
    "tessera_model_load": (tessera_status, [ctypes.c_char_p, _P(model_p)]),
    "tessera_model_free": (None, [model_p]),
    "tessera_model_get_info": (tessera_status, [model_p, _P(tessera_model_info)]),
    "tessera_model_label": (ctypes.c_char_p, [model_p, ctypes.c_int32]),
    "tessera_session_options_init": (tessera_status, [_P(tessera_session_options), ctypes.c_size_t]),
    "tessera_session_default_options": (tessera_session_options_48, []),
    "tessera_session_create": (
        tessera_status,
        [model_p, _P(tessera_session_options), _P(session_p)],
    ),
    "tessera_session_free": (None, [session_p]),
    "tessera_session_arena_bytes": (ctypes.c_size_t, [session_p]),
    "tessera_session_get_info": (tessera_status, [session_p, _P(tessera_session_info)]),
    "tessera_run_f32": (tessera_status, [session_p, _P(ctypes.c_float), ctypes.c_size_t]),
    "tessera_run_rgb8": (tessera_status, [session_p, _P(ctypes.c_uint8), ctypes.c_size_t]),
    "tessera_output_shape": (
        tessera_status,
        [session_p, tessera_output, _P(ctypes.c_int64), _P(ctypes.c_int32)],
    ),
    "tessera_output_copy": (
        tessera_status,
        [session_p, tessera_output, _P(ctypes.c_float), ctypes.c_size_t],
    ),
    "tessera_preprocess_rgb8": (
        tessera_status,
        [session_p, _P(ctypes.c_uint8), ctypes.c_size_t, ctypes.c_size_t, ctypes.c_size_t,
         ctypes.c_int32, ctypes.c_int32, _P(ctypes.c_uint8), ctypes.c_size_t],
    ),
    "tessera_output_view": (
        tessera_status,
        [session_p, tessera_output, _P(_P(ctypes.c_float)), _P(ctypes.c_int64),
         _P(ctypes.c_int64), _P(ctypes.c_int32)],
    ),
}

LIBRARY_NAME = "libtessera.so"
ENV_VAR = "TESSERA_LIBRARY"


class LibraryNotFoundError(ImportError):
    """No libtessera.so could be loaded; the message lists every path tried."""


def candidate_paths() -> List[str]:
    """The paths tried, in order (see the module docstring)."""
    env = os.environ.get(ENV_VAR)
    if env:
        return [env]
    here = Path(__file__).resolve().parent
    paths = [here / LIBRARY_NAME]
    for ancestor in here.parents:
        for config in ("release", "debug"):
            paths.append(ancestor / ".build" / config / LIBRARY_NAME)
    out: List[str] = []
    for p in paths:
        s = str(p)
        if s not in out:
            out.append(s)
    return out


def _declare(lib: ctypes.CDLL, path: str) -> ctypes.CDLL:
    for name, (restype, argtypes) in FUNCTIONS.items():
        try:
            fn = getattr(lib, name)
        except AttributeError:
            raise LibraryNotFoundError(
                f"{path} was loaded but does not export {name}; "
                "it was not built from this include/tessera.h"
            ) from None
        fn.restype = restype
        fn.argtypes = argtypes
    return lib


_lock = threading.Lock()
_lib: Optional[ctypes.CDLL] = None
_lib_path: Optional[str] = None


def _load() -> Tuple[ctypes.CDLL, str]:
    tried: List[str] = []
    hints: List[str] = []
    env_set = bool(os.environ.get(ENV_VAR))
    for path in candidate_paths():
        if not env_set and not os.path.exists(path):
            tried.append(f"{path} (not found)")
            continue
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            tried.append(f"{path} ({e})")
            hint = _static_tls_hint(str(e))
            if hint and hint not in hints:
                hints.append(hint)
            continue
        return _declare(lib, path), path
    if not env_set:
        system = ctypes.util.find_library("tessera")
        if system:
            try:
                return _declare(ctypes.CDLL(system), system), system
            except OSError as e:
                tried.append(f"{system} ({e})")
        else:
            tried.append("libtessera on the system loader path (not found)")
    hints.append(
        f"Set {ENV_VAR} to the path of libtessera.so, or build it with "
        "`swift build -c release --product tessera` in the repository."
    )
    raise LibraryNotFoundError(
        "could not load libtessera.so; tried:\n  " + "\n  ".join(tried) + "\n" + "\n".join(hints)
    )


_STATIC_TLS = ": cannot allocate memory in static TLS block"


def _static_tls_hint(error: str) -> Optional[str]:
    """Advice for a dependency (e.g. libjemalloc) whose TLS cannot be dlopen'ed late."""
    if _STATIC_TLS not in error:
        return None
    dep = error.split(_STATIC_TLS)[0].rsplit(": ", 1)[-1]
    return (
        f"{dep} uses initial-exec TLS and cannot be loaded into a running process; "
        f"start Python with LD_PRELOAD={dep} or with "
        "GLIBC_TUNABLES=glibc.rtld.optional_static_tls=16384 in the environment."
    )


def lib() -> ctypes.CDLL:
    """The loaded library (loaded on first use, then cached)."""
    global _lib, _lib_path
    if _lib is None:
        with _lock:
            if _lib is None:
                _lib, _lib_path = _load()
    return _lib


def library_path() -> str:
    """Path of the loaded libtessera.so (loads it if needed)."""
    lib()
    assert _lib_path is not None
    return _lib_path


def decode(raw: Optional[bytes]) -> str:
    if raw is None:
        return ""
    return raw.decode("utf-8", errors="replace")
