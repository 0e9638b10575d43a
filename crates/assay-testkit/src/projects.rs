//! Hand-built compose projects for tests (the runner's unit and integration tests), so the
//! runner is tested without depending on the loader's progress.

use assay_compose::{
    Dependency, FileRef, GoDuration, Healthcheck, Located, MountKind, NetworkDef, Project,
    SecretDef, Service, ServiceNetwork, VolumeDef, VolumeMount,
};
use assay_core::Location;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub fn loc(line: u32) -> Location {
    Location::at("compose.yaml", line, 3)
}

pub fn l<T>(v: T) -> Located<T> {
    Located::new(v, loc(1))
}

/// A compose duration as the loader makes it (panics on text Go would refuse).
pub fn dur(text: &str) -> Located<GoDuration> {
    l(GoDuration::parse(text).expect("a valid Go duration"))
}

pub fn service(name: &str) -> Service {
    Service {
        name: name.into(),
        location: loc(2),
        image: None,
        build: None,
        environment: BTreeMap::new(),
        env_files: vec![],
        ports: vec![],
        expose: vec![],
        volumes: vec![],
        networks: BTreeMap::from([("default".to_string(), attach(&[]))]),
        depends_on: BTreeMap::new(),
        healthcheck: None,
        restart: None,
        command: None,
        entrypoint: None,
        secrets: vec![],
        configs: vec![],
        user: None,
        working_dir: None,
        container_name: None,
        hostname: None,
        profiles: vec![],
        deploy: None,
        scale: None,
        labels: BTreeMap::new(),
        init: None,
        read_only: None,
        tmpfs: vec![],
        platform: None,
        pull_policy: None,
        privileged: None,
        cap_add: vec![],
        cap_drop: vec![],
        devices: vec![],
        device_cgroup_rules: vec![],
        security_opt: vec![],
        sysctls: BTreeMap::new(),
        cgroup_parent: None,
        runtime: None,
        userns_mode: None,
        oom_kill_disable: None,
        oom_score_adj: None,
        network_mode: None,
        pid: None,
        ipc: None,
        uts: None,
        cgroup: None,
        volumes_from: vec![],
        external_links: vec![],
        extra_hosts: vec![],
        links: vec![],
        logging: None,
        stop_grace_period: None,
        stop_signal: None,
        dns: vec![],
        raw: Default::default(),
    }
}

pub fn attach(aliases: &[&str]) -> ServiceNetwork {
    ServiceNetwork {
        location: loc(3),
        aliases: aliases.iter().map(|a| l(a.to_string())).collect(),
        ipv4_address: None,
        ipv6_address: None,
        priority: None,
    }
}

pub fn network(name: &str) -> NetworkDef {
    NetworkDef::plain(name, loc(30), name == "default")
}

pub fn volume(name: &str) -> VolumeDef {
    VolumeDef {
        name: name.into(),
        location: loc(40),
        external: None,
        driver: None,
        driver_opts: BTreeMap::new(),
        labels: BTreeMap::new(),
    }
}

pub fn secret(name: &str, file: &str) -> SecretDef {
    SecretDef {
        name: name.into(),
        location: loc(50),
        file: Some(l(file.to_string())),
        file_resolved: Some(PathBuf::from(file.trim_start_matches("./"))),
        environment: None,
        external: None,
    }
}

pub fn env(s: &mut Service, k: &str, v: &str) {
    s.environment.insert(k.into(), l(Some(v.to_string())));
}

pub fn named_volume(source: &str, target: &str) -> Located<VolumeMount> {
    l(VolumeMount {
        kind: MountKind::Volume,
        source: Some(source.into()),
        target: target.into(),
        ..Default::default()
    })
}

pub fn bind(root: &Path, rel: &str, target: &str) -> Located<VolumeMount> {
    l(VolumeMount {
        kind: MountKind::Bind,
        source: Some(rel.into()),
        host_path: Some(root.join(rel)),
        target: target.into(),
        ..Default::default()
    })
}

pub fn depends(s: &mut Service, on: &str, condition: &str) {
    s.depends_on.insert(
        on.into(),
        l(Dependency {
            condition: condition.into(),
            restart: false,
            required: true,
        }),
    );
}

pub fn pg_isready() -> Healthcheck {
    Healthcheck {
        location: loc(20),
        test: Some(l(vec![
            "CMD-SHELL".into(),
            "pg_isready -U app -d notes".into(),
        ])),
        interval: Some(dur("1s")),
        timeout: Some(dur("3s")),
        start_period: None,
        start_interval: None,
        retries: Some(l(60)),
        disable: false,
    }
}

pub fn secret_ref(name: &str) -> Located<FileRef> {
    l(FileRef {
        source: name.into(),
        ..Default::default()
    })
}

/// The good stack: db (postgres:16, healthcheck, named volume, password from a secret) and
/// webapp (waits for a healthy db) on one `default` network.
pub fn good_project(root: &Path) -> Project {
    let mut db = service("db");
    db.image = Some(l("postgres:16".into()));
    env(&mut db, "POSTGRES_USER", "app");
    env(&mut db, "POSTGRES_DB", "notes");
    env(&mut db, "POSTGRES_PASSWORD", "s3cret-pw");
    db.healthcheck = Some(pg_isready());
    db.volumes
        .push(named_volume("pgdata", "/var/lib/postgresql/data"));
    let mut web = service("webapp");
    web.image = Some(l("assay/sample-webapp:candidate".into()));
    env(
        &mut web,
        "DATABASE_URL",
        "postgres://app:s3cret-pw@db:5432/notes",
    );
    depends(&mut web, "db", "service_healthy");
    project(root, vec![db, web], &["default"], &["pgdata"])
}

pub fn project(
    root: &Path,
    services: Vec<Service>,
    networks: &[&str],
    volumes: &[&str],
) -> Project {
    Project {
        name: "candidate".into(),
        root: root.to_path_buf(),
        working_dir: PathBuf::new(),
        services: services.into_iter().map(|s| (s.name.clone(), s)).collect(),
        disabled_services: BTreeMap::new(),
        networks: networks
            .iter()
            .map(|n| (n.to_string(), network(n)))
            .collect(),
        volumes: volumes.iter().map(|n| (n.to_string(), volume(n))).collect(),
        secrets: BTreeMap::new(),
        configs: BTreeMap::new(),
        files: vec![],
        variables: BTreeMap::new(),
        raw: Default::default(),
    }
}
