"""`python -m simulator lesson check FILE... | --all`: validate lessons and play them headless (docs/lessons.md).

Prints JSON Lines: one `step` line per step, a `lesson` line per lesson (every line names its lesson), and an
`error` line for a lesson that is not valid. Exit status: 0 all pass, 1 some check failed, 2 some lesson is
not valid (or no file was given)."""

import sys

from ..errors import PlaygroundError
from ..trace import canonical
from . import LESSONS_DIR, check_lesson, lesson_paths, load_lesson


def add_parser(sub):
    lesson = sub.add_parser("lesson", help="lessons (docs/lessons.md): `lesson check FILE...` or `lesson check "
                                           "--all` validates and plays them headless, printing JSON Lines")
    actions = lesson.add_subparsers(dest="lesson_command", required=True)
    check = actions.add_parser("check", help="validate lessons and play each headless, performing every `do` and "
                                             "checking every `expect`")
    check.add_argument("files", nargs="*", help="lesson JSON files")
    check.add_argument("--all", action="store_true", help=f"every lesson in {LESSONS_DIR}")
    check.add_argument("--quiet", action="store_true", help="print only the lesson and error lines")
    check.set_defaults(func=cmd_check)
    return lesson


def cmd_check(args):
    paths = [str(p) for p in lesson_paths()] if args.all else list(args.files)
    if not paths:
        sys.stderr.write("lesson check: give lesson files or --all\n")
        return 2
    status = 0
    out = sys.stdout
    for path in paths:
        try:
            lesson = load_lesson(path)
        except PlaygroundError as err:
            line = {"type": "error", "file": path} | err.as_dict()
            sys.stderr.write(f"{path}: {err.message}\n")
            out.write(canonical(line) + "\n")
            status = 2
            continue
        for report in check_lesson(lesson):
            if report["type"] == "lesson" or not args.quiet or not report["ok"]:
                out.write(canonical(dict(report, lesson=lesson["slug"])) + "\n")
            if not report["ok"]:
                if report["type"] == "step":
                    for failure in report["failures"]:
                        sys.stderr.write(f"{path}: {failure['field']}: {failure['message']}\n")
                status = max(status, 1)
        out.flush()
    return status
