"""A runner image's tag depends on what goes into the image, not on tools' caches beside it."""

from pathlib import Path

import pytest

from cronium import images
from cronium.domain.event import Language


def test_caches_in_the_helpers_directory_leave_the_tag_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    helpers = tmp_path / "helpers"
    (helpers / "python" / "cronium").mkdir(parents=True)
    (helpers / "python" / "cronium" / "__init__.py").write_text("VALUE = 1\n")
    monkeypatch.setattr(images, "helpers_source", lambda: helpers)
    digest = images._context_digest.__wrapped__  # the uncached computation
    before = digest(Language.PYTHON)
    for cache in ("python/.mypy_cache/3.11", "python/cronium/__pycache__"):
        (helpers / cache).mkdir(parents=True)
        (helpers / cache / "x.json").write_text("{}")
    assert digest(Language.PYTHON) == before
    (helpers / "python" / "cronium" / "__init__.py").write_text("VALUE = 2\n")
    assert digest(Language.PYTHON) != before
