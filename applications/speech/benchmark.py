"""``keras-applied benchmark speech``: speed of every stage, into results/benchmarks/speech.json.

Measured: eSpeak NG synthesis (utterances/s), WAV reading + resampling
(files/s), the in-model front end alone (clips/s), training throughput of the CNN and the
Transformer under float32 and mixed bfloat16 (clips/s and model FLOP utilisation against the
measured matmul peak; the FLOPs count convolutions and dense layers, not the STFT), single-clip
inference latency (a direct model call), and MFCC feature extraction for the baseline. Run it under the shared CPU lock; wall times on a shared machine are noise otherwise.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from common import cli

DOMAIN = "speech"
log = logging.getLogger("keras_applied.speech")


def _timed(function, repeats: int = 1) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def main(argv: Sequence[str] | None = None) -> int:
    parser = cli.ArgumentParser(prog="keras-applied benchmark speech", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample-rate", type=int, default=8000, help="Sample rate of the clips (Hz).")
    parser.add_argument("--batch-size", type=int, default=64, help="Batch size of the training/inference measurements.")
    parser.add_argument("--steps", type=int, default=10, help="Timed training steps per model and precision.")
    parser.add_argument("--results-dir", default=None, help="Results root (default ./results).")
    args = parser.parse_args(argv)
    cli.check_at_least(parser, args, sample_rate=4000, batch_size=1, steps=1)
    cli.configure_process()
    import keras
    from scipy.io import wavfile

    from applications.speech import audio, baselines, models, synthesis
    from common import benchmark, precision, results
    from common import data as data_lib

    rate, window = args.sample_rate, args.sample_rate
    figures: dict = {"sample_rate": rate, "window_samples": window, "batch_size": args.batch_size,
                     "backend": keras.backend.backend()}

    # Synthesis of 200 utterances in this process (synthesize() adds a child process start-up).
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "bench.npz"
        seconds = _timed(lambda: synthesis.synthesize_to_file("digits", 20, 123, rate, output))
        figures["synthesis_utterances_per_second"] = 200 / seconds

        # WAV reading: 16 kHz 24-bit stereo files read, mixed down and resampled to the model rate.
        rng = np.random.default_rng(0)
        paths = []
        for index in range(100):
            stereo = np.stack([rng.uniform(-0.5, 0.5, 8000)] * 2, axis=1)
            path = Path(folder) / f"{index}.wav"
            wavfile.write(path, 16000, (stereo * 2**31 * 0.9).astype(np.int32))
            paths.append(path)
        seconds = _timed(lambda: [audio.read_wav(p, rate) for p in paths], repeats=3)
        figures["wav_read_resample_files_per_second"] = len(paths) / seconds

    clips = np.random.default_rng(1).normal(0, 0.1, (512, window)).astype("float32")
    labels = np.eye(10, dtype="float32")[np.arange(512) % 10]
    seconds = _timed(lambda: baselines.utterance_features(clips, rate), repeats=2)
    figures["mfcc_features_clips_per_second"] = len(clips) / seconds

    figures["matmul_peak_gflops"] = {}
    for policy in ("float32", "mixed_bfloat16"):
        dtype = "float32" if policy == "float32" else "bfloat16"
        figures["matmul_peak_gflops"][policy] = benchmark.matmul_peak(dtype) / 1e9
    for architecture, build, options in (
        ("cnn", models.build_cnn, {"widths": (16, 32, 64)}),
        ("transformer", models.build_transformer, {"model_dim": 96, "num_heads": 4, "num_layers": 2}),
    ):
        for policy in ("float32", "mixed_bfloat16"):
            with precision.policy_scope(policy):
                model = build(window=window, sample_rate=rate, num_classes=10, **options)
                model.compile(optimizer="adamw", loss="categorical_crossentropy")
                dataset = data_lib.make_pipeline((clips, labels), batch_size=args.batch_size).repeat()
                timing = benchmark.time_training(model, dataset, steps=args.steps)
                flops = benchmark.forward_flops(model)
                # Training is about 3x the forward FLOPs (forward, and two matmuls per layer backward).
                utilisation = 3 * flops * timing["examples_per_second"] / (figures["matmul_peak_gflops"][policy] * 1e9)
                single = keras.ops.convert_to_tensor(clips[:1])
                model(single, training=False)  # a direct call: predict() adds its own per-call overhead
                latency = _timed(lambda m=model, x=single: keras.ops.convert_to_numpy(m(x, training=False)), repeats=5)
                front = keras.Model(model.inputs, model.get_layer("log_mel").output)
                front.predict(clips[:64], verbose=0)
                front_seconds = _timed(lambda f=front: f.predict(clips, batch_size=args.batch_size, verbose=0), repeats=2)
            key = f"{architecture}_{policy}"
            figures[key] = {
                "parameters": model.count_params(),
                "forward_gflops_per_clip": flops / 1e9,
                "train_clips_per_second": timing["examples_per_second"],
                "seconds_per_step": timing["seconds_per_step"],
                "model_flop_utilisation": utilisation,
                "latency_ms_one_clip": 1000 * latency,
                "front_end_clips_per_second": len(clips) / front_seconds,
            }
            log.info("%s: %s", key, figures[key])
    results.write_benchmark(DOMAIN, figures, args.results_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
