"""bench/gpu.py, the script a GPU machine runs, works on this CPU: devices, parts, a model across devices."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow  # a fresh interpreter, two short runs
def test_gpu_bench_reports_devices_parts_and_the_same_score_on_every_device(tmp_path):
    output = tmp_path / "gpu.md"
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "gpu.py"), "--steps", "1500", "--output", str(output)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    text = output.read_text()
    assert "devices TensorFlow sees: CPU" in text and "nvidia-smi:" in text
    rows = [line for line in text.splitlines() if line.startswith(("| course |", "| fast |"))]
    assert len(rows) == 2 and all("| 1,500 |" in row and "CPU (numpy)" in row for row in rows), rows
    assert "Same score on every device: yes." in text
