"""Provides ``relaylab exam keys|pack|take|verify|review|report|certificate``: sealed, timed, graded
assessments for hiring managers, with no server anywhere.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.commands._common import add_course_option, course_root, emit_json
from engine.errors import ExamError, UsageError

if TYPE_CHECKING:
    from engine.exam.bundle import Bundle
    from engine.exam.keys import AssessorKeys
    from engine.exam.review import GradedResult

__all__ = ["register"]

PASSPHRASE_ENV = "RELAYLAB_KEY_PASSPHRASE"


def register(sub: Any) -> None:
    """Add the exam commands."""
    exam = sub.add_parser("exam", help="sealed, timed, graded assessments: pack, take, verify, review, report, "
                                       "certificates")
    esub = exam.add_subparsers(dest="exam_command", metavar="SUBCOMMAND", required=True)

    keys = esub.add_parser("keys", help="the assessor's signing and sealing keys")
    ksub = keys.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    p = ksub.add_parser("init", help="create the assessor keys in RELAYLAB_HOME/assessor")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_keys_init)
    p = ksub.add_parser("show", help="show the assessor key's fingerprint")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_keys_show)
    p = ksub.add_parser("export", help=f"write the keys to a file for another machine (passphrase from ${PASSPHRASE_ENV})")
    p.add_argument("-o", "--output", type=Path, required=True, help="the file to write")
    p.add_argument("--no-passphrase", action="store_true", help="write the private keys unprotected")
    p.set_defaults(handler=cmd_keys_export)
    p = ksub.add_parser("import", help="install keys exported on another machine")
    p.add_argument("file", type=Path, help="a file written by 'exam keys export'")
    p.add_argument("--force", action="store_true", help="replace different keys (kept in a replaced-* folder)")
    p.set_defaults(handler=cmd_keys_import)

    p = esub.add_parser("pack", help="seal an assessment into one bundle file a candidate can take offline")
    p.add_argument("assessment", help="assessment id (content/assessments/<id>.yaml)")
    p.add_argument("-o", "--output", type=Path, required=True, help="the bundle to write (e.g. exam.rlx)")
    p.add_argument("--seal-all", action="store_true",
                   help="seal the choice and exact short-answer keys too (no answer is checkable on the candidate's machine)")
    add_course_option(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_pack)

    p = esub.add_parser("take", help="take an exam from a bundle (resumes an open attempt)")
    p.add_argument("bundle", type=Path, help="the bundle file (.rlx)")
    p.add_argument("--candidate", required=True, help="your full name, as the assessor knows it")
    p.add_argument("--plain", action="store_true", help="line by line in the terminal (screen readers, scripts)")
    p.add_argument("--new-attempt", action="store_true", help="start your next attempt when the exam allows more")
    p.add_argument("-o", "--output", type=Path, help="where to write the result (default: in the current folder)")
    p.add_argument("--device-timeout", type=float, default=3.0, help=argparse.SUPPRESS)
    p.set_defaults(handler=cmd_take)

    p = esub.add_parser("verify", help="check a result, review, credential or bundle for changes and consistency")
    p.add_argument("file", type=Path, help="result.json, a credential, a review or a bundle")
    p.add_argument("--bundle", type=Path, action="append", default=[], help="the bundle a result was taken with")
    p.add_argument("--attempt-code", help="the attempt code the candidate reported when starting")
    p.add_argument("--issuer", help="for a credential: the assessor fingerprint it must be issued by")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_verify)

    p = esub.add_parser("review", help="grade a result (sealed keys, labs) and override free-text scores")
    p.add_argument("result", type=Path, help="the candidate's result.json")
    p.add_argument("--bundle", type=Path, action="append", default=[], help="the bundle (default: the one packed here)")
    p.add_argument("--override", nargs=3, action="append", default=[], metavar=("ITEM", "POINTS", "NOTE"),
                   help="set a free-text item's points, with a note saying why (repeatable)")
    p.add_argument("--interactive", action="store_true", help="ask for a score and note for each free-text answer")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_review)

    p = esub.add_parser("report", help="HTML, CSV and JSON report over many results, with item statistics")
    p.add_argument("files", nargs="*", type=Path, help="result files (review files may be mixed in)")
    p.add_argument("-o", "--output", type=Path, required=True, help="report.html (report.csv, report-items.csv "
                                                                    "and report.json are written next to it)")
    p.add_argument("--bundle", type=Path, action="append", default=[], help="the bundle (default: the one packed here)")
    p.add_argument("--json", action="store_true", help="print a summary as JSON")
    p.set_defaults(handler=cmd_report)

    p = esub.add_parser("certificate", help="a printable certificate and an Open Badges 3.0 credential for a pass")
    p.add_argument("result", type=Path, help="the candidate's result.json")
    p.add_argument("-o", "--output", type=Path, default=None, help="folder to write into (default: next to the result)")
    p.add_argument("--bundle", type=Path, action="append", default=[], help="the bundle (default: the one packed here)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_certificate)


# -- keys -------------------------------------------------------------------------------------------------


def _passphrase(confirm: bool) -> bytes | None:
    value = os.environ.get(PASSPHRASE_ENV)
    if value:
        return value.encode()
    if not sys.stdin.isatty():
        return None
    first = getpass.getpass("Passphrase for the assessor keys: ")
    if confirm and getpass.getpass("Again: ") != first:
        raise UsageError("the passphrases differ")
    return first.encode() or None


def cmd_keys_init(args: argparse.Namespace) -> int:
    from engine.exam.keys import assessor_home, init_keys

    keys = init_keys()
    if args.json:
        emit_json({"fingerprint": keys.fingerprint, "did": keys.did, "folder": str(assessor_home())})
    else:
        print(f"Assessor keys created in {assessor_home()}\nFingerprint: {keys.fingerprint}\n"
              "Tell candidates this fingerprint; 'exam take' shows the one each bundle was signed with.")
    return 0


def cmd_keys_show(args: argparse.Namespace) -> int:
    from engine.exam.keys import load_keys

    keys = load_keys()
    if args.json:
        emit_json({"fingerprint": keys.fingerprint, "did": keys.did})
    else:
        print(f"Fingerprint: {keys.fingerprint}\nIssuer: {keys.did}")
    return 0


def cmd_keys_export(args: argparse.Namespace) -> int:
    from engine.exam._codec import write_private
    from engine.exam.keys import export_keys, load_keys

    passphrase = None if args.no_passphrase else _passphrase(confirm=True)
    if passphrase is None and not args.no_passphrase:
        raise UsageError(f"set {PASSPHRASE_ENV} to protect the exported keys, or pass --no-passphrase")
    data = export_keys(load_keys(), passphrase)
    write_private(args.output, (json.dumps(data, indent=2) + "\n").encode())
    print(f"Keys {data['fingerprint']} written to {args.output}" + ("" if passphrase else " (unprotected: keep it safe)"))
    return 0


def cmd_keys_import(args: argparse.Namespace) -> int:
    from engine.exam.keys import import_keys

    keys = import_keys(args.file, _passphrase(confirm=False), force=args.force)
    print(f"Assessor keys {keys.fingerprint} installed.")
    return 0


# -- pack ---------------------------------------------------------------------------------------------------


def cmd_pack(args: argparse.Namespace) -> int:
    import time

    from engine.exam.bundle import pack, register
    from engine.exam.keys import assessor_home, load_keys
    from engine.loader import load_course

    started = time.perf_counter()
    tree = load_course(course_root(args.course))
    created = not (assessor_home() / "signing.pem").exists()
    keys = load_keys(create=True)
    bundle = pack(tree, args.assessment, keys, seal_all=args.seal_all)
    bundle.write(args.output)
    kept = register(bundle)
    seconds = time.perf_counter() - started
    a = bundle.assessment
    if args.json:
        emit_json({"bundle": str(args.output), "id": bundle.id, "hash": bundle.hash, "assessment": a["id"],
                   "content_hash": a["content_hash"], "fingerprint": keys.fingerprint, "kept": str(kept),
                   "seconds": round(seconds, 3), "keys_created": created})
        return 0
    if created:
        print(f"Created assessor keys in {assessor_home()} (fingerprint {keys.fingerprint}).")
    print(f"Packed '{a['title']}' into {args.output} ({args.output.stat().st_size // 1024} KB, {seconds:.1f} s).\n"
          f"Bundle {bundle.id}, signed by assessor key {keys.fingerprint}.\n"
          f"Send it to candidates; they run: relaylab exam take {args.output.name} --candidate \"Full Name\"")
    return 0


# -- take ----------------------------------------------------------------------------------------------------


def _default_output(bundle: Bundle, candidate: str, number: int) -> Path:
    from engine.exam.attempt import _slug

    return Path.cwd() / f"{bundle.assessment['id']}-{_slug(candidate)}-attempt{number}.result.json"


def cmd_take(args: argparse.Namespace) -> int:
    from engine.exam.attempt import Attempt
    from engine.exam.bundle import Bundle

    bundle = Bundle.load(args.bundle)
    attempt = Attempt.open(bundle, args.candidate, new_attempt=args.new_attempt)
    try:
        if attempt.submitted and not args.new_attempt:
            allowed = int(bundle.assessment.get("attempts_allowed", 1))
            more = (f"; start attempt {attempt.number + 1} of {allowed} with --new-attempt"
                    if attempt.number < allowed else f"; all {allowed} attempt{'s' if allowed > 1 else ''} are used")
            raise ExamError(f"{attempt.candidate} has already handed in attempt {attempt.number} of this exam "
                            f"(result: {attempt.result_path}){more}")
        output = args.output or _default_output(bundle, attempt.candidate, attempt.number)
        if args.plain:
            from engine.exam.plain import PlainExam

            result = PlainExam(attempt, sys.stdin, sys.stdout, output=output,
                               device_timeout=args.device_timeout).run()
        else:
            from course.exam_app import run_exam

            result = run_exam(attempt, output=output, device_timeout=args.device_timeout)
        del result
        return 0
    finally:
        attempt.close()


# -- verify ---------------------------------------------------------------------------------------------------


def cmd_verify(args: argparse.Namespace) -> int:
    from engine.exam._codec import read_json_document

    data = read_json_document(args.file, "file to verify")
    kind = _kind(data)
    if kind == "result":
        return _verify_result(args, data)
    if kind == "credential":
        from engine.exam.certificate import verify_credential

        info = verify_credential(data, issuer=args.issuer)
        if args.json:
            emit_json({"ok": True, "kind": "credential", **info})
        else:
            print(f"OK: valid credential. {info['name']} passed '{info['achievement']}' ({info['percent']} %) on "
                  f"{info['date']}; issued by assessor key {info['fingerprint']} ({info['issuer']}).")
        return 0
    if kind == "bundle":
        from engine.exam.bundle import Bundle

        bundle = Bundle.from_json(data, str(args.file))
        if args.json:
            emit_json({"ok": True, "kind": "bundle", "id": bundle.id, "hash": bundle.hash,
                       "assessment": bundle.assessment["id"], "fingerprint": bundle.fingerprint})
        else:
            print(f"OK: bundle {bundle.id} of '{bundle.assessment['title']}', signed by assessor key "
                  f"{bundle.fingerprint}, unchanged.")
        return 0
    if kind == "review":
        from engine.exam.keys import load_keys
        from engine.exam.review import review_from_json

        review = review_from_json(data, load_keys(), str(args.file))
        if args.json:
            emit_json({"ok": True, "kind": "review", **review.payload})
        else:
            print(f"OK: review of {review.payload['candidate']} signed by this assessor key, unchanged.")
        return 0
    raise ExamError(f"{args.file}: not a relaylab result, review, credential or bundle")


def _kind(data: Any) -> str | None:
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("result"), dict):
        return "result"
    if isinstance(data.get("review"), dict):
        return "review"
    if isinstance(data.get("bundle"), dict):
        return "bundle"
    if "OpenBadgeCredential" in (data.get("type") or []):
        return "credential"
    return None


def _verify_result(args: argparse.Namespace, data: Any) -> int:
    from engine.exam.bundle import find_bundle
    from engine.exam.result import check_result, result_from_json

    result = result_from_json(data, str(args.file))
    bundle = None
    note = ""
    try:
        bundle = find_bundle(result.bundle_id, None, args.bundle)
    except ExamError as exc:
        if args.bundle:
            raise
        note = f"bundle not available here ({exc.message}); only the signature and the timing were checked"
    check = check_result(result, bundle, attempt_code=args.attempt_code)
    p = result.payload
    if args.json:
        emit_json({"ok": check.ok, "kind": "result", "candidate": result.candidate, "attempt": p["attempt"],
                   "assessment": p["assessment"]["id"], "bundle": result.bundle_id, "attempt_code": result.attempt_code,
                   "digest": result.digest, "bundle_checked": bundle is not None, "problems": check.problems,
                   "warnings": check.warnings, "note": note})
        return 0 if check.ok else 1
    if not check.ok:
        for problem in check.problems:
            print(f"relaylab: error: {args.file}: {problem}", file=sys.stderr)
        print(f"REFUSED: the result of {result.candidate} is signed, but it does not hold together; it will not be "
              "graded.", file=sys.stderr)
        return 1
    print(f"OK: result of {result.candidate} for '{p['assessment']['title']}' (attempt {p['attempt']}), signed by "
          f"attempt key {result.attempt_code}, unchanged since it was signed.")
    if bundle is not None:
        print(f"It was taken with bundle {bundle.id[:12]}… (hash matches) and answers exactly the items that bundle "
              "gives this candidate.")
    if note:
        print(f"Note: {note}.")
    for warning in check.warnings:
        print(f"Warning: {warning}")
    return 0


# -- review ---------------------------------------------------------------------------------------------------


def _graded(path: Path, bundles: list[Path]) -> tuple[GradedResult, AssessorKeys]:
    from engine.exam.bundle import find_bundle
    from engine.exam.keys import keys_for
    from engine.exam.result import load_result
    from engine.exam.review import find_review, grade_result

    result = load_result(path)
    bundle = find_bundle(result.bundle_id, result.bundle_hash, bundles)
    keys = keys_for(bundle.fingerprint)
    sealed = bundle.unseal(keys)
    review = find_review(result, keys)
    graded = grade_result(result, bundle, sealed, review.overrides if review else (), reviewed=review is not None)
    return graded, keys


def _print_graded(graded: GradedResult) -> None:
    from rich.table import Table

    from engine.commands._common import stdout_console

    console = stdout_console()
    s = graded.score
    table = Table(title=f"{graded.candidate}: {s.score:g}/{s.max_score:g} ({s.percent:.1f} %) — "
                        f"{'PASS' if s.passed else 'FAIL'} (pass mark {s.pass_percent:g} %)", title_justify="left")
    for col in ("#", "item", "kind", "points", "answer"):
        table.add_column(col, overflow="fold")
    for n, item in enumerate(s.items, start=1):
        d = graded.details.get(item.item)
        answer = ""
        if d is not None:
            if d.lab is not None:
                answer = "; ".join(f"{c.status} {c.title}" for c in d.lab.checks) or d.lab.reason
            else:
                answer = d.shown[:300]
        table.add_row(str(n), item.item, item.kind, f"{item.points:g}/{item.max_points:g}"
                      + (" (override)" if item.overridden else ""), answer)
    console.print(table, markup=False)


def cmd_review(args: argparse.Namespace) -> int:
    from engine.exam.review import make_override, make_review, write_review

    graded, keys = _graded(args.result, args.bundle)
    overrides = list(graded.overrides)
    requested: list[tuple[str, float, str]] = []
    for item, points, note in args.override:
        try:
            requested.append((item, float(points), note))
        except ValueError:
            raise UsageError(f"--override {item}: {points!r} is not a number of points") from None
    if args.interactive:
        requested += _ask_overrides(graded)
    from engine.exam.review import grade_result

    for item, points, note in requested:
        overrides.append(make_override(graded, item, points, note))
        sealed = graded.bundle.unseal(keys)
        graded = grade_result(graded.result, graded.bundle, sealed, overrides, check=graded.check, reviewed=True)
    review = make_review(graded, keys)
    written = write_review(review, args.result)
    if args.json:
        emit_json({**review.payload, "files": [str(w) for w in written], "warnings": graded.check.warnings,
                   "items": [{"item": i.item, "kind": i.kind, "points": i.points, "max_points": i.max_points,
                              "overridden": i.overridden} for i in graded.score.items]})
        return 0
    _print_graded(graded)
    for warning in graded.check.warnings:
        print(f"Warning: {warning}")
    free = [i for i in graded.score.items if i.kind == "free" and not i.overridden]
    if free:
        print(f"{len(free)} free-text answer{'s are' if len(free) > 1 else ' is'} scored on key points only; "
              "override with --override ITEM POINTS NOTE (or --interactive).")
    print(f"Review written to {written[0]}")
    return 0


def _ask_overrides(graded: GradedResult) -> list[tuple[str, float, str]]:
    out = []
    for item in graded.score.items:
        if item.kind != "free":
            continue
        d = graded.details[item.item]
        print(f"\n{item.item} ({item.points:g}/{item.max_points:g} on key points)\n{d.prompt}\n--- answer ---\n{d.shown}")
        for point, made in d.key_points:
            print(f"  [{'x' if made else ' '}] {point}")
        print(f"--- model answer ---\n{d.model_answer}")
        value = input(f"Points 0-{item.max_points:g} (Enter keeps {item.points:g}): ").strip()
        if not value:
            continue
        note = input("Note (why): ").strip()
        try:
            out.append((item.item, float(value), note))
        except ValueError:
            raise UsageError(f"{value!r} is not a number of points") from None
    return out


# -- report and certificate ------------------------------------------------------------------------------------


def cmd_report(args: argparse.Namespace) -> int:
    from engine.exam.report import build_report, write_report

    report = build_report(args.files, args.bundle)
    files = write_report(report, args.output)
    if args.json:
        emit_json({"files": [str(f) for f in files], **report.summary()})
    else:
        summary = report.summary()
        print(f"Report on {summary['candidates']} candidate{'s' if summary['candidates'] != 1 else ''} "
              f"({summary['passed']} passed) written to {files[0]} (and {', '.join(f.name for f in files[1:])}).")
        for refused in report.refused:
            print(f"Refused: {refused.file}: {refused.reason}", file=sys.stderr)
        if summary["small_sample"]:
            print("Note: fewer than 30 candidates; item statistics and reliability are only indicative.")
    return 0 if report.candidates else 1


def cmd_certificate(args: argparse.Namespace) -> int:
    from engine.exam.certificate import issue

    graded, keys = _graded(args.result, args.bundle)
    folder = args.output or args.result.parent
    html_file, credential_file = issue(graded, keys, folder)
    if args.json:
        emit_json({"certificate": str(html_file), "credential": str(credential_file)})
    else:
        print(f"Certificate: {html_file}\nCredential: {credential_file}\n"
              f"Anyone can check the credential offline: relaylab exam verify {credential_file.name}")
    return 0
