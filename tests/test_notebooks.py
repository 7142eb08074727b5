"""notebooks/*.ipynb run end to end (nbclient, a real IPython kernel) at smoke size, their parameter cell replaced,
and show what they promise (figures, audio, the result table); in git they carry no outputs."""
import json
import os
import pathlib

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

REPO = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"


def _execute(name: str, parameters: str, tmp_path) -> "nbformat.NotebookNode":
  nb = nbformat.read(NOTEBOOKS / name, as_version=4)
  cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
  assert len(cells) == 1, "one cell tagged 'parameters'"
  cells[0].source = parameters
  # As a user's kernel: one CPU device (not the tests' 8 forced ones), data generated into the test's folder.
  env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
  env["DECOMPJAX_DATA_DIR"] = str(tmp_path / "data")
  client = nbclient.NotebookClient(nb, timeout=900, kernel_name="python3",
                                   resources={"metadata": {"path": str(NOTEBOOKS)}})
  client.execute(env=env)
  return nb


def _outputs(nb, mime: str) -> list:
  return [o["data"][mime] for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
          if "data" in o and mime in o["data"]]


@pytest.mark.slow
def test_quickstart_trains_both_families_and_shows_figures_and_audio(tmp_path):
  nb = _execute("quickstart.ipynb", f'SIZE = "smoke"\nREPO = ""\nWORKDIR = {str(tmp_path / "runs")!r}', tmp_path)
  assert len(_outputs(nb, "image/png")) == 3          # reconstructions, traversal, t-SNE
  audio = [h for h in _outputs(nb, "text/html") if "<audio" in h]
  assert len(audio) == 2                                # a test clip and its reconstruction
  assert any("E_s (voice)" in m for m in _outputs(nb, "text/markdown"))  # the speaker probe table
  text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
  assert "device(s)" in text and "recon" in text
  assert (tmp_path / "runs" / "syntone" / "eval" / "metrics.json").is_file()


@pytest.mark.slow
def test_reproduce_table_runs_the_readme_command_and_shows_its_table(tmp_path):
  out = tmp_path / "study"
  nb = _execute("reproduce_table.ipynb", f'SIZE = "smoke"\nSEEDS = 1\nREPO = ""\nOUT = {str(out)!r}', tmp_path)
  tables = [m for m in _outputs(nb, "text/markdown") if "NSDR" in m]
  assert tables, "the benchmark's table is shown"
  assert "oracle" in tables[0].lower()
  assert (out / "table.md").is_file()


@pytest.mark.parametrize("name", ["quickstart.ipynb", "reproduce_table.ipynb"])
def test_notebooks_are_committed_without_outputs(name):
  nb = json.loads((NOTEBOOKS / name).read_text())
  for cell in nb["cells"]:
    if cell["cell_type"] == "code":
      assert cell["outputs"] == [] and cell["execution_count"] is None
