"""`keras-applied predict nlp`: exit status, messages on stderr, and what it says about changed input
(truncated texts, bytes that are not UTF-8) or refuses (binary files, models that take no strings)."""

from __future__ import annotations

import pytest

from applications.nlp import predict
from tests.applications.nlp.conftest import FILLER, NEGATIVE, POSITIVE

SEQUENCE_LENGTH = 4


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    """A tiny from-scratch text model (4 tokens, untrained) saved with its card, as an nlp run saves it."""
    import keras

    from applications.nlp import models
    from common import saving

    vectorizer = models.build_vectorizer(POSITIVE + NEGATIVE + FILLER, vocabulary_size=40, sequence_length=SEQUENCE_LENGTH)
    classifier = models.build_lstm_classifier(vocabulary_size=vectorizer.vocabulary_size(), sequence_length=SEQUENCE_LENGTH,
                                              num_classes=2, embedding_dim=4, lstm_units=4)
    model = models.build_text_model(vectorizer, classifier, name="tiny")
    path = tmp_path_factory.mktemp("nlp_model") / "model.keras"
    saving.save_model(model, path, {"domain": "nlp", "class_names": ["neg", "pos"]})
    keras.backend.clear_session()
    return str(path)


def test_texts_come_back_in_order_and_an_empty_one_makes_the_exit_status_1(saved_model, capsys):
    assert predict.main(["--model", saved_model, "good film", "bad plot"]) == 0
    captured = capsys.readouterr()
    assert [line.split("\t")[2] for line in captured.out.splitlines()] == ["good film", "bad plot"]
    assert captured.err == ""
    assert predict.main(["--model", saved_model, "good film", "  ", "bad plot"]) == 1
    captured = capsys.readouterr()
    assert [line.split("\t")[2] for line in captured.out.splitlines()] == ["good film", "bad plot"]
    errors = captured.err.splitlines()
    assert errors[0] == "text 2: skipped (empty text): '  '" and "1 of 3 inputs could not be used" in errors[-1]


def test_texts_longer_than_the_sequence_length_are_counted_in_a_note(saved_model, capsys):
    assert predict.main(["--model", saved_model, "good film", "the movie was a very good film indeed", "bad"]) == 0
    assert ("note: 1 of 3 texts are longer than the model's sequence length (4 tokens, the longest has 8); only "
            "their first 4 tokens were read.") in capsys.readouterr().err.splitlines()
    assert predict.main(["--model", saved_model, "good film"]) == 0
    assert "longer than" not in capsys.readouterr().err


def test_bytes_that_are_not_utf8_are_replaced_and_counted(saved_model, tmp_path, capsys):
    texts = tmp_path / "texts.txt"
    texts.write_bytes(b"\xef\xbb\xbfgood film\n\nbad plot \xff\xfe\nfun caf\xe9\n")
    assert predict.main(["--model", saved_model, "--file", str(texts), "dull caf\udce9"]) == 0
    captured = capsys.readouterr()
    assert "note: 1 byte(s) in the text arguments were not UTF-8 and were replaced by U+FFFD." in captured.err
    assert f"note: 3 byte(s) in --file {str(texts)!r} were not UTF-8 and were replaced by U+FFFD." in captured.err
    shown = [line.split("\t")[2] for line in captured.out.splitlines()]
    assert shown == ["dull caf\ufffd", "good film", "bad plot \ufffd\ufffd", "fun caf\ufffd"]


def test_a_binary_file_a_folder_and_an_empty_file_are_refused(saved_model, tmp_path, capsys):
    binary = tmp_path / "image.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    mostly_invalid = tmp_path / "latin1.bin"
    mostly_invalid.write_bytes(bytes(range(128, 256)) * 4)
    empty = tmp_path / "empty.txt"
    empty.write_text("\n \n")
    for path, message in (
        (binary, f"--file {str(binary)!r} is not a UTF-8 text file (it holds NUL bytes)"),
        (mostly_invalid, f"--file {str(mostly_invalid)!r} is not a UTF-8 text file (512 of its 512 bytes are not UTF-8)"),
        (tmp_path, f"--file {str(tmp_path)!r} is a folder"),
        (tmp_path / "nope.txt", "does not exist"),
        (empty, "holds no texts (it is empty or only blank lines)"),
    ):
        assert predict.main(["--model", saved_model, "--file", str(path)]) == 1
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_model_that_takes_no_strings_is_refused(tmp_path, capsys):
    import keras

    from common import saving

    inputs = keras.Input((3,))
    path = tmp_path / "model.keras"
    saving.save_model(keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(inputs)), path,
                      {"domain": "nlp", "class_names": ["neg", "pos"]})
    assert predict.main(["--model", str(path), "good film"]) == 1
    assert "takes inputs of shape [(None, 3)], not raw strings" in capsys.readouterr().err


def test_a_pretrained_models_truncation_is_counted_in_its_own_tokens(tiny_bert):
    from applications.nlp import pretrained

    backbone, preprocessor = pretrained.load_encoder(tiny_bert, sequence_length=6)
    model = pretrained.export_classifier(pretrained.build_pretrained_classifier(backbone, num_classes=2), preprocessor)
    # [CLS] + 4 words + [SEP] = 6 tokens fits; 5 words do not.
    assert predict.truncation_note(model, ["good fun film plot"]) is None
    assert predict.truncation_note(model, ["good fun film plot", "good fun film plot story"]) == (
        "1 of 2 texts are longer than the model's sequence length (6 tokens, the longest has 7); only their first "
        "6 tokens were read.")


def test_help_documents_the_exit_status(capsys):
    with pytest.raises(SystemExit):
        predict.main(["--help"])
    assert "Exit status: 0 when every text was classified; 1 when any input" in " ".join(capsys.readouterr().out.split())
