"""The ``lr-plugin`` command: ``export`` recorded timelines, run the ``demo``.

``export`` needs neither TensorFlow nor Keras; ``demo`` trains Keras models.
"""

import argparse
import contextlib
import json
import os
import sys
import warnings

EXIT_USAGE = 2


def main(argv=None):
    # `demo` trains with Keras, whose TensorFlow backend logs at start-up;
    # keep that chatter out of the command's output.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    return args.handler(args)


def _parser():
    parser = argparse.ArgumentParser(
        prog="lr-plugin",
        description="What the learning rate really did during Keras fit().",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    export = commands.add_parser(
        "export",
        help="print every recorded learning rate, plateau decision and event",
        description=(
            "Reads the lr_timeline event files under LOGDIR (every point, no "
            "sampling) and prints them as JSON (the format documented in "
            "README) or CSV (one row per run, optimizer and step)."
        ),
    )
    _add_logdir_and_run(export, "only this run")
    export.add_argument("--format", choices=("json", "csv"), default="json")
    export.add_argument("--output", "-o", help="write to this file instead of standard output")
    export.set_defaults(handler=_export)

    replay = commands.add_parser(
        "replay",
        help="replay a run's plateau decisions with other ReduceLROnPlateau settings",
        description=(
            "Replays ReduceLROnPlateau (Keras' own decision code) over the monitored "
            "values a run recorded, with the settings you change, and prints each "
            "epoch's recorded and replayed action and rate. It shows when the settings "
            "act on these values; after the first different decision, training itself "
            "would have gone differently."
        ),
    )
    _add_logdir_and_run(replay, "the run (needed when several have plateau records)")
    replay.add_argument("--factor", type=float)
    replay.add_argument("--patience", type=int)
    replay.add_argument("--cooldown", type=int)
    replay.add_argument("--min-delta", type=float, dest="min_delta")
    replay.add_argument("--min-lr", type=float, dest="min_lr")
    replay.add_argument("--mode", choices=("min", "max", "auto"))
    replay.add_argument("--semantics", choices=("keras", "pytorch"), default="keras",
                        help="whose ReduceLROnPlateau rules to replay with (pytorch needs torch)")
    replay.add_argument("--format", choices=("table", "json"), default="table")
    replay.set_defaults(handler=_replay)

    lint = commands.add_parser(
        "lint",
        help="find the learning-rate traps recorded trainings fell into",
        description=(
            "Reads the runs under LOGDIR and reports the learning-rate traps each fell "
            "into (two ReduceLROnPlateau callbacks, a LearningRateScheduler undoing "
            "reductions, SGD(decay=...) ignored, cooldown=1, EarlyStopping stopping "
            "before a reduction can help, a monitor never logged, min_lr reached early), "
            "with the epochs concerned and what to do. Exits with 1 when a finding is "
            "an error."
        ),
    )
    _add_logdir_and_run(lint, "only this run")
    lint.add_argument("--format", choices=("text", "json"), default="text")
    lint.set_defaults(handler=_lint)

    demo = commands.add_parser(
        "demo",
        help="train small models with every kind of schedule and open TensorBoard",
        description=(
            "Trains small Keras models on data generated in the process (no "
            "downloads), one run each: ReduceLROnPlateau with cooldown, cosine "
            "decay with warmup, a LearningRateScheduler step decay and a "
            "one-cycle schedule; then serves TensorBoard with the LR Timeline tab."
        ),
    )
    demo.add_argument("--logdir", default="lr_runs", help="where to write the runs (default: ./lr_runs)")
    demo.add_argument("--port", type=int, default=6006, help="TensorBoard's port (default: 6006; 0 picks a free one)")
    demo.add_argument("--host", default="127.0.0.1", help="TensorBoard's host (default: 127.0.0.1)")
    demo.add_argument("--no-serve", action="store_true", help="train and exit without starting TensorBoard")
    demo.add_argument("--epochs", type=int, default=None, help="epochs per run (default: each run's own)")
    demo.set_defaults(handler=_demo)
    return parser


def _add_logdir_and_run(command, run_help):
    """The ``LOGDIR`` argument and the ``--run`` option that picks one run in it."""
    command.add_argument("logdir", metavar="LOGDIR",
                         help="the directory given to tensorboard --logdir")
    command.add_argument("--run", help=f"{run_help}, named as the LR Timeline tab shows it "
                         "(the callbacks' log_dir, e.g. exp1) or as TensorBoard does "
                         "(exp1/lr_timeline)")


def _fail(command, message):
    print(f"lr-plugin {command}: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _export(args):
    from lr_plugin.format import reader

    with _warnings_as_messages("export"):
        try:
            timelines = reader.scan_timelines(args.logdir, run=args.run)
        except reader.LogDirNotFound as error:
            return _fail("export", str(error))
        output = open(args.output, "w", newline="", encoding="utf-8") if args.output else sys.stdout
        try:
            if args.format == "json":
                write_json(timelines, output)
            else:
                write_csv(timelines, output)
        finally:
            if args.output:
                output.close()
    return 0


def write_json(timelines, output):
    """Writes the JSON export of ``{run name: Timeline}`` to ``output``."""
    from lr_plugin.model import export

    output.writelines(export.json_pieces(timelines))


def write_csv(timelines, output):
    """Writes the CSV export (``run,optimizer,step,learning_rate``) to ``output``."""
    from lr_plugin.model import export

    output.writelines(export.csv_pieces(timelines))


@contextlib.contextmanager
def _warnings_as_messages(command):
    """Warnings (damaged files, skipped payloads) as one plain line each on stderr."""
    def show(message, category, filename, lineno, file=None, line=None):
        print(f"lr-plugin {command}: warning: {message}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = show
        yield


def _replay(args):
    from lr_plugin.format import reader
    from lr_plugin.tools import replay
    from lr_plugin.model import timeline

    with _warnings_as_messages("replay"):
        try:
            timelines = reader.read_timelines(args.logdir, run=args.run)
        except reader.LogDirNotFound as error:
            return _fail("replay", str(error))
    with_plateau = {name: run for name, run in timelines.items() if run["plateau"]}
    if len(with_plateau) != 1:
        found = ", ".join(sorted(with_plateau)) or "none"
        return _fail("replay", "Pass --run with one run that has plateau records "
                               f"(ReduceLROnPlateau with log_dir). Runs with them: {found}.")
    (name, run), = with_plateau.items()
    changes = {key: getattr(args, key) for key in replay.SETTINGS}
    try:
        if args.semantics == "pytorch":
            decisions = replay.replay_pytorch(run["plateau"], **changes)
        else:
            # On a schedule, the first optimizer's planned series, as the tab's what-if does.
            planned = next(iter(replay.schedules(run["planned"]).values()), None)
            decisions = replay.replay(run["plateau"], planned=planned, **changes)
    except (ValueError, TypeError, ImportError) as error:  # ReduceLROnPlateau's own checks
        return _fail("replay", str(error))
    if args.format == "json":
        json.dump({"run": name, "settings": replay.recorded_settings(decisions),
                   "recorded": timeline.clean(run["plateau"]),
                   "replayed": timeline.clean(decisions)}, sys.stdout, indent=1, allow_nan=False)
        sys.stdout.write("\n")
        return 0
    print_replay(name, run["plateau"], decisions, changes)
    return 0


def print_replay(name, recorded, replayed, changes):
    """A table of recorded against replayed decisions, then the reductions of each."""
    from lr_plugin.tools.replay import reductions

    changed = ", ".join(f"{k}={v}" for k, v in changes.items() if v is not None) or "no change"
    print(f"{name}: replayed with {changed}")
    print(f"{'epoch':>5}  {str(recorded[0].get('monitor')):>12}  {'recorded':<14} {'lr':>10}"
          f"  {'replayed':<14} {'lr':>10}")
    for old, new in zip(recorded, replayed):
        changed = (old["action"], old.get("lr_after")) != (new["action"], new["lr_after"])
        marker = "  *" if changed else ""
        value = "missing" if old.get("value") is None else f"{float(old['value']):.6g}"
        print(f"{old['epoch']:>5}  {value:>12}  {old['action']:<14} "
              f"{_rate(old.get('lr_after')):>10}"
              f"  {new['action']:<14} {_rate(new['lr_after']):>10}{marker}")
    print(f"recorded reductions at epochs {reductions(recorded) or 'none'}; "
          f"replayed: {reductions(replayed) or 'none'}  (* marks a different decision)")


def _lint(args):
    from lr_plugin.format import reader
    from lr_plugin.model import traps
    from lr_plugin.tools import lint

    try:
        findings = lint.lint_logdir(args.logdir, run=args.run)
    except reader.LogDirNotFound as error:
        return _fail("lint", str(error))
    lint.write_report(findings, sys.stdout, args.format)
    return 1 if traps.has_errors(findings) else 0


def _rate(value):
    return "-" if value is None else f"{float(value):.4g}"


def _demo(args):
    from lr_plugin.tools import demo

    if args.epochs is not None and args.epochs < 1:
        return _fail("demo", f"--epochs must be at least 1. Received --epochs={args.epochs}")
    logdir = os.path.abspath(args.logdir)
    if not args.no_serve:
        problem = demo.port_problem(args.host, args.port)
        if problem:  # before minutes of training, not after
            return _fail("demo", problem)
    print(f"Writing the demo's runs to {logdir}")
    try:
        demo.train_all(logdir, epochs=args.epochs)
    except OSError as error:
        return _fail("demo", str(error))
    print(f"Runs written to {logdir}. Export them with: lr-plugin export {logdir}; "
          f"lint them with: lr-plugin lint {logdir}")
    if args.no_serve:
        print(f"See them with: tensorboard --logdir {logdir}")
        return 0
    return demo.serve(logdir, host=args.host, port=args.port)


if __name__ == "__main__":
    sys.exit(main())
