"""Where a run is filed: results/<domain>/<dataset>/<run>/. A user's file names the dataset
folder, the values changed from the preset (or --run-tag) name the run, a folder holding another
experiment is never replaced, and `keras-applied run all` keeps writing the recorded folders."""

from __future__ import annotations

import dataclasses
import importlib
import json
import re

import pytest

from applications import registry
from common import cli, config, results
from common.errors import ConfigError
from tests.helpers import ROOT


@dataclasses.dataclass(frozen=True)
class ToyConfig(config.RunConfig):
    width: int = config.option(16, "Units per layer.", minimum=1)
    widths: tuple[int, ...] = config.option((32, 64), "Stage widths.", minimum=1)
    mode: str = config.option("fast", "How to run.", choices=("fast", "slow"))
    augment: bool = config.option(True, "Use augmentation.")
    note: str | None = config.option("x", "Free text.")
    data_file: str | None = config.option(None, "The user's CSV.", role="data")

    @classmethod
    def quick(cls):
        return cls(preset="quick", width=32)


def parse(config_cls: type, *argv: str) -> config.RunConfig:
    return cli.config_from_args(config_cls, cli.build_parser(config_cls, "test", "").parse_args(list(argv)))


# -- the dataset folder ----------------------------------------------------------------------------
def test_a_users_file_names_the_dataset_folder(tmp_path):
    from applications.drug_discovery.config import DrugDiscoveryConfig
    from applications.forecasting.config import ForecastingConfig
    from applications.nlp.config import NLPConfig
    from applications.recommendation.config import RecommendationConfig

    nlp = parse(NLPConfig, "--dataset", "csv", "--data-file", "~/x/reviews.csv")
    assert nlp.dataset_folder("csv") == "reviews"
    assert parse(NLPConfig, "--dataset", "csv", "--data-file", "/d/other.tsv").dataset_folder("csv") == "other"
    assert parse(NLPConfig, "--dataset", "sst2").dataset_folder("sst2") == "sst2"  # built-in: its own name
    assert ForecastingConfig.quick().replace(dataset="csv", csv_path="/d/airline-passengers.csv").dataset_folder(
        "airline-passengers") == "airline-passengers"
    assert DrugDiscoveryConfig.quick().replace(dataset="csv", csv_path="/d/assays.csv").dataset_folder("assays") == "assays"
    assert RecommendationConfig.quick().replace(dataset="csv", ratings_file="/d/mine.csv",
                                                items_file="/d/movies.csv").dataset_folder("csv") == "mine"


def test_dataset_folder_names_are_sanitised_and_never_taken_for_a_builtin(tmp_path):
    from applications.nlp.config import NLPConfig

    def folder(path):
        return NLPConfig.quick().replace(dataset="csv", data_file=path).dataset_folder("csv")

    assert folder("/d/my data (v2).csv") == "my_data_v2_"
    assert folder("/d/.hidden.csv") == "hidden"  # a dot folder would be hidden from the report
    assert folder("/d/sst2.csv") == "sst2-csv"  # not mixed with the built-in SST-2's results
    assert re.fullmatch(r"[A-Za-z0-9._-]+", folder("/d/é ü:*?.csv"))


def test_a_folder_dataset_is_named_after_its_folder(tmp_path, monkeypatch):
    from applications.speech.config import SpeechConfig
    from applications.vision.config import VisionConfig
    from applications.vision.gan.config import GanConfig

    photos = tmp_path / "holiday.photos"
    photos.mkdir()
    assert parse(VisionConfig, "--dataset", "folder", "--data-dir", str(photos)).dataset_folder("folder") == "holiday.photos"
    assert parse(GanConfig, "--dataset", "folder", "--data-dir", str(photos) + "/").dataset_folder("folder") == "holiday.photos"
    monkeypatch.setenv("KERAS_APPLIED_DATA_DIR", str(photos))  # the folder may come from the environment
    assert parse(SpeechConfig, "--dataset", "folder").dataset_folder("folder") == "holiday.photos"


# -- the run name ----------------------------------------------------------------------------------
def test_the_preset_itself_has_no_suffix_and_settings_never_enter_the_name():
    assert ToyConfig.from_preset("quick").run_name() == "quick"
    quiet = ToyConfig.from_preset("quick", data_dir="/data", precision="float32", distribute="mirrored",
                                  backup_steps=5, dataset="numbers", data_file="/d/numbers.csv")
    assert quiet.run_suffix() == "" and quiet.run_name("variant") == "quick-variant"


def test_changed_values_name_the_run_sorted_and_short():
    changed = ToyConfig.from_preset("quick", learning_rate=3e-4, epochs=12)
    assert changed.run_name() == "quick-epochs12-lr0.0003"
    assert ToyConfig.from_preset("quick", epochs=12, learning_rate=3e-4).run_name() == changed.run_name()
    assert ToyConfig.from_preset("quick", widths=(32, 64, 128)).run_name() == "quick-widths32-64-128"
    assert ToyConfig.from_preset("quick", augment=False, mode="slow", note=None).run_name() == \
        "quick-no_augment-mode_slow-note_none"
    assert ToyConfig.from_preset("quick", batch_size=64, learning_rate=1.0).run_name() == "quick-batch64-lr1"
    # The fields the domain's <preset>-<variant> already spells are not repeated.
    assert ToyConfig.from_preset("quick", mode="slow", epochs=2).run_name("slow", named=("mode",)) == "quick-slow-epochs2"


def test_a_long_suffix_becomes_a_short_deterministic_hash():
    many = dict(epochs=11, learning_rate=0.000123, batch_size=17, seed=3, width=5, widths=(1, 2, 3, 4, 5, 6, 7, 8))
    name = ToyConfig.from_preset("quick", **many).run_name()
    assert re.fullmatch(r"quick-cfg[0-9a-f]{8}", name)
    assert ToyConfig.from_preset("quick", **dict(reversed(list(many.items())))).run_name() == name
    assert ToyConfig.from_preset("quick", **{**many, "seed": 4}).run_name() != name


def test_nlp_and_vision_names_with_changed_values():
    from applications.nlp import train as nlp_train
    from applications.nlp.config import NLPConfig
    from applications.vision import train as vision_train
    from applications.vision.config import VisionConfig

    assert nlp_train.run_name(parse(NLPConfig, "--epochs", "10", "--learning-rate", "0.0003")) == \
        "quick-transformer-epochs10-lr0.0003"
    assert nlp_train.run_name(parse(NLPConfig, "--model", "lstm", "--dataset", "imdb")) == "quick-lstm"
    assert vision_train.run_name(parse(VisionConfig, "--epochs", "10")) == "quick-epochs10"
    assert vision_train.run_name(parse(VisionConfig, "--backbone", "mobilenet_v3_small", "--epochs", "3")) == \
        "quick-mobilenet_v3_small-epochs3"


def test_run_tag_replaces_the_suffix_in_every_domain():
    for domain in registry.domains().values():
        tagged = parse(domain.config_cls(), "--epochs", "3", "--run-tag", "mine")
        assert tagged.run_tag == "mine" and tagged.run_suffix() == "-mine", domain.name
    from applications.nlp import train as nlp_train
    from applications.nlp.config import NLPConfig

    assert nlp_train.run_name(parse(NLPConfig, "--model", "pretrained", "--epochs", "3", "--run-tag", "linear-3ep")) == \
        "quick-pretrained-linear-3ep"
    with pytest.raises(ConfigError, match=r"--run-tag may hold only .* received 'a/b'"):
        ToyConfig.from_preset("quick", run_tag="a/b")


def test_presets_that_depend_on_a_selector_are_compared_with_that_preset():
    from applications.nlp.config import NLPConfig
    from applications.speech.config import SpeechConfig

    spam = parse(NLPConfig, "--dataset", "sms_spam")
    assert spam.epochs == 10 and spam.overrides_from_preset() == {"dataset": "sms_spam"}
    assert parse(NLPConfig, "--dataset", "sms_spam", "--model", "pretrained").epochs == 3
    assert parse(NLPConfig, "--dataset", "sms_spam", "--epochs", "4").run_suffix() == "-epochs4"
    assert parse(SpeechConfig, "--protocol", "loso").epochs == 15 and parse(SpeechConfig).epochs == 25
    assert parse(SpeechConfig, "--protocol", "loso").command("speech") == "keras-applied run speech --preset quick --protocol loso"


# -- the guard ---------------------------------------------------------------------------------------
def save(results_dir, cfg, value, run_name=None):
    recorder = results.RunRecorder("toy", cfg, results_dir)
    return recorder.save(dataset="numbers", model="line", run_name=run_name, metrics={},
                         headline=results.headline("accuracy", value, higher_is_better=True))


def headline_value(run_dir):
    return json.loads((run_dir / "metrics.json").read_text())["headline"]["value"]


def test_the_same_experiment_replaces_its_folder_and_another_goes_beside_it(tmp_path, capsys):
    quick = ToyConfig.from_preset("quick")
    first = save(tmp_path, quick, 0.1)
    assert first == tmp_path / "toy" / "numbers" / "quick"
    # Same experiment (a setting differs): reproduced in place.
    assert save(tmp_path, quick.replace(precision="float32", data_dir="/elsewhere"), 0.2) == first
    assert headline_value(first) == 0.2
    capsys.readouterr()
    # A different experiment forced into the same name (e.g. by code passing run_name): beside it.
    second = save(tmp_path, quick.replace(epochs=3), 0.3, run_name="quick")
    assert second.name == "quick-2" and headline_value(first) == 0.2 and headline_value(second) == 0.3
    said = capsys.readouterr().out
    assert "holds a different experiment (epochs: 10 there, 3 here)" in said and "writing to quick-2" in said
    assert save(tmp_path, quick.replace(epochs=3), 0.4, run_name="quick") == second  # its own folder again
    assert save(tmp_path, quick.replace(width=1), 0.5, run_name="quick").name == "quick-3"
    # A reused --run-tag with other values is caught the same way.
    assert save(tmp_path, quick.replace(run_tag="t", epochs=4), 0.6).name == "quick-t"
    assert save(tmp_path, quick.replace(run_tag="t", epochs=5), 0.7).name == "quick-t-2"


def test_a_folder_that_is_not_a_recorded_run_is_left_alone(tmp_path):
    stranger = tmp_path / "toy" / "numbers" / "quick"
    stranger.mkdir(parents=True)
    (stranger / "notes.txt").write_text("mine")
    assert save(tmp_path, ToyConfig.from_preset("quick"), 0.1).name == "quick-2"
    assert (stranger / "notes.txt").read_text() == "mine"


def test_two_user_files_with_the_same_name_never_share_a_folder(tmp_path):
    one = ToyConfig.from_preset("quick", dataset="csv", data_file="/a/numbers.csv")
    other = one.replace(data_file="/b/numbers.csv")
    assert save(tmp_path, one, 0.1).name == "quick" and save(tmp_path, other, 0.2).name == "quick-2"


def test_metrics_json_notes_what_the_name_stands_for(tmp_path):
    run_dir = save(tmp_path, ToyConfig.from_preset("quick", epochs=3, widths=(1, 2), precision="float32"), 0.1)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert run_dir.name == metrics["run"] == "quick-epochs3-widths1-2"
    assert metrics["overrides"] == {"epochs": 3, "widths": [1, 2]}


# -- `keras-applied run all` keeps the recorded folders ------------------------------------------------
# (domain, run_all entry, dataset folder the data resolves to, recorded run folder) for --preset quick.
RECORDED = [
    ("vision", (), "fashion_mnist", "quick"),
    ("vision", ("gan",), "fashion_mnist", "quick-gan"),
    ("nlp", ("--dataset", "sst2", "--model", "transformer"), "sst2", "quick-transformer"),
    ("nlp", ("--dataset", "sms_spam", "--model", "transformer"), "sms_spam", "quick-transformer"),
    ("speech", (), "fsdd", "quick"),
    ("speech", ("--architecture", "transformer"), "fsdd", "quick-transformer"),
    ("speech", ("--protocol", "loso"), "fsdd", "quick-loso"),
    ("speech", ("--protocol", "transfer"), "fsdd", "quick-transfer"),
    ("recommendation", ("--task", "rating"), "movielens_latest_small", "quick-rating"),
    ("recommendation", ("--task", "retrieval"), "movielens_latest_small", "quick-retrieval"),
    ("forecasting", ("--dataset", "pollution"), "pollution", "quick-tcn"),
    ("forecasting", ("--dataset", "daily_min_temperatures"), "daily_min_temperatures", "quick-tcn"),
    ("forecasting", ("--task", "financial"), "goog", "quick-financial-tcn"),
    ("forecasting", ("--task", "anomaly"), "daily_min_temperatures", "quick-anomaly-autoencoder"),
    ("drug_discovery", ("--dataset", "auto"), "esol", "quick"),
    ("drug_discovery", ("--dataset", "auto", "--split", "random"), "esol", "quick-random"),
    ("drug_discovery", ("--dataset", "bbbp"), "bbbp", "quick"),
    ("drug_discovery", ("--dataset", "bbbp", "--split", "random"), "bbbp", "quick-random"),
    ("games", ("--dataset", "tic_tac_toe"), "tic_tac_toe", "quick"),
    ("games", ("--dataset", "connect_four"), "connect_four", "quick"),
]
NAMED_HERE = list(registry.domains())


def test_the_table_lists_every_run_all_entry():
    listed = {(domain, extra) for domain, extra, *_ in RECORDED}
    assert listed == {(name, extra) for name in NAMED_HERE for extra in registry.get(name).run_all}


@pytest.mark.parametrize(("domain", "extra", "dataset", "run"), RECORDED,
                         ids=[f"{d}-{'_'.join(e) or 'default'}" for d, e, *_ in RECORDED])
def test_run_all_writes_the_recorded_folders(domain, extra, dataset, run):
    config_cls = registry.get(domain).config_cls()
    train = importlib.import_module(f"applications.{domain}.train")
    if extra[:1] == ("gan",):  # `run vision gan ...` is the GAN example's own command
        from applications.vision.gan.config import GanConfig

        config_cls, extra = GanConfig, extra[1:]
        train = importlib.import_module("applications.vision.gan.train")
    cfg = parse(config_cls, *extra, "--preset", "quick")
    if domain == "forecasting":
        model = {"financial": "tcn", "anomaly": "autoencoder"}.get(cfg.task, cfg.model)
        name = train.run_name(cfg, model)
    elif domain == "games":  # one experiment per game and preset: no variant in the name
        name = cfg.run_name()
    else:
        name = train.run_name(cfg)
    assert (cfg.dataset_folder(dataset), name) == (dataset, run)
    folder = ROOT / "results" / domain / dataset / run
    assert (folder / "metrics.json").is_file(), f"{folder} is not a recorded run"
    # The recorded run is this same experiment, so `run all` replaces it rather than writing beside it.
    assert results.recorded_differences(folder, cfg.experiment_values()) == []
