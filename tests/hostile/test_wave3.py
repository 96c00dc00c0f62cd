"""Hostile wave 3's attacks on the kernel's interfaces, in the suite: each protection holds.

The attacks are wave3.py's own (README.md in this folder). Each runs as
``prove_new.py`` runs it: a process of its own, a cold kernel in the real
sandbox as grading slot 0's user, the host's side of its folders watched. The
wave's notebook attacks (classes 1-4) and the leaderboard's (class 7) have
their guarantees tested closer to the code: test_integrity.py (verdicts in the
checker, hidden tests never in the kernel), test_checks.py (a forged step
count), test_grading_units.py (the cache copy), test_leaderboard*.py.

Two attacks also run with their protection switched off, to show that they
work and that the assertions here would catch them: the system calls without
seccomp, and the output flood without the notebook cap. The others are left
out of the suite with the protection off (a key that outlives the kernel, 3 GiB
written to the host's disk); ``prove_new.py --protections-off`` shows them.
"""

from __future__ import annotations

import prove_new  # tests/hostile is on sys.path: pytest puts a test's folder there
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def after(tmp_path_factory):
    """What each kernel attack achieved against this tree, all protections on."""
    work = tmp_path_factory.mktemp("wave3")
    attacks = [attack for attack in prove_new.wave3.WAVE if attack.kind == "kernel"]
    results: dict = {}
    prove_new.kernel_phase(work, attacks, results, protections_off=False)
    return results


def test_the_wave_has_the_kernel_attacks_this_file_names(after):
    assert sorted(after) == [
        "k5-keyring",
        "k5-syscalls",
        "k5-userns",
        "o6-cells",
        "o6-one-message",
        "o6-sockets",
    ]


def test_a_note_in_the_kernel_keyring_never_reaches_the_next_student(after):
    effect = after["k5-keyring"]
    assert effect["earned"] is False, effect["summary"]
    assert "Operation not permitted" in effect["summary"] or "EPERM" in effect["summary"]


def test_a_kernel_cannot_make_a_user_namespace_with_every_capability(after):
    effect = after["k5-userns"]
    assert effect["earned"] is False, effect["summary"]
    assert "EPERM" in effect["summary"] or "not permitted" in effect["summary"]


def test_the_system_calls_a_sandbox_escape_starts_with_are_refused(after):
    effect = after["k5-syscalls"]
    assert effect["earned"] is False, effect["summary"]
    calls = effect["summary"].split("; ")
    assert len(calls) == 5 and all("ok" not in call.split(":", 1)[1] for call in calls), calls


def test_a_flood_of_cells_keeps_at_most_the_notebook_cap_and_says_so(after):
    effect = after["o6-cells"]
    assert effect["earned"] is False, effect["summary"]
    assert effect["kept_bytes"] < 17 * 2**20
    assert any(event.startswith("output_truncated") for event in effect["events"])


def test_a_kernel_filling_its_socket_folder_fills_only_the_workers_small_tmpfs(after):
    effect = after["o6-sockets"]
    assert effect["earned"] is False, effect["summary"]
    assert effect["capped"] is True
    assert effect["host_bytes_seen"] < 32 * 2**20  # the cap is 16 MiB; the host saw none of it


def test_one_huge_message_never_reaches_the_graders_memory(after):
    effect = after["o6-one-message"]
    assert effect["earned"] is False, effect["summary"]
    assert effect["grader_extra_mib"] < 128, effect["summary"]  # the message is 256 MiB
    assert effect["kept_bytes"] < 2**20


@pytest.mark.parametrize(
    ("attack_id", "works"),
    [
        ("k5-syscalls", lambda effect: effect["earned"] is True),
        ("o6-cells", lambda effect: effect["kept_bytes"] > 50 * 2**20),
    ],
    ids=["syscalls-without-seccomp", "flood-without-the-notebook-cap"],
)
def test_with_its_protection_off_the_attack_works(tmp_path, attack_id, works):
    effect = prove_new.one_kernel_attack_in_a_process(attack_id, tmp_path, protections_off=True)
    assert works(effect), effect.get("summary")
