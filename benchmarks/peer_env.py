"""Create the peers' environment ``.venv-bench`` (braindecode, pyriemann + signalkit, no test deps).

    python3 -m benchmarks.peer_env          # or: python3 benchmarks/peer_env.py

braindecode needs torchaudio, whose releases pin their own torch, so the peers get their own
virtual environment, never the test environment ``.venv``. signalkit is installed editable into it
(``--no-deps`` plus its light runtime dependencies) so that one process imports both. The torch
wheel from PyPI is the CUDA build (a multi-GB download); the benchmarks use the CPU only.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv-bench"
PEERS = ["braindecode==1.8.1", "torch==2.14.1", "torchaudio==2.11.0", "mne", "pyriemann", "scikit-learn"]
SIGNALKIT_LIGHT = ["lightning>=2.4", "xarray>=2024.7", "zarr>=3.0", "torchmetrics>=1.4", "hydra-core>=1.3.2",
                   "omegaconf>=2.3", "safetensors>=0.4", "fsspec>=2024.6", "dask>=2024.8", "edfio>=0.4.3",
                   "netcdf4>=1.6", "h5netcdf>=1.3", "matplotlib>=3.8", "tqdm>=4.66", "nibabel>=5.2"]


def main() -> None:
    py = VENV / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = [str(py), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, *PEERS], check=True)
    subprocess.run([*pip, "-e", str(ROOT), "--no-deps"], check=True)
    subprocess.run([*pip, *SIGNALKIT_LIGHT], check=True)
    subprocess.run([str(py), "-c", "import signalkit, braindecode, pyriemann; print('ok', braindecode.__version__)"],
                   check=True)


if __name__ == "__main__":
    main()
