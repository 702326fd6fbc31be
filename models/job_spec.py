"""A training job as the API accepts it and the worker runs it. No TensorFlow here."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from models.artifacts.names import NAME_PATTERN, NAME_RULE
from models.kinds import KINDS, default_kind, get_kind, settle_kind
from models.params import source_version


class TrainingJob(BaseModel):
    """A request to train one version of a registered name."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"model": "classifier", "params": {"epochs": 3}, "activate": True},
                {"model": "classifier-dense", "kind": "classifier", "params": {"epochs": 5}},
                {"model": "add", "params": {"pairs": 100_000}, "encoder_version": None},
            ]
        },
    )

    model: str = Field(
        pattern=NAME_PATTERN,
        description=f"The registered name the new version joins ({NAME_RULE}).",
    )
    kind: str | None = Field(
        None,
        description=f"What the name is: one of {', '.join(KINDS)}. Needed only when the name is "
        "new; a name's kind never changes.",
    )
    params: dict[str, Any] = Field(
        default_factory=dict, description="Training parameters of that kind; defaults fill gaps."
    )
    activate: bool = Field(True, description="Make the new version active when it is published.")
    encoder_version: int | None = Field(
        None,
        ge=1,
        description="Models reading the autoencoder (params.reader): its version (default: "
        "active).",
    )
    reader_version: int | None = Field(
        None,
        ge=1,
        description="Models reading another model (params.reader): its version (default: active).",
    )

    @model_validator(mode="after")
    def _validate(self) -> TrainingJob:
        if self.kind is not None:
            get_kind(self.kind)
        kind = self.kind or default_kind(self.model)
        if kind is not None:  # else the store must say, in `bind`
            self._check(kind)
        return self

    def bind(self, stored_kind: str | None) -> TrainingJob:
        """This job with its kind settled against the kind the store records for the name."""
        kind = settle_kind(self.model, stored_kind, self.kind).name
        bound = self.model_copy(update={"kind": kind})
        bound._check(kind)
        return bound

    def _check(self, kind_name: str) -> None:
        kind = get_kind(kind_name)
        try:
            checked = kind.validate_params(self.params)
        except ValidationError as error:
            problems = "; ".join(
                f"params.{'.'.join(str(p) for p in item['loc'])}: {item['msg']}"
                for item in error.errors()
            )
            raise ValueError(problems) from None
        self.params = checked.model_dump()
        if not kind.reads_with:
            for field_name in ("encoder_version", "reader_version"):
                if getattr(self, field_name) is not None:
                    raise ValueError(
                        f"{field_name} applies to models that read with another one "
                        f"(params.reader); a {kind.name} does not"
                    )
            return
        source_version(self.params["reader"], self.encoder_version, self.reader_version)
