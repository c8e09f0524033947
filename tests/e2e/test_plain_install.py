"""A plain install (the project's dependencies, none of the test extras) runs the API and a
separate media node: what a user gets from `pip install .`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import Server, assert_problem, free_port, register

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("domain", "application", "infrastructure", "media", "projections", "api", "cli")


@pytest.fixture(scope="module")
def plain_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("plain")
    source, venv = where / "source", where / "venv"
    # A copy of what a wheel is built from, so that building leaves nothing in the checkout.
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source)
    for package in PACKAGES:
        shutil.copytree(ROOT / package, source / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    done = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", str(source)],
        capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    check = subprocess.run([str(venv / "bin" / "python"), "-c", "import pytest"],
                           capture_output=True, timeout=60)
    assert check.returncode != 0, "the plain venv has the test extras"
    return venv / "bin"


def test_the_api_asks_a_separate_media_node_without_the_test_extras(plain_venv, tmp_path):
    media_port = free_port()
    media = Server(tmp_path / "data", command="media", port=media_port, bin_dir=plain_venv)
    api = Server(tmp_path / "data", {"SPACES_MEDIA_URL": f"http://127.0.0.1:{media_port}"},
                 bin_dir=plain_venv)
    try:
        media.start()
        http = api.start()
        host = register(http, "host")
        space = http.post("/v1/spaces", json={"title": "Installed"}, headers=host.auth).json()["id"]
        http.post(f"/v1/spaces/{space}/launch", headers=host.auth)
        # The offer travels to the media node and its refusal back: the remote client works.
        assert_problem(http.post(f"/v1/spaces/{space}/audio/listen", content="v=0",
                                 headers={"Content-Type": "application/sdp"}), 400, "SDP offer")
    finally:
        api.stop()
        media.stop()
