"""Latency of an architecture's standalone model translating the reference input.

The reference input is HAT's: one source sentence of 30 tokens, and 30 target tokens
decoded incrementally (each step feeds the newest token; every decoder layer caches
its past keys/values and the encoder keys/values). With ``beam > 1`` the decoder runs
on a beam-expanded batch, picks the top ``beam`` continuations over ``beam x vocab``
log-probabilities at every step and reorders its cache accordingly — the work of beam
search with the length fixed, so the time does not depend on what random weights
happen to predict. The encoder time is the source's encoding (batch 1); the decoder
time is everything after it (beam expansion, 30 steps, output projections).

Two protocols (``MeasureConfig.protocol``):

* ``llmpp`` (default): repetitions are *interleaved* — every round times each model
  of a chunk once, in a fresh random order, and a model's latency is the median over
  rounds. On a shared, noisy machine a slow spell then hits every architecture alike
  instead of whichever one happened to be timed during it.
* ``hat``: HAT's measurement — one architecture at a time; the encoder is run
  ``warmup`` times untimed, then ``repeats`` times timed; then the decoder likewise,
  each timed run decoding ``tgt_len`` incremental steps over a beam-expanded batch of
  fixed tokens (no search operations); each part's times are sorted, the lowest
  ``trim`` and the highest ``max(1, trim)`` share dropped, the rest averaged, and the
  latency is the encoder's plus the decoder's trimmed mean. HAT used 5 dry runs and
  300 repeats (its paper configs 20), ``trim`` 0.1.

Each record keeps the spread of its own repetitions (IQR / median and max / min).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from functools import partial

import numpy as np
import torch
from torch import Tensor

from llmpp.data.corpus import BOS, EOS
from llmpp.errors import ConfigError
from llmpp.models.transformer import ModelShape, Transformer, new_cache, reorder_cache
from llmpp.space.architecture import Architecture

PROTOCOLS = ("llmpp", "hat")


def trimmed_mean(values: Sequence[float], trim: float) -> float:
    """HAT's average: sort, drop ``int(n * trim)`` lowest and ``max(1, int(n * trim))`` highest.

    With fewer than three values nothing can be dropped on both sides; the plain mean.
    """
    ordered = sorted(values)
    low, high = int(len(ordered) * trim), max(1, int(len(ordered) * trim))
    kept = ordered[low : len(ordered) - high] if len(ordered) - low - high >= 1 else ordered
    return float(np.mean(kept))


@dataclass(frozen=True)
class MeasureConfig:
    """How one latency is measured (stored with every dataset and artifact).

    No field has a default: the stage's values are ``measure:`` in
    ``conf/steps/latency.yaml`` (written once, there); a protocol someone else used
    (``HAT_MEASUREMENT``) spells every field.

    Args:
        beam: beam size (HAT timed beam 5; 1 = greedy).
        src_len: source tokens of the reference input.
        tgt_len: target tokens decoded (fixed; EOS is ignored).
        warmup: untimed translations per model before timing (``hat``: per part).
        repeats: timed translations per model (``llmpp``: the latency is their median).
        seed: seeds the random weights and the reference source tokens.
        protocol: ``llmpp`` or ``hat`` (see the module docstring).
        trim: ``hat``: share of the fastest and of the slowest runs dropped per part.
    """

    beam: int
    src_len: int
    tgt_len: int
    warmup: int
    repeats: int
    seed: int
    protocol: str
    trim: float

    def __post_init__(self) -> None:
        for name in ("beam", "src_len", "tgt_len", "repeats"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"latency measurement: {name} must be >= 1")
        if int(self.warmup) < 0:
            raise ConfigError("latency measurement: warmup must be >= 0")
        if self.protocol not in PROTOCOLS:
            raise ConfigError(
                f"measure.protocol={self.protocol!r}; choose one of: {', '.join(PROTOCOLS)}"
            )
        if not 0 <= float(self.trim) < 0.5:
            raise ConfigError(f"measure.trim={self.trim} must be in [0, 0.5)")

    def as_dict(self) -> dict[str, int | float | str]:
        return asdict(self)


@dataclass(frozen=True)
class LatencyRecord:
    """One architecture's measured latency (milliseconds) and the spread of its repeats."""

    arch: Architecture
    latency_ms: float  # median of encoder + decoder time over the repeats
    encoder_ms: float  # median encoder time
    decoder_ms: float  # median decoder time
    iqr_rel: float  # interquartile range / median of the total
    max_min: float  # slowest / fastest repeat
    repeats: int


@contextmanager
def torch_threads(threads: int | None) -> Iterator[int]:
    """Run a block with ``threads`` intra-op threads (None: unchanged); yields the count."""
    previous = torch.get_num_threads()
    if threads is not None:
        if int(threads) < 1:
            raise ConfigError(f"hardware.threads={threads} must be >= 1 (or null)")
        torch.set_num_threads(int(threads))
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(previous)


def _check_device(device: str) -> torch.device:
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(
            f"hardware device {device!r} needs CUDA, which this machine lacks; use hardware=cpu"
        )
    try:
        return torch.device(device)
    except RuntimeError:
        raise ConfigError(f"unknown hardware device {device!r}; use cpu or cuda") from None


class LatencyMeter:
    """Times standalone models of architectures on one device.

    Args:
        vocab_size: the task's vocabulary (sets the output projection's cost).
        qkv_dim: the space's attention width.
        device: ``cpu`` or ``cuda[:n]``.
        config: the measurement protocol.
    """

    def __init__(
        self, *, vocab_size: int, qkv_dim: int, device: str = "cpu",
        config: MeasureConfig,
    ) -> None:
        self.vocab_size, self.qkv_dim = int(vocab_size), int(qkv_dim)
        self.device = _check_device(device)
        self.config = config
        generator = torch.Generator().manual_seed(self.config.seed)
        low = EOS + 1  # ordinary tokens only, no BOS/EOS/PAD/UNK
        self.source = torch.randint(
            low, max(self.vocab_size, low + 1), (1, self.config.src_len), generator=generator
        ).to(self.device)

    def build(self, arch: Architecture) -> Transformer:
        """The standalone model of ``arch`` with seeded random weights, in eval mode.

        Latency does not depend on the weights' values, so exported (inherited)
        weights are not needed.
        """
        torch.manual_seed(self.config.seed)
        shape = ModelShape.of(arch, self.vocab_size, self.qkv_dim)
        return Transformer(shape, arch).to(self.device).eval()

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def _decode(self, model: Transformer, enc) -> Tensor:
        """Fixed-length incremental beam decoding (greedy when beam == 1)."""
        beam = self.config.beam
        if beam > 1:
            enc = enc.reorder(torch.zeros(beam, dtype=torch.long, device=self.device))
        cache = new_cache(model)
        tokens = torch.full((beam, 1), BOS, dtype=torch.long, device=self.device)
        scores = torch.zeros(beam, device=self.device)
        for step in range(self.config.tgt_len):
            logits = model.decode(tokens, enc, cache, offset=step)[:, -1]
            if beam == 1:
                tokens = logits.argmax(-1, keepdim=True)
                continue
            logp = logits.float().log_softmax(-1)
            if step == 0:  # every beam starts from the same BOS: expand one of them
                logp = logp[:1]
            total = (scores[: logp.shape[0], None] + logp).reshape(-1)
            scores, flat = total.topk(beam)
            origin, token = flat // logp.shape[-1], flat % logp.shape[-1]
            reorder_cache(cache, origin)
            tokens = token[:, None]
        return tokens

    def time_once(self, model: Transformer) -> tuple[float, float]:
        """One translation of the reference input: (encoder seconds, decoder seconds)."""
        with torch.inference_mode():
            self._sync()
            start = time.perf_counter()
            enc = model.encode(self.source)
            self._sync()
            middle = time.perf_counter()
            self._decode(model, enc)
            self._sync()
            end = time.perf_counter()
        return middle - start, end - middle

    def measure(
        self, archs: Sequence[Architecture], on_round: Callable[[], None] | None = None
    ) -> list[LatencyRecord]:
        """Measure ``archs`` together, repetitions interleaved (see the module docstring).

        Args:
            archs: the architectures of one chunk (their models are held in memory).
            on_round: called after every timed round (progress bars).
        """
        if self.config.protocol == "hat":
            return self._measure_hat(archs, on_round)
        models = [self.build(a) for a in archs]
        for model in models:
            for _ in range(self.config.warmup):
                self.time_once(model)
        times = np.zeros((len(models), self.config.repeats, 2))
        order_rng = np.random.default_rng(self.config.seed)
        for r in range(self.config.repeats):
            for i in order_rng.permutation(len(models)):
                times[i, r] = self.time_once(models[i])
            if on_round is not None:
                on_round()
        return [_record(arch, t * 1e3) for arch, t in zip(archs, times, strict=True)]


    # ---- HAT's protocol -------------------------------------------------------------
    def _timed(self, run: Callable[[], object]) -> float:
        self._sync()
        start = time.perf_counter()
        run()
        self._sync()
        return time.perf_counter() - start

    def _decode_fixed(self, model: Transformer, enc) -> None:
        """HAT's decoder timing: ``tgt_len`` incremental steps on ``beam`` fixed-token rows."""
        cache = new_cache(model)
        tokens = torch.full((self.config.beam, 1), BOS, dtype=torch.long, device=self.device)
        for step in range(self.config.tgt_len):
            model.decode(tokens, enc, cache, offset=step)

    def _measure_hat(
        self, archs: Sequence[Architecture], on_round: Callable[[], None] | None
    ) -> list[LatencyRecord]:
        cfg, records = self.config, []
        for index, arch in enumerate(archs):
            model = self.build(arch)
            with torch.inference_mode():
                enc = model.encode(self.source)
                expanded = enc.reorder(torch.zeros(cfg.beam, dtype=torch.long, device=self.device))
                encode = partial(model.encode, self.source)
                decode = partial(self._decode_fixed, model, expanded)
                for _ in range(cfg.warmup):
                    encode()
                enc_s = [self._timed(encode) for _ in range(cfg.repeats)]
                for _ in range(cfg.warmup):
                    decode()
                dec_s = [self._timed(decode) for _ in range(cfg.repeats)]
            ms = np.stack([enc_s, dec_s], axis=1) * 1e3
            record = _record(arch, ms)
            enc_ms, dec_ms = trimmed_mean(ms[:, 0], cfg.trim), trimmed_mean(ms[:, 1], cfg.trim)
            records.append(
                replace(record, latency_ms=enc_ms + dec_ms, encoder_ms=enc_ms, decoder_ms=dec_ms)
            )
            # Callers count `repeats` rounds per chunk: spread them over its architectures.
            done = (index + 1) * cfg.repeats // len(archs) - index * cfg.repeats // len(archs)
            for _ in range(done if on_round is not None else 0):
                on_round()
        return records


def _record(arch: Architecture, ms: np.ndarray) -> LatencyRecord:
    """Summarise one architecture's ``[repeats, (encoder, decoder)]`` milliseconds."""
    total = ms.sum(axis=1)
    median = float(np.median(total))
    q1, q3 = np.percentile(total, [25, 75])
    return LatencyRecord(
        arch=arch,
        latency_ms=median,
        encoder_ms=float(np.median(ms[:, 0])),
        decoder_ms=float(np.median(ms[:, 1])),
        iqr_rel=float((q3 - q1) / median) if median > 0 else 0.0,
        max_min=float(total.max() / total.min()) if total.min() > 0 else float("inf"),
        repeats=int(ms.shape[0]),
    )
