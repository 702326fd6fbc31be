"""The Dockerfile and compose file, checked by reading them (no Docker engine here)."""

import re
import tomllib
from pathlib import Path

import pytest
import yaml

from app.cli import main as cli_main
from app.settings import ApiSettings

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = {f"HANDCALC_{name.upper()}" for name in ApiSettings.model_fields}


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def dockerfile():
    text = (ROOT / "Dockerfile").read_text()
    stages, current = {}, None
    for line in text.replace("\\\n", " ").splitlines():
        match = re.match(r"FROM\s+\S+\s+AS\s+(\S+)", line, re.IGNORECASE)
        if match:
            current = match.group(1)
            stages[current] = []
        elif current and line.strip() and not line.startswith("#"):
            stages[current].append(line.strip())
    return stages


def test_compose_services_run_real_commands(compose, capsys):
    services = compose["services"]
    assert set(services) == {
        "redis", "minio", "minio-bucket", "lb", "api", "worker", "worker-gpu", "prometheus",
        "flower",
    }  # fmt: skip
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["handcalc"] == "app.cli:main"
    for name in ("api", "worker", "worker-gpu"):
        command = services[name]["command"]
        assert command[0] == "handcalc" and command[1] in {"serve", "worker"}
        with pytest.raises(SystemExit) as exit_info:
            cli_main([command[1], "--help"])
        assert exit_info.value.code == 0
    assert "8000:8000" in services["lb"]["ports"] and "ports" not in services["api"]
    assert services["api"]["deploy"]["replicas"] == 2
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in services["lb"]["volumes"]
    nginx = (ROOT / "deploy" / "nginx.conf").read_text()
    limit = ApiSettings.model_fields["max_body_bytes"].default
    assert f"client_max_body_size {limit // 2**20}m;" in nginx  # the API's own body limit


def test_compose_sets_only_real_settings(compose):
    variables = set()
    for service in compose["services"].values():
        variables |= {k for k in service.get("environment", {}) if k.startswith("HANDCALC_")}
    example = (ROOT / ".env.example").read_text()
    variables |= set(re.findall(r"^#?\s*(HANDCALC_[A-Z_]+)=", example, re.MULTILINE))
    assert variables, "the compose file configures nothing"
    assert variables <= SETTINGS, variables - SETTINGS


def test_compose_volumes_line_up(compose):
    services, declared = compose["services"], set(compose["volumes"])
    for service in services.values():
        for mount in service.get("volumes", []):
            volume = mount.split(":")[0]
            if volume.startswith("./"):
                assert (ROOT / volume).is_file(), volume
                continue
            assert volume in declared, f"{volume} is not declared"
    roots = set()
    for name in ("api", "worker", "worker-gpu"):
        environment = services[name]["environment"]
        roots.add(environment["HANDCALC_ARTIFACT_ROOT"])
        assert environment["AWS_ENDPOINT_URL"] == "http://minio:9000"
        assert environment["HANDCALC_BROKER_URL"].startswith("redis://redis:")
        assert services[name]["depends_on"]["minio-bucket"]["condition"] == (
            "service_completed_successfully"
        )
    assert roots == {"s3://handcalc/models"}  # API and workers share one store
    assert "store/handcalc" in " ".join(services["minio-bucket"]["command"])  # its bucket


def test_compose_health_restart_and_gpu(compose):
    services = compose["services"]
    for name in ("redis", "minio", "api"):
        assert services[name]["healthcheck"]["test"]
    for name, service in services.items():
        assert service["restart"] == ("no" if name == "minio-bucket" else "unless-stopped")
    gpu = services["worker-gpu"]
    assert gpu["profiles"] == ["gpu"]
    device = gpu["deploy"]["resources"]["reservations"]["devices"][0]
    assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"]
    assert "profiles" not in services["worker"]  # scalable with --scale worker=N
    assert "container_name" not in services["worker"]
    for name in ("prometheus", "flower"):
        assert services[name]["profiles"] == ["monitoring"]


def test_prometheus_scrapes_every_api_replica_and_worker(compose):
    config = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())
    api, workers = config["scrape_configs"]
    assert api["metrics_path"] == workers["metrics_path"] == "/metrics"
    (discovery,) = api["dns_sd_configs"]
    assert discovery["names"] == ["api"] and discovery["port"] == 8000
    (discovery,) = workers["dns_sd_configs"]
    assert discovery["names"] == ["worker", "worker-gpu"]
    for name in discovery["names"]:  # the port each worker serves its metrics on
        port = compose["services"][name]["environment"]["HANDCALC_WORKER_METRICS_PORT"]
        assert int(port) == discovery["port"]
    assert "HANDCALC_WORKER_METRICS_PORT" not in compose["services"]["api"]["environment"]
    assert "--broker=redis://redis:6379/0" in compose["services"]["flower"]["command"]


def test_dockerfile_stages(dockerfile):
    assert {"api", "worker", "worker-gpu"} <= set(dockerfile)
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    installs = {"api": 'pip install .', "worker": 'pip install ".[train]"',
                "worker-gpu": 'pip install ".[gpu]"'}  # fmt: skip
    for stage, install in installs.items():
        lines = dockerfile[stage]
        assert f"RUN {install}" in lines
        assert "USER handcalc" in lines
        assert any(line.startswith("HEALTHCHECK") for line in lines)
    assert {"train", "gpu"} <= set(extras)
    assert "tensorflow" not in " ".join(dockerfile["api"])


def test_dockerfile_copies_what_exists_and_sets_real_settings(dockerfile):
    source = dockerfile["source"]
    for line in source:
        if line.startswith("COPY"):
            for path in line.split()[1:-1]:
                assert (ROOT / path).exists(), path
        if line.startswith("ENV"):
            names = set(re.findall(r"(HANDCALC_[A-Z_]+)=", line))
            assert names <= SETTINGS, names - SETTINGS


def test_every_setting_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    missing = sorted(name for name in SETTINGS if f"`{name}`" not in readme)
    assert missing == []
