import subprocess
import sys


def test_the_api_process_never_imports_tensorflow_or_matplotlib(trained_root, tmp_path):
    code = (
        "import sys\n"
        "from fastapi.testclient import TestClient\n"
        "from app.main import create_app\n"
        "from app.settings import ApiSettings\n"
        f"with TestClient(create_app(ApiSettings(artifact_root={str(trained_root)!r}))) as c:\n"
        "    assert c.get('/readyz').status_code == 200\n"
        "    assert c.get('/models').status_code == 200\n"
        "    figure = c.get('/models/vae/versions/1/figures/latent-map.png')\n"
        "    assert figure.status_code == 200 and figure.content.startswith(b'\\x89PNG')\n"
        "heavy = ('tensorflow', 'keras', 'matplotlib')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
