"""The ``signalkit`` console script: ingest, train, evaluate, predict, export, demo.

Configs are composed by Hydra from the packaged ``configs/`` tree, so the installed command
works from any directory::

    signalkit ingest eeg data/raw/ stores/mi.zarr preprocess.l_freq=1 jobs=2
    signalkit train experiment=eeg/motor_imagery data.store=stores/mi.zarr trainer.max_epochs=20
    signalkit evaluate ckpt_path=runs/x/checkpoints/last.ckpt

A mistake a user can make ends with one line naming the file or config key and exit code 2;
an internal error exits with 1. ``--debug`` (or ``SIGNALKIT_DEBUG=1``) shows the traceback.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import warnings
from collections.abc import Callable, Sequence

from signalkit.errors import ConfigError, SignalkitError

USAGE = """usage: signalkit <command> [args] [key=value ...] [--debug] [--print-config]

commands:
  ingest <modality> <source> <store>   read files (file, glob or folder) into a zarr store
  train [key=value ...]                train, test and write <output_dir>/metrics.json
  evaluate ckpt_path=<ckpt> [...]      evaluate a checkpoint on the test (or val) split
  predict ckpt_path=<ckpt> [...]       write predictions of a checkpoint
  export ckpt_path=<ckpt> out=<dir>    turn a checkpoint into a pretrained folder
  demo [out=<dir>]                     write the synthetic motor-imagery EDF data set

modalities: eeg, meg, ieeg (and fmri, weather, video where installed)
examples:
  signalkit ingest eeg demo_data/eeg demo_data/eeg.zarr
  signalkit train experiment=eeg/motor_imagery data.store=demo_data/eeg.zarr
"""

COMMANDS: dict[str, Callable[[list[str]], int]] = {}
PRINT_CONFIG = "--print-config"  # stays in the arguments given to a command: ingest and train read it there


def command(name: str):
    def deco(fn):
        COMMANDS[name] = fn
        return fn

    return deco


def _split_overrides(args: Sequence[str]) -> tuple[list[str], list[str]]:
    """``(positional, key=value overrides)`` of a command's arguments (``--print-config`` left out)."""
    positional = [a for a in args if "=" not in a and a != PRINT_CONFIG]
    overrides = [a for a in args if "=" in a]
    return positional, overrides


def _ingest_args(args: Sequence[str]) -> tuple[list[str], list[str]]:
    """``([modality, source, store], overrides)``: the first three words are the positional
    arguments whatever they hold (``e=f.edf``, ``k(1).edf``, ``c,d.edf``): paths are never read
    as override grammar. A ``--`` ends the options, so ``-- -x.edf`` works too."""
    words = [a for a in args if a != PRINT_CONFIG]
    positional: list[str] = []
    rest: list[str] = []
    literal = False
    for word in words:
        if word == "--" and not literal and len(positional) < 3:
            literal = True
            continue
        if len(positional) < 3 and (literal or not word.startswith("--")):
            positional.append(word)
        else:
            rest.append(word)
    bad = [w for w in rest if "=" not in w]
    if len(positional) != 3 or bad:
        extra = f" (unexpected {bad[0]!r})" if bad else ""
        raise ConfigError(f"ingest: expected `signalkit ingest <modality> <source> <store> [key=value ...]`{extra}")
    return positional, rest


def _reader_names() -> list[str]:
    from importlib.resources import files

    return sorted(p.name[:-5] for p in files("signalkit.configs").joinpath("reader").iterdir()
                  if p.name.endswith(".yaml"))


@command("ingest")
def _ingest(args: list[str]) -> int:
    from omegaconf import open_dict

    from signalkit.config import compose, to_plain
    from signalkit.io import expand_sources
    from signalkit.store import ingest

    (modality, source, store), overrides = _ingest_args(args)
    if modality not in _reader_names():
        raise ConfigError(f"modality: unknown modality {modality!r} (expected one of {', '.join(_reader_names())})")
    try:  # source and store are set after composing: never parsed as override grammar
        cfg = compose("ingest", [f"reader={modality}", *[_prefix_reader(o) for o in overrides]])
    except ConfigError as err:  # name the key as the user typed it (preprocess.l_freq, not reader.preprocess...)
        raise ConfigError(str(err).removeprefix("reader.")) from None
    with open_dict(cfg):
        cfg.source, cfg.store = source, store
    if PRINT_CONFIG in args:
        from omegaconf import OmegaConf

        print(OmegaConf.to_yaml(cfg))
        return 0
    reader_kwargs = to_plain(cfg.reader)
    reader_kwargs.pop("modality", None)
    filters = {k: reader_kwargs.get(k) for k in ("subjects", "tasks") if reader_kwargs.get(k)}
    files = expand_sources(source, modality, **filters)
    from signalkit.guard import check_target

    check_target(store, "store", what="store", sources=[source, *files])  # before any file is read
    ingest(files, store, modality, reader_kwargs, jobs=int(cfg.jobs), progress=bool(cfg.progress),
           cluster=str(cfg.cluster) if cfg.get("cluster") else None,
           storage_options=to_plain(cfg.storage_options) if cfg.get("storage_options") else None)
    print(f"ingested {len(files)} file(s) into {store}")
    return 0


def _prefix_reader(override: str) -> str:
    """``preprocess.l_freq=1`` -> ``reader.preprocess.l_freq=1`` (top-level keys stay)."""
    key = override.split("=", 1)[0].lstrip("+~")
    if key.split(".")[0] in ("jobs", "progress", "cluster", "storage_options", "source", "store", "reader", "hydra"):
        return override
    return override.replace(key, f"reader.{key}", 1)


@command("train")
def _train(args: list[str]) -> int:
    from signalkit.config import compose, to_plain
    from signalkit.training import run_train

    _, overrides = _split_overrides(args)
    cfg = compose("train", overrides)
    if PRINT_CONFIG in args:  # resolved: the values a run uses (a backbone's size, the run's name)
        from omegaconf import OmegaConf

        print(OmegaConf.to_yaml(to_plain(cfg)))
        return 0
    metrics = run_train(cfg)
    _print_metrics(metrics)
    return 0


@command("evaluate")
def _evaluate(args: list[str]) -> int:
    from signalkit.training import evaluate

    _, overrides = _split_overrides(args)
    if not any(o.startswith("ckpt_path=") and o != "ckpt_path=" for o in overrides):
        raise ConfigError("ckpt_path: missing (signalkit evaluate ckpt_path=<checkpoint> [split=val] [key=value ...])")
    _print_metrics(evaluate(overrides))
    return 0


@command("predict")
def _predict(args: list[str]) -> int:
    from signalkit.predict import predict

    _, overrides = _split_overrides(args)
    print(predict(overrides))
    return 0


@command("export")
def _export(args: list[str]) -> int:
    from signalkit.pretrained import export_checkpoint

    _, overrides = _split_overrides(args)
    opts = dict(o.split("=", 1) for o in overrides)
    unknown = set(opts) - {"ckpt_path", "out"}
    if unknown:
        raise ConfigError(f"{sorted(unknown)[0]}: unknown key for export (expected ckpt_path=, out=)")
    if "ckpt_path" not in opts or "out" not in opts:
        raise ConfigError("export: expected `signalkit export ckpt_path=<ckpt> out=<dir>`")
    print(export_checkpoint(opts["ckpt_path"], opts["out"]))
    return 0


@command("demo")
def _demo(args: list[str]) -> int:
    from signalkit.synthetic.eeg import make_motor_imagery

    _, overrides = _split_overrides(args)
    opts = dict(o.split("=", 1) for o in overrides)
    unknown = set(opts) - {"out", "subjects", "trials", "montage", "seed"}
    if unknown:
        raise ConfigError(f"{sorted(unknown)[0]}: unknown key for demo")
    paths = make_motor_imagery(opts.get("out", "demo_data/eeg"), int(opts.get("subjects", 8)),
                               int(opts.get("trials", 30)), montage=opts.get("montage", "19"),
                               seed=int(opts.get("seed", 0)))
    print(f"wrote {len(paths)} EDF files to {opts.get('out', 'demo_data/eeg')}")
    return 0


def _print_metrics(metrics: dict) -> None:
    shown = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in sorted(metrics.items())}
    print(json.dumps(shown, indent=2))


def _quiet_libraries() -> None:
    """Third-party warnings are not printed (``--debug`` shows them); signalkit's own still are."""
    os.environ.setdefault("HYDRA_FULL_ERROR", "0")
    warnings.filterwarnings("ignore")
    warnings.filterwarnings("default", module=r"signalkit(\.|$)")
    for name in ("lightning.pytorch", "lightning.fabric", "lightning", "mne", "cfgrib", "py.warnings"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _quiet_closed_pipe() -> None:
    """Output piped into ``head`` and closed: end quietly (no BrokenPipe traceback at exit)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (0 ok, 2 user error, 1 internal error)."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get("SIGNALKIT_DEBUG", "") not in ("", "0")
    print_config = [PRINT_CONFIG] if PRINT_CONFIG in args else []
    args = [a for a in args if a not in ("--debug", PRINT_CONFIG)]
    if not debug:
        _quiet_libraries()
    try:
        if not args or args[0] in ("-h", "--help", "help"):
            print(USAGE)
            sys.stdout.flush()
            return 0
        name, rest = args[0], [*args[1:], *print_config]  # the flag from anywhere in argv, never from sys.argv
        if any(a in ("-h", "--help") for a in rest):
            print(USAGE)
            sys.stdout.flush()
            return 0
        if name not in COMMANDS:
            raise ConfigError(f"command: unknown command {name!r} (expected {', '.join(COMMANDS)})")
        code = COMMANDS[name](rest)
        sys.stdout.flush()
        return code
    except SignalkitError as err:
        if debug:
            raise
        print(f"signalkit: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("signalkit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like: not an error of ours
        _quiet_closed_pipe()
        return 0
    except Exception as err:  # internal error: one line, traceback with --debug
        if debug:
            raise
        print(f"signalkit: internal error: {type(err).__name__}: {err} (re-run with --debug for the traceback)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
