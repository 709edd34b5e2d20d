"""The ``keras-applied`` command.

    keras-applied list                          domains, their datasets and presets
    keras-applied run DOMAIN [flags]            train one domain (flags: keras-applied run DOMAIN --help)
    keras-applied run all --preset quick        every domain, then a summary table
    keras-applied predict DOMAIN [flags]        run a saved model on your own input
    keras-applied play DOMAIN [flags]           play against a saved agent (games)
    keras-applied benchmark DOMAIN [flags]      throughput figures into results/benchmarks/
    keras-applied report                        regenerate the README results tables
"""

from __future__ import annotations

import dataclasses
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path

from applications import registry
from common import cli

SUBCOMMAND_MODULES = {"run": "__main__", "predict": "predict", "play": "play", "benchmark": "benchmark"}


def _call_domain(subcommand: str, domain_name: str, argv: Sequence[str]) -> int:
    domain = registry.get(domain_name)
    missing = domain.missing_requirements()
    if missing:
        print(
            f"keras-applied: the {domain.name} domain needs {missing}; install them with "
            f"pip install 'keras-applied[{domain.extra}]'.",
            file=sys.stderr,
        )
        return 1
    module_name = f"{domain.module}.{SUBCOMMAND_MODULES[subcommand]}"
    if importlib.util.find_spec(module_name) is None:
        print(f"keras-applied: the {domain.name} domain has no '{subcommand}' command.", file=sys.stderr)
        return 1
    return importlib.import_module(module_name).main(list(argv)) or 0


def _list() -> int:
    from common.config import PRESETS

    for domain in registry.domains().values():
        missing = domain.missing_requirements()
        status = f"  (needs pip install 'keras-applied[{domain.extra}]')" if missing else ""
        print(f"{domain.name}: {domain.summary}{status}")
        config_cls = domain.config_cls()
        field = next(f for f in dataclasses.fields(config_cls) if f.name == "dataset")
        print(f"  datasets: {', '.join(field.metadata.get('choices') or [field.default])}")
        print(f"  presets:  {', '.join(PRESETS)}")
        print(f"  run:      keras-applied run {domain.name} --preset quick   (flags: --help)")
    return 0


def _report(argv: Sequence[str]) -> int:
    parser = cli.ArgumentParser(prog="keras-applied report", description="Regenerate the README results tables from results/.")
    parser.add_argument("--results-dir", default=None, help="Results root (default ./results).")
    parser.add_argument("--root", default=None, help="Project root holding README.md and applications/ (default: .).")
    args = parser.parse_args(argv)
    # A folder named by mistake would only give an empty table and no README updated, silently.
    if args.results_dir is not None and not Path(args.results_dir).expanduser().is_dir():
        what = "is a file" if Path(args.results_dir).expanduser().exists() else "does not exist"
        parser.error(f"--results-dir {args.results_dir!r} {what}; expected the results folder (results/<domain>/...).")
    root = Path(args.root or ".").expanduser()
    if args.root is not None and not (root / "README.md").is_file():
        parser.error(f"--root {args.root!r} holds no README.md; expected the project root (the folder with README.md "
                     "and applications/).")
    from common import report

    updated = report.update_readmes(root, args.results_dir, list(registry.domains()))
    print(report.markdown_table(report.collect(args.results_dir), report.SUMMARY_COLUMNS))
    for path in updated:
        print(f"updated {path}")
    if not updated:
        print(f"keras-applied report: no README with a results block under {str(root.resolve())!r}, so none was updated; "
              "run it from the project root or pass --root.", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        print(f"\ndomains: {', '.join(registry.domains())}")
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "list":
        return _list()
    if command == "report":
        return _report(rest)
    if command in SUBCOMMAND_MODULES:
        if not rest or rest[0].startswith("-"):
            print(f"keras-applied {command}: expected a domain ({', '.join(registry.domains())}"
                  f"{', all' if command == 'run' else ''}) first.", file=sys.stderr)
            return 2
        if command == "run" and rest[0] == "all":
            from applications import run_all

            return run_all.main(rest[1:])
        if command != "run" and not {"-h", "--help"} & set(rest):
            cli.configure_process()
            cli.import_backend_quietly()
        return _call_domain(command, rest[0], rest[1:])
    print(f"keras-applied: unknown command {command!r}.\n\n{__doc__.strip()}", file=sys.stderr)
    return 2


def entry_point() -> int:
    """The console script: ``main`` with Ctrl-C answered by one line and exit status 130."""
    try:
        return main()
    except KeyboardInterrupt:
        print("\nkeras-applied: interrupted (Ctrl-C); results of an unfinished run are not written, "
              "and a run started again with the same --workdir resumes from its last backup.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(entry_point())
