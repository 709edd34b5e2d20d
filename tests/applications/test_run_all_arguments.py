"""`keras-applied run all` passes each domain's `run_all` flags with a preset: every combination
must be a valid config, or the main job fails an hour in."""

from __future__ import annotations

import pytest

from applications import registry
from common import cli

CASES = [
    (name, extra, preset)
    for name, domain in registry.domains().items()
    for extra in domain.run_all
    for preset in ("quick", "full")  # the presets `run all` accepts
]


@pytest.mark.parametrize(("name", "extra", "preset"), CASES, ids=[f"{n}-{'_'.join(e) or 'default'}-{p}" for n, e, p in CASES])
def test_run_all_arguments_make_valid_configs(name, extra, preset):
    domain = registry.get(name)
    config_cls = domain.config_cls()
    if extra[:1] == ("gan",):  # `run vision gan ...` is the GAN example's own command
        from applications.vision.gan.config import GanConfig

        config_cls, extra = GanConfig, extra[1:]
    parser = cli.build_parser(config_cls, f"keras-applied run {name}", "")
    config = cli.config_from_args(config_cls, parser.parse_args([*extra, "--preset", preset]))
    assert config.preset == preset


FALLBACK_CASES = [
    (name, extra, preset)
    for name, domain in registry.domains().items() if domain.fallback
    for extra in domain.run_all
    for preset in ("quick", "full")
]


@pytest.mark.parametrize(("name", "extra", "preset"), FALLBACK_CASES,
                         ids=[f"{n}-{'_'.join(e) or 'default'}-{p}" for n, e, p in FALLBACK_CASES])
def test_run_all_fallback_arguments_make_valid_configs(name, extra, preset):
    """The embedded-default rerun (the run's flags + the domain's fallback) is a valid config too."""
    test_run_all_arguments_make_valid_configs(name, (*extra, *registry.get(name).fallback), preset)
