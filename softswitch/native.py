"""Compile the sans-IO SIP core with mypyc, and the dispatcher's loop in C
(softswitch/engine/relay.c): `python -m softswitch.native` (`make native`).

The build goes to `var/sip-native/` with a stamp of the sources it was made from, and
`softswitch.sip` uses it only while that stamp matches (see its docstring). It is an
optimisation, never a requirement: with no C compiler, or if mypyc fails, this prints why and
exits 0, and the engine runs the pure-Python modules (docs/adr/0009).
"""

import shutil
import sys
import tempfile
import time
from pathlib import Path

from softswitch.sip import (
    EXTENSION_SOURCES,
    NATIVE_DIR,
    NATIVE_STAMP,
    compiled_sources,
    source_digest,
)

# The package directory holds the modules; its grandparent is the build's import root.
BUILD_ROOT = NATIVE_DIR.parents[1]
# mypyc's shared library of the group, placed inside the package: softswitch/sip/native__mypyc.
GROUP_NAME = "softswitch.sip.native"


def is_current() -> bool:
    """Whether the build in var/sip-native was made from the sources as they are now."""
    try:
        return NATIVE_STAMP.read_text().strip() == source_digest()
    except OSError:
        return False


def compile_core(build_root: Path, work_dir: Path) -> None:
    """Compile the modules of softswitch/sip but its __init__, and the C extensions, into
    build_root; raise on failure."""
    from mypyc.build import mypycify  # only the build needs mypyc and setuptools
    from setuptools import Distribution, Extension

    project_root = compiled_sources()[0].parents[2]
    paths = [str(path.relative_to(project_root)) for path in compiled_sources()]
    modules = mypycify(paths, opt_level="3", target_dir=str(work_dir / "c"), group_name=GROUP_NAME)
    for source in EXTENSION_SOURCES:  # softswitch/engine/relay.c -> softswitch.engine._relay
        package = ".".join(source.relative_to(project_root).parent.parts)
        name = f"{package}._{source.stem}"
        modules.append(Extension(name, [str(source.relative_to(project_root))]))
    distribution = Distribution({"name": "vosadmin-sip-native", "ext_modules": modules})
    command = distribution.get_command_obj("build_ext")
    command.build_lib = str(build_root)
    command.build_temp = str(work_dir / "obj")
    distribution.run_command("build_ext")


def build() -> str:
    """Build unless current; swap the new build in whole, so a failed one leaves no half-build."""
    if is_current():
        return f"SIP core: native build is current ({NATIVE_DIR})"
    digest = source_digest()
    started = time.monotonic()
    BUILD_ROOT.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=BUILD_ROOT.parent) as scratch:
        new_root = Path(scratch) / "build"
        compile_core(new_root, Path(scratch) / "work")
        (new_root / NATIVE_STAMP.relative_to(BUILD_ROOT)).write_text(digest + "\n")
        shutil.rmtree(BUILD_ROOT, ignore_errors=True)
        new_root.rename(BUILD_ROOT)
    return f"SIP core: compiled with mypyc in {time.monotonic() - started:.0f} s ({NATIVE_DIR})"


def main() -> int:
    try:
        print(build())
    except (Exception, SystemExit) as error:  # mypyc exits on a type error: run pure Python
        print(f"SIP core: not compiled, the engine runs pure Python ({error!r})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
