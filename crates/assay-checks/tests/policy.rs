//! The security policy: one fixture per refused or overridden setting, every violation
//! located; paths that leave the submission (also through symlinks) built in temp dirs.

mod common;
use assay_checks::security_policy;
use assay_core::{CheckId, Diagnostic, Severity, Status};
use common::*;
use std::path::Path;

fn policy_at(root: &Path) -> Vec<Diagnostic> {
    let loaded = load(root);
    let project = loaded
        .project
        .unwrap_or_else(|| panic!("{}: no project: {:?}", root.display(), loaded.diagnostics));
    security_policy(&project, &open_root(root))
}

fn policy(case: &str) -> Vec<Diagnostic> {
    policy_at(&fixtures().join("policy").join(case))
}

/// Asserts a diagnostic of `severity` at `line` whose message contains `text`.
#[track_caller]
fn expect(diags: &[Diagnostic], severity: Severity, line: u32, text: &str) {
    let found = diags.iter().any(|d| {
        d.severity == severity
            && d.location.as_ref().and_then(|l| l.line) == Some(line)
            && d.message.contains(text)
    });
    assert!(
        found,
        "no {severity:?} at line {line} containing {text:?} in:\n{}",
        render(diags)
    );
}

fn render(diags: &[Diagnostic]) -> String {
    diags
        .iter()
        .map(|d| format!("  {:?} {d}", d.severity))
        .collect::<Vec<_>>()
        .join("\n")
}

fn errors(diags: &[Diagnostic]) -> usize {
    diags.iter().filter(|d| d.is_error()).count()
}

#[test]
fn item11_privileges_are_rejected_each_at_its_key() {
    let d = policy("privileges");
    use Severity::Error as E;
    expect(&d, E, 5, "`privileged: true`");
    expect(&d, E, 6, "`cap_add` (NET_ADMIN)");
    expect(&d, E, 7, "`devices` (/dev/sda:/dev/sda)");
    expect(&d, E, 8, "`device_cgroup_rules`");
    expect(&d, E, 9, "security_opt `seccomp:unconfined`");
    expect(&d, E, 9, "security_opt `apparmor=unconfined`");
    expect(&d, E, 9, "security_opt `no-new-privileges:false`");
    expect(&d, E, 10, "`sysctls`");
    expect(&d, E, 11, "`cgroup_parent`");
    expect(&d, E, 12, "`runtime` (runc)");
    expect(&d, E, 13, "`userns_mode` (host)");
    expect(&d, E, 14, "`oom_kill_disable: true`");
    expect(&d, E, 15, "`oom_score_adj: -1000`");
    // The calm service (privileged: false, oom_score_adj: 0, no-new-privileges) adds nothing.
    assert_eq!(errors(&d), 13, "{}", render(&d));
    assert!(
        d.iter().all(|x| x.message.contains("service `app`")),
        "{}",
        render(&d)
    );
}

#[test]
fn item12_host_and_foreign_namespaces_are_rejected() {
    let d = policy("namespaces");
    use Severity::Error as E;
    expect(
        &d,
        E,
        5,
        "`network_mode: host` shares the host's network stack",
    );
    expect(&d, E, 8, "`network_mode: container:some-container`");
    expect(&d, E, 11, "`network_mode: service:a`");
    expect(&d, E, 14, "`pid: host`");
    expect(&d, E, 15, "`ipc: host`");
    expect(&d, E, 16, "`uts: host`");
    expect(&d, E, 17, "`cgroup: host`");
    // Service e (network_mode none, ipc shareable, pid service:d) is fine.
    assert_eq!(errors(&d), 7, "{}", render(&d));
}

#[test]
fn item13_binds_leaving_the_submission_are_rejected() {
    let d = policy("mounts");
    use Severity::Error as E;
    expect(&d, E, 6, "bind mount `/` leaves the submission directory");
    expect(&d, E, 7, "bind mount `/etc` leaves");
    expect(
        &d,
        E,
        8,
        "`/var/run/docker.sock` gives the container control of the container engine",
    );
    expect(&d, E, 9, "bind mount `/proc` leaves");
    expect(&d, E, 10, "`~/.ssh` is in the grader's home directory");
    expect(
        &d,
        E,
        11,
        "bind mount `../..` leaves the submission directory",
    );
    expect(&d, E, 12, "bind mount `/etc` leaves"); // long syntax `type: bind`
    expect(
        &d,
        E,
        27,
        "volume `device`: driver option `device` mounts host path `/etc`",
    );
    expect(
        &d,
        E,
        26,
        "volume `device`: driver option `o` makes the volume a bind mount of the host",
    );
    expect(
        &d,
        E,
        30,
        "volume `nfs`: driver option `type` mounts a `nfs` file system",
    );
    // A bind inside the submission is allowed (a note says it is copied in, never mounted).
    expect(
        &d,
        Severity::Info,
        15,
        "bind mount `./data` is copied in, not mounted",
    );
    assert!(
        !d.iter()
            .any(|x| x.location.as_ref().and_then(|l| l.line) == Some(16)),
        "{}",
        render(&d)
    );
}

#[test]
fn item13_a_symlink_inside_the_submission_pointing_out_is_followed() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("sub");
    write_files(&root, &[("compose.yaml", "services:\n  db:\n    image: postgres:16\n    volumes:\n      - ./data:/var/lib/postgresql/data\n      - ./ok:/ok:ro\n")]);
    std::fs::create_dir(root.join("ok")).unwrap();
    std::os::unix::fs::symlink("/etc", root.join("data")).unwrap();
    let d = policy_at(&root);
    expect(
        &d,
        Severity::Error,
        5,
        "bind mount `./data` leaves the submission directory (resolves to /etc)",
    );
    assert_eq!(errors(&d), 1, "{}", render(&d));
}

/// Item 14: every file reference that resolves outside the root, each caught by the loader
/// (which refuses to read it) or by the policy, located either way.
#[test]
fn item14_file_references_outside_the_root_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("sub");
    write_files(
        dir.path(),
        &[
            ("outside/x.env", "A=1\n"),
            ("outside/secret.txt", "pw\n"),
            ("outside/Dockerfile", "FROM postgres:16\n"),
            (
                "outside/base.yaml",
                "services:\n  base:\n    image: postgres:16\n",
            ),
            ("sub/Dockerfile", "FROM postgres:16\n"),
        ],
    );
    std::os::unix::fs::symlink("../outside", root.join("link")).unwrap();
    let cases: &[(&str, &str)] = &[
        ("env_file", "services:\n  a:\n    image: postgres:16\n    env_file: ../outside/x.env\n"),
        ("env_file via symlink", "services:\n  a:\n    image: postgres:16\n    env_file: link/x.env\n"),
        ("secret file", "services:\n  a:\n    image: postgres:16\n    secrets: [s]\nsecrets:\n  s:\n    file: ../outside/secret.txt\n"),
        ("config file", "services:\n  a:\n    image: postgres:16\n    configs: [c]\nconfigs:\n  c:\n    file: /etc/hostname\n"),
        ("include", "include:\n  - ../outside/base.yaml\nservices:\n  a:\n    image: postgres:16\n"),
        ("extends", "services:\n  a:\n    extends:\n      file: ../outside/base.yaml\n      service: base\n"),
        ("build context", "services:\n  a:\n    build: ../outside\n"),
        ("build context via symlink", "services:\n  a:\n    build: ./link\n"),
        ("dockerfile", "services:\n  a:\n    build:\n      context: .\n      dockerfile: ../outside/Dockerfile\n"),
    ];
    for (what, yaml) in cases {
        std::fs::write(root.join("compose.yaml"), yaml).unwrap();
        let (loaded, facts) = run(&root);
        let located = [
            check(&facts, CheckId::ComposeValid),
            check(&facts, CheckId::ComposeSecurity),
        ]
        .into_iter()
        .filter(|c| c.status == Status::Fail)
        .flat_map(|c| c.details.iter())
        .find(|d| {
            d.is_error()
                && (d.message.contains("outside") || d.message.contains("leaves the submission"))
        });
        let d = located.unwrap_or_else(|| {
            panic!(
                "{what}: not rejected\nloader: {:?}\n{}",
                loaded.diagnostics,
                table(&facts)
            )
        });
        assert!(
            d.location.as_ref().is_some_and(|l| l.line.is_some()),
            "{what}: no line: {d:?}"
        );
        eprintln!("{what}: {d}");
    }
}

#[test]
fn item14_secrets_and_configs_from_the_environment_are_rejected() {
    let d = policy("secrets-env");
    expect(
        &d,
        Severity::Error,
        9,
        "secret `pw`: `environment: HOME` reads the grader's environment",
    );
    expect(
        &d,
        Severity::Error,
        12,
        "config `conf`: `environment: PATH`",
    );
    assert_eq!(errors(&d), 2, "{}", render(&d));
}

#[test]
fn item15_builds_reaching_outside_are_rejected() {
    let d = policy("build");
    use Severity::Error as E;
    expect(&d, E, 6, "`ssh` (default) forwards the grader's SSH agent");
    expect(&d, E, 7, "build secret `token`");
    expect(&d, E, 9, "additional context `extra`");
    expect(&d, E, 10, "`network: host`");
    expect(&d, E, 11, "`cache_to`");
    expect(&d, E, 12, "cache_from `type=local,src=/var/cache`");
    expect(
        &d,
        E,
        14,
        "context `https://github.com/docker/getting-started.git` is remote",
    );
    assert_eq!(errors(&d), 7, "{}", render(&d));
}

#[test]
fn item16_external_resources_and_host_addresses_are_rejected() {
    let d = policy("external");
    use Severity::Error as E;
    expect(&d, E, 8, "`volumes_from` (calm)");
    expect(&d, E, 10, "`external_links` (redis_1)");
    expect(&d, E, 13, "`host-gateway` names the Docker host");
    expect(&d, E, 14, "`127.0.0.1` points at the host");
    expect(&d, E, 15, "`172.17.0.1` points at the host");
    expect(&d, E, 16, "`169.254.169.254`");
    expect(&d, Severity::Info, 17, "extra_hosts `pub` has no effect");
    expect(&d, E, 22, "network `ext` is external");
    expect(
        &d,
        E,
        24,
        "network `hostnet`: driver `macvlan` is not allowed",
    );
    expect(&d, E, 26, "driver option `parent`");
    expect(&d, E, 29, "volume `extv` is external");
    assert_eq!(errors(&d), 10, "{}", render(&d));
}

#[test]
fn items17_18_overridden_settings_are_notes_not_violations() {
    let d = policy("overridden");
    assert_eq!(errors(&d), 0, "{}", render(&d));
    use Severity::Info as I;
    expect(&d, I, 5, "container_name `my-db` is not applied");
    expect(&d, I, 7, "port 5432:5432 is not published to the host");
    expect(
        &d,
        I,
        8,
        "restart `always` is bounded by the run's deadline",
    );
    expect(&d, I, 9, "stop_grace_period `1m` is capped at 10 s");
    expect(&d, I, 11, "logging driver `syslog` is replaced");
    // compose.security passes, and says why there are notes.
    let (_, facts) = run(&fixtures().join("policy/overridden"));
    let s = check(&facts, CheckId::ComposeSecurity);
    assert_eq!(s.status, Status::Pass);
    assert_eq!(
        s.evidence,
        "no policy violation (5 notes on settings the sandbox overrides)"
    );
    assert_eq!(s.details.len(), 5);
}

#[test]
fn item19_labels_in_the_assay_namespace_are_violations() {
    let d = policy("labels");
    use Severity::Error as E;
    expect(
        &d,
        E,
        6,
        "service `app`: label `dev.assay.managed` is in assay's own namespace",
    );
    expect(&d, E, 13, "service `built`: build: label `dev.assay.run`");
    expect(&d, E, 17, "network `n`: label `dev.assay.run`");
    expect(&d, E, 21, "volume `v`: label `dev.assay.managed`");
    expect(
        &d,
        Severity::Info,
        7,
        "`com.docker.compose.project` is set by the grader",
    );
    assert_eq!(errors(&d), 4, "{}", render(&d));
}

#[test]
fn item20_an_alias_bomb_is_a_located_loader_error_and_blocks_the_rest() {
    let (loaded, facts) = run(&fixtures().join("policy/alias-bomb"));
    assert!(loaded.has_errors());
    let valid = check(&facts, CheckId::ComposeValid);
    assert_eq!(valid.status, Status::Fail);
    assert!(
        valid
            .location
            .as_ref()
            .is_some_and(|l| l.file == "compose.yaml" && l.line.is_some()),
        "{valid:?}"
    );
    assert_eq!(valid.details.len(), loaded.diagnostics.len());
    for c in &facts.checks[1..] {
        assert_eq!(c.status, Status::Skipped, "{c:?}");
        assert_eq!(c.skip, Some(assay_core::SkipKind::Blocked));
    }
    assert_eq!(facts.checks.len(), 13);
}

#[test]
fn unknown_keys_fail_the_allow_list_with_their_location() {
    let d = policy("allow-list");
    use Severity::Error as E;
    expect(&d, E, 5, "key `gpus` is not allowed by the grading policy");
    expect(&d, E, 6, "key `storage_opt` is not allowed");
    expect(&d, E, 9, "key `isolation` is not allowed");
    expect(
        &d,
        E,
        13,
        "deploy.resources.reservations: key `devices` is not allowed",
    );
    expect(&d, E, 17, "post_start hook with `privileged: true`");
}

#[test]
fn a_clean_file_has_no_violation_and_no_note() {
    let d = policy("clean");
    assert!(d.is_empty(), "{}", render(&d));
}

#[test]
fn values_from_dotenv_are_judged_after_interpolation() {
    let dir = tempfile::tempdir().unwrap();
    write_files(
        dir.path(),
        &[
            ("compose.yaml", "services:\n  db:\n    image: postgres:16\n    network_mode: ${MODE}\n    volumes:\n      - ${DATA}:/var/lib/postgresql/data\n"),
            (".env", "MODE=host\nDATA=/etc\n"),
        ],
    );
    let d = policy_at(dir.path());
    expect(&d, Severity::Error, 4, "`network_mode: host`");
    expect(
        &d,
        Severity::Error,
        6,
        "bind mount `/etc` leaves the submission directory",
    );
}

#[test]
fn a_failing_policy_does_not_block_the_static_checks() {
    let (_, facts) = run(&fixtures().join("policy/privileges"));
    assert_eq!(check(&facts, CheckId::ComposeSecurity).status, Status::Fail);
    assert_eq!(
        check(&facts, CheckId::ComposeSecurity)
            .evidence
            .split(';')
            .next(),
        Some("13 policy violations")
    );
    assert_eq!(
        check(&facts, CheckId::ComposeDbService).status,
        Status::Pass
    );
    assert_eq!(
        check(&facts, CheckId::ComposePinnedImages).status,
        Status::Pass
    );
}

/// An env_file that leaves the submission is refused by the loader; the refusal is reported as
/// the security violation it is (compose.security fails, located), not only as an invalid file.
#[test]
fn a_file_outside_the_submission_fails_compose_security() {
    let outer = tempfile::tempdir().unwrap();
    std::fs::write(outer.path().join("host-secrets.env"), "TOKEN=x\n").unwrap();
    let root = outer.path().join("submission");
    std::fs::create_dir(&root).unwrap();
    write_files(
        &root,
        &[(
            "compose.yaml",
            "services:\n  db:\n    image: postgres:16\n    env_file: ../host-secrets.env\n",
        )],
    );
    let (_, facts) = run(&root);
    let security = check(&facts, CheckId::ComposeSecurity);
    assert_eq!(security.status, Status::Fail, "{security:?}");
    assert!(
        security.evidence.contains("outside the submission"),
        "{}",
        security.evidence
    );
    assert_eq!(
        security.location.as_ref().and_then(|l| l.line),
        Some(4),
        "{security:?}"
    );
    assert_eq!(check(&facts, CheckId::ComposeValid).status, Status::Fail);
    assert_eq!(
        check(&facts, CheckId::ComposeDbHost).status,
        Status::Skipped
    );
}
