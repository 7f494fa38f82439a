"""`hubctl completion SHELL`: the script completes what a person types, from the parser itself."""
import argparse
import subprocess

from pathlib import Path

import pytest

from hubctl.cli import _parser, main

ROOT = Path(__file__).resolve().parent.parent


def _commands(parser, path=()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*path, name)
                yield from _commands(sub, (*path, name))


@pytest.fixture(scope="module")
def bash_script(tmp_path_factory):
    path = tmp_path_factory.mktemp("completion") / "hubctl.bash"
    from hubctl import completion

    path.write_text(completion.script(_parser(), "bash"))
    return path


def _complete(script, *words: str) -> list[str]:
    """What bash offers after `hubctl WORDS...` (the last word being completed), as on <Tab><Tab>."""
    quoted = " ".join(f"'{w}'" for w in ("hubctl", *words))
    done = subprocess.run(["bash", "-c", f"source {script}; COMP_WORDS=({quoted}); COMP_CWORD={len(words)}; _shtab_hubctl; "
                                         'printf "%s\\n" "${COMPREPLY[@]}"'], capture_output=True, text=True, timeout=30,
                          cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return [line for line in done.stdout.splitlines() if line]


def test_bash_completes_commands_subcommands_choices_and_files(bash_script):
    assert _complete(bash_script, "loc") == ["local"]
    assert _complete(bash_script, "local", "clock", "a") == ["advance"]
    assert sorted(_complete(bash_script, "tenants", "list", "--output", "")) == ["json", "table", "text"]
    assert _complete(bash_script, "onboard", "events/onboarding/acme") == ["events/onboarding/acme-retail-us.json"]
    assert "--endpoint-url" in _complete(bash_script, "tenants", "show", "--end")


def test_every_command_is_in_every_shell_script():
    from hubctl import completion

    names = {path[-1] for path in _commands(_parser())}
    for shell in completion.SHELLS:
        text = completion.script(_parser(), shell)
        assert [n for n in names if n not in text] == [], shell


def test_hubctl_completion_prints_the_script(capsys):
    from hubctl import completion

    assert main(["completion", "bash"]) == 0
    assert capsys.readouterr().out == completion.script(_parser(), "bash")


def test_an_unknown_shell_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["completion", "fish"])
    assert exited.value.code == 2 and "invalid choice: 'fish'" in capsys.readouterr().err
