"""``keras-applied benchmark vision``: training throughput, input-pipeline speed, FLOP utilisation.

One run measures, on this machine and backend:

- training throughput (images/s) of the preset's model for float32 and mixed_bfloat16;
- the input pipeline's own throughput (images/s, with augmentation), and its ratio to the
  fastest model throughput (the pipeline should be several times faster than the model eats);
- model FLOP utilisation: training FLOP/s (3x the forward FLOPs per image times images/s)
  divided by the measured matmul peak of the same dtype.

Figures go to results/benchmarks/vision.json with the environment.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from common import cli

DTYPES = {"float32": "float32", "mixed_bfloat16": "bfloat16"}


def run(preset: str, data_dir: str | None, steps: int, batch_size: int | None, results_dir: str | None) -> dict:
    import keras

    from applications.vision import data, train
    from applications.vision.config import VisionConfig
    from common import benchmark, precision, results

    config = VisionConfig.from_preset(preset, data_dir=data_dir)
    if batch_size:
        config = config.replace(batch_size=batch_size)
    images = data.load(config.dataset, data_dir=config.data_dir, seed=config.seed,
                       max_train_examples=config.max_train_examples)
    num_classes = len(images.class_names)
    train_ds, _, _ = data.pipelines(images, num_classes=num_classes, batch_size=config.batch_size,
                                    seed=config.seed, augment=config.augment)
    train_ds = train_ds.repeat()
    figures: dict = {"dataset": images.name, "preset": preset, "batch_size": config.batch_size,
                     "image_shape": images.image_shape, "timed_steps": steps}

    # The pipeline alone, the way fit() consumes it (shuffled, augmented, batched, prefetched).
    pipeline = benchmark.time_pipeline(train_ds, batches=max(steps, 50))
    figures["pipeline_images_per_second"] = pipeline["examples_per_second"]

    for policy, compute_dtype in DTYPES.items():
        keras.utils.set_random_seed(config.seed)
        with precision.policy_scope(policy):
            model = train.build_model(config, images.image_shape, num_classes)
            train.compile_model(model, config, steps_per_epoch=1000)
            flops_per_image = benchmark.forward_flops(model)
            timing = benchmark.time_training(model, train_ds, steps=steps)
        peak = benchmark.matmul_peak(compute_dtype)
        achieved = 3 * flops_per_image * timing["examples_per_second"]
        figures[policy] = {
            "train_images_per_second": timing["examples_per_second"],
            "seconds_per_step": timing["seconds_per_step"],
            "forward_flops_per_image": flops_per_image,
            "achieved_train_flops_per_second": achieved,
            "matmul_peak_flops_per_second": peak,
            "model_flop_utilisation": achieved / peak,
        }
        print(f"{policy}: {timing['examples_per_second']:.0f} images/s, "
              f"{achieved / 1e9:.1f} GFLOP/s of {peak / 1e9:.1f} GFLOP/s matmul peak "
              f"(MFU {achieved / peak:.1%})")
    fastest = max(figures[p]["train_images_per_second"] for p in DTYPES)
    figures["pipeline_to_model_ratio"] = figures["pipeline_images_per_second"] / fastest
    figures["bfloat16_speedup"] = (
        figures["mixed_bfloat16"]["train_images_per_second"] / figures["float32"]["train_images_per_second"]
    )
    print(f"input pipeline: {figures['pipeline_images_per_second']:.0f} images/s "
          f"({figures['pipeline_to_model_ratio']:.1f}x the fastest model); "
          f"bfloat16 speed-up {figures['bfloat16_speedup']:.2f}x")
    results.write_benchmark("vision", figures, results_dir)
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    cli.configure_process()
    parser = argparse.ArgumentParser(
        prog="keras-applied benchmark vision",
        description="Measure training throughput (float32 vs mixed_bfloat16), input-pipeline "
        "throughput and model FLOP utilisation; writes results/benchmarks/vision.json.",
    )
    parser.add_argument("--preset", default="quick", choices=["smoke", "quick", "full"],
                        help="Whose model and batch size to measure.")
    parser.add_argument("--data-dir", default=None, help="Local data folder (default $KERAS_APPLIED_DATA_DIR).")
    parser.add_argument("--steps", type=int, default=40, help="Training steps timed per dtype (after 3 warm-up steps).")
    parser.add_argument("--batch-size", type=int, default=None, help="Override the preset's batch size.")
    parser.add_argument("--results-dir", default=None, help="Results root (default ./results).")
    args = parser.parse_args(argv)
    run(args.preset, args.data_dir, args.steps, args.batch_size, args.results_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
