"""``keras-applied predict nlp --model PATH "some text" ...``: label and probability per text.

Texts come from the command line and/or ``--file`` (one per line). All of them go through the
model in batches; results keep the input order. What is changed on the way is said on stderr:
bytes that are not UTF-8 (replaced by U+FFFD) and texts longer than the model's sequence length
(only their first tokens are read).
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from common import cli, saving
from common.errors import DataError, ModelFileError, UserInputError

DOMAIN = "nlp"
REPLACEMENT = "\ufffd"
BINARY_FRACTION = 0.1  # above this share of undecodable bytes a file is binary, not text with a few bad bytes
EXIT_STATUS = (
    "Exit status: 0 when every text was classified; 1 when any input could not be used (each is "
    "named on stderr with the reason, the others are still printed on stdout) or the model or "
    "--file cannot be used; 2 for a bad flag; 130 when interrupted."
)


def load(model_path: str):
    """The saved model (either family) and its metadata card."""
    # Importing these registers the custom layers and the keras-hub task with Keras' loader.
    from applications.nlp import models, pretrained  # noqa: F401

    with warnings.catch_warnings():
        # A keras-hub task compiles itself when rebuilt; the file holds no optimizer state to load.
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        model, metadata = saving.load_model(model_path, domain=DOMAIN)
    takes_strings = getattr(model, "preprocessor", None) is not None or (
        len(model.inputs) == 1 and "string" in str(model.inputs[0].dtype))
    if not takes_strings:
        shapes = [tuple(tensor.shape) for tensor in model.inputs]
        raise ModelFileError(f"{model_path} takes inputs of shape {shapes}, not raw strings; expected a text "
                             "classifier written by `keras-applied run nlp` (its model.keras).")
    return model, metadata


def decode_text_file(path: str | Path) -> tuple[list[str], int]:
    """One text per line of a UTF-8 file (a BOM is dropped, blank lines are left out), and how many
    bytes were not UTF-8 and were replaced by U+FFFD. Refuses a missing, folder or binary file."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"--file {str(path)!r} does not exist; expected a UTF-8 text file with one text per line.")
    if not path.is_file():
        raise DataError(f"--file {str(path)!r} is a folder; expected a UTF-8 text file with one text per line.")
    raw = path.read_bytes()
    # surrogateescape keeps each undecodable byte as one lone surrogate: counted, then replaced.
    text, bad_bytes = replace_undecodable(raw.decode("utf-8", errors="surrogateescape"))
    if b"\x00" in raw or (raw and bad_bytes > BINARY_FRACTION * len(raw)):
        why = "it holds NUL bytes" if b"\x00" in raw else f"{bad_bytes} of its {len(raw)} bytes are not UTF-8"
        raise DataError(f"--file {str(path)!r} is not a UTF-8 text file ({why}); expected a UTF-8 text file "
                        "with one text per line.")
    lines = text.removeprefix("\ufeff").splitlines()
    return [line.strip() for line in lines if line.strip()], bad_bytes


def read_texts(path: str | Path) -> list[str]:
    """One text per line of a UTF-8 file (bad bytes replaced); blank lines are left out."""
    return decode_text_file(path)[0]


def replace_undecodable(text: str) -> tuple[str, int]:
    """``text`` with undecodable bytes (kept by Python as lone surrogates U+DC80-U+DCFF, as in
    command-line arguments; they cannot be printed) replaced by U+FFFD, and how many there were."""
    surrogates = sum(1 for character in text if "\udc80" <= character <= "\udcff")
    if not surrogates:
        return text, 0
    return "".join(REPLACEMENT if "\udc80" <= c <= "\udcff" else c for c in text), surrogates


def token_lengths(model, texts: Sequence[str]) -> tuple[np.ndarray, int] | None:
    """(tokens per text before truncation, the model's sequence length), or None where the
    model's tokenisation cannot be repeated outside it (then no truncation note is given)."""
    if not len(texts):
        return None
    preprocessor = getattr(model, "preprocessor", None)
    if preprocessor is not None:  # a keras-hub task: [CLS] text [SEP] in sequence_length tokens
        try:
            tokens = preprocessor.tokenizer(list(texts))
            lengths = (np.asarray(tokens.row_lengths()) if hasattr(tokens, "row_lengths")
                       else np.array([len(t) for t in tokens]))
            return lengths + 2, int(preprocessor.sequence_length)
        except Exception:  # noqa: BLE001 - a note is best-effort; the predictions stand without it
            return None
    try:
        vectorizer = model.get_layer("vectorizer")
    except ValueError:
        return None
    config = vectorizer.get_config()
    if config.get("split") != "whitespace" or not config.get("output_sequence_length") or config.get("ngrams"):
        return None
    import tensorflow as tf

    strings = tf.constant(list(texts))
    if config.get("standardize") in ("lower", "lower_and_strip_punctuation"):
        strings = tf.strings.lower(strings)
    if config.get("standardize") in ("strip_punctuation", "lower_and_strip_punctuation"):
        strings = tf.strings.regex_replace(strings, r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']', "")
    elif config.get("standardize") not in (None, "lower"):
        return None
    return tf.strings.split(strings).row_lengths().numpy(), int(config["output_sequence_length"])


def truncation_note(model, texts: Sequence[str]) -> str | None:
    """'N of M texts are longer than ...' when any text is cut to the model's sequence length."""
    measured = token_lengths(model, texts)
    if measured is None:
        return None
    lengths, sequence_length = measured
    longer = int((lengths > sequence_length).sum())
    if not longer:
        return None
    return (f"{longer} of {len(texts)} texts are longer than the model's sequence length ({sequence_length} tokens, "
            f"the longest has {int(lengths.max())}); only their first {sequence_length} tokens were read.")


def predict_texts(model_path: str, texts: Sequence[str], *, notes: list[str] | None = None) -> list[dict]:
    """Predicted label and its probability (plus all class probabilities) for each text.

    Empty texts get an error entry instead of a prediction. ``notes``, if given, receives a line
    on texts that were truncated to the model's sequence length.
    """
    model, metadata = load(model_path)
    return classify(model, metadata, texts, notes=notes)


def classify(model, metadata: dict, texts: Sequence[str], *, notes: list[str] | None = None) -> list[dict]:
    """:func:`predict_texts` with a loaded model: one batched pass over the non-empty texts."""
    from applications.nlp import models

    probabilities_shape = model.output_shape[-1]
    class_names = metadata.get("class_names") or [str(i) for i in range(probabilities_shape)]
    usable = [i for i, text in enumerate(texts) if text.strip()]
    stripped = [texts[i].strip() for i in usable]
    probabilities = models.predict_texts(model, stripped) if usable else np.zeros((0, len(class_names)))
    if notes is not None:
        note = truncation_note(model, stripped)
        if note:
            notes.append(note)
    predictions = [{"text": text, "error": "empty text"} for text in texts]
    for row, index in enumerate(usable):
        best = int(np.argmax(probabilities[row]))
        predictions[index] = {
            "text": texts[index], "label": class_names[best], "probability": float(probabilities[row, best]),
            "probabilities": {name: float(p) for name, p in zip(class_names, probabilities[row])},
        }
    return predictions


def main(argv: Sequence[str] | None = None) -> int:
    parser = cli.ArgumentParser(
        prog="keras-applied predict nlp",
        description="Classify texts with a saved nlp model (either family); prints 'LABEL<TAB>PROBABILITY<TAB>TEXT' "
        "per text on stdout, in the order given (arguments first, then --file).",
        epilog=EXIT_STATUS,
    )
    parser.add_argument("--model", required=True,
                        help="A model.keras written by an nlp run (in its workdir); it takes raw strings.")
    parser.add_argument("--file", default=None, help="A UTF-8 text file with one text per line (blank lines skipped).")
    parser.add_argument("texts", nargs="*", help="Texts to classify (quote each one).")
    args = parser.parse_args(argv)
    notes: list[str] = []
    try:
        texts, replaced = [], 0
        for text in args.texts:
            text, count = replace_undecodable(text)
            texts.append(text)
            replaced += count
        if replaced:
            notes.append(f"{replaced} byte(s) in the text arguments were not UTF-8 and were replaced by U+FFFD.")
        if args.file:
            file_texts, replaced = decode_text_file(args.file)
            if not file_texts:
                raise DataError(f"--file {args.file!r} holds no texts (it is empty or only blank lines); expected "
                                "one text per line.")
            if replaced:
                notes.append(f"{replaced} byte(s) in --file {args.file!r} were not UTF-8 and were replaced by U+FFFD.")
            texts += file_texts
        if not texts:
            raise DataError("Expected texts to classify: give them as arguments or with --file PATH.")
        model, metadata = load(args.model)
        predictions = classify(model, metadata, texts, notes=notes)
    except UserInputError as error:
        print(f"keras-applied predict nlp: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("keras-applied predict nlp: interrupted.", file=sys.stderr)
        return 130
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    failures = 0
    for number, entry in enumerate(predictions, start=1):
        shown = entry["text"] if len(entry["text"]) <= 80 else entry["text"][:77] + "..."
        if "error" in entry:
            failures += 1
            print(f"text {number}: skipped ({entry['error']}): {shown!r}", file=sys.stderr)
            continue
        print(f"{entry['label']}\t{entry['probability']:.3f}\t{shown}")
    if failures:
        print(f"keras-applied predict nlp: {failures} of {len(predictions)} inputs could not be used "
              "(named above); exit status 1.", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
