"""Kinds of model: the code that builds, trains, scores and exports each one.

A *kind* is code (`autoencoder`, `vae`, `classifier`, `few-label`, `reader`, the
arithmetic heads); a *name* is a registered model in the artifact store (`classifier`,
`classifier-dense`, ...) whose versions all share one kind. This table is the one
place that knows the kinds: the pipeline, the CLI, the worker, the registry and
the API look a kind up here, and adding one means its module, a row here, its
tests and the routes that serve it.

No TensorFlow here: the API reads this table. Each row names the module that
holds the kind's builder, training and LiteRT endpoints (which import TensorFlow),
loaded only by the processes that train.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from models.params import (
    AutoencoderParams,
    ClassifierParams,
    CompareParams,
    FewLabelParams,
    HeadParams,
    ReaderParams,
    SharedReaderParams,
    TrainingParams,
    VaeParams,
)

# Signature name -> (input name, output names) of a kind's LiteRT export.
Signatures = dict[str, tuple[str, tuple[str, ...]]]

_ENCODE_DECODE: Signatures = {
    "encode": ("image", ("latent",)),
    "decode": ("latent", ("pixels",)),
}
_CLASSIFY: Signatures = {"classify": ("image", ("probabilities",))}

_CLASSIFIER_FIGURES = ("training-curves", "confusion-matrix", "mistakes", "first-layer")
_LATENT_FIGURES = ("training-curves", "reconstructions", "latent-map")
_HEAD_FIGURES = ("training-curves", "pair-accuracy")


@dataclass(frozen=True)
class Kind:
    name: str
    params: type[TrainingParams]
    signatures: Signatures
    serves: frozenset[str]
    """The inference routes a name of this kind can answer (`classify`, `encode`, ...)."""
    implementation: str
    """Module with `train(run) -> Outcome` and `endpoints(model)`, and `reader(model)` when
    other kinds may read with this one's network; it imports TensorFlow."""
    summary: str
    reads_with: frozenset[str] = field(default_factory=frozenset)
    """Kinds whose network this kind may start its reader from (empty: needs none)."""
    figures: tuple[str, ...] = ("training-curves",)
    """The pictures every version of this kind gets when it is published (`models.figures`
    draws each one; the names are the files' stems under the version's `figures/`)."""
    quantize_export: bool = False
    """Whether its LiteRT export may hold int8 weights: for kinds that serve decisions (a
    digit, a sum), kept when it takes Keras' decisions (`models.training.export`)."""

    def validate_params(self, values: dict[str, Any] | None = None) -> TrainingParams:
        return self.params.model_validate(values or {})

    def load(self) -> ModuleType:
        """The module that trains and exports this kind (imports TensorFlow)."""
        return importlib.import_module(self.implementation)


_HEAD_READERS = frozenset({"autoencoder", "add", "multiply", "compare"})

KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind(
            "autoencoder",
            AutoencoderParams,
            _ENCODE_DECODE,
            frozenset({"encode", "decode"}),
            "models.kinds.autoencoder",
            "A convolutional autoencoder with a sigmoid latent.",
            figures=_LATENT_FIGURES,
        ),
        Kind(
            "vae",
            VaeParams,
            {
                "encode": ("image", ("latent", "log_variance")),
                "decode": ("latent", ("pixels",)),
            },
            frozenset({"encode", "decode", "generate", "interpolate"}),
            "models.kinds.vae",
            "A variational autoencoder: encode to a Gaussian, sample and walk its latent space.",
            figures=(*_LATENT_FIGURES, "samples", "manifold"),
        ),
        Kind(
            "classifier",
            ClassifierParams,
            _CLASSIFY,
            frozenset({"classify"}),
            "models.kinds.classifier",
            "A digit classifier trained on labels: a CNN or a dense network.",
            figures=_CLASSIFIER_FIGURES,
            quantize_export=True,
        ),
        Kind(
            "few-label",
            FewLabelParams,
            _CLASSIFY,
            frozenset({"classify"}),
            "models.kinds.few_label",
            "A digit classifier taught from a handful of labels on top of a frozen reader.",
            reads_with=frozenset({"autoencoder", "vae", "add", "multiply", "compare"}),
            figures=_CLASSIFIER_FIGURES,
            quantize_export=True,
        ),
        Kind(
            "reader",
            ReaderParams,
            _CLASSIFY,
            frozenset({"classify", "read", "add", "multiply", "compare"}),
            "models.kinds.reader",
            "A digit classifier learnt from the sums of pairs of images, never from a label.",
            figures=(*_CLASSIFIER_FIGURES, "pair-accuracy"),
            quantize_export=True,
        ),
        Kind(
            "add",
            HeadParams,
            {"predict": ("images", ("units", "tens"))},
            frozenset({"add"}),
            "models.kinds.head",
            "The sum of two digits, learnt from sums alone.",
            reads_with=_HEAD_READERS,
            figures=_HEAD_FIGURES,
            quantize_export=True,
        ),
        Kind(
            "multiply",
            SharedReaderParams,
            {"predict": ("images", ("units", "tens"))},
            frozenset({"multiply"}),
            "models.kinds.head",
            "The product of two digits, learnt from products alone.",
            reads_with=_HEAD_READERS,
            figures=_HEAD_FIGURES,
            quantize_export=True,
        ),
        Kind(
            "compare",
            CompareParams,
            {"predict": ("images", ("greater",))},
            frozenset({"compare"}),
            "models.kinds.head",
            "Whether one digit is greater than another, learnt from comparisons alone.",
            reads_with=_HEAD_READERS,
            figures=_HEAD_FIGURES,
            quantize_export=True,
        ),
    )
}


def get_kind(name: str) -> Kind:
    """The kind called `name`; `ValueError` naming the kinds there are otherwise."""
    if name not in KINDS:
        raise ValueError(f"unknown kind {name!r}; the kinds are {', '.join(KINDS)}")
    return KINDS[name]


@dataclass(frozen=True)
class DefaultModel:
    """A registered name that handcalc ships a starter for, with its kind and params."""

    name: str
    kind: str
    params: dict[str, Any] = field(default_factory=dict)


# In training order: each model after the ones it reads with.
DEFAULT_MODELS: tuple[DefaultModel, ...] = (
    DefaultModel("autoencoder", "autoencoder"),
    DefaultModel("classifier", "classifier"),
    DefaultModel("classifier-dense", "classifier", {"architecture": "dense"}),
    DefaultModel("vae", "vae"),
    DefaultModel("add", "add"),
    DefaultModel("multiply", "multiply"),
    DefaultModel("compare", "compare"),
    DefaultModel("few-label", "few-label"),
    DefaultModel("reader", "reader"),
)
DEFAULTS_BY_NAME: dict[str, DefaultModel] = {model.name: model for model in DEFAULT_MODELS}

# The kind of a name published before versions recorded their kind: the name was the kind.
LEGACY_KINDS: dict[str, str] = {
    name: name for name in ("autoencoder", "classifier", "add", "multiply", "compare")
}


def default_kind(name: str) -> str | None:
    """The kind a name has without asking the store: a shipped name's, else None."""
    model = DEFAULTS_BY_NAME.get(name)
    return model.kind if model else None


def recorded_kind(name: str, metadata: dict[str, Any]) -> str | None:
    """The kind a version's metadata records; a version from before kinds were recorded
    belongs to a name that was its kind."""
    return metadata.get("kind") or LEGACY_KINDS.get(name)


class KindConflict(ValueError):
    """A kind other than the one its registered name already has."""


def settle_kind(name: str, stored: str | None, requested: str | None = None) -> Kind:
    """The kind of `name`: the one the store records, else the `requested` one, else a
    shipped name's. A request that contradicts the store, or a new name with no kind at
    all, is refused with a `ValueError` saying so."""
    if stored is not None and requested is not None and stored != requested:
        raise KindConflict(
            f"model {name!r} is of kind {stored}; a {requested} version cannot be added to it "
            "(pick another name for the new kind)"
        )
    chosen = stored or requested or default_kind(name)
    if chosen is None:
        raise ValueError(
            f"model {name!r} is new: say what it is with 'kind' (one of {', '.join(KINDS)})"
        )
    return get_kind(chosen)
