"""`keras-applied play games` / `predict games`: Ctrl-C and the end of input stop with one line and
a defined exit status (130 / 0), never a traceback; search flags that make no sense are refused."""

from __future__ import annotations

import io

import pytest

pytest.importorskip("pyspiel")

from applications.games import play, predict  # noqa: E402 - after the skip: they import pyspiel


@pytest.fixture(scope="module")
def saved_agent(tmp_path_factory):
    """An untrained, tiny tic-tac-toe network saved with its card, as a games run saves it."""
    from applications.games import game as game_lib
    from applications.games import models
    from common import saving

    game = game_lib.load("tic_tac_toe")
    model = models.build_policy_value_net(board_shape=game.input_shape, num_actions=game.num_actions, filters=4,
                                          blocks=1, value_hidden=4)
    path = tmp_path_factory.mktemp("games_model") / "model.keras"
    saving.save_model(model, path, {"domain": "games", "game": "tic_tac_toe"})
    return str(path)


class InterruptedInput(io.StringIO):
    """Standard input on which the person presses Ctrl-C at the prompt."""

    def readline(self, *args):
        raise KeyboardInterrupt


def test_ctrl_c_at_the_prompt_exits_130_with_one_line(saved_agent, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", InterruptedInput())
    assert play.main(["--model", saved_agent, "--simulations", "2"]) == 130
    captured = capsys.readouterr()
    assert captured.err.strip().splitlines() == ["keras-applied play games: interrupted; game abandoned."]
    assert "your move" in captured.out


def test_end_of_input_exits_0_with_one_clear_line(saved_agent, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("5\n"))  # one move, then the input ends
    assert play.main(["--model", saved_agent, "--simulations", "2"]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip().endswith("input ended; stopping.") and captured.err == ""


def test_quit_exits_0(saved_agent, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("q\n"))
    assert play.main(["--model", saved_agent]) == 0
    assert capsys.readouterr().out.strip().endswith("bye.")


@pytest.mark.parametrize("module", [play, predict])
@pytest.mark.parametrize("argv, message", [
    (["--c-puct", "-1"], "--c-puct must be a finite number >= 0; received -1.0."),
    (["--c-puct", "nan"], "--c-puct must be a finite number >= 0; received nan."),
    (["--simulations", "-5"], "--simulations must be >= 0; received -5."),
])
def test_search_flags_that_make_no_sense_exit_2(module, argv, message, capsys):
    with pytest.raises(SystemExit) as exited:
        module.main(["--model", "m.keras", *argv])
    assert exited.value.code == 2 and message in capsys.readouterr().err


@pytest.mark.parametrize("module, text", [(play, "130 on Ctrl-C"), (predict, "Exit status: 0 when the position was analysed")])
def test_help_documents_the_exit_status(module, text, capsys):
    with pytest.raises(SystemExit):
        module.main(["--help"])
    assert text in " ".join(capsys.readouterr().out.split())
