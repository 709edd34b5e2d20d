"""``keras-applied benchmark vision``: training throughput, input-pipeline speed, FLOP utilisation.

One run measures, on this machine and backend:

- training throughput (images/s) of the preset's model for float32 and mixed_bfloat16;
- the input pipeline's own throughput (images/s, with augmentation), and its ratio to the
  fastest model throughput (the pipeline should be several times faster than the model eats);
- model FLOP utilisation: training FLOP/s (3x the forward FLOPs per image times images/s)
  divided by the sustained matmul peak of the same dtype, measured in the same run.

With ``--distribute`` it measures under a distribution strategy instead (several workers:
``python -m common.launch --workers 2 -- keras-applied benchmark vision --distribute multi_worker``).
Figures go to results/benchmarks/vision[-<mode>-<workers>w].json with the environment.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from common import cli

DTYPES = {"float32": "float32", "mixed_bfloat16": "bfloat16"}


def measure(config, steps: int, policies: Sequence[str]) -> dict:
    """Throughput figures for ``config``'s model and pipeline under the active distribution."""
    import keras

    from applications.vision import data, train
    from common import benchmark, distribute, precision

    distribution = distribute.current()
    global_batch = distribute.global_batch_size(config.batch_size, distribution.replicas)
    images = data.load(config.dataset, data_dir=config.data_dir, seed=config.seed,
                       max_train_examples=config.max_train_examples)
    num_classes = len(images.class_names)
    train_ds, _, _ = data.pipelines(images, num_classes=num_classes, batch_size=global_batch,
                                    seed=config.seed, augment=config.augment)
    train_ds = train_ds.repeat()
    figures: dict = {"dataset": images.name, "preset": config.preset, "global_batch_size": global_batch,
                     "image_shape": images.image_shape, "timed_steps": steps, "distribute": distribution.mode,
                     "replicas": distribution.replicas, "workers": distribution.num_workers}

    # The pipeline alone, the way fit() consumes it (shuffled, augmented, batched, prefetched).
    figures["pipeline_images_per_second"] = benchmark.time_pipeline(train_ds, batches=max(steps, 50))["examples_per_second"]

    for policy in policies:
        keras.utils.set_random_seed(config.seed)
        with precision.policy_scope(policy):
            model = train.build_model(config, images.image_shape, num_classes)
            train.compile_model(model, config, steps_per_epoch=1000)
            flops_per_image = benchmark.forward_flops(model)
            timing = benchmark.time_training(model, train_ds, steps=steps)
        # The peak of this process's devices; several workers on one host share the same cores.
        peak = benchmark.matmul_peak(DTYPES[policy])
        achieved = 3 * flops_per_image * timing["examples_per_second"]
        figures[policy] = {
            "train_images_per_second": timing["examples_per_second"],
            "seconds_per_step": timing["seconds_per_step"],
            "forward_flops_per_image": flops_per_image,
            "achieved_train_flops_per_second": achieved,
            "matmul_peak_flops_per_second": peak,
            "model_flop_utilisation": achieved / peak,
        }
        print(f"{policy}: {timing['examples_per_second']:.0f} images/s, {achieved / 1e9:.1f} GFLOP/s of "
              f"{peak / 1e9:.1f} GFLOP/s sustained matmul peak (MFU {achieved / peak:.1%})")
    fastest = max(figures[p]["train_images_per_second"] for p in policies)
    figures["pipeline_to_model_ratio"] = figures["pipeline_images_per_second"] / fastest
    print(f"input pipeline: {figures['pipeline_images_per_second']:.0f} images/s "
          f"({figures['pipeline_to_model_ratio']:.1f}x the fastest model)")
    if set(DTYPES) <= set(policies):
        figures["bfloat16_speedup"] = (
            figures["mixed_bfloat16"]["train_images_per_second"] / figures["float32"]["train_images_per_second"]
        )
        print(f"mixed_bfloat16 speed-up over float32: {figures['bfloat16_speedup']:.2f}x")
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    cli.configure_process()
    parser = cli.ArgumentParser(
        prog="keras-applied benchmark vision",
        description="Measure training throughput (float32 vs mixed_bfloat16), input-pipeline "
        "throughput and model FLOP utilisation; writes results/benchmarks/vision*.json.",
    )
    parser.add_argument("--preset", default="quick", choices=["smoke", "quick", "full"],
                        help="Whose model, data and batch size to measure.")
    parser.add_argument("--data-dir", default=None, help="Local data folder (default $KERAS_APPLIED_DATA_DIR).")
    parser.add_argument("--steps", type=int, default=40, help="Training steps timed per dtype (after 3 warm-up steps).")
    parser.add_argument("--batch-size", type=int, default=None, help="Override the preset's (global) batch size.")
    parser.add_argument("--precision", nargs="+", default=list(DTYPES), choices=list(DTYPES),
                        help="Dtype policies to measure.")
    parser.add_argument("--distribute", default="none", choices=["none", "mirrored", "multi_worker", "data_parallel"],
                        help="Measure under this distribution (multi_worker: start it with python -m common.launch).")
    parser.add_argument("--results-dir", default=None, help="Results root (default ./results).")
    args = parser.parse_args(argv)
    cli.check_at_least(parser, args, steps=1, batch_size=1)
    cli.check_data_dir_flag(parser, args.data_dir)

    from applications.vision.config import VisionConfig
    from common import distribute, results

    config = VisionConfig.from_preset(args.preset, data_dir=args.data_dir)
    if args.batch_size is not None:
        config = config.replace(batch_size=args.batch_size)
    with distribute.distribution_scope(args.distribute) as distribution:
        figures = measure(config, args.steps, args.precision)
    name = "vision" if distribution.mode == "none" else f"vision-{distribution.mode}-{distribution.num_workers}w"
    if distribute.is_chief():
        results.write_benchmark(name, figures, args.results_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
