"""A Python that sees only the packages of the GPU machine's image, for the GPU check's dry run.

The lent GPU machine (/work/.library/device/KINDS.md, ``nvidia-h200``, package list read 2026-11-17)
has Python 3.12 with torch, triton, lightning, numpy, xarray, pytest, ... but no Hydra, omegaconf, mne,
zarr, dask or braindecode, and no package index. :func:`image_like_python` writes a wrapper that runs
this interpreter without ``site`` (``-S``) on a folder of links to those installed distributions whose
names are in :data:`IMAGE`: a package absent there is absent here too (``find_spec`` is ``None``).
"""

from __future__ import annotations

import importlib.metadata
import re
import sys
import sysconfig
from pathlib import Path

# distribution names on the image (KINDS.md, "Python packages already there"), normalised
IMAGE = frozenset("""
absl-py accelerate aiofiles aiohappyeyeballs aiohttp aiosignal annotated-doc anyio attrs botorch build certifi
charset-normalizer chex click cloudpickle cmake colorama contourpy coverage cuda-bindings cuda-core
cuda-pathfinder cuda-toolkit cupy-cuda13x cycler cython diffrax e3nn einops equinox etils execnet filelock
flatbuffers flax fonttools formulaic frozenlist fsspec gpytorch grpcio h11 h5py hf-xet httpcore httpx
huggingface-hub humanize hypothesis idna imageio iniconfig interface-meta jax jax-cuda13-pjrt jax-cuda13-plugin
jaxlib jaxtyping jinja2 joblib kiwisolver lazy-loader lightning lightning-utilities linear-operator lineax
llvmlite lxml markdown markdown-it-py markupsafe matplotlib mdurl meson ml-dtypes mpi4py mpmath msgpack
multidict multipledispatch mypy-extensions nanobind narwhals networkx ninja numba numba-cuda numpy numpyro
nvidia-ml-py onnx onnx-ir onnxruntime onnxscript opencv-python-headless optax opt-einsum opt-einsum-fx
optimistix orbax-checkpoint packaging pandas pathspec patsy peft pillow pip pluggy portalocker
prometheus-client propcache protobuf psutil pyarrow pybind11 py-cpuinfo pygments pyparsing pyproject-hooks
pyre-extensions pytest pytest-benchmark pytest-cov pytest-mock pytest-timeout pytest-xdist python-dateutil
pytorch-lightning pyyaml regex requests rich sacrebleu safetensors scikit-build-core scikit-image scikit-learn
scipy seaborn sentencepiece sentence-transformers setuptools shellingham simplejson six sortedcontainers
statsmodels sympy tabulate tensorboard tensorboard-data-server tensorstore threadpoolctl tifffile tiktoken timm
tokenizers toolz torch torchaudio torchdiffeq torch-geometric torchmetrics torchvision tqdm transformers
treescope triton typer typing-extensions typing-inspect urllib3 uvloop wadler-lindig werkzeug wheel wrapt
xarray xxhash yarl zipp
""".split())


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _tops(dist: importlib.metadata.Distribution) -> set[str]:
    return {Path(f).parts[0] for f in (dist.files or []) if Path(f).parts and Path(f).parts[0] != ".."}


def image_like_python(folder: Path) -> Path:
    """Write ``folder/python``: this interpreter seeing only the installed distributions the GPU image
    also has (plus the standard library). Returns the wrapper's path."""
    site = folder / "site"
    site.mkdir(parents=True)
    keep, drop = set(), set()
    for dist in importlib.metadata.distributions():
        (keep if _norm(dist.metadata["Name"] or "") in IMAGE else drop).update(_tops(dist))
    purelib = Path(sysconfig.get_paths()["purelib"])
    for entry in sorted(purelib.iterdir()):
        if entry.name in keep or (entry.name not in drop and not entry.name.endswith(".pth")):
            if entry.name != "__pycache__":
                (site / entry.name).symlink_to(entry)
    wrapper = folder / "python"
    wrapper.write_text(f'#!/bin/sh\nexport PYTHONPATH="${{PYTHONPATH:+$PYTHONPATH:}}{site}"\n'
                       f'exec "{sys.executable}" -S "$@"\n')
    wrapper.chmod(0o755)
    return wrapper
