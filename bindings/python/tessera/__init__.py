"""Tessera: Vision Transformer inference (ViT, DeiT, DINOv2) from Python.

    import numpy as np, tessera
    with tessera.Model("models/dinov2-small") as model:
        session = model.session(batch=2, height=224, width=224, layers=[11])
        out = session.run(np.zeros((2, 224, 224, 3), np.uint8))  # uint8 NHWC
        out["embedding"], out["patch_tokens"], out["layer_11"]

A ctypes binding of libtessera.so (see _library.py for how it is found);
numpy is the only dependency.
"""

from ._library import (
    ENV_VAR,
    FAMILY_DEIT,
    FAMILY_DINOV2,
    FAMILY_DINOV3,
    FAMILY_VIT,
    ISA_AUTO,
    ISA_AVX2,
    ISA_AVX512,
    ISA_PORTABLE,
    OUTPUT_EMBEDDING,
    OUTPUT_LAYER,
    OUTPUT_LOGITS,
    OUTPUT_PATCH_TOKENS,
    OUTPUT_REGISTER_TOKENS,
    POS_RESIZE_BICUBIC,
    POS_RESIZE_BICUBIC_ANTIALIAS,
    POS_RESIZE_BICUBIC_OFFSET,
    POS_RESIZE_NONE_ROPE,
    LibraryNotFoundError,
    library_path,
)
from .errors import (
    BusyError,
    FormatError,
    InternalError,
    InvalidArgumentError,
    OutOfMemoryError,
    StateError,
    TesseraError,
    TesseraIOError,
    UnavailableError,
    UnsupportedError,
)
from .model import Model, ModelInfo, Session, SessionInfo, status_string, version

__version__ = "0.3.0"

__all__ = [
    "Model",
    "ModelInfo",
    "Session",
    "SessionInfo",
    "version",
    "status_string",
    "library_path",
    "LibraryNotFoundError",
    "TesseraError",
    "InvalidArgumentError",
    "TesseraIOError",
    "FormatError",
    "UnsupportedError",
    "UnavailableError",
    "OutOfMemoryError",
    "BusyError",
    "StateError",
    "InternalError",
    "ENV_VAR",
    "FAMILY_VIT",
    "FAMILY_DEIT",
    "FAMILY_DINOV2",
    "FAMILY_DINOV3",
    "POS_RESIZE_BICUBIC",
    "POS_RESIZE_BICUBIC_ANTIALIAS",
    "POS_RESIZE_BICUBIC_OFFSET",
    "POS_RESIZE_NONE_ROPE",
    "ISA_AUTO",
    "ISA_PORTABLE",
    "ISA_AVX2",
    "ISA_AVX512",
    "OUTPUT_LOGITS",
    "OUTPUT_EMBEDDING",
    "OUTPUT_PATCH_TOKENS",
    "OUTPUT_REGISTER_TOKENS",
    "OUTPUT_LAYER",
]
