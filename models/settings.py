"""Settings shared by the API and the workers, read from `HANDCALC_*` variables."""

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """What every handcalc process needs to know: where the data and the artifacts live."""

    model_config = SettingsConfigDict(env_prefix="HANDCALC_", extra="ignore")

    state_dir: Path = Path("var")
    """Local state (artifact store, embedded broker, token) when nothing else is set."""

    artifact_root: Path | None = None
    """Root of the versioned artifact store; defaults to `<state_dir>/artifacts`."""

    data: Path | None = None
    """MNIST: a Keras-layout `mnist.npz` or a folder holding the four IDX files."""

    @property
    def artifacts(self) -> Path:
        return (
            self.artifact_root if self.artifact_root is not None else self.state_dir / "artifacts"
        )
