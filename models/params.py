"""Validated training parameters for each model, shared by the CLI, the workers and the API.

No TensorFlow here: the API validates job specs with these classes.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from models.artifacts.names import NAME_PATTERN

MAX_HEAD_PAIRS = 20_000_000  # pair indices drawn up front: 320 MB at this bound

ReaderSource = Literal["autoencoder", "add", "multiply", "compare"]
Precision = Literal["auto", "float32", "mixed_bfloat16"]
PRECISION_DESCRIPTION = (
    "What the layers compute in: mixed_bfloat16 (float32 weights, bfloat16 arithmetic), "
    "float32, or auto: mixed_bfloat16 where the hardware has native bfloat16 (a GPU, a CPU "
    "with AMX or AVX512_BF16), else float32. Models are published in float32 either way."
)
FLOAT32_ONLY = (
    "float32 (auto means it too): this kind trains in its own loop, which has no mixed "
    "precision, so mixed_bfloat16 is refused rather than ignored."
)


class TrainingParams(BaseModel):
    """What every training run takes."""

    model_config = ConfigDict(extra="forbid")

    epochs: int = Field(10, ge=1, le=200, description="Upper bound; early stopping may end sooner.")
    batch_size: int = Field(128, ge=8, le=4096)
    learning_rate: float = Field(2e-3, gt=0.0, le=1.0)
    seed: int = Field(0, ge=0, le=2**31 - 1)
    validation_fraction: float = Field(
        0.1,
        ge=0.01,
        le=0.5,
        description="Share of the training set held out for early stopping: the same images "
        "for every seed, so a head validates on images its reader never trained on.",
    )
    patience: int = Field(
        3,
        ge=1,
        le=50,
        description="Epochs without a better validation loss; counted in the second half only.",
    )
    train_limit: int | None = Field(
        None, ge=100, le=60_000, description="Use only the first N training images (quick runs)."
    )
    precision: Precision = Field("auto", description=PRECISION_DESCRIPTION)


class AutoencoderParams(TrainingParams):
    # reconstructions still improve with every pass: make bench-quality scored 0.0627 test
    # BCE for 10 epochs (float32), 0.0623 for 16 and 0.0619 for 20 (bfloat16, the last
    # through the tf.data pipeline)
    epochs: int = Field(20, ge=1, le=200)
    learning_rate: float = Field(5e-3, gt=0.0, le=1.0)
    latent_dim: int = Field(100, ge=2, le=512, description="Length of the latent vector.")


class ClassifierParams(TrainingParams):
    epochs: int = Field(15, ge=1, le=200)
    dropout: float = Field(0.3, ge=0.0, lt=1.0)
    architecture: Literal["cnn", "dense"] = Field(
        "cnn",
        description="cnn: three convolution blocks; dense: fully connected hidden layers "
        "(hidden_units wide, hidden_layers deep), as the classic tutorials build.",
    )
    hidden_units: int = Field(512, ge=16, le=4096, description="Width of a dense net's layers.")
    hidden_layers: int = Field(2, ge=1, le=8, description="Hidden layers of a dense net.")
    # on an AMX CPU, one full-MNIST run each: 99.48% in bfloat16 (under the 99.5% goal) in
    # 195 s, 99.55% in float32 in 316 s; float32 unless a job asks for bfloat16
    precision: Precision = Field("float32", description=PRECISION_DESCRIPTION)


class VaeParams(TrainingParams):
    epochs: int = Field(15, ge=1, le=500)
    batch_size: int = Field(128, ge=8, le=4096)
    # full MNIST, 3 epochs (KL warm-up 0.5), float32: 105.55 nats of test negative ELBO at
    # 1e-3, 103.17 at 3e-3; 17 epochs at 3e-3 in bfloat16: 94.99 (2-core Zen 4 EPYC)
    learning_rate: float = Field(3e-3, gt=0.0, le=1.0)
    latent_dim: int = Field(16, ge=2, le=512, description="Length of the latent vector.")
    width: int = Field(64, ge=8, le=512, description="Channels of the widest convolutions.")
    kl_warmup_epochs: float = Field(
        2.0, ge=0.0, le=100.0, description="Epochs over which the KL weight ramps from 0 to 1."
    )
    jit_compile: bool = Field(False, description="Compile the training step with XLA.")
    precision: Precision = Field("auto", description=PRECISION_DESCRIPTION)


class FewLabelParams(TrainingParams):
    """A classifier on a frozen reader, from `labels_per_class` labelled images per digit."""

    epochs: int = Field(200, ge=1, le=2000, description="Passes over the labelled examples.")
    batch_size: int = Field(64, ge=8, le=4096)
    # on the VAE starter's maps with 1,500 consistency steps: 96.71% of the test digits read
    # right at 1e-3, 96.27% at 3e-3 (the rate of the first fit and of the consistency steps)
    learning_rate: float = Field(1e-3, gt=0.0, le=1.0)
    labels_per_class: int = Field(
        10, ge=1, le=6000, description="Labelled training images per digit, drawn with the seed."
    )
    reader: str = Field(
        "vae",
        pattern=NAME_PATTERN,
        description="Registered name whose network reads the images (frozen): an autoencoder's "
        "or a VAE's encoder, or a head's reader. Its version: reader_version (default: active).",
    )
    read_from: Literal["output", "features"] = Field(
        "features",
        description="What the classifier learns from: the reader's output (a VAE's mean, an "
        "autoencoder's latent, a head's reading) or its features, the last convolution's maps "
        "flattened, which keep more of what tells digits apart.",
    )
    hidden_units: int = Field(256, ge=0, le=4096, description="0: a linear classifier.")
    dropout: float = Field(0.2, ge=0.0, lt=1.0)
    # one full-MNIST trial on a 16-epoch VAE's latent, 10 labels per digit: 82.1% without,
    # 84.3% with 5 rounds; after 1,500 consistency steps on its maps, 5 rounds fell from
    # 96.27% to 93.73%
    self_training_rounds: int = Field(
        0,
        ge=0,
        le=20,
        description="Rounds of self-training: each adds the unlabelled training images the "
        "classifier is most sure of, with the digit it predicts (never their labels).",
    )
    consistency_steps: int = Field(
        1500,
        ge=0,
        le=100_000,
        description="Steps of consistency under augmentation after the first fit: the "
        "classifier learns to give a hard warp of an unlabelled image the digit it reads "
        "surely in a gentle warp of it (FixMatch); 0: none.",
    )
    confidence: float = Field(
        0.95,
        gt=0.0,
        lt=1.0,
        description="How sure a reading of a gently warped unlabelled image must be for the "
        "consistency steps to teach its digit.",
    )
    # full MNIST, one label per digit on the add head's reader: 99.0% of the training images
    # clustered right for each of three draws of the labels; on a VAE latent, 82 to 84%
    cluster_rounds: int = Field(
        0,
        ge=0,
        le=100,
        description="Rounds of clustering the readings of all the training images around the "
        "labelled ones (ten Gaussians with one shared covariance) before the classifier learns "
        "from every image with its cluster's digit; 0: from the labelled images alone. For a "
        "reader whose readings group by digit, such as a head's reader, which learnt from sums.",
    )
    precision: Literal["auto", "float32"] = Field("float32", description=FLOAT32_ONLY)


class ReaderParams(TrainingParams):
    """A digit reader learnt from the sums of random pairs of images, never from a label."""

    # separate pairs (the earlier default), one full-MNIST run each on 2 AVX-512 cores: 15
    # epochs of 60,000 pairs read 99.56% of the test digits (443 s), 18 of them 99.63% (624 s).
    # In groups of 8 each epoch reads 54,000 images rather than 120,000: see group_size
    epochs: int = Field(18, ge=1, le=200)
    batch_size: int = Field(
        16, ge=1, le=4096, description="Groups per batch (group_size images each)."
    )
    learning_rate: float = Field(2e-3, gt=0.0, le=1.0)
    pairs: int = Field(
        189_000,
        ge=1_000,
        le=2_000_000,
        description="Random image pairs summed per epoch; in groups of 8, the default is one "
        "pass over the 54,000 training images.",
    )
    # full MNIST, groups of 8 on a 2-core Xeon (AVX-512): 16 epochs, stopped early after 12
    # by a validation loss that still wavered, read 99.47% (522 s). After the first epoch
    # the same machine took 17.2 and 18.7 s an epoch of 12,800 separate pairs (25,600
    # images), 18.9 and 19.8 s for 3,200 groups of 8 (25,600 images, 89,600 sums): the cost is the
    # images read, and a group of 8 gives 3.5 sums per image read where pairs give 0.5
    # (`python -m models.train reader`: these defaults read 99.64% of the test digits in
    # 267.5 s on a 2-core AMD EPYC with AVX-512, family 26; 99.62% in 703 s on that Xeon)
    group_size: int = Field(
        8,
        ge=2,
        le=16,
        description="Random images read together; the teacher gives the sum of every pair of "
        "them (2: separate pairs).",
    )
    patience: int = Field(
        18,
        ge=1,
        le=50,
        description="Epochs without a better validation loss; counted in the second half only. "
        "The reader's wavers while the cosine schedule still improves it: by default it never "
        "stops early (the best epoch's weights are kept).",
    )
    dropout: float = Field(0.3, ge=0.0, lt=1.0)
    # width 16 (separate pairs), one full-MNIST run of 18 epochs on 2 AVX2 cores: 99.53% of the test
    # digits read right, in 942 s; width 32 read 99.63% that way. On the same machine a
    # short timing trained width 32 about 2.3 times slower per pair (497 against 1,163 pairs/s)
    width: int = Field(
        32,
        ge=4,
        le=128,
        description="Channels of the first convolution; the second has twice, the third four "
        "times as many (the classifier's CNN has 32).",
    )
    precision: Precision = Field("float32", description=PRECISION_DESCRIPTION)

    @model_validator(mode="after")
    def _bounded_work(self) -> ReaderParams:
        _check_pairs(self.epochs, self.pairs)
        return self


def _check_pairs(epochs: int, pairs: int) -> None:
    if epochs * pairs > MAX_HEAD_PAIRS:
        raise ValueError(
            f"epochs x pairs is {epochs * pairs:,}; at most {MAX_HEAD_PAIRS:,} "
            "pairs can be drawn for one training run"
        )


class HeadParams(TrainingParams):
    epochs: int = Field(10, ge=1, le=200)
    pairs: int = Field(
        120_000, ge=1_000, le=2_000_000, description="Fresh random image pairs per epoch."
    )
    hidden_units: int = Field(256, ge=16, le=4096)
    hidden_layers: int = Field(2, ge=1, le=6)
    reader: ReaderSource = Field(
        "autoencoder",
        description="Where the head's reader starts: the autoencoder's encoder, or the reader "
        "another head learnt from its own results (still no digit label anywhere).",
    )
    train_reader: bool = Field(
        True, description="Fine-tune the reader; when false only the layers after it learn."
    )

    @model_validator(mode="after")
    def _bounded_work(self) -> HeadParams:
        _check_pairs(self.epochs, self.pairs)
        return self


class SharedReaderParams(HeadParams):
    """Heads that, by default, read with the add head's reader as it is.

    Learning to read digits from sums is the expensive part of a head (add trains for
    10 epochs). Once the add head can read, products and comparisons are a small
    network over its readings: minutes of training become seconds.
    """

    epochs: int = Field(3, ge=1, le=200)
    reader: ReaderSource = Field("add")
    train_reader: bool = Field(False)


class CompareParams(SharedReaderParams):
    epochs: int = Field(2, ge=1, le=200, description="Comparing is learnt sooner than arithmetic.")


def version_field(reader: str) -> str:
    """The job field that names the version of the model a head's reader comes from."""
    return "encoder_version" if reader == "autoencoder" else "reader_version"


def source_version(
    reader: str, encoder_version: int | None, reader_version: int | None
) -> int | None:
    """The version of the model a head's reader comes from (None: its active one).

    `encoder_version` names the autoencoder's, `reader_version` another head's (see
    `version_field`); the one that does not fit `reader` is refused, so neither is
    ever silently ignored.
    """
    if version_field(reader) == "encoder_version":
        if reader_version is not None:
            raise ValueError(
                "reader_version applies when params.reader names a head; "
                "encoder_version picks the autoencoder's version"
            )
        return encoder_version
    if encoder_version is not None:
        raise ValueError(
            "encoder_version applies when params.reader is 'autoencoder'; this head reads "
            f"with the {reader} head's reader (reader_version picks its version)"
        )
    return reader_version
