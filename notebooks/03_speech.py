# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Speech: recognising spoken words from raw audio
#
# This tutorial trains the speech example of keras-applied and reads what it wrote. Everything
# here calls the package (`applications.speech`), so the notebook and `keras-applied run speech`
# are the same code.
#
# You will see:
# 1. how clips are found and made uniform (FSDD, Speech Commands, a WAV folder, or words
#    synthesized with eSpeak NG), whatever their sample format, channels, rate or length;
# 2. the model: the spectrogram is computed *inside* it (`keras.layers.MelSpectrogram`), so the
#    saved model takes raw samples; augmentation layers act only in training;
# 3. training and evaluation against an MFCC + SVM baseline;
# 4. the results files and predictions on WAV files.
#
# The preset comes from `KERAS_APPLIED_NOTEBOOK_PRESET` (`quick` unless set; the tests use
# `smoke`). With `KERAS_APPLIED_DATA_DIR` pointing at a folder holding `speech/fsdd`, the quick
# preset trains on the Free Spoken Digit Dataset; without it, on synthesized digits.

# %%
import os
import tempfile

import numpy as np
from IPython.display import Image, display

from applications.speech import audio, data, models, predict, train
from applications.speech import figures as speech_figures
from applications.speech.config import SpeechConfig

PRESET = os.environ.get("KERAS_APPLIED_NOTEBOOK_PRESET", "quick")
config = SpeechConfig.from_preset(PRESET)
print(config.command("speech"))

# %% [markdown]
# ## 1. The data
#
# `data.load` resolves the dataset like every domain does: a local folder (`--data-dir` or
# `$KERAS_APPLIED_DATA_DIR`), then the online source (TFDS), then what an installed package
# provides: here eSpeak NG, which speaks the digit words with varied voices, pitch and rate, plus
# random gain and background noise. Every clip ends as float32 samples at one rate, exactly one
# window long; files that cannot be used are skipped and counted.

# %%
clips = data.load(config.dataset, data_dir=config.data_dir, sample_rate=config.sample_rate,
                  clip_seconds=config.clip_seconds, synthetic_per_class=config.synthetic_per_class,
                  max_train_examples=config.max_train_examples, seed=config.seed)
print(clips.name, "from the", clips.source, "source;", clips.window, "samples at", clips.sample_rate, "Hz")
print({"train": len(clips.train), "validation": len(clips.validation), "test": len(clips.test)})
print("classes:", clips.class_names)
print("speakers / voices (first 5):", sorted(set(clips.train.speakers.tolist()))[:5])
print("converted:", dict(clips.adjusted.counts), "| skipped:", dict(clips.skipped.counts))

# %% [markdown]
# ## 2. The model
#
# Waveform in, probabilities out. The front end (speed/shift/noise augmentation, mel
# spectrogram, per-clip log normalisation, SpecAugment masks) runs in float32 under any dtype
# policy; the CNN after it follows the policy (mixed bfloat16 on CPUs with native bf16). Below,
# the features the front end computes for one training clip per class.

# %%
model = models.build_cnn(window=clips.window, sample_rate=clips.sample_rate,
                         num_classes=len(clips.class_names), widths=config.widths)
model.summary(line_length=100)
first = [int(np.flatnonzero(clips.train.labels == label)[0]) for label in range(len(clips.class_names))]
features = train.front_end_features(model, clips.train.waveforms[first])
speech_figures.spectrograms(features, [f"{clips.class_names[clips.train.labels[i]]}: {clips.train.speakers[i]}"
                                       for i in first], title="Log-mel features, as the model sees them")

# %% [markdown]
# ## 3. Train and evaluate
#
# `train.train_and_evaluate` is the one entry point the command line, this notebook and the tests
# share. With the default `--protocol official` it trains on the training split, keeps the
# epoch with the best validation accuracy, tests on the test split and fits the MFCC + RBF-SVM
# baseline on the same clips. `--protocol loso` and `--protocol transfer` run the
# leave-one-speaker-out and synthetic-to-real experiments (each several trainings).

# %%
metrics = train.train_and_evaluate(config)
display(metrics)

# %% [markdown]
# ## 4. Results
#
# Learning curves, the confusion matrix (rows: true class) and example spectrograms of test
# clips; `metrics.json` beside them also holds per-class and per-speaker figures.

# %%
run_dir = metrics["results_dir"]
for name in ("learning_curves", "confusion_matrix", "spectrograms"):
    display(Image(filename=os.path.join(run_dir, "plots", f"{name}.png")))

# %% [markdown]
# ## 5. Predict with the saved model
#
# `predict.predict_files` reads WAV files of any format and rate, fits them to the model's
# window and returns the label with its probability. Here, three test clips written as 16 kHz
# files (the reader resamples them back).

# %%
folder = tempfile.mkdtemp()
files = []
for index in range(3):
    upsampled = audio.resample(clips.test.waveforms[index], clips.sample_rate, 16000)
    files.append(str(audio.write_wav(os.path.join(folder, f"test_{index}.wav"), upsampled, 16000)))
for entry, label in zip(predict.predict_files(metrics["model_path"], files, top_k=2), clips.test.labels):
    print("true:", clips.class_names[label], "| predicted:", entry["top"], entry["notes"])

# %% [markdown]
# ## Where to go next
#
# - `keras-applied run speech --protocol loso`: train on five FSDD
#   speakers, test on the sixth, for each speaker.
# - `keras-applied run speech --protocol transfer`: pretrain on
#   synthesized digits, fine-tune on 1, 5, 20 or all real clips per digit, against training from
#   scratch.
# - `--architecture transformer` swaps the CNN for a small Transformer encoder;
#   `--dataset folder --data-dir PATH` trains on your own WAV files in class subfolders;
#   `--dataset synthetic --vocabulary commands` on synthesized command words.
# - `keras-applied benchmark speech` measures throughput into `results/benchmarks/`.
