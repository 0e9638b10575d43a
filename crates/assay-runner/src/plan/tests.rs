use super::*;
use crate::testkit::*;
use assay_compose::{GoDuration, Located};
use bollard::models::{Mount, MountType, RestartPolicyNameEnum};

fn inputs() -> PlanInputs {
    PlanInputs {
        run_id: "r1a2b3".into(),
        db_service: "db".into(),
        webapp_service: "webapp".into(),
        webapp_image: "assay/sample-webapp:0.1.0".into(),
        probe_image: "assay/probe:0.1.0".into(),
        webapp_default_port: 8080,
        limits: Limits::default(),
        budget: assay_core::RunBudget::default(),
        binds: BTreeMap::new(),
    }
}

fn root() -> PathBuf {
    PathBuf::from("/work/sub")
}

fn good() -> RunPlan {
    plan(&good_project(&root()), &inputs()).expect("plans")
}

fn container<'a>(p: &'a RunPlan, svc: &str) -> &'a ContainerSpec {
    &p.service(svc).expect("service").containers[0]
}

#[test]
fn networks_are_per_run_and_labelled() {
    let p = good();
    assert_eq!(p.networks.len(), 1);
    assert_eq!(p.networks[0].name, "assay-r1a2b3-default");
    assert_eq!(p.networks[0].labels["dev.assay.managed"], "true");
    assert_eq!(p.networks[0].labels["dev.assay.run"], "r1a2b3");
    assert_eq!(p.networks[0].labels[COMPOSE_PROJECT], "assay-r1a2b3");
    let req = p.networks[0].create_request();
    assert_eq!(req.internal, Some(true), "no egress");
    assert_eq!(
        req.options.unwrap()[INHIBIT_IPV4],
        "true",
        "no route to the host's listeners"
    );
}

#[test]
fn named_volumes_are_per_run() {
    let p = good();
    assert_eq!(p.volumes.len(), 1);
    assert_eq!(p.volumes[0].name, "assay-r1a2b3-v-pgdata");
    let db = container(&p, "db");
    assert_eq!(
        db.mounts[0].source.as_deref(),
        Some("assay-r1a2b3-v-pgdata")
    );
    assert_eq!(db.mounts[0].typ, Some(MountType::VOLUME));
}

#[test]
fn anonymous_volumes_become_labelled_run_volumes() {
    let mut proj = good_project(&root());
    let db = proj.services.get_mut("db").unwrap();
    db.volumes = vec![l(assay_compose::VolumeMount {
        kind: MountKind::Volume,
        source: None,
        target: "/var/lib/postgresql/data".into(),
        ..Default::default()
    })];
    let p = plan(&proj, &inputs()).unwrap();
    let anon = p
        .volumes
        .iter()
        .find(|v| v.compose_name.is_none())
        .expect("anon volume");
    assert_eq!(anon.name, "assay-r1a2b3-anon-db-1");
    assert_eq!(anon.labels["dev.assay.run"], "r1a2b3");
}

#[test]
fn containers_get_generated_names_and_container_name_is_ignored() {
    let mut proj = good_project(&root());
    proj.services.get_mut("webapp").unwrap().container_name = Some(l("webapp".into()));
    let p = plan(&proj, &inputs()).unwrap();
    assert_eq!(container(&p, "webapp").name, "assay-r1a2b3-webapp-1");
    assert_eq!(container(&p, "db").name, "assay-r1a2b3-db-1");
    assert_eq!(p.probe.name, "assay-r1a2b3-probe");
}

#[test]
fn aliases_are_service_name_plus_declared_aliases() {
    let mut proj = good_project(&root());
    let db = proj.services.get_mut("db").unwrap();
    db.networks = BTreeMap::from([("backend".to_string(), attach(&["database", "db"]))]);
    proj.services.get_mut("webapp").unwrap().networks =
        BTreeMap::from([("backend".to_string(), attach(&[]))]);
    proj.networks.insert("backend".into(), network("backend"));
    let p = plan(&proj, &inputs()).unwrap();
    let db = container(&p, "db");
    assert_eq!(db.networks.len(), 1);
    assert_eq!(db.networks[0].network, "assay-r1a2b3-backend");
    assert_eq!(
        db.networks[0].aliases,
        vec!["db".to_string(), "database".to_string()]
    );
    // `default` is declared but unused: not created.
    assert_eq!(p.networks.len(), 1);
}

#[test]
fn probe_joins_every_run_network() {
    let mut proj = good_project(&root());
    proj.networks.insert("front".into(), network("front"));
    proj.services
        .get_mut("webapp")
        .unwrap()
        .networks
        .insert("front".into(), attach(&[]));
    let p = plan(&proj, &inputs()).unwrap();
    let nets: Vec<&str> = p
        .probe
        .networks
        .iter()
        .map(|a| a.network.as_str())
        .collect();
    assert_eq!(nets, vec!["assay-r1a2b3-default", "assay-r1a2b3-front"]);
    assert_eq!(p.probe.labels[ROLE_LABEL], "probe");
    assert_eq!(p.probe.image, "assay/probe:0.1.0");
}

#[test]
fn the_probe_meters_every_run_volume_read_only_without_copying_into_it() {
    let p = plan(&good_project(&root()), &inputs()).unwrap();
    assert!(!p.volumes.is_empty());
    assert_eq!(p.probe.mounts.len(), p.volumes.len());
    for (i, (m, v)) in p.probe.mounts.iter().zip(&p.volumes).enumerate() {
        assert_eq!(m.source.as_deref(), Some(v.name.as_str()));
        assert_eq!(m.target.as_deref(), Some(meter_path(i).as_str()));
        assert_eq!(m.typ, Some(bollard::models::MountType::VOLUME));
        assert_eq!(m.read_only, Some(true));
        assert_eq!(
            m.volume_options.as_ref().and_then(|o| o.no_copy),
            Some(true)
        );
    }
    let cmd = p.probe.cmd.clone().unwrap();
    assert_eq!(cmd[..3], ["assay-probe", "meter", METER_DIR]);
    assert_eq!(p.probe.read_only, Some(true));
}

#[test]
fn env_command_entrypoint_and_healthcheck_are_carried() {
    let mut proj = good_project(&root());
    let db = proj.services.get_mut("db").unwrap();
    db.command = Some(l(vec![
        "postgres".into(),
        "-c".into(),
        "max_connections=50".into(),
    ]));
    db.entrypoint = Some(l(vec!["docker-entrypoint.sh".into()]));
    db.environment.insert("UNSET_IN_ASSAY".into(), l(None));
    let p = plan(&proj, &inputs()).unwrap();
    let db = container(&p, "db");
    assert!(db.env.contains(&"POSTGRES_USER=app".to_string()));
    assert!(
        !db.env.iter().any(|e| e.starts_with("UNSET_IN_ASSAY")),
        "bare keys stay unset"
    );
    assert_eq!(db.cmd.as_ref().unwrap()[2], "max_connections=50");
    assert_eq!(db.entrypoint.as_ref().unwrap()[0], "docker-entrypoint.sh");
    let hc = db.healthcheck.as_ref().unwrap();
    assert_eq!(hc.test.as_ref().unwrap()[0], "CMD-SHELL");
    assert_eq!(hc.interval, Some(1_000_000_000));
    assert_eq!(hc.timeout, Some(3_000_000_000));
    assert_eq!(hc.retries, Some(60));
    assert!(p.service("db").unwrap().has_healthcheck);
    assert!(!p.service("webapp").unwrap().has_healthcheck);
}

#[test]
fn disabled_healthcheck_is_none() {
    let mut proj = good_project(&root());
    proj.services
        .get_mut("db")
        .unwrap()
        .healthcheck
        .as_mut()
        .unwrap()
        .disable = true;
    let p = plan(&proj, &inputs()).unwrap();
    assert_eq!(
        container(&p, "db").healthcheck.as_ref().unwrap().test,
        Some(vec!["NONE".into()])
    );
    assert!(!p.service("db").unwrap().has_healthcheck);
}

#[test]
fn a_healthcheck_faster_than_the_floor_is_raised_with_a_located_note() {
    let mut proj = good_project(&root());
    let hc = proj
        .services
        .get_mut("db")
        .unwrap()
        .healthcheck
        .as_mut()
        .unwrap();
    hc.interval = Some(Located::new(
        GoDuration::parse("1ms").unwrap(),
        Location::at("compose.yaml", 9, 17),
    ));
    hc.start_interval = Some(Located::new(
        GoDuration::parse("1ms").unwrap(),
        Location::at("compose.yaml", 10, 23),
    ));
    let p = plan(&proj, &inputs()).expect("a fast healthcheck is not an error");
    let h = container(&p, "db").healthcheck.clone().unwrap();
    assert_eq!(h.interval, Some(1_000_000_000));
    assert_eq!(h.start_interval, Some(1_000_000_000));
    assert_eq!(p.notes.len(), 2, "{:?}", p.notes);
    assert!(p.notes[0]
        .message
        .contains("interval `1ms` was raised to 1 s"));
    assert_eq!(
        p.notes[0].location,
        Some(Location::at("compose.yaml", 9, 17))
    );
    // A slower one is left as it is, and says nothing.
    assert!(good().notes.is_empty());
}

#[test]
fn webapp_runs_the_pristine_image_whatever_build_says() {
    let mut proj = good_project(&root());
    let web = proj.services.get_mut("webapp").unwrap();
    web.image = Some(l("evil/miner:latest".into()));
    let p = plan(&proj, &inputs()).unwrap();
    assert_eq!(container(&p, "webapp").image, "assay/sample-webapp:0.1.0");
    assert_eq!(container(&p, "db").image, "postgres:16");
}

#[test]
fn a_non_webapp_service_without_image_cannot_run() {
    let mut proj = good_project(&root());
    proj.services.get_mut("db").unwrap().image = None;
    let errs = plan(&proj, &inputs()).unwrap_err();
    assert!(
        errs[0].message.contains("service `db` has no image"),
        "{errs:?}"
    );
    assert_eq!(errs[0].location, Some(loc(2)));
}

#[test]
fn hardening_is_on_every_container_including_the_probe() {
    let p = good();
    let all: Vec<&ContainerSpec> = p
        .services
        .iter()
        .flat_map(|s| s.containers.iter())
        .chain(std::iter::once(&p.probe))
        .collect();
    assert_eq!(all.len(), 3);
    for c in all {
        let body = c.create_body();
        let h = body.host_config.as_ref().unwrap();
        assert_eq!(h.cap_drop, Some(vec!["ALL".to_string()]), "{}", c.name);
        let mut caps = h.cap_add.clone().unwrap();
        caps.sort();
        assert_eq!(
            caps,
            vec!["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"]
        );
        assert_eq!(
            h.security_opt,
            Some(vec!["no-new-privileges:true".to_string()])
        );
        assert_eq!(h.pids_limit, Some(256));
        assert_eq!(h.memory, Some(512 * 1024 * 1024));
        assert_eq!(h.memory_swap, h.memory);
        assert_eq!(h.nano_cpus, Some(Limits::default().nano_cpus));
        assert!(h.nano_cpus.unwrap() >= 1_000_000_000);
        let log = h.log_config.as_ref().unwrap();
        assert_eq!(log.typ.as_deref(), Some("json-file"));
        assert_eq!(log.config.as_ref().unwrap()["max-size"], "1m");
        assert_eq!(h.privileged, Some(false));
        assert!(h.port_bindings.is_none(), "nothing published");
        assert!(body.exposed_ports.is_none());
        assert!(h.binds.is_none());
        assert!(body.stop_timeout.unwrap() <= 10);
        assert_eq!(body.labels.as_ref().unwrap()["dev.assay.managed"], "true");
        assert_eq!(body.labels.as_ref().unwrap()["dev.assay.run"], "r1a2b3");
    }
}

#[test]
fn published_ports_are_never_applied() {
    let mut proj = good_project(&root());
    proj.services
        .get_mut("webapp")
        .unwrap()
        .ports
        .push(l(assay_compose::Port {
            published: Some("8080".into()),
            target: 8080,
            protocol: "tcp".into(),
            mode: "ingress".into(),
            ..Default::default()
        }));
    let p = plan(&proj, &inputs()).unwrap();
    let body = container(&p, "webapp").create_body();
    assert!(body.host_config.unwrap().port_bindings.is_none());
}

#[test]
fn labels_compose_and_candidate_namespace_stripped() {
    let mut proj = good_project(&root());
    let web = proj.services.get_mut("webapp").unwrap();
    web.labels
        .insert("dev.assay.managed".into(), l("false".into()));
    web.labels
        .insert("dev.assay.run".into(), l("someone-else".into()));
    web.labels
        .insert("com.docker.compose.project".into(), l("spoof".into()));
    web.labels.insert("team".into(), l("blue".into()));
    let p = plan(&proj, &inputs()).unwrap();
    let lb = &container(&p, "webapp").labels;
    assert_eq!(lb["dev.assay.managed"], "true");
    assert_eq!(lb["dev.assay.run"], "r1a2b3");
    assert_eq!(lb[COMPOSE_PROJECT], "assay-r1a2b3");
    assert_eq!(lb[COMPOSE_SERVICE], "webapp");
    assert_eq!(lb["team"], "blue");
}

#[test]
fn restart_policies_are_bounded() {
    let mut proj = good_project(&root());
    proj.services.get_mut("webapp").unwrap().restart = Some(l("always".into()));
    proj.services.get_mut("db").unwrap().restart = Some(l("on-failure:500".into()));
    let p = plan(&proj, &inputs()).unwrap();
    for svc in ["webapp", "db"] {
        let rp = container(&p, svc)
            .create_body()
            .host_config
            .unwrap()
            .restart_policy
            .unwrap();
        assert_eq!(rp.name, Some(RestartPolicyNameEnum::ON_FAILURE), "{svc}");
        assert_eq!(rp.maximum_retry_count, Some(20), "{svc}");
    }
    let plain = good();
    let rp = container(&plain, "db")
        .create_body()
        .host_config
        .unwrap()
        .restart_policy
        .unwrap();
    assert_eq!(rp.name, Some(RestartPolicyNameEnum::NO));
}

#[test]
fn stop_grace_is_capped_at_ten_seconds() {
    let mut proj = good_project(&root());
    proj.services.get_mut("db").unwrap().stop_grace_period = Some(dur("5m"));
    proj.services.get_mut("webapp").unwrap().stop_grace_period = Some(dur("2s"));
    let p = plan(&proj, &inputs()).unwrap();
    assert_eq!(container(&p, "db").create_body().stop_timeout, Some(10));
    assert_eq!(container(&p, "webapp").create_body().stop_timeout, Some(2));
}

#[test]
fn secrets_are_copied_not_bound() {
    let mut proj = good_project(&root());
    proj.secrets.insert(
        "db_password".into(),
        secret("db_password", "./secrets/pw.txt"),
    );
    let db = proj.services.get_mut("db").unwrap();
    db.secrets.push(secret_ref("db_password"));
    let p = plan(&proj, &inputs()).unwrap();
    let db = container(&p, "db");
    assert_eq!(db.files.len(), 1);
    assert_eq!(db.files[0].target, "/run/secrets/db_password");
    assert_eq!(
        db.files[0].source,
        FileSource::Host(PathBuf::from("/work/sub/secrets/pw.txt"))
    );
    assert_eq!(db.files[0].mode, 0o444);
    assert!(db.mounts.iter().all(|m| m.typ != Some(MountType::BIND)));
}

#[test]
fn a_secret_outside_the_submission_is_refused() {
    let mut proj = good_project(&root());
    proj.secrets
        .insert("x".into(), secret("x", "../../etc/shadow"));
    proj.services
        .get_mut("db")
        .unwrap()
        .secrets
        .push(secret_ref("x"));
    let errs = plan(&proj, &inputs()).unwrap_err();
    assert!(
        errs[0].message.contains("leaves the submission directory"),
        "{errs:?}"
    );
}

#[test]
fn no_host_path_is_mounted_binds_become_copies() {
    let r = root();
    let mut proj = good_project(&r);
    let db = proj.services.get_mut("db").unwrap();
    db.volumes = vec![
        bind(&r, "pgdata", "/var/lib/postgresql/data"),
        bind(&r, "init", "/docker-entrypoint-initdb.d"),
        bind(&r, "conf/pg.conf", "/etc/pg.conf"),
    ];
    let web = proj.services.get_mut("webapp").unwrap();
    web.volumes.push(bind(&r, "init", "/srv/init"));
    web.volumes.push(bind(&r, "missing", "/srv/missing"));
    let mut i = inputs();
    i.binds.insert(r.join("pgdata"), BindKind::Dir);
    i.binds.insert(r.join("init"), BindKind::Dir);
    i.binds
        .insert(r.join("conf/pg.conf"), BindKind::File { mode: 0o4755 });
    let p = plan(&proj, &i).unwrap();
    let all: Vec<&Mount> = p
        .services
        .iter()
        .flat_map(|s| s.containers.iter().flat_map(|c| c.mounts.iter()))
        .collect();
    assert!(
        all.iter().all(|m| m.typ != Some(MountType::BIND)),
        "no bind reaches Docker: {all:?}"
    );
    let db = container(&p, "db");
    // Directories: run volumes that replace the image's content, filled by the run.
    assert_eq!(db.mounts.len(), 2, "{:?}", db.mounts);
    let vol = |name: &str| p.volumes.iter().find(|v| v.name == name).unwrap();
    let data = db.mounts[0].source.as_deref().unwrap();
    assert_eq!(
        vol(data).bind_source.as_deref(),
        Some(r.join("pgdata").as_path())
    );
    assert_eq!(
        db.mounts[0].volume_options.as_ref().unwrap().no_copy,
        Some(true)
    );
    // One volume per bound directory, shared by the services binding it.
    let web = container(&p, "webapp");
    assert_eq!(web.mounts[0].source, db.mounts[1].source);
    assert_eq!(
        vol(web.mounts[1].source.as_deref().unwrap()).bind_source,
        Some(r.join("missing"))
    );
    // A file: copied into the container, set-id bits dropped.
    let f = db
        .files
        .iter()
        .find(|f| f.target == "/etc/pg.conf")
        .unwrap();
    assert_eq!(f.source, FileSource::Host(r.join("conf/pg.conf")));
    assert_eq!(f.mode, 0o755);
}

#[test]
fn a_read_only_service_gets_its_bound_file_through_a_volume_on_the_parent_dir() {
    let r = root();
    let mut proj = good_project(&r);
    let web = proj.services.get_mut("webapp").unwrap();
    web.read_only = Some(Located::new(true, Location::at("compose.yaml", 1, 1)));
    web.volumes
        .push(bind(&r, "nginx.conf", "/etc/nginx/nginx.conf"));
    web.volumes.push(bind(&r, "top.conf", "/top.conf"));
    let mut i = inputs();
    i.binds
        .insert(r.join("nginx.conf"), BindKind::File { mode: 0o644 });
    i.binds
        .insert(r.join("top.conf"), BindKind::File { mode: 0o644 });
    let errs = plan(&proj, &i).unwrap_err();
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].message.contains("/top.conf"), "{errs:?}");
    proj.services
        .get_mut("webapp")
        .unwrap()
        .volumes
        .retain(|v| v.value.target != "/top.conf");
    let p = plan(&proj, &i).unwrap();
    let web = container(&p, "webapp");
    let m = &web.mounts[0];
    assert_eq!(m.target.as_deref(), Some("/etc/nginx"));
    assert_eq!(m.typ, Some(MountType::VOLUME));
    assert!(m.volume_options.is_none(), "Docker fills it from the image");
    assert!(web
        .files
        .iter()
        .any(|f| f.target == "/etc/nginx/nginx.conf"));
}

#[test]
fn a_symlinked_bind_source_is_refused() {
    let r = root();
    let mut proj = good_project(&r);
    proj.services
        .get_mut("webapp")
        .unwrap()
        .volumes
        .push(bind(&r, "link", "/srv"));
    let mut i = inputs();
    i.binds.insert(r.join("link"), BindKind::Refused);
    let errs = plan(&proj, &i).unwrap_err();
    assert!(errs[0].message.contains("symbolic link"), "{errs:?}");
}

#[test]
fn binds_outside_the_submission_are_refused() {
    let r = root();
    let mut proj = good_project(&r);
    let web = proj.services.get_mut("webapp").unwrap();
    let mut sock = bind(&r, "x", "/var/run/docker.sock");
    sock.value.host_path = Some(PathBuf::from("/var/run/docker.sock"));
    web.volumes.push(sock);
    web.volumes.push(bind(&r, "../../etc", "/host-etc"));
    web.volumes.push(bind(&r, "../subway", "/sibling"));
    // `~/…` stays relative after loading: the grader's home, never the submission.
    let mut home = bind(&r, "~/secrets", "/s");
    home.value.host_path = Some(PathBuf::from("~/secrets"));
    web.volumes.push(home);
    let errs = plan(&proj, &inputs()).unwrap_err();
    assert_eq!(errs.len(), 4, "{errs:?}");
    assert!(errs
        .iter()
        .all(|e| e.message.contains("leaves the submission directory")));
}

#[test]
fn external_networks_and_volumes_are_refused() {
    let mut proj = good_project(&root());
    proj.networks.get_mut("default").unwrap().external = Some(l(true));
    proj.volumes.get_mut("pgdata").unwrap().external = Some(l(true));
    let errs = plan(&proj, &inputs()).unwrap_err();
    assert_eq!(errs.len(), 2, "{errs:?}");
}

#[test]
fn host_network_mode_is_refused_and_none_is_allowed() {
    let mut proj = good_project(&root());
    proj.services.get_mut("webapp").unwrap().network_mode = Some(l("host".into()));
    assert!(plan(&proj, &inputs()).is_err());
    proj.services.get_mut("webapp").unwrap().network_mode = Some(l("none".into()));
    let p = plan(&proj, &inputs()).unwrap();
    let body = container(&p, "webapp").create_body();
    assert_eq!(
        body.host_config.unwrap().network_mode.as_deref(),
        Some("none")
    );
}

#[test]
fn start_order_is_topological_and_conditions_carried() {
    let r = root();
    let mut a = service("a");
    a.image = Some(l("debian:bookworm-slim".into()));
    let mut migrate = service("migrate");
    migrate.image = Some(l("debian:bookworm-slim".into()));
    let mut proj = good_project(&r);
    depends(&mut migrate, "db", "service_healthy");
    depends(&mut a, "webapp", "service_started");
    proj.services.insert("a".into(), a);
    proj.services.insert("migrate".into(), migrate);
    let web = proj.services.get_mut("webapp").unwrap();
    depends(web, "migrate", "service_completed_successfully");
    let p = plan(&proj, &inputs()).unwrap();
    let order: Vec<&str> = p.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(order, vec!["db", "migrate", "webapp", "a"]);
    let web = p.service("webapp").unwrap();
    assert!(web.depends_on.contains(&("db".into(), Condition::Healthy)));
    assert!(web
        .depends_on
        .contains(&("migrate".into(), Condition::CompletedSuccessfully)));
}

#[test]
fn missing_db_or_webapp_service_is_an_error() {
    let proj = good_project(&root());
    let mut i = inputs();
    i.db_service = "postgres".into();
    let errs = plan(&proj, &i).unwrap_err();
    assert!(errs[0].message.contains("db service `postgres`"));
}

#[test]
fn webapp_port_comes_from_port_env_or_default() {
    assert_eq!(good().webapp.port, 8080);
    let mut proj = good_project(&root());
    env(proj.services.get_mut("webapp").unwrap(), "PORT", "3000");
    assert_eq!(plan(&proj, &inputs()).unwrap().webapp.port, 3000);
}

#[test]
fn replicas_are_capped_and_named() {
    let mut proj = good_project(&root());
    proj.services.get_mut("webapp").unwrap().scale = Some(l(50));
    let p = plan(&proj, &inputs()).unwrap();
    let names: Vec<&str> = p
        .service("webapp")
        .unwrap()
        .containers
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(
        names,
        vec![
            "assay-r1a2b3-webapp-1",
            "assay-r1a2b3-webapp-2",
            "assay-r1a2b3-webapp-3"
        ]
    );
    assert_eq!(
        p.service("webapp").unwrap().containers[2].labels[COMPOSE_NUMBER],
        "3"
    );
}

#[test]
fn odd_names_become_docker_safe_and_unique() {
    assert_eq!(docker_safe("my net"), "my_net");
    assert_eq!(docker_safe(""), "_");
    assert_eq!(docker_safe(&"x".repeat(100)).len(), 40);
    let names = unique_names("p", ["a b".to_string(), "a_b".to_string()].iter());
    assert_eq!(names["a b"], "p-a_b");
    assert_eq!(names["a_b"], "p-a_b-2");
}

#[test]
fn cpu_quota_leaves_half_a_cpu_and_stays_between_one_and_four() {
    const ONE: i64 = 1_000_000_000;
    assert_eq!(default_nano_cpus(1), ONE);
    assert_eq!(default_nano_cpus(2), 3 * ONE / 2);
    assert_eq!(default_nano_cpus(4), 7 * ONE / 2);
    assert_eq!(default_nano_cpus(64), 4 * ONE);
    assert_eq!(default_nano_cpus(0), ONE);
}

#[test]
fn side_services_share_the_budget_and_the_db_and_webapp_keep_their_limits() {
    let mut proj = good_project(&root());
    for name in ["cache", "worker"] {
        let mut s = service(name);
        s.image = Some(l("assay/probe:0.1.0".to_string()));
        proj.services.insert(name.into(), s);
    }
    let p = plan(&proj, &inputs()).unwrap();
    let defaults = Limits::default();
    assert_eq!(
        container(&p, "db").limits.memory_bytes,
        defaults.memory_bytes
    );
    assert_eq!(container(&p, "webapp").limits.pids, defaults.pids);
    let side = &container(&p, "worker").limits;
    // Four side containers (two services, two runs) share one CPU.
    assert_eq!(side.nano_cpus, 250_000_000);
    assert!(side.memory_bytes <= defaults.memory_bytes);
    let note = p
        .notes
        .iter()
        .find(|d| d.message.contains("side services"))
        .expect("the split is stated");
    assert!(
        note.message.contains("`cache`, `worker`"),
        "{}",
        note.message
    );
}

#[test]
fn a_budget_that_cannot_hold_the_side_services_is_a_located_error() {
    let mut proj = good_project(&root());
    for i in 0..30 {
        let mut s = service(&format!("side{i:02}"));
        s.image = Some(l("assay/probe:0.1.0".to_string()));
        proj.services.insert(format!("side{i:02}"), s);
    }
    let mut tight = inputs();
    tight.budget.containers = 1000;
    tight.budget.memory_bytes = 3 << 30;
    let err = plan(&proj, &tight).unwrap_err();
    let d = err
        .iter()
        .find(|d| d.message.contains("grading budget"))
        .expect("a budget error");
    assert!(d.message.contains("memory"), "{}", d.message);
    assert!(d.location.is_some(), "located at the first side service");
}
