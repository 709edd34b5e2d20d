"""Text classification: a Transformer encoder or BiLSTM trained from scratch (TextVectorization
inside the saved model), or a pretrained keras-hub encoder (MiniLM-L6 by default) fine-tuned end
to end, on SST-2, the SMS Spam Collection, IMDB, a folder of text files or any CSV/TSV."""

from applications.registry import Domain

DOMAIN = Domain(
    name="nlp",
    order=2,
    summary="Text classification: Transformer/BiLSTM from scratch or a fine-tuned keras-hub encoder (MiniLM).",
    config_class="applications.nlp.config:NLPConfig",
    extra="nlp",
    requires=("keras_hub", "tensorflow_text"),
    # `keras-applied run all`: the from-scratch Transformer on SST-2 and on SMS spam (the
    # MiniLM fine-tune takes about an hour on 2 cores: run it on its own, see the README).
    run_all=(
        ("--dataset", "sst2", "--model", "transformer"),
        ("--dataset", "sms_spam", "--model", "transformer"),  # 10 epochs: the presets' SMS spam value
    ),
)
