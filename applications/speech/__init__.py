"""Spoken-word recognition from raw audio: a log-mel CNN or small Transformer inside the model,
trained on FSDD, Speech Commands, a folder of WAV files or words synthesized with eSpeak NG, with
synthetic-to-real transfer and leave-one-speaker-out evaluation."""

from applications.registry import Domain

DOMAIN = Domain(
    name="speech",
    order=3,
    summary="Spoken words from raw waveforms: log-mel CNN/Transformer, FSDD, eSpeak NG synthetic-to-real transfer.",
    config_class="applications.speech.config:SpeechConfig",
    extra="speech",
    requires=("espeakng_loader", "scipy"),
    fallback=("--dataset", "synthetic", "--protocol", "official"),
    # loso trains 15 epochs per fold: the presets' value for that protocol (config.preset_for).
    run_all=((), ("--architecture", "transformer"), ("--protocol", "loso"), ("--protocol", "transfer")),
)
