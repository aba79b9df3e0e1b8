"""Puts libtessera.so inside the package, so that `pip install` gives a
package that works from any directory.

Where the library comes from, in order:
1. TESSERA_LIBRARY, when it names a file: that prebuilt library;
2. the repository around this directory, when a Swift toolchain is on PATH:
   `swift build -c release --product tessera` there, then its
   .build/release/libtessera.so;
3. tessera/libtessera.so already in the source tree (an sdist made after 1 or 2).

The library links the Swift runtime statically, so the wheel needs only
glibc, libstdc++ and libgcc_s on the target machine. The wheel is tagged
py3-none-<platform>: pure Python (ctypes) over a native library.
"""

import os
import shutil
import subprocess
import sys

from setuptools import setup
from setuptools.command.build_py import build_py

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70
    from wheel.bdist_wheel import bdist_wheel

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
NAME = "libtessera.so"


def find_library():
    given = os.environ.get("TESSERA_LIBRARY")
    if given:
        if not os.path.isfile(given):
            sys.exit(f"tessera: TESSERA_LIBRARY={given} is not a file")
        return given
    if os.path.isfile(os.path.join(REPO, "Package.swift")) and shutil.which("swift"):
        print("tessera: building libtessera.so (swift build -c release --product tessera)", flush=True)
        subprocess.run(["swift", "build", "-c", "release", "--product", "tessera"], cwd=REPO, check=True)
        built = os.path.join(REPO, ".build", "release", NAME)
        if os.path.isfile(built):
            return built
    bundled = os.path.join(HERE, "tessera", NAME)
    if os.path.isfile(bundled):
        return bundled
    sys.exit("tessera: no libtessera.so to put in the package: install the Swift toolchain "
             "(swift on PATH, in a clone of the repository) or set TESSERA_LIBRARY to a built libtessera.so")


class BuildWithLibrary(build_py):
    def run(self):
        super().run()
        src = find_library()
        dst = os.path.join(self.build_lib, "tessera", NAME)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if os.path.abspath(src) != os.path.abspath(dst):
            shutil.copyfile(src, dst)
        print(f"tessera: packaged {src}", flush=True)


class PlatformWheel(bdist_wheel):
    def finalize_options(self):
        super().finalize_options()
        self.root_is_pure = False

    def get_tag(self):
        _, _, plat = super().get_tag()
        return "py3", "none", plat


setup(cmdclass={"build_py": BuildWithLibrary, "bdist_wheel": PlatformWheel})
