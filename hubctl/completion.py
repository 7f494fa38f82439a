"""`hubctl completion SHELL`: tab completion of every command, option and choice, generated from the
parser by shtab (https://github.com/iterative/shtab), so it can never fall behind the commands.

The script is static: completing a word runs no Python and calls no AWS API (tenant ids and model
names are not completed; `hubctl tenants list` lists them).
"""
import argparse

import shtab

SHELLS = ("bash", "zsh", "tcsh")
INSTALL = """install it once (then open a new shell):
  bash   hubctl completion bash > ~/.local/share/bash-completion/completions/hubctl
  zsh    hubctl completion zsh > "${fpath[1]}/_hubctl"      (a directory on $fpath; then: autoload -U compinit && compinit)
  tcsh   hubctl completion tcsh > ~/.hubctl.tcsh && echo 'source ~/.hubctl.tcsh' >> ~/.tcshrc"""
# Arguments that name a local file or folder complete as paths (by their dest in the parser).
_PATHS = {"event_file": shtab.FILE, "png": shtab.FILE, "config_file": shtab.FILE, "template": shtab.FILE,
          "folder": shtab.DIRECTORY}


def add_parser(sub) -> None:
    completion = sub.add_parser("completion", help="print a shell's tab-completion script for hubctl (bash, zsh, tcsh)",
                                description=__doc__.split("\n\n")[0].split(": ", 1)[1], epilog=INSTALL + "\nexamples:\n"
                                "  hubctl completion bash > ~/.local/share/bash-completion/completions/hubctl\n"
                                "  source <(hubctl completion bash)            this shell only")
    completion.add_argument("shell", metavar="SHELL", choices=SHELLS, help=f"one of {', '.join(SHELLS)}")


def _mark_paths(parser: argparse.ArgumentParser) -> None:
    for action in parser._actions:
        if action.dest in _PATHS:
            action.complete = _PATHS[action.dest]  # what shtab reads
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _mark_paths(sub)


def script(parser, shell: str) -> str:
    _mark_paths(parser)
    return shtab.complete(parser, shell=shell)
