#!/usr/bin/env python3
"""Writes RELIABILITY.md: every attack assay is meant to hold against, how it is refused, and
the last result of the tests that prove it.

The attacks are every item of the security checklist (items 1-36) and every attack of issues 10
and 11 that once got through. ROWS below is the one table: for each attack, the text of how it
is refused (a static check id, a runtime control, a budget of the rubric's `limits:`) and the
tests that prove it, each a nextest binary id and an exact test name. An attack with no proving
test says so ("no test yet"); nothing here is a test of its own.

    python3 scripts/reliability.py                  # run the proving tests, write RELIABILITY.md
    python3 scripts/reliability.py --only 23,30,I11.1   # run some rows; the others keep their last result
    python3 scripts/reliability.py --no-run         # rewrite RELIABILITY.md from the last results
    python3 scripts/reliability.py --benches        # also run benches/abuse.sh and show its figures
    python3 scripts/reliability.py --check          # the table covers every checklist item (CI)

The tests run with `cargo nextest run --profile reliability` on exactly the test binaries the
rows name (`-p PACKAGE --lib --test NAME ...`, so nothing else is built), filtered to the
proving tests; the profile's JUnit file (.config/nextest.toml) gives each test's result and
time. Results are kept per test, with the
date and commit of the run that produced them, in target/nextest/reliability/results.json, so a run
of some rows keeps the last result of the others. A test the workspace does not have (yet)
shows as "not found"; a Docker test that printed `SKIPPED` (no daemon) shows as skipped, not
as a pass.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import re
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "RELIABILITY.md"
PROFILE = "reliability"
# Items of ../shared/design/security-checklist.md. A new item needs a row (see --check).
CHECKLIST_ITEMS = 36
# The checklist itself lives beside the repository, not in it; --check reads it when present.
CHECKLIST_FILE = ROOT.parent / "shared" / "design" / "security-checklist.md"


@dataclass
class Row:
    key: str  # checklist item number, or I10.n / I11.n for an attack of issue 10 / 11
    attack: str
    refused: str
    tests: list[tuple[str, str]] = field(default_factory=list)  # (nextest binary id, test name)
    gap: str = ""  # what no test proves yet
    figures: tuple[int, ...] = ()  # sections of benches/abuse.sh that measure this attack


# Binary ids, as nextest names them.
HOSTILE_ZIPS = "assay-intake::hostile_zips"
HAPPY = "assay-intake::happy_paths"
INTAKE = "assay-intake"
POLICY = "assay-checks::policy"
STATIC = "assay-checks::static_checks"
LOADING = "assay-compose::loading"
COMPOSE = "assay-compose"
CORE = "assay-core"
RUNNER = "assay-runner"
PROBE = "assay-probe"
CONTAIN = "assay-runner::containment"
ISOLATION = "assay-runner::isolation"
CLEANUP = "assay-runner::cleanup"
ATTACKS = "assay-runner::sandbox_attacks"
SANDBOX = "assay-sandbox"
ESSAYS = "assay-essays"
CHILD = "assay-essays::parser_child"
HOSTILE_DOCS = "assay-essays::hostile"
CLI = "assay::cli"
RUNTIME_CLI = "assay::runtime_cli"
REPORTS = "assay::reports"
ABUSE = "assay::abuse"

ROWS: list[Row] = [
    # -- Archive intake --------------------------------------------------------------------
    Row("1", "Zip entry names `../../x`, `..\\..\\x`, `/etc/x`, `C:\\x`, NUL / control characters",
        "`intake.unpack`: every name is split and refused before anything is written",
        [(HOSTILE_ZIPS, "item01_traversal_absolute_drive_and_control_names_are_rejected"),
         (INTAKE, "name::tests::hostile_names_are_refused_with_a_reason"),
         (CLI, "traversal_entry_fails_intake_naming_the_entry_and_writes_nothing_outside")]),
    Row("2", "Symlink and hard-link entries, device / FIFO / socket modes",
        "`intake.unpack`: refused by mode; writes never follow a link",
        [(HOSTILE_ZIPS, "item02_links_devices_fifos_and_sockets_are_rejected"),
         (INTAKE, "sink::tests::files_and_dirs_get_forced_modes_and_links_are_never_followed")]),
    Row("3", "Zip bombs: many entries, huge files, high ratio, overlapping entries",
        "`intake.unpack`: entry, per-file, total and ratio caps on the bytes actually written",
        [(HOSTILE_ZIPS, "item03_a_gibibyte_of_zeros_is_rejected_before_inflating"),
         (HOSTILE_ZIPS, "item03_a_bomb_that_lies_about_its_size_stops_at_the_counting_copy"),
         (HOSTILE_ZIPS, "item03_entry_and_total_caps"),
         (HOSTILE_ZIPS, "item03_overlapping_entries_are_rejected"),
         (INTAKE, "sink::tests::the_counting_copy_stops_at_the_per_file_cap_whatever_the_source_claims"),
         (INTAKE, "sink::tests::the_total_cap_counts_every_file"),
         (INTAKE, "sink::tests::the_ratio_cap_applies_past_one_mebibyte")]),
    Row("4", "Declared sizes that lie; data descriptors with no size",
        "`intake.unpack`: the counting writer stops at the cap whatever the archive declares",
        [(HOSTILE_ZIPS, "item04_declared_size_lies_are_caught"),
         (HOSTILE_ZIPS, "item04_an_honest_streamed_entry_with_a_data_descriptor_is_taken")]),
    Row("5", "Nested and self-reproducing zips",
        "intake: a nested zip is stored as a file, never unpacked",
        [(HOSTILE_ZIPS, "item05_nested_zips_are_stored_as_files")]),
    Row("6", "Duplicate names, names equal after case folding or Unicode NFC",
        "`intake.unpack`: refused as ambiguous (zip, folder and checkout alike)",
        [(HOSTILE_ZIPS, "item06_duplicate_and_colliding_names_are_rejected"),
         (INTAKE, "name::tests::collision_keys_fold_case_and_normalisation"),
         (HAPPY, "names_that_collide_without_case_are_ambiguous_in_a_folder_a_checkout_and_a_zip_alike")]),
    Row("7", "Local / central name mismatch, prepended garbage, two end records, polyglots",
        "`intake.unpack`: every ambiguity of the zip structure is refused",
        [(HOSTILE_ZIPS, "item07_local_and_central_names_must_agree"),
         (HOSTILE_ZIPS, "item07_prepended_appended_and_doubled_structures_are_rejected"),
         (HOSTILE_ZIPS, "item07_other_ambiguities_garbage_and_encryption_are_rejected")]),
    Row("8", "Stored permission bits (setuid, 0000 directories)",
        "intake: files 0644, directories 0755 whatever the archive says",
        [(HOSTILE_ZIPS, "item08_permissions_are_forced"),
         (INTAKE, "sink::tests::files_and_dirs_get_forced_modes_and_links_are_never_followed")]),
    Row("9", "Over-long names (component > 255 B, path > 4096 B, depth > 50)",
        "`intake.unpack`: refused cleanly with the entry named",
        [(HOSTILE_ZIPS, "item09_over_long_names_are_rejected_cleanly")]),
    Row("10", "Random and mutated archive bytes",
        "`intake.unpack`: no panic, bounded time and memory; also the fuzz target "
        "`fuzz/fuzz_targets/unpack.rs` (cargo fuzz, not run here)",
        [(HOSTILE_ZIPS, "item10_mutated_archives_never_panic_nor_blame_assay")]),
    # -- Compose file ----------------------------------------------------------------------
    Row("11", "`privileged`, `cap_add`, `devices`, `security_opt`, `sysctls`, `runtime`, "
        "`userns_mode`, `oom_kill_disable`, ...",
        "`compose.security`: the allow-list refuses each at its key",
        [(POLICY, "item11_privileges_are_rejected_each_at_its_key"),
         (POLICY, "unknown_keys_fail_the_allow_list_with_their_location")]),
    Row("12", "`network_mode: host|container:*|service:*`, `pid|ipc|uts|cgroup: host`",
        "`compose.security`; the run plan refuses a host network mode again",
        [(POLICY, "item12_host_and_foreign_namespaces_are_rejected"),
         (RUNNER, "plan::tests::host_network_mode_is_refused_and_none_is_allowed")]),
    Row("13", "Bind mounts of host paths (`/`, `/etc`, the Docker socket, `~`, `../..`), "
        "`driver_opts.device`",
        "`compose.security` for anything leaving the submission; binds inside it reach the "
        "container as a copy (item 30)",
        [(POLICY, "item13_binds_leaving_the_submission_are_rejected"),
         (POLICY, "item13_a_symlink_inside_the_submission_pointing_out_is_followed"),
         (RUNNER, "plan::tests::binds_outside_the_submission_are_refused"),
         (RUNNER, "plan::tests::a_symlinked_bind_source_is_refused")]),
    Row("14", "`env_file`, `secrets`/`configs` files, `include`, `extends.file`, build context "
        "outside the root; secrets from `environment:`",
        "`compose.security` / `compose.valid`: the loader never reads outside the submission root",
        [(POLICY, "item14_file_references_outside_the_root_are_rejected"),
         (POLICY, "item14_secrets_and_configs_from_the_environment_are_rejected"),
         (LOADING, "files_outside_the_submission_are_never_read"),
         (LOADING, "env_files_outside_the_root_are_refused"),
         (LOADING, "files_reached_through_a_link_are_refused_naming_the_link"),
         (RUNNER, "plan::tests::a_secret_outside_the_submission_is_refused")]),
    Row("15", "`build.ssh`, build secrets, `additional_contexts`, remote contexts",
        "`compose.security`",
        [(POLICY, "item15_builds_reaching_outside_are_rejected")]),
    Row("16", "`external: true` networks/volumes, `volumes_from`, `external_links`, "
        "`extra_hosts` to the host",
        "`compose.security`; the run plan refuses external resources again",
        [(POLICY, "item16_external_resources_and_host_addresses_are_rejected"),
         (RUNNER, "plan::tests::external_networks_and_volumes_are_refused")]),
    Row("17", "`container_name`, fixed host `ports`",
        "runtime control: names generated per run, nothing published (a note, not a failure)",
        [(POLICY, "items17_18_overridden_settings_are_notes_not_violations"),
         (RUNNER, "plan::tests::containers_get_generated_names_and_container_name_is_ignored"),
         (RUNNER, "plan::tests::published_ports_are_never_applied")]),
    Row("18", "`restart`, `stop_grace_period`, `logging.driver`",
        "runtime control: restarts bounded, grace <= 10 s, log driver forced with a size cap",
        [(POLICY, "items17_18_overridden_settings_are_notes_not_violations"),
         (RUNNER, "plan::tests::restart_policies_are_bounded"),
         (RUNNER, "plan::tests::stop_grace_is_capped_at_ten_seconds"),
         (RUNNER, "plan::tests::hardening_is_on_every_container_including_the_probe")]),
    Row("19", "Labels in assay's namespace (`dev.assay.*`)",
        "`compose.security`; stripped from every container",
        [(POLICY, "item19_labels_in_the_assay_namespace_are_violations"),
         (RUNNER, "plan::tests::labels_compose_and_candidate_namespace_stripped")]),
    Row("20", "YAML alias bombs, deep nesting, huge scalars, duplicate keys",
        "`compose.valid`: bounded, located loader errors",
        [(POLICY, "item20_an_alias_bomb_is_a_located_loader_error_and_blocks_the_rest"),
         (LOADING, "alias_bomb_is_a_located_error"),
         (COMPOSE, "yaml::tests::alias_bomb_is_bounded"),
         (COMPOSE, "yaml::tests::deep_nesting_is_bounded"),
         (COMPOSE, "yaml::tests::duplicate_keys_are_located_errors"),
         (COMPOSE, "template::tests::amplification_is_bounded"),
         (LOADING, "a_huge_scalar_loads_under_the_file_cap_and_a_file_over_it_is_refused")]),
    # -- Runtime limits --------------------------------------------------------------------
    Row("21", "A container with default privileges, no limits, no deadline",
        "hardening: `cap_drop: ALL` + the five Postgres caps, `no-new-privileges`, pids limit, "
        "memory = memory+swap, CPU quota; one deadline per run",
        [(RUNNER, "plan::tests::hardening_is_on_every_container_including_the_probe"),
         (RUNNER, "plan::tests::cpu_quota_leaves_half_a_cpu_and_stays_between_one_and_four"),
         (CONTAIN, "the_pids_limit_is_enforced_inside_a_run"),
         (CONTAIN, "sleep_infinity_as_the_db_command_times_out_with_evidence"),
         ("assay-sandbox::postgres_standin", "the_stand_in_runs_under_the_sandbox_hardening")]),
    Row("22", "Egress, the host's listeners through the bridge gateway, other runs' containers",
        "runtime control: internal networks with `inhibit_ipv4`; probes from inside the run",
        [(ISOLATION, "a_container_cannot_reach_a_host_listener_through_the_gateway"),
         (ISOLATION, "a_container_cannot_reach_another_runs_containers")]),
    Row("23", "Fork bomb, memory hog, infinite loop, log flood, disk flood",
        "hardening: pids and memory limits, CPU quota, capped logs; `runtime.up` fails naming "
        "each abuse; `limits.disk_bytes` stops the runs",
        [(CONTAIN, "a_fork_bomb_is_held_by_the_pids_limit_and_reported"),
         (CONTAIN, "a_memory_hog_is_oom_killed_and_reported"),
         (ABUSE, "a_fork_bomb_a_memory_hog_a_disk_flood_and_a_spinner_fail_runtime_up_each_named"),
         (CONTAIN, "a_writable_layer_flood_past_the_disk_budget_stops_the_runs_naming_the_service"),
         (RUNNER, "run::abuse::tests::a_fork_bomb_and_a_memory_hog_are_abuse"),
         (RUNNER, "plan::tests::hardening_is_on_every_container_including_the_probe"),
         (CORE, "display::mask::tests::tail_keeps_the_last_lines"),
         ("assay-sandbox::engine", "everything_labelled_with_a_run_is_found_and_removed_by_label")],
        gap="no Docker test floods the logs through a whole run (the log driver's size cap, the "
        "exec output cap and the capped tail read into reports are tested)",
        figures=(1,)),
    Row("24", "Huge logs, ANSI and HTML in candidate text",
        "output caps (64 KiB) and one sanitiser with an encoder per report format",
        [(CORE, "display::mask::tests::caps_output"),
         (CORE, "display::mask::tests::escapes_control_and_ansi_but_keeps_lines"),
         (CORE, "display::properties::no_encoder_lets_a_raw_control_or_hidden_character_through"),
         (CORE, "display::terminal::tests::escape_sequences_cannot_drive_the_terminal"),
         (STATIC, "hostile_values_give_bounded_escaped_evidence"),
         (REPORTS, "hostile_text_is_escaped_in_every_report_format")]),
    Row("25", "The candidate's passwords in reports; the grader's environment",
        "passwords masked (raw and URL-encoded) in every report; variables only from the "
        "submission",
        [(CORE, "display::mask::tests::masks_raw_and_url_encoded_secrets"),
         (STATIC, "passwords_never_appear_in_any_result"),
         (LOADING, "variables_come_from_the_submission_never_from_the_process"),
         (RUNNER, "scenarios::tests::masker_covers_env_secrets_and_urls"),
         ("assay-runner::runtime", "wrong_password_fails_up_with_the_password_masked")]),
    # -- Faults ----------------------------------------------------------------------------
    Row("26", "`kill -9` of assay mid-run",
        "cleanup: the next run or `assay gc` removes the run's resources by label",
        [(RUNTIME_CLI, "kill_9_mid_run_leaves_nothing_after_the_next_run_sweeps"),
         (CLEANUP, "a_killed_run_is_swept_and_a_live_one_is_not")]),
    Row("27", "Docker daemon stopped or hung mid-run",
        "a timeout on every engine call; exit 3 (could not grade), not the candidate's FAIL",
        [("assay-runner::hung_daemon", "a_hung_daemon_is_could_not_grade_within_the_call_timeouts"),
         ("assay::daemon_faults", "a_pause_the_daemon_fails_once_is_retried_and_the_evaluation_still_grades"),
         (CLI, "without_a_daemon_evaluate_says_so_and_exits_3"),
         (SANDBOX, "engine::tests::timeouts_count_as_unreachable_and_say_how_long")]),
    Row("28", "Ctrl-C / SIGTERM mid-run",
        "teardown runs, then exit 3",
        [(RUNTIME_CLI, "sigterm_mid_run_tears_down_then_exits_3"),
         (CLEANUP, "sigterm_mid_run_tears_down_before_exit"),
         (CLEANUP, "cancelling_a_run_tears_it_down"),
         (CLEANUP, "a_panic_mid_run_still_tears_down")]),
    Row("29", "Concurrent evaluations",
        "names, networks and volumes per run; no published ports",
        [(RUNNER, "plan::tests::networks_are_per_run_and_labelled"),
         (ISOLATION, "a_container_cannot_reach_another_runs_containers"),
         ("assay::runtime_load", "verdicts_in_a_jobs_4_batch_equal_those_graded_alone")]),
    # -- What a checked path does not guarantee ---------------------------------------------
    Row("30", "A bind source swapped for a symlink between check and use",
        "runtime control: no host path is mounted; bind content is copied into run volumes "
        "without following links",
        [(ATTACKS, "a_bind_swapped_for_a_symlink_to_the_host_root_reaches_only_the_copy"),
         (ATTACKS, "a_read_only_service_gets_its_bound_file_and_the_image_files_beside_it"),
         (RUNNER, "plan::tests::no_host_path_is_mounted_binds_become_copies"),
         (RUNNER, "run::files::tests::bind_kinds_never_follow_a_link"),
         (CORE, "submission_root::tests::a_path_swapped_for_a_link_after_the_check_is_refused_by_the_read")]),
    Row("31", "Setuid and world-writable files written to the host",
        "runtime control: no container writes a host path; copies drop set-id bits; work dirs 0700",
        [(ATTACKS, "a_setuid_root_file_planted_through_a_bind_stays_in_the_run_volume"),
         (RUNNER, "run::files::tests::bound_directories_are_tarred_without_following_links_or_set_id_bits"),
         (HAPPY, "a_directory_is_copied_with_links_and_build_output_left_out")]),
    Row("32", "Per-container limits multiplied: many services and replicas, summed memory, "
        "pids, CPU, bytes written",
        "budgets per submission: `limits.services` / `limits.containers` (static "
        "`compose.security`), memory, pids and CPU split statically, `limits.disk_bytes` "
        "measured and the runs stopped",
        [(CORE, "budget::tests::replicas_are_capped"),
         (CORE, "budget::tests::side_services_share_what_the_essentials_leave"),
         (CORE, "budget::tests::too_many_containers_or_too_little_left_is_an_overrun"),
         (RUNNER, "plan::tests::replicas_are_capped_and_named"),
         (ABUSE, "forty_services_of_three_replicas_are_refused_statically_with_the_budget"),
         (ABUSE, "a_fork_bomb_a_memory_hog_a_disk_flood_and_a_spinner_fail_runtime_up_each_named")],
        figures=(1, 3)),
    Row("33", "A deadline only checked while waiting; a 1 ms healthcheck interval",
        "one deadline over build, create, start, wait and teardown; healthcheck interval, "
        "timeout and start interval raised to a floor with a note",
        [(RUNNER, "plan::tests::a_healthcheck_faster_than_the_floor_is_raised_with_a_located_note"),
         (ABUSE, "a_one_millisecond_healthcheck_is_raised_to_the_floor_with_a_note"),
         (ABUSE, "forty_services_of_three_replicas_are_refused_statically_with_the_budget"),
         (CONTAIN, "sleep_infinity_as_the_db_command_times_out_with_evidence")],
        gap="no test of the deadline expiring during container creation or start",
        figures=(2, 3)),
    Row("34", "`--build-webapp` builds with network, no limits, raw progress text",
        "builds confined: no network, memory/CPU limits, the run's deadline; progress text "
        "through the sanitiser",
        [(RUNTIME_CLI, "a_candidate_build_runs_without_network_within_limits_and_its_text_is_escaped"),
         (SANDBOX, "engine::tests::build_steps_quoting_a_hostile_dockerfile_reach_the_terminal_escaped")]),
    Row("35", "Allocation bombs in candidate PDF / docx",
        "parsers in a child process with memory, CPU and time limits, caps on every decoding "
        "path; one bad document fails that submission's essays only",
        [(CHILD, "an_ascii85_flate_chain_bomb_is_refused_before_parsing"),
         (CHILD, "a_chain_bomb_past_the_decoding_caps_hits_the_memory_limit"),
         (CHILD, "a_docx_bomb_is_refused_at_the_part_cap_and_bounded_without_it"),
         (CHILD, "a_pdf_that_never_finishes_is_killed_at_the_deadline"),
         (CHILD, "a_pdf_that_spins_is_stopped_by_the_cpu_limit"),
         (CHILD, "one_bomb_costs_its_submission_that_document_only"),
         (HOSTILE_DOCS, "a_pdf_with_a_compression_bomb_inside_is_a_diagnostic"),
         (HOSTILE_DOCS, "a_docx_with_a_zip_bomb_inside_is_a_diagnostic"),
         (ESSAYS, "extract::pdf_filters::tests::every_stage_of_a_chain_is_charged"),
         ("assay::document_bombs", "a_pdf_bomb_in_a_static_batch_fails_its_own_essays_only")]),
    Row("36", "Cleanup by age or by the lock file's place",
        "cleanup judges liveness: owner labels (boot id, pid, start time, work dir) on every "
        "resource",
        [(CLEANUP, "gc_judges_the_owner_process_not_the_lock_files_place"),
         (SANDBOX, "labels::owner_tests::this_process_is_live_and_an_exited_child_is_dead"),
         (SANDBOX, "labels::owner_tests::run_labels_carry_the_owner_and_read_back"),
         (RUNNER, "reaper::tests::a_held_lock_is_live_and_a_released_one_is_not"),
         (HAPPY, "stale_work_dirs_of_a_killed_run_are_swept_and_fresh_ones_kept")]),
    # -- Issue 10: what got through ------------------------------------------------------------
    Row("I10.1", "Bind-source TOCTOU to the host root: the db swaps `./pgdata/x` for a symlink "
        "to `/`, a later service binds it",
        "runtime control: binds are copies in run volumes; Postgres data in a run volume",
        [(ATTACKS, "a_bind_swapped_for_a_symlink_to_the_host_root_reaches_only_the_copy")]),
    Row("I10.2", "A setuid-root shell planted on the host through the same bind",
        "runtime control: the setuid file stays in the run volume; work dirs 0700",
        [(ATTACKS, "a_setuid_root_file_planted_through_a_bind_stays_in_the_run_volume")]),
    Row("I10.3", "A PDF essay bomb (`[/ASCII85Decode /FlateDecode]`, 5-8 MB inflating to GiBs)",
        "essays: the decoding chain is charged before parsing; parser child with rlimits; "
        "that submission's essays fail, the batch goes on",
        [(CHILD, "an_ascii85_flate_chain_bomb_is_refused_before_parsing"),
         (CHILD, "a_chain_bomb_past_the_decoding_caps_hits_the_memory_limit"),
         ("assay::document_bombs", "a_pdf_bomb_in_a_static_batch_fails_its_own_essays_only")]),
    Row("I10.4", "Unconfined `--build-webapp` builds; raw Dockerfile text on the terminal",
        "builds with no network, memory/CPU limits and the deadline; text escaped",
        [(RUNTIME_CLI, "a_candidate_build_runs_without_network_within_limits_and_its_text_is_escaped"),
         (SANDBOX, "engine::tests::build_steps_quoting_a_hostile_dockerfile_reach_the_terminal_escaped")]),
    Row("I10.5", "`assay gc` reaping a live run whose lock is under another TMPDIR",
        "cleanup by the owner's liveness, read from the resources' labels",
        [(CLEANUP, "gc_judges_the_owner_process_not_the_lock_files_place")]),
    # -- Issue 11: what got through ------------------------------------------------------------
    Row("I11.1", "A side service writes 4 GB into a named volume (in each of two runs)",
        "budget `limits.disk_bytes`: the run's volumes measured every second by its own disk "
        "meter (the probe container mounts them read-only), writable layers when the meter's "
        "filesystem figure grows past the metered volumes; the runs stopped, `runtime.up` "
        "fails naming the volume or the service",
        [(ABUSE, "a_fork_bomb_a_memory_hog_a_disk_flood_and_a_spinner_fail_runtime_up_each_named"),
         (CONTAIN, "a_volume_flood_past_the_disk_budget_stops_the_runs_naming_the_volume"),
         (CONTAIN, "a_writable_layer_flood_past_the_disk_budget_stops_the_runs_naming_the_service"),
         (PROBE, "meter::tests::files_are_counted_by_blocks_links_once_and_symlinks_never_followed"),
         (PROBE, "meter::tests::the_filesystem_figure_grows_with_what_is_written_to_it"),
         (RUNNER, "run::abuse::tests::a_flood_before_the_watch_first_reads_counts_from_the_meters_first_figure"),
         (RUNNER, "run::abuse::tests::space_freed_beside_the_grading_does_not_hide_its_writes"),
         (RUNNER, "run::abuse::tests::volume_names_lose_the_run_prefix")],
        figures=(1,)),
    Row("I11.2", "12 memory hogs of 440 MiB as side services",
        "budget `limits.memory_bytes`: side services share what the db and webapp leave, split "
        "statically",
        [(CORE, "budget::tests::side_services_share_what_the_essentials_leave"),
         (CORE, "budget::tests::too_many_containers_or_too_little_left_is_an_overrun"),
         (ABUSE, "twelve_memory_hogs_are_held_to_their_share_of_the_memory_budget")],
        figures=(1,)),
    Row("I11.3", "Fork bomb, memory hog, disk flood and CPU spinners together (load 58, PASS 100)",
        "hardening + budgets; abuse is the candidate's finding: `runtime.up` fails naming the fork bomb (pids at the limit), the hog (OOM kills) and the flood (`limits.disk_bytes`, runs stopped); the spinner, held by its CPU quota, is named in a note",
        [(ABUSE, "a_fork_bomb_a_memory_hog_a_disk_flood_and_a_spinner_fail_runtime_up_each_named"),
         (RUNNER, "run::abuse::tests::a_fork_bomb_and_a_memory_hog_are_abuse"),
         (RUNNER, "run::abuse::tests::a_spinner_is_held_by_its_quota_and_named_in_a_note"),
         (RUNNER, "run::abuse::tests::a_quiet_service_is_no_abuse_and_small_signs_are_notes")],
        figures=(1,)),
    Row("I11.4", "40 services x 3 replicas with `--timeout 20` (took 164 s)",
        "budgets `limits.services` / `limits.containers`: a static, located `compose.security` "
        "finding; nothing runs",
        [(ABUSE, "forty_services_of_three_replicas_are_refused_statically_with_the_budget"),
         (CORE, "budget::tests::too_many_containers_or_too_little_left_is_an_overrun")],
        figures=(3,)),
    Row("I11.5", "Six services with `healthcheck.interval: 1ms` (load 24, the run 4x slower)",
        "healthcheck floor: interval raised to 1 s with a note, not a failure",
        [(ABUSE, "a_one_millisecond_healthcheck_is_raised_to_the_floor_with_a_note"),
         (RUNNER, "plan::tests::a_healthcheck_faster_than_the_floor_is_raised_with_a_located_note")],
        figures=(2,)),
]


# ---------------------------------------------------------------------------------------------
def sh(*cmd: str) -> str:
    """The trimmed stdout of a command, or "" when it cannot run or fails."""
    try:
        p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return p.stdout.strip() if p.returncode == 0 else ""


def profile_dir() -> Path:
    """Where nextest writes the profile's files: its store dir (`[store] dir` of
    .config/nextest.toml, by default `target/nextest` under the workspace root, whatever
    CARGO_TARGET_DIR says), then the profile's name."""
    store = "target/nextest"
    try:
        with open(ROOT / ".config" / "nextest.toml", "rb") as f:
            store = tomllib.load(f).get("store", {}).get("dir", store)
    except (OSError, tomllib.TOMLDecodeError):
        pass
    return ROOT / store / PROFILE


def store_path() -> Path:
    return profile_dir() / "results.json"


def junit_path() -> Path:
    return profile_dir() / "junit.xml"


def machine() -> dict:
    mem = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = "%.1f GiB" % (int(line.split()[1]) / 1024 / 1024)
    except OSError:
        pass
    commit = sh("git", "rev-parse", "--short=12", "HEAD") or "unknown"
    if sh("git", "status", "--porcelain", "--untracked-files=no"):
        commit += " (with uncommitted changes)"
    try:
        load = Path("/proc/loadavg").read_text().split()[0]
    except (OSError, IndexError):
        load = "?"
    return {
        "load": load,
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit,
        "machine": "%s %s, %s CPUs, %s memory" % (platform.system(), platform.release(),
                                                   os.cpu_count(), mem or "?"),
        "docker": sh("docker", "version", "--format", "{{.Server.Version}}") or "unavailable",
        "nextest": (sh("cargo", "nextest", "--version") or "cargo-nextest ?").splitlines()[0],
    }


def load_store() -> dict:
    try:
        return json.loads(store_path().read_text())
    except (OSError, ValueError):
        return {"runs": {}, "tests": {}, "benches": None}


def save_store(store: dict) -> None:
    store_path().parent.mkdir(parents=True, exist_ok=True)
    store_path().write_text(json.dumps(store, indent=1, sort_keys=True))


def test_key(binary: str, name: str) -> str:
    return f"{binary} {name}"


def filter_of(binary: str, name: str) -> str:
    return f"binary_id({binary}) & test(={name})"


def selected_rows(only: str | None) -> list[Row]:
    if not only:
        return ROWS
    keys = [k.strip() for k in only.split(",") if k.strip()]
    known = {r.key for r in ROWS}
    unknown = [k for k in keys if k not in known]
    if unknown:
        sys.exit(f"reliability: no row {', '.join(unknown)} (rows: {', '.join(r.key for r in ROWS)})")
    return [r for r in ROWS if r.key in keys]


def binary_exists(binary: str) -> bool:
    """Whether the workspace has this test binary: a package's unit tests, or an integration
    test file (`tests/NAME.rs` or `tests/NAME/main.rs`)."""
    package, _, name = binary.partition("::")
    d = crate_dir(package)
    if not (d / "Cargo.toml").exists():
        return False
    if not name:
        return (d / "src" / "lib.rs").exists()
    return (d / "tests" / f"{name}.rs").exists() or (d / "tests" / name / "main.rs").exists()


def target_args(binaries: set[str]) -> list[str]:
    """Cargo's selection of exactly these test binaries (each is built; nothing else is)."""
    args: list[str] = []
    for package in sorted({b.split("::")[0] for b in binaries}):
        args += ["-p", package]
    if any("::" not in b for b in binaries):
        args.append("--lib")
    for name in sorted({b.split("::")[1] for b in binaries if "::" in b}):
        args += ["--test", name]
    return args


def listed_tests(targets: list[str]) -> dict[str, list[str]]:
    """The tests of each selected binary (builds the binaries)."""
    cmd = ["cargo", "nextest", "list", *targets, "--message-format", "json"]
    p = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit(f"reliability: `{' '.join(cmd)}` failed (see above)")
    out = p.stdout[p.stdout.index("{"):]
    return {suite["binary-id"]: sorted(suite.get("testcases", {}))
            for suite in json.loads(out)["rust-suites"].values()}


def read_junit(path: Path) -> dict[str, dict]:
    """Each test of the JUnit file: its outcome and seconds."""
    results = {}
    for suite in ET.parse(path).getroot().iter("testsuite"):
        for case in suite.iter("testcase"):
            binary = case.get("classname") or suite.get("name")
            failed = case.find("failure") is not None or case.find("error") is not None
            output = "".join((e.text or "") for e in case if e.tag in ("system-out", "system-err"))
            if failed:
                outcome = "fail"
            elif case.find("skipped") is not None:
                outcome = "ignored"
            elif re.search(r"^SKIPPED ", output, re.M):
                outcome = "skipped"
            else:
                outcome = "pass"
            flaky = case.find("flakyFailure") is not None or case.find("rerunFailure") is not None
            results[test_key(binary, case.get("name"))] = {
                "outcome": outcome + (" (flaky)" if flaky and outcome == "pass" else ""),
                "seconds": float(case.get("time") or 0),
            }
    return results


def merge_junit(store: dict, run_id: str, path: Path) -> int:
    results = read_junit(path)
    for key, r in results.items():
        store["tests"][key] = dict(r, run=run_id)
    return len(results)


def run_tests(rows: list[Row], store: dict) -> int:
    wanted = sorted({(b, t) for r in rows for (b, t) in r.tests})
    binaries = {b for b, _ in wanted if binary_exists(b)}
    targets = target_args(binaries)
    listed = listed_tests(targets) if binaries else {}
    store.setdefault("binaries", {}).update(listed)
    to_run = [(b, t) for b, t in wanted if t in listed.get(b, ())]
    for b, t in wanted:
        if (b, t) not in to_run:
            print(f"reliability: not found in the workspace: {filter_of(b, t)}", file=sys.stderr)
    if not to_run:
        return 0
    run_id = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
    store["runs"][run_id] = machine()
    junit = junit_path()
    if junit.exists():
        junit.unlink()
    cmd = ["cargo", "nextest", "run", *targets, "--profile", PROFILE, "--no-fail-fast"]
    for b, t in to_run:
        cmd += ["-E", filter_of(b, t)]
    print(f"reliability: running {len(to_run)} tests of {len(rows)} rows", file=sys.stderr)
    code = subprocess.run(cmd, cwd=ROOT).returncode
    if not junit.exists():
        sys.exit(f"reliability: nextest exited {code} and wrote no JUnit file at {junit}")
    store["runs"][run_id]["junit"] = str(junit)
    merge_junit(store, run_id, junit)
    return code


def run_benches(store: dict) -> None:
    script = ROOT / "benches" / "abuse.sh"
    if not script.exists():
        store["benches"] = {"error": "benches/abuse.sh is not in this checkout", **machine()}
        return
    p = subprocess.run(["bash", str(script)], cwd=ROOT, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    store["benches"] = {"exit": p.returncode, "sections": bench_sections(p.stdout), **machine()}


def bench_sections(text: str) -> dict[str, str]:
    """The output of benches/abuse.sh by its numbered sections (`== 1. ...`); what comes
    before the first is section 0.

    >>> bench_sections("binary: x\\n== 1. abuse\\nwall 3 s\\n== 2. 1 ms\\nratio 1.1\\n")
    {'0': 'binary: x\\n', '1': '== 1. abuse\\nwall 3 s\\n', '2': '== 2. 1 ms\\nratio 1.1\\n'}
    """
    sections: dict[str, str] = {}
    current = "0"
    for line in text.splitlines():
        m = re.match(r"== (\d+)\.", line)
        if m:
            current = m.group(1)
        sections[current] = sections.get(current, "") + line + "\n"
    return sections


# ---------------------------------------------------------------------------------------------
def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def fmt_seconds(s: float) -> str:
    return "%.2f s" % s if s < 10 else "%.0f s" % s


def presence(store: dict, binary: str, test: str) -> str:
    """Why a test has no result: the workspace lacks it, or it was not run yet."""
    listed = store.get("binaries", {}).get(binary)
    if not binary_exists(binary) or (listed is not None and test not in listed):
        return "not found"
    return "not run"


def row_result(row: Row, store: dict) -> tuple[str, str, str]:
    """(result, last run, figures) of a row."""
    if not row.tests:
        return "no test yet", "", ""
    counts: dict[str, int] = {}
    runs = set()
    seconds = []
    for b, t in row.tests:
        r = store["tests"].get(test_key(b, t))
        if r is None:
            state = presence(store, b, t)
        else:
            state = r["outcome"]
            runs.add(r["run"])
            seconds.append(r["seconds"])
        counts[state] = counts.get(state, 0) + 1
    n = len(row.tests)
    order = ["fail", "not found", "not run", "skipped", "ignored", "pass (flaky)", "pass"]
    parts = []
    for state in order + sorted(set(counts) - set(order)):
        if counts.get(state):
            label = state.upper() if state == "fail" else state
            parts.append(f"{label} {counts[state]}/{n}")
    result = ", ".join(parts)
    last = ""
    if runs:
        infos = [store["runs"].get(r, {}) for r in sorted(runs)]
        first = infos[0]
        last = "%s, %s" % (first.get("date", "?"), first.get("commit", "?"))
        if len(infos) > 1:
            last = "oldest of %d runs: %s" % (len(infos), last)
    figures = ""
    if seconds:
        figures = "%d timed, %s total, slowest %s" % (len(seconds), fmt_seconds(sum(seconds)),
                                                      fmt_seconds(max(seconds)))
    benches = store.get("benches") or {}
    if row.figures and benches.get("sections"):
        figures = "; ".join(x for x in (figures, "benches/abuse.sh " + ", ".join(
            f"§{n}" for n in row.figures)) if x)
    return result, last, figures


def render(store: dict, command: str) -> str:
    now = machine()
    used = sorted({r["run"] for r in store["tests"].values()})
    lines = [
        "# Reliability: the attacks assay holds against",
        "",
        "<!-- Generated by scripts/reliability.py: do not edit by hand. -->",
        "",
        f"Generated by `{command}` on {now['date']} at commit {now['commit']}, from the last "
        "test results of the runs below. Every item of the security checklist (1-36) and every attack "
        "of issues 10 and 11 that once got through (I10.n, I11.n) is a row: the attack, how assay "
        "refuses it (a static check id, a runtime control, a budget of the rubric's `limits:`), "
        "the last result of the tests that prove it and their durations. Each test is listed "
        "below the table with its nextest filter, so any row can be re-run on its own "
        "(`python3 scripts/reliability.py --only 30,I10.1`). \"no test yet\" marks an attack "
        "nothing proves; \"not found\" a proving test this checkout does not have; \"skipped\" a "
        "Docker test that found no daemon.",
        "",
        "Runs:",
        "",
    ]
    if not used:
        lines.append("- none yet: `python3 scripts/reliability.py` runs the tests")
    for r in used:
        info = store["runs"].get(r, {})
        rows = [row.key for row in ROWS
                if any(store["tests"].get(test_key(b, t), {}).get("run") == r for b, t in row.tests)]
        tests = sum(1 for v in store["tests"].values() if v["run"] == r)
        load = f", 1-minute load {info['load']} at the start" if info.get("load") else ""
        lines.append(f"- {info.get('date', '?')}, commit {info.get('commit', '?')}: {tests} tests, "
                     f"last result of rows {', '.join(rows)}; {info.get('machine', '?')}{load}; "
                     f"Docker {info.get('docker', '?')}; {info.get('nextest', '?')}")
    lines += ["", "| # | Attack | How refused | Last result | Last run | Figures |",
              "|---|---|---|---|---|---|"]
    for row in ROWS:
        result, last, figures = row_result(row, store)
        if row.gap:
            result += f"; gap: {row.gap}"
        lines.append("| %s |" % " | ".join(cell(x) for x in (
            row.key, row.attack, row.refused, result, last, figures)))
    lines += ["", "## Proving tests", "",
              "Each as `cargo nextest run --workspace -E '<filter>'` would select it.", ""]
    for row in ROWS:
        lines.append(f"**{row.key}.** " + (row.attack if row.tests else row.attack + ": no test yet"))
        lines.append("")
        for b, t in row.tests:
            r = store["tests"].get(test_key(b, t))
            if r is None:
                state = presence(store, b, t)
            else:
                state = "%s, %s" % (r["outcome"], fmt_seconds(r["seconds"]))
            lines.append(f"- `{filter_of(b, t)}`: {state}")
        if row.gap:
            lines.append(f"- gap: {row.gap}")
        lines.append("")
    benches = store.get("benches")
    lines += ["## Figures of benches/abuse.sh", ""]
    if not benches:
        lines.append("Not run: `python3 scripts/reliability.py --benches` runs it (needs Docker).")
    elif benches.get("error"):
        lines.append(f"Not run on {benches['date']}: {benches['error']}.")
    else:
        lines.append(f"Run on {benches['date']} at commit {benches['commit']} "
                     f"({benches['machine']}; Docker {benches['docker']}), exit {benches['exit']}:")
        lines += ["", "```"] + [benches["sections"][k].rstrip("\n") for k in sorted(benches["sections"])] + ["```"]
    lines.append("")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
def crate_dir(binary: str) -> Path:
    package = binary.split("::")[0]
    return ROOT if package == "assay" else ROOT / "crates" / package


def unwritten_tests() -> list[str]:
    """Proving tests whose function no source file of their package defines (renamed, removed,
    or not merged yet)."""
    sources: dict[Path, set[str]] = {}
    missing = []
    for r in ROWS:
        for b, t in r.tests:
            d = crate_dir(b)
            if d not in sources:
                files = [f for sub in ("src", "tests") for f in (d / sub).rglob("*.rs")]
                sources[d] = {m for f in files
                              for m in re.findall(r"\bfn ([a-z0-9_]+)\(", f.read_text(errors="replace"))}
            fn = t.rsplit("::", 1)[-1]
            if fn not in sources[d]:
                missing.append(f"row {r.key}: no `fn {fn}` under {d.relative_to(ROOT) or '.'} ({b})")
    return missing


def check(checklist: Path | None) -> list[str]:
    """What is wrong with the table: a checklist item without a row, a row twice, a row with
    neither a test nor a stated gap, a test that is not a binary id and a name."""
    problems = []
    keys = [r.key for r in ROWS]
    for k in sorted({k for k in keys if keys.count(k) > 1}):
        problems.append(f"row {k} appears more than once")
    items = set(range(1, CHECKLIST_ITEMS + 1))
    if checklist is not None:
        items |= {int(m) for m in re.findall(r"^(\d+)\. ", checklist.read_text(), re.M)}
    for n in sorted(items):
        if str(n) not in keys:
            problems.append(f"checklist item {n} has no row")
    for r in ROWS:
        if not r.tests and not r.gap:
            problems.append(f"row {r.key} has no test and no stated gap")
        for b, t in r.tests:
            if not re.fullmatch(r"[a-z0-9_-]+(::[a-z0-9_/-]+)?", b) or not re.fullmatch(r"[a-z0-9_:]+", t):
                problems.append(f"row {r.key}: `{b}` `{t}` is not a binary id and a test name")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--no-run", action="store_true", help="rewrite RELIABILITY.md from the last results")
    ap.add_argument("--only", metavar="ROWS", help="run only these rows (e.g. 23,30,I11.1)")
    ap.add_argument("--benches", action="store_true", help="also run benches/abuse.sh")
    ap.add_argument("--check", action="store_true", help="check the table only; exit 1 on a problem")
    ap.add_argument("--checklist", type=Path, help="the security checklist to check against "
                    f"(default {CHECKLIST_FILE} when it exists)")
    ap.add_argument("--strict", action="store_true",
                    help="with --check: a proving test no source defines is a problem too")
    ap.add_argument("--out", type=Path, default=OUT, help="where to write (default RELIABILITY.md)")
    a = ap.parse_args()
    checklist = a.checklist or (CHECKLIST_FILE if CHECKLIST_FILE.exists() else None)
    if a.check:
        problems = check(checklist)
        unwritten = unwritten_tests()
        if a.strict:
            problems += unwritten
        else:
            for u in unwritten:
                print(f"reliability: warning: {u}", file=sys.stderr)
        for p in problems:
            print(f"reliability: {p}", file=sys.stderr)
        if not problems:
            print(f"reliability: {len(ROWS)} rows cover checklist items 1-{CHECKLIST_ITEMS}"
                  + (f" and {checklist}" if checklist else "") + " and issues 10 and 11")
        return 1 if problems else 0
    problems = check(checklist)
    if problems:
        sys.exit("reliability: " + "; ".join(problems))
    store = load_store()
    code = 0
    if a.no_run:
        if junit_path().exists() and not store["runs"]:
            run_id = "junit"
            store["runs"][run_id] = {"date": _dt.datetime.fromtimestamp(
                junit_path().stat().st_mtime, _dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                "commit": "?", "machine": "?", "docker": "?", "nextest": "?"}
            merge_junit(store, run_id, junit_path())
    else:
        code = run_tests(selected_rows(a.only), store)
    if a.benches:
        run_benches(store)
    save_store(store)
    command = "python3 scripts/reliability.py" + "".join(
        f" {f}" for f, on in (("--no-run", a.no_run), ("--benches", a.benches)) if on) + (
        f" --only {a.only}" if a.only else "")
    a.out.write_text(render(store, command))
    print(f"reliability: wrote {a.out}", file=sys.stderr)
    return 1 if code else 0


if __name__ == "__main__":
    sys.exit(main())
