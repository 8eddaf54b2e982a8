"""The offline verifier (scripts/verify_export.py) in process, on one small signed export:
what it refuses to read and why, what each change to the file is reported as, and its
command line (exit status, JSON, trusted checkpoint and keys, saving a checkpoint).

tests/test_integrity_checks.py runs the same checks through a virtual environment that has
only ``cryptography``; this file is fast enough to be the mutation-test selection.
"""
from __future__ import annotations

import base64
import json

import pytest

from auditing import chain
from auditing.signing import Signer
from auditing.bootstrap import init_database
from audit_service.config import Settings
from scripts import verify_export
from scripts.verify_export import ExportError, check_export
from tests.test_integrity import Store, more_history
from tests.test_integrity_checks import Bundle

PIN_NOTE = ("public keys were taken from the export itself; pin them with --trusted-key to"
            " verify authorship independently")
DECIDED = "audit_service.domain.officers:Officer.ReappointmentDecided"


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """(export path, signer, head): 20 events, a signed checkpoint every 10."""
    root = tmp_path_factory.mktemp("offline")
    env = {"AUDIT_DATABASE_URL": f"sqlite:///{root}/audit.sqlite3"}
    init_database(Settings.from_env(env))
    signer = Signer.generate()
    s = Store(env, signer, demo=False, every_events=10)
    try:
        for _ in range(2):
            more_history(s.app)
        s.follower.catch_up()
        s.follower.checkpoint_now()
        path = s.export(root / "export.ndjson")
        return path, signer, s.head
    finally:
        s.close()


@pytest.fixture
def bundle(exported, tmp_path) -> Bundle:
    copy = tmp_path / "export.ndjson"
    copy.write_bytes(exported[0].read_bytes())
    return Bundle(copy)


def faults(report: dict) -> list[tuple]:
    return [(f["position"], f["kind"]) for f in report["faults"]]


# --------------------------------------------------------------------------- a sound export

def test_a_sound_export_verifies_and_says_what_it_holds(exported, bundle):
    _, signer, head = exported
    report = check_export(bundle.path)
    assert report["ok"] and report["file_complete"] is True and report["events"] == head == 20
    assert report["manifest"]["type"] == "manifest" and report["start"]["position"] == 0
    assert report["decision_positions"] == []
    events = [o for o in bundle.lines if o["type"] == "event"]
    assert report["latest_recorded_at"] == max(o["recorded_at"] for o in events)
    assert report["checkpoints"]["signed"] >= 2 and report["checkpoints"]["signing"] == "signed"
    assert PIN_NOTE in report["notes"]
    pinned = check_export(bundle.path, trusted_keys={signer.key_id: {
        "public_key": signer.public_b64, "valid_from": None}})
    assert pinned["ok"] and PIN_NOTE not in pinned["notes"]


def test_keys_the_auditor_does_not_trust_make_every_checkpoint_a_fault(bundle):
    report = check_export(bundle.path, trusted_keys={})
    assert not report["ok"] and PIN_NOTE not in report["notes"]
    assert {f["reason"] for f in report["faults"]} == {"unknown_key"}


def test_a_reappointment_decision_is_listed_for_replay(bundle):
    i = bundle.index("event", 5)
    bundle.lines[i]["topic"] = DECIDED
    report = check_export(bundle.write("decided", reseal=True))
    assert report["decision_positions"] == [5]
    assert faults(report) == [(5, chain.ALTERED)]  # the topic is part of what is chained


# --------------------------------------------------------------------------- files it will not read

def test_a_first_line_that_is_not_json_is_not_an_export(tmp_path):
    path = tmp_path / "x.ndjson"
    path.write_bytes(b"hello\n")
    with pytest.raises(ExportError, match="^the first line is not JSON: not an audit-service"
                                          " export$"):
        check_export(path)


@pytest.mark.parametrize("change, message", [
    ({"type": "event"}, "the first line is not an audit-service export manifest"),
    ({"format": "other"}, "the first line is not an audit-service export manifest"),
    ({"format_version": 2},
     r"export format version 2 is not supported \(this verifier reads \(1,\)\)"),
    ({"canonical_version": 2}, "canonical bytes version 2 is not supported"),
])
def test_a_manifest_it_does_not_know_is_refused(bundle, change, message):
    bundle.lines[0].update(change)
    with pytest.raises(ExportError, match=f"^{message}$"):
        check_export(bundle.write("bad"))


def test_a_line_that_is_not_json_is_refused_by_number(bundle):
    raw = bundle.path.read_bytes().splitlines(keepends=True)
    raw[3] = b"{broken\n"
    bad = bundle.path.parent / "broken.ndjson"
    bad.write_bytes(b"".join(raw))
    with pytest.raises(ExportError, match="^line 4 is not JSON$"):
        check_export(bad)


def test_unknown_and_misplaced_lines_are_refused_by_number(bundle):
    bundle.lines.insert(1, {"type": "note"})
    with pytest.raises(ExportError, match=r"^unknown line type 'note' \(line 2\)$"):
        check_export(bundle.write("note"))
    del bundle.lines[1]
    key = bundle.lines[bundle.index("key")]
    first_event = bundle.index("event")
    bundle.lines.insert(first_event + 1, key)
    with pytest.raises(ExportError, match=rf"^a 'key' line after the events \(line"
                                          rf" {first_event + 2}\)$"):
        check_export(bundle.write("late-key"))


# --------------------------------------------------------------------------- the end line

def test_a_file_cut_in_the_middle_of_a_line_is_truncated_after_the_last_event(bundle):
    raw = bundle.path.read_bytes()
    cut = bundle.path.parent / "cut.ndjson"
    last_event = raw.rindex(b'{"type":"event"')
    cut.write_bytes(raw[:last_event + 30])
    report = check_export(cut)
    assert report["file_complete"] is False and not report["ok"]
    assert report["faults"][-1] == {
        "position": 20, "kind": chain.TRUNCATED,
        "detail": "the file ends without its end line: the export is cut short"}
    assert report["first_fault"]["position"] <= 20


@pytest.mark.parametrize("field, detail", [
    ("lines", "the end line counts {n} lines; the file has {m}"),
    ("events", "the end line counts {n} events; the file has {m}"),
])
def test_end_line_counts_that_differ_are_file_faults(bundle, field, detail):
    end = bundle.lines[-1]
    real = end[field]
    end[field] = real + 1
    report = check_export(bundle.write(field))
    assert report["faults"] == [{"position": 21, "kind": "file",
                                 "detail": detail.format(n=real + 1, m=real)}]
    assert report["first_fault"] == report["faults"][0] and report["fault_count"] == 1
    assert report["file_complete"] is True


def test_a_touched_manifest_fails_the_files_sha256(bundle):
    bundle.lines[0]["exported_at"] = "2030-01-01T00:00:00+00:00"
    report = check_export(bundle.write("touched"))
    assert faults(report) == [(21, "file")]
    assert report["faults"][0]["detail"] == \
        "the file's SHA-256 differs from the one in its end line"


def test_a_chain_line_without_its_event_is_missing(bundle):
    i = bundle.index("event", 7)
    bundle.lines[i] = {"type": "chain", "position": 7, "chain": bundle.lines[i]["chain"]}
    bundle.lines[-1]["events"] -= 1
    report = check_export(bundle.write("gone", reseal=True))
    assert faults(report) == [(7, chain.MISSING)] and report["events"] == 19


def test_a_trusted_checkpoint_from_another_history(exported, bundle):
    _, signer, _ = exported
    cp = bundle.lines[bundle.index("checkpoint")]
    held = {k: v for k, v in cp.items() if k != "type"}
    held["head"] = "ef" * 32
    held["signature"] = signer.sign(held)
    report = check_export(bundle.path, trusted_checkpoint=held)
    assert [(f["position"], f["reason"]) for f in report["faults"]] == \
        [(held["position"], "trusted_mismatch")]


# --------------------------------------------------------------------------- keys files

def test_a_keys_file_holds_json_records_or_bare_keys(tmp_path):
    a, b, c = (Signer.from_seed(bytes([n]) * 32) for n in (1, 2, 3))
    as_list = tmp_path / "list.json"
    as_list.write_text(json.dumps([a.public_record("2026-01-01T00:00:00+00:00")]))
    per_line = tmp_path / "lines.txt"
    per_line.write_text(json.dumps(b.public_record("2026-02-01T00:00:00+00:00")) + "\n\n"
                        + c.public_b64 + "\n")
    one = tmp_path / "one.json"
    one.write_text(json.dumps(c.public_record("2026-03-01T00:00:00+00:00")))
    assert verify_export.read_keys_file(str(as_list)) == {a.key_id: {
        "key_id": a.key_id, "public_key": a.public_b64,
        "valid_from": "2026-01-01T00:00:00+00:00"}}
    assert verify_export.read_keys_file(str(per_line)) == {
        b.key_id: {"key_id": b.key_id, "public_key": b.public_b64,
                   "valid_from": "2026-02-01T00:00:00+00:00"},
        c.key_id: {"key_id": c.key_id, "public_key": c.public_b64, "valid_from": None}}
    assert verify_export.read_keys_file(str(one))[c.key_id]["valid_from"] == \
        "2026-03-01T00:00:00+00:00"
    assert base64.b64decode(c.public_b64) == c.public_raw


# --------------------------------------------------------------------------- the command

def run(capsys, *args: str) -> tuple[int, dict | None, str]:
    code = verify_export.main([*args])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip().startswith("{") else None), out + err


def run_split(capsys, *args: str) -> tuple[int, str, str]:
    code = verify_export.main([*args])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_command_exits_0_1_or_2_and_prints_its_verdict(bundle, capsys, tmp_path):
    code, report, text = run(capsys, str(bundle.path), "--no-replay", "--json")
    assert code == 0 and report["ok"] and "RESULT: OK" in text
    assert "OK: 20 events checked" in text  # on stderr, stdout holding only the JSON
    code, report, text = run(capsys, str(bundle.path), "--no-replay")
    assert code == 0 and report is None
    assert text.splitlines()[0].startswith("OK: 20 events checked")
    assert text.splitlines()[-1] == "RESULT: OK"
    bundle.lines[0]["exported_at"] = "2030-01-01T00:00:00+00:00"
    code, report, text = run(capsys, str(bundle.write("touched")), "--no-replay", "--json")
    assert code == 1 and not report["ok"] and "RESULT: FAILED" in text
    missing = tmp_path / "nothing.ndjson"
    code, report, text = run(capsys, str(missing), "--no-replay")
    assert code == 2 and report is None and f"verify_export: cannot read {missing}" in text


def test_the_command_reads_a_trusted_checkpoint_and_trusted_keys(exported, bundle, capsys,
                                                                 tmp_path):
    _, signer, _ = exported
    cp = bundle.lines[bundle.index("checkpoint")]
    held = tmp_path / "held.json"
    held.write_text(json.dumps({**cp, "head": "ef" * 32}))  # "type" is dropped on reading
    code, report, _ = run(capsys, str(bundle.path), "--no-replay", "--json",
                          "--trusted-checkpoint", str(held))
    assert code == 1 and report["first_fault"]["reason"] == "bad_signature"
    good = tmp_path / "good.json"
    good.write_text(json.dumps(cp))
    code, report, _ = run(capsys, str(bundle.path), "--no-replay", "--json",
                          "--trusted-checkpoint", str(good))
    assert code == 0 and report["ok"]
    other = tmp_path / "other.key"
    other.write_text(Signer.from_seed(bytes(32)).public_b64)
    mine = tmp_path / "mine.key"
    mine.write_text(signer.public_b64)
    code, report, _ = run(capsys, str(bundle.path), "--no-replay", "--json",
                          "--trusted-key", str(other))
    assert code == 1 and {f["reason"] for f in report["faults"]} == {"unknown_key"}
    code, report, _ = run(capsys, str(bundle.path), "--no-replay", "--json",
                          "--trusted-key", str(other), "--trusted-key", str(mine))
    assert code == 0 and PIN_NOTE not in report["notes"]


def test_the_command_requires_signatures_when_asked(bundle, capsys):
    for o in bundle.lines:
        if o["type"] == "checkpoint":
            o["signature"] = None
    path = bundle.write("unsigned", reseal=True)
    code, report, _ = run(capsys, str(path), "--no-replay", "--json")
    assert code == 0 and report["checkpoints"]["signing"] == "unsigned"
    code, report, _ = run(capsys, str(path), "--no-replay", "--json", "--require-signatures")
    # every unsigned checkpoint, and (required, none signed) the lack of any signed one
    assert code == 1 and {f["reason"] for f in report["faults"]} == {"unsigned",
                                                                    "no_signed_checkpoint"}


def test_the_command_saves_the_last_valid_checkpoint_only_after_a_clean_check(bundle, capsys,
                                                                              tmp_path):
    saved = tmp_path / "saved.json"
    code, _, text = run(capsys, str(bundle.path), "--no-replay", "--save-checkpoint", str(saved))
    last = [o for o in bundle.lines if o["type"] == "checkpoint"][-1]
    kept = json.loads(saved.read_text())
    assert code == 0 and kept["position"] == last["position"] == 20
    assert kept["signature"] == last["signature"]
    assert f"saved checkpoint at position 20 to {saved}" in text
    saved.unlink()
    bundle.lines[0]["exported_at"] = "2030-01-01T00:00:00+00:00"
    code, _, text = run(capsys, str(bundle.write("touched")), "--no-replay",
                        "--save-checkpoint", str(saved))
    assert code == 1 and not saved.exists()
    assert "no checkpoint saved: the export did not verify, or has no valid checkpoint" in \
        text.splitlines()


def test_without_the_service_installed_replay_is_skipped_and_said_so(bundle, capsys,
                                                                     monkeypatch):
    monkeypatch.setattr(verify_export, "replay_available", lambda: "no service here")
    code, report, text = run(capsys, str(bundle.path), "--json")
    said = "board hashes not checked (nor quoted dossiers): no service here"
    assert code == 0 and said in report["notes"]
    assert "replay" not in report
    assert f"note: {said}" in text
    assert (report["board"]["status"], report["board"]["reason"]) == ("not_checked",
                                                                     "no service here")
    assert report["dossiers"]["status"] == "not_checked"
    # asking for an officer's replayed answers cannot be done: exit 2
    code, report, text = run(capsys, str(bundle.path), "--officer", "x")
    assert code == 2 and "verify_export: no service here" in text


def test_with_the_service_installed_the_export_is_replayed(bundle, capsys):
    code, report, _ = run(capsys, str(bundle.path), "--json")
    assert code == 0 and report["replay"]["as_of"] == report["latest_recorded_at"]
    assert not any(n.startswith("board hashes not checked") for n in report["notes"])



def test_with_json_stdout_holds_only_the_report_and_the_words_go_to_stderr(bundle, capsys):
    code, out, err = run_split(capsys, str(bundle.path), "--no-replay", "--json")
    report = json.loads(out)  # the whole of stdout
    assert code == 0 and out.startswith('{\n  "ok": true,\n') and out.endswith("}\n")
    assert err.splitlines()[0].startswith("OK: 20 events checked")
    assert err.splitlines()[-1] == "RESULT: OK" and report["ok"]
    code, out, err = run_split(capsys, str(bundle.path), "--no-replay")
    assert out.splitlines()[0].startswith("OK: 20 events checked") and err == ""


def test_errors_go_to_stderr(bundle, capsys, tmp_path, monkeypatch):
    code, out, err = run_split(capsys, str(tmp_path / "none.ndjson"), "--no-replay")
    assert code == 2 and out == "" and err.startswith("verify_export: cannot read ")
    monkeypatch.setattr(verify_export, "replay_available", lambda: "no service here")
    code, out, err = run_split(capsys, str(bundle.path), "--officer", "x")
    assert code == 2 and err.strip() == "verify_export: no service here"


def test_a_trusted_checkpoint_file_without_a_type_line_is_read(bundle, capsys, tmp_path):
    cp = {k: v for k, v in bundle.lines[bundle.index("checkpoint")].items() if k != "type"}
    held = tmp_path / "held.json"
    held.write_text(json.dumps(cp))
    code, report, _ = run(capsys, str(bundle.path), "--no-replay", "--json",
                          "--trusted-checkpoint", str(held))
    assert code == 0 and report["ok"]


def test_the_saved_checkpoint_is_indented_json(bundle, capsys, tmp_path):
    saved = tmp_path / "saved.json"
    run(capsys, str(bundle.path), "--no-replay", "--save-checkpoint", str(saved))
    text = saved.read_text()
    assert text.startswith('{\n  "') and text.endswith("}\n")
    assert json.loads(text)["position"] == 20


def test_the_help_documents_every_option(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "2000")
    with pytest.raises(SystemExit) as done:
        verify_export.main(["--help"])
    assert done.value.code == 0
    text = " " + " ".join(capsys.readouterr().out.split()) + " "
    for phrase in (
        "Verify an audit-service export: signatures, hash chain, board hashes.",
        "export the export file (.ndjson, or gzip-compressed)",
        "--trusted-checkpoint FILE|DIR a checkpoint you already hold (JSON), or a directory"
        " of them (a mirror of the witness: the newest is used); the export must extend it",
        "--trusted-key FILE|BASE64 public keys you trust (a file of base64 or JSON records, or"
        " one base64 key; also AUDIT_TRUSTED_KEYS); only these, and keys they rotated to, may"
        " sign checkpoints",
        "--require-signatures count an unsigned checkpoint as a fault",
        "--save-checkpoint FILE after a clean check, save the last valid signed checkpoint"
        " here",
        "--json print the report as JSON",
        "--no-replay check the chain and signatures only (no decoding of events)",
        "--officer ID print this officer's replayed history and eligibility",
        "--on YYYY-MM-DD date of the eligibility questions (default: the day of --as-of)",
        "--as-of TIME answer as of this recorded time (default: the export's latest)",
        "--compare-url URL compare replayed answers with this running service",
        "--token TOKEN bearer token for --compare-url",
    ):
        assert f" {phrase} " in text, phrase  # whole words: not inside a longer text


# --------------------------------------------------------------------------- the manifest's range

def partial(bundle: Bundle, start: int, to: int) -> Bundle:
    """The bundle cut to events start+1..to, its manifest saying so, as a partial export."""
    kept, base = [], None
    for o in bundle.lines[1:-1]:
        if o["type"] in ("event", "chain"):
            if o["position"] == start:
                base = o["chain"]
            if not start < o["position"] <= to:
                continue
        if o["type"] == "checkpoint" and o["position"] <= start:
            continue  # as the export does: checkpoints from its first position on
        kept.append(o)
    head = dict(bundle.lines[0])
    head["start"] = ({"position": 0, "hash": "00" * 32, "count": 0} if start == 0 else
                     {"position": start, "hash": base["hash"], "count": base["seq"]})
    head["to_position"] = to
    bundle.lines = [head, *kept, {**bundle.lines[-1],
                                  "events": sum(o["type"] == "event" for o in kept)}]
    bundle.lines[-1]["lines"] = len(bundle.lines) - 1
    return bundle


def test_a_partial_export_verifies_from_its_start(bundle):
    report = check_export(partial(bundle, 10, 20).write("tail", reseal=True))
    assert report["ok"], report["faults"]
    assert report["events"] == 10 and report["first_position"] == 11
    assert report["chain_head"]["count"] == 20


def test_a_checkpoint_past_the_exports_range_is_not_judged(bundle):
    """(The export writes only the checkpoints in its range; a file holding one past it is
    still read as the manifest says.)"""
    report = check_export(partial(bundle, 0, 10).write("head", reseal=True))
    assert report["ok"], report["faults"]
    assert report["checkpoints"]["valid"] == 1  # the one at 10; the one at 20 is past the range


def test_a_trusted_checkpoint_past_a_partial_export_is_noted_not_failed(exported, bundle):
    held = {k: v for k, v in bundle.lines[bundle.index("checkpoint", 20)].items()
            if k != "type"}
    cut = partial(bundle, 0, 10)
    assert cut.lines[0]["log_head"] >= 20
    report = check_export(cut.write("head", reseal=True), trusted_checkpoint=held)
    assert report["ok"], report["faults"]
    assert "the trusted checkpoint at 20 lies beyond this range; not checked" in report["notes"]


def test_an_event_not_yet_chained_is_counted_not_failed(bundle):
    i = bundle.index("event", 20)
    bundle.lines[i]["chain"] = None
    bundle.lines[0]["chain_position"] = 19
    report = check_export(bundle.write("unchained", reseal=True))
    assert report["unchained"] == 1
    assert not any(f["kind"] == chain.INSERTED for f in report["faults"])


def test_chain_lines_before_any_event_and_a_missing_tail(bundle):
    for p in (1, 19, 20):
        i = bundle.index("event", p)
        bundle.lines[i] = {"type": "chain", "position": p, "chain": bundle.lines[i]["chain"]}
    bundle.lines[-1]["events"] -= 3
    report = check_export(bundle.write("holes", reseal=True))
    assert faults(report) == [(1, chain.MISSING), (19, chain.TRUNCATED), (20, chain.TRUNCATED)]
    assert report["checkpoints"]["signed"] == 2  # the checkpoints were read before the chain


def test_an_export_without_events(exported, bundle):
    _, signer, _ = exported
    head = dict(bundle.lines[0])
    head["to_position"] = 0
    keys = [o for o in bundle.lines if o["type"] == "key"]
    bundle.lines = [head, *keys, {**bundle.lines[-1], "events": 0, "lines": 1 + len(keys)}]
    report = check_export(bundle.write("empty", reseal=True))
    assert report["ok"] and report["events"] == 0 and report["latest_recorded_at"] is None
    # cut before its end line: truncated at position 1
    bundle.lines = bundle.lines[:-1]
    cut = check_export(bundle.write("empty-cut"))
    assert faults(cut) == [(1, chain.TRUNCATED)] and cut["ok"] is False


def test_unsigned_checkpoints_pass_unless_signatures_are_required(bundle):
    for o in bundle.lines:
        if o["type"] == "checkpoint":
            o["signature"] = None
    path = bundle.write("unsigned", reseal=True)
    assert check_export(path)["ok"]
    assert not check_export(path, require_signatures=True)["ok"]


def test_file_faults_are_added_to_the_others(bundle):
    bundle.lines[bundle.index("event", 5)]["originator_version"] = 9
    bundle.lines[0]["exported_at"] = "2030-01-01T00:00:00+00:00"
    report = check_export(bundle.write("both"))  # not resealed: the SHA-256 fails too
    assert faults(report) == [(5, chain.ALTERED), (21, "file")]
    assert report["fault_count"] == 2 and report["ok"] is False
    assert report["first_fault"]["position"] == 5



def test_the_json_report_keeps_text_as_it_is(bundle, capsys):
    bundle.lines[0]["note"] = "Thanh tra Hà Nội"  # a manifest field the verifier passes on
    path = bundle.write("noted", reseal=True)
    code, out, _ = run_split(capsys, str(path), "--no-replay", "--json")
    assert code == 0 and '"note": "Thanh tra Hà Nội"' in out


def test_several_officers_can_be_asked_for(bundle, capsys):
    code, _, text = run(capsys, str(bundle.path), "--officer", "a", "--officer", "b")
    assert "officer a: not in the export" in text and "officer b: not in the export" in text


def test_an_export_without_events_still_uses_the_auditors_choices(exported, bundle):
    head = dict(bundle.lines[0])
    head["to_position"] = 0
    kept = [o for o in bundle.lines if o["type"] in ("key", "checkpoint")]
    bundle.lines = [head, *kept, {**bundle.lines[-1], "events": 0, "lines": 1 + len(kept)}]
    path = bundle.write("empty", reseal=True)
    assert check_export(path)["ok"]  # the export's own keys hold its checkpoints
    assert {f["reason"] for f in check_export(path, trusted_keys={})["faults"]} == \
        {"unknown_key"}
    held = {k: v for k, v in kept[-1].items() if k != "type"}
    noted = check_export(path, trusted_checkpoint=held)
    assert f"the trusted checkpoint at {held['position']} lies beyond this range; not checked" \
        in noted["notes"]
    for o in bundle.lines:
        if o["type"] == "checkpoint":
            o["signature"] = None
    unsigned = bundle.write("empty-unsigned", reseal=True)
    assert check_export(unsigned)["ok"]
    assert not check_export(unsigned, require_signatures=True)["ok"]


def test_chain_lines_first_still_use_the_auditors_choices(exported, bundle):
    i = bundle.index("event", 1)
    bundle.lines[i] = {"type": "chain", "position": 1, "chain": bundle.lines[i]["chain"]}
    bundle.lines[-1]["events"] -= 1
    path = bundle.write("chain-first", reseal=True)
    assert {f["reason"] for f in check_export(path, trusted_keys={})["faults"]
            if f["kind"] == chain.CHECKPOINT} == {"unknown_key"}
    cp = bundle.lines[bundle.index("checkpoint")]
    held = {k: v for k, v in cp.items() if k != "type"}
    held["head"] = "ef" * 32
    held["signature"] = exported[1].sign(held)
    assert (held["position"], "trusted_mismatch") in [
        (f["position"], f.get("reason")) for f in check_export(path, trusted_checkpoint=held)[
            "faults"]]
    for o in bundle.lines:
        if o["type"] == "checkpoint":
            o["signature"] = None
    unsigned = bundle.write("chain-first-unsigned", reseal=True)
    assert not any(f.get("reason") == "unsigned" for f in check_export(unsigned)["faults"])
    assert any(f.get("reason") == "unsigned"
               for f in check_export(unsigned, require_signatures=True)["faults"])
