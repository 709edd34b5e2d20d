"""Spoken words synthesized with eSpeak NG: the speech example's offline default dataset.

The PyPI package ``espeakng-loader`` bundles ``libespeak-ng`` and its voice data; this module
drives the C API through ``ctypes`` (``espeak_Initialize`` with synchronous output, a synthesis
callback that collects the 16-bit samples, ``espeak_SetVoiceByName``, ``espeak_SetParameter``,
``espeak_Synth``). Each utterance varies the voice (an English accent plus a voice variant such
as ``+f3`` or ``+klatt2``), the pitch, the pitch range and the speaking rate; the caller adds a
random gain and background noise (see :func:`make_corpus`).

Determinism: libespeak-ng keeps state between utterances inside one process, so the same
requests give slightly different audio after other synthesis. Synthesis therefore runs in a
fresh child process (``python -m applications.speech.synthesis``), which makes the output a
function of the seed alone; the result is cached on disk, keyed by every parameter.
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import json
import logging
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from common import paths
from common.errors import DataError

log = logging.getLogger("keras_applied.speech")

WORDS = {
    "digits": ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"),
    # The ten command words of Speech Commands (and of TFDS speech_commands' labels).
    "commands": ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"),
}
# Class names as the real datasets name them: FSDD labels digits 0-9, Speech Commands by word.
CLASS_NAMES = {"digits": [str(d) for d in range(10)], "commands": list(WORDS["commands"])}
# English voices of espeak-ng 1.52 that load by these names ('en-gb' does not; 'en' is British).
ACCENTS = ("en", "en-us", "en-gb-scotland", "en-029", "en-gb-x-rp", "en-us-nyc", "en-gb-x-gbclan", "en-gb-x-gbcwmd")
# Voice variants (espeak-ng-data/voices/!v): formant shapes, Klatt synthesis, female and male.
VARIANTS = ("", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5",
            "klatt", "klatt2", "klatt3", "klatt4", "croak", "Alex", "Andy", "annie", "edward", "steph")
# espeak_PARAMETER values and ranges drawn per utterance (espeak's defaults: rate 175 wpm,
# pitch 50, range 50).
_RATE, _PITCH, _RANGE = 1, 3, 4
RATE_WPM = (110, 250)
PITCH = (15, 85)
PITCH_RANGE = (10, 100)
FORMAT_VERSION = 1  # bump when the generation changes, so old caches are not reused


# ---------------------------------------------------------------------------------------------
# The eSpeak NG engine (used in the child process only)
# ---------------------------------------------------------------------------------------------
class Engine:
    """libespeak-ng through ctypes, synchronous: :meth:`speak` returns int16 samples."""

    def __init__(self) -> None:
        try:
            import espeakng_loader
        except ImportError as error:
            raise DataError(
                "Synthetic speech needs espeak-ng: pip install 'keras-applied[speech]' "
                "(the espeakng-loader package bundles it)."
            ) from error
        self.lib = ctypes.CDLL(espeakng_loader.get_library_path())
        self.lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        self.lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self.lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        self.lib.espeak_Synth.argtypes = [
            ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
            ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
        ]
        self.lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
        # AUDIO_OUTPUT_SYNCHRONOUS = 2: espeak_Synth returns when all samples went to the callback.
        self.sample_rate = int(self.lib.espeak_Initialize(2, 0, espeakng_loader.get_data_path().encode(), 0))
        if self.sample_rate <= 0:
            raise DataError(f"espeak_Initialize failed (returned {self.sample_rate}).")
        self._chunks: list[np.ndarray] = []
        callback_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)
        self._callback = callback_type(self._collect)  # kept referenced: the C side calls it
        self.lib.espeak_SetSynthCallback(self._callback)

    def _collect(self, samples, count, events) -> int:
        if count > 0:
            self._chunks.append(np.ctypeslib.as_array(samples, shape=(count,)).copy())
        return 0  # 0: continue synthesis

    def speak(self, text: str, *, voice: str, rate: int, pitch: int, pitch_range: int, seed: int) -> np.ndarray:
        """int16 samples at :attr:`sample_rate`; raises DataError for an unknown voice."""
        if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise DataError(f"espeak-ng has no voice {voice!r}.")
        for parameter, value in ((_RATE, rate), (_PITCH, pitch), (_RANGE, pitch_range)):
            self.lib.espeak_SetParameter(parameter, int(value), 0)
        self.lib.espeak_ng_SetRandSeed(seed)
        self._chunks.clear()
        encoded = text.encode()
        # position 0, POS_CHARACTER (1), no end position, espeakCHARS_AUTO, no id, no user data
        self.lib.espeak_Synth(encoded, len(encoded) + 1, 0, 1, 0, 0, None, None)
        return np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)


def utterance_plan(vocabulary: str, per_class: int, seed: int) -> list[dict]:
    """What to say, with which voice and prosody, for every utterance (seeded)."""
    rng = np.random.default_rng([seed, 1])
    plan = []
    for label, word in enumerate(WORDS[vocabulary]):
        for _ in range(per_class):
            variant = VARIANTS[rng.integers(len(VARIANTS))]
            accent = ACCENTS[rng.integers(len(ACCENTS))]
            plan.append({
                "label": label,
                "text": word,
                "voice": accent + (f"+{variant}" if variant else ""),
                "rate": int(rng.integers(*RATE_WPM)),
                "pitch": int(rng.integers(*PITCH)),
                "pitch_range": int(rng.integers(*PITCH_RANGE)),
                "seed": int(rng.integers(2**31 - 1)),
            })
    return plan


def synthesize_to_file(vocabulary: str, per_class: int, seed: int, sample_rate: int, output: Path) -> None:
    """Synthesize the plan and save concatenated int16 samples at ``sample_rate`` + offsets."""
    from applications.speech import audio

    engine = Engine()
    plan = utterance_plan(vocabulary, per_class, seed)
    pieces, lengths = [], []
    for item in plan:
        raw = engine.speak(item["text"], voice=item["voice"], rate=item["rate"], pitch=item["pitch"],
                           pitch_range=item["pitch_range"], seed=item["seed"])
        samples = audio.resample(audio.to_float(raw), engine.sample_rate, sample_rate)
        pcm = np.clip(np.round(samples * 32767.0), -32768, 32767).astype(np.int16)
        pieces.append(pcm)
        lengths.append(len(pcm))
    np.savez(
        output,
        samples=np.concatenate(pieces),
        lengths=np.asarray(lengths, np.int64),
        labels=np.asarray([p["label"] for p in plan], np.int32),
        voices=np.asarray([p["voice"] for p in plan]),
    )


# ---------------------------------------------------------------------------------------------
# The parent side: cached corpus of raw utterances
# ---------------------------------------------------------------------------------------------
def cache_path(vocabulary: str, per_class: int, seed: int, sample_rate: int) -> Path:
    key = json.dumps([FORMAT_VERSION, vocabulary, per_class, seed, sample_rate, ACCENTS, VARIANTS,
                      RATE_WPM, PITCH, PITCH_RANGE])
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return paths.cache_dir("speech", "synthetic") / f"{vocabulary}_{per_class}x_seed{seed}_{sample_rate}hz_{digest}.npz"


def synthesize(vocabulary: str, per_class: int, seed: int, sample_rate: int) -> dict[str, np.ndarray]:
    """Raw utterances (int16, concatenated, with lengths), labels and voices; cached on disk."""
    if vocabulary not in WORDS:
        raise DataError(f"Unknown vocabulary {vocabulary!r}; expected one of {sorted(WORDS)}.")
    target = cache_path(vocabulary, per_class, seed, sample_rate)
    if not target.exists():
        partial = target.with_name(f".{target.stem}.partial-{os.getpid()}.npz")
        log.info("synthesizing %d %s utterances with espeak-ng (seed %d) into %s",
                 per_class * len(WORDS[vocabulary]), vocabulary, seed, target)
        completed = subprocess.run(
            [sys.executable, "-m", "applications.speech.synthesis", "--vocabulary", vocabulary,
             "--per-class", str(per_class), "--seed", str(seed), "--sample-rate", str(sample_rate),
             "--output", str(partial)],
            capture_output=True, text=True, cwd=str(Path(__file__).resolve().parents[2]),
        )
        if completed.returncode != 0:
            partial.unlink(missing_ok=True)
            raise DataError(f"espeak-ng synthesis failed:\n{completed.stderr[-2000:]}")
        partial.replace(target)
    with np.load(target) as stored:
        return {name: stored[name] for name in stored.files}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(allow_abbrev=False, description="Synthesize a vocabulary with espeak-ng into an .npz file (child process of synthesize()).")
    parser.add_argument("--vocabulary", choices=sorted(WORDS), required=True)
    parser.add_argument("--per-class", type=int, required=True, help="Utterances per word.")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--sample-rate", type=int, required=True, help="Output sample rate (Hz).")
    parser.add_argument("--output", type=Path, required=True, help="The .npz file to write.")
    args = parser.parse_args(argv)
    try:
        synthesize_to_file(args.vocabulary, args.per_class, args.seed, args.sample_rate, args.output)
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
