"""Execute every notebook in notebooks/ with its small parameters (nbclient, CPU).

The cell tagged ``parameters`` is replaced by the small settings (``SMALL = True``, one epoch,
one thread); each executed notebook must draw at least one PNG figure and raise no error.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
SMALL = {"SMALL": True, "MAX_EPOCHS": 1, "THREADS": 1}


def small_parameters(source: str) -> str:
    """The parameters cell with every name of SMALL that it sets replaced by the small value."""
    lines = []
    for line in source.splitlines():
        name = line.split("=", 1)[0].strip()
        lines.append(f"{name} = {SMALL[name]!r}" if "=" in line and name in SMALL else line)
    return "\n".join(lines)


def test_parameters_are_replaced():
    src = "SMALL = False   # comment\nMAX_EPOCHS = 8\nOTHER = 3"
    assert small_parameters(src) == "SMALL = True\nMAX_EPOCHS = 1\nOTHER = 3"


@pytest.mark.notebook
@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.stem)
def test_notebook_runs_small(path: Path):
    nb = nbformat.read(path, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), f"{path.name}: outputs committed"
    tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: needs one cell tagged 'parameters'"
    assert "SMALL" in tagged[0].source
    tagged[0].source = small_parameters(tagged[0].source)
    start = time.time()
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    errors = [o for o in outputs if o.output_type == "error"]
    assert not errors, f"{path.name}: {errors[0].ename}: {errors[0].evalue}"
    pngs = [o for o in outputs if "image/png" in o.get("data", {})]
    assert pngs, f"{path.name}: no figure drawn"
    print(f"{path.name}: {time.time() - start:.1f} s, {len(pngs)} figures")
