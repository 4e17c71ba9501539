"""Building the docker backend's runner images, with or without a container registry.

Without a registry (the default): debootstrap makes a Debian bookworm root file system with
every package the three images need, ``docker import`` turns it into ``cronium/rootfs``, and
each image is built ``FROM`` it without downloading anything more. With a registry, the images
can be built from an official base image instead (``--base debian:bookworm-slim``).
"""

from __future__ import annotations

import functools
import hashlib
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path

from cronium import __version__
from cronium.domain.event import Language
from cronium.errors import SandboxUnavailableError

ROOTFS_REPOSITORY, ROOTFS_TAG = "cronium/rootfs", "bookworm"
ROOTFS_IMAGE = f"{ROOTFS_REPOSITORY}:{ROOTFS_TAG}"
SUITE = "bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
ROOTFS_PACKAGES = (
    "bash",
    "coreutils",
    "tini",
    "ca-certificates",
    "curl",
    "jq",
    "python3",
    "nodejs",
    "passwd",
)
Say = Callable[[str], None]


def runner_image(language: Language) -> str:
    """The image the docker backend runs ``language`` scripts in.

    Its tag carries a digest of what goes into it (Dockerfile, build script, helpers), so a
    change to any of them asks for a new image rather than running a stale one.
    """
    return f"cronium/runner-{language.value}:{__version__}-{_context_digest(language)}"


@functools.cache
def _context_digest(language: Language) -> str:
    digest = hashlib.sha256()
    sources = [images_dir() / language.value / "Dockerfile", images_dir() / "prepare.sh"]
    sources += sorted(p for p in helpers_source().rglob("*") if p.is_file() and _shipped(p))
    for path in sources:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


# what a checkout's helpers directory may hold besides the helpers (caches of tools): never
# copied into a sandbox or an image, and no part of an image's digest
NOT_SHIPPED = ("__pycache__", ".mypy_cache")


def _shipped(path: Path) -> bool:
    return not any(part in NOT_SHIPPED for part in path.parts)


def images_dir() -> Path:
    """The directory with ``prepare.sh`` and one Dockerfile per language."""
    packaged = Path(str(files("cronium"))) / "images"
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[2] / "images"  # an editable install
    if checkout.is_dir():
        return checkout
    raise SandboxUnavailableError("the runner images' Dockerfiles are missing from this install")


def helpers_source() -> Path:
    """The runtime helpers shipped in the package: mounted into native sandboxes, baked into
    every image."""
    return Path(str(files("cronium"))) / "helpers"


def apt_mirror(sources: Path = Path("/etc/apt")) -> str:
    """The Debian mirror this machine's apt uses, for debootstrap."""
    for path in sorted([sources / "sources.list", *sources.glob("sources.list.d/*")]):
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        for match in re.finditer(r"^(?:URIs:|deb)\s+(?:\[[^]]*\]\s+)?(\S+)", text, re.M):
            uri = match.group(1)
            if "security" not in uri and uri.rstrip("/").endswith("debian"):
                return uri
    return DEFAULT_MIRROR


def image_exists(image: str) -> bool:
    """Whether the local Docker daemon has ``image``."""
    found = subprocess.run(["docker", "image", "inspect", image], capture_output=True, check=False)
    return found.returncode == 0


def build_rootfs(say: Say, mirror: str | None = None) -> None:
    """debootstrap a bookworm root file system and import it as ``cronium/rootfs:bookworm``."""
    if shutil.which("debootstrap") is None:
        raise SandboxUnavailableError("debootstrap is not installed: apt-get install debootstrap")
    with tempfile.TemporaryDirectory(prefix="cronium-rootfs-") as work:
        root = Path(work) / "root"
        say(f"debootstrap {SUITE} from {mirror or apt_mirror()} (about a minute)...")
        subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(ROOTFS_PACKAGES)}",
                SUITE,
                str(root),
                mirror or apt_mirror(),
            ],
            check=True,
            capture_output=True,
        )
        archive = Path(work) / "rootfs.tar"
        with tarfile.open(archive, "w") as tar:
            tar.add(root, arcname=".")
        say(f"importing {ROOTFS_IMAGE}...")
        subprocess.run(
            ["docker", "import", str(archive), ROOTFS_IMAGE], check=True, capture_output=True
        )


def build_images(
    say: Say, *, base: str = ROOTFS_IMAGE, languages: tuple[Language, ...] = tuple(Language)
) -> list[str]:
    """Build the runner images from ``base``; their tags."""
    built = []
    for language in languages:
        with tempfile.TemporaryDirectory(prefix="cronium-image-") as context:
            _assemble_context(Path(context), language)
            tag = runner_image(language)
            say(f"building {tag} from {base}...")
            subprocess.run(
                ["docker", "build", "--quiet", "--build-arg", f"BASE={base}", "-t", tag, context],
                check=True,
                capture_output=True,
            )
            built.append(tag)
    return built


def _assemble_context(context: Path, language: Language) -> None:
    source = images_dir()
    shutil.copy(source / language.value / "Dockerfile", context / "Dockerfile")
    shutil.copy(source / "prepare.sh", context / "prepare.sh")
    shutil.copytree(
        helpers_source(),
        context / "helpers",
        ignore=shutil.ignore_patterns(*NOT_SHIPPED),
    )
