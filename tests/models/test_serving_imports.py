import subprocess
import sys


def test_serving_modules_do_not_import_tensorflow():
    code = (
        "import sys\n"
        "import models, models.preprocess, models.artifacts.registry, models.runtime, models.ops\n"
        "import models.params, models.artifacts.catalog, models.settings, models.data\n"
        "heavy = sorted(m for m in ('tensorflow', 'keras', 'matplotlib') if m in sys.modules)\n"
        "print(heavy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"
