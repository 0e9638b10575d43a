//! The Postgres stand-in honours the official image's contract, checked from inside a network
//! by the probe container (`assay-probe pg` over TCP with a password, through `docker exec`).

mod common;

use assay_sandbox::images::probe_image;
use assay_sandbox::{labels, Engine};
use bollard::models::{
    ContainerCreateBody, EndpointSettings, HostConfig, NetworkCreateRequest, NetworkingConfig,
};
use serde_json::Value;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// A tar holding `files` (path, mode, content) and their parent directories.
fn tar_of(files: &[(&str, u32, &str)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut dirs: Vec<String> = Vec::new();
    for (path, _, _) in files {
        let mut acc = String::new();
        for part in path.split('/').collect::<Vec<_>>().split_last().unwrap().1 {
            acc.push_str(part);
            acc.push('/');
            if !dirs.contains(&acc) {
                dirs.push(acc.clone());
                let mut h = tar::Header::new_gnu();
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(0o755);
                h.set_size(0);
                h.set_cksum();
                b.append_data(&mut h, &acc, std::io::empty()).unwrap();
            }
        }
    }
    for (path, mode, content) in files {
        let mut h = tar::Header::new_gnu();
        h.set_mode(*mode);
        h.set_size(content.len() as u64);
        h.set_cksum();
        b.append_data(&mut h, path, content.as_bytes()).unwrap();
    }
    b.into_inner().unwrap()
}

/// One test's world: a private internal network, the db container (alias `db`) and a probe.
struct World {
    engine: Engine,
    cleanup: common::Cleanup,
    network: String,
    db: String,
    probe: String,
}

impl World {
    async fn new(engine: &Engine) -> World {
        let cleanup = common::Cleanup::new(engine);
        let network = common::unique("net");
        cleanup.network(&network);
        engine
            .create_network(NetworkCreateRequest {
                name: network.clone(),
                internal: Some(true),
                labels: Some(labels::managed()),
                ..Default::default()
            })
            .await
            .unwrap();
        let probe = common::unique("probe");
        let db = common::unique("db");
        let w = World {
            engine: engine.clone(),
            cleanup,
            network,
            db,
            probe,
        };
        w.create(&w.probe, &probe_image().to_string(), vec![], "probe")
            .await;
        w.engine.start_container(&w.probe).await.unwrap();
        w
    }

    async fn create(&self, name: &str, image: &str, env: Vec<String>, alias: &str) {
        self.create_with(name, image, env, alias, HostConfig::default())
            .await
    }

    async fn create_with(
        &self,
        name: &str,
        image: &str,
        env: Vec<String>,
        alias: &str,
        host: HostConfig,
    ) {
        self.cleanup.container(name);
        let endpoints = HashMap::from([(
            self.network.clone(),
            EndpointSettings {
                aliases: Some(vec![alias.to_string()]),
                ..Default::default()
            },
        )]);
        self.engine
            .create_container(
                name,
                ContainerCreateBody {
                    image: Some(image.into()),
                    env: Some(env),
                    labels: Some(labels::managed()),
                    host_config: Some(HostConfig {
                        network_mode: Some(self.network.clone()),
                        ..host
                    }),
                    networking_config: Some(NetworkingConfig {
                        endpoints_config: Some(endpoints),
                    }),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
    }

    /// Create the db container with `env`, copy `files` into it, start it.
    async fn start_db(&self, env: &[&str], files: &[(&str, u32, &str)]) {
        self.start_db_with(env, files, HostConfig::default()).await
    }

    async fn start_db_with(&self, env: &[&str], files: &[(&str, u32, &str)], host: HostConfig) {
        let env = env.iter().map(|s| s.to_string()).collect();
        self.create_with(&self.db, "postgres:16", env, "db", host)
            .await;
        if !files.is_empty() {
            self.engine
                .upload_tar(&self.db, "/", tar_of(files))
                .await
                .unwrap();
        }
        self.engine.start_container(&self.db).await.unwrap();
    }

    async fn probe(&self, args: &[&str]) -> Value {
        let mut cmd = vec!["assay-probe"];
        cmd.extend_from_slice(args);
        let out = self.engine.exec(&self.probe, &cmd).await.unwrap();
        assert_eq!(out.exit_code, Some(0), "{out:?}");
        serde_json::from_str(out.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {out:?}"))
    }

    /// Wait until the db accepts TCP connections on the network (after its init).
    async fn wait_db(&self) {
        let v = self
            .probe(&["wait-tcp", "db", "5432", "--timeout-ms", "60000"])
            .await;
        let logs = self
            .engine
            .logs_tail(&self.db, 40)
            .await
            .unwrap_or_default();
        assert_eq!(v["ok"], true, "db never listened: {v}\n{logs}");
    }

    async fn pg(&self, user: &str, password: &str, db: &str, extra: &[&str]) -> Value {
        let mut args = vec![
            "pg",
            "--host",
            "db",
            "--user",
            user,
            "--password",
            password,
            "--db",
            db,
        ];
        args.extend_from_slice(extra);
        self.probe(&args).await
    }
}

async fn world(test: &str) -> Option<World> {
    let engine = common::engine_or_skip(test).await?;
    common::prepare(&engine).await;
    Some(World::new(&engine).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_postgres_password_gives_a_ready_server_with_password_login() {
    let Some(w) = world("only_postgres_password").await else {
        return;
    };
    w.start_db(&["POSTGRES_PASSWORD=s3cret pass"], &[]).await;
    w.wait_db().await;

    let ready = w.engine.exec(&w.db, &["pg_isready"]).await.unwrap();
    assert_eq!(ready.exit_code, Some(0), "{ready:?}");
    assert!(ready.stdout.contains("accepting connections"), "{ready:?}");

    let ok = w.pg("postgres", "s3cret pass", "postgres", &[]).await;
    assert_eq!(ok["ok"], true, "{ok}");
    let wrong = w.pg("postgres", "wrong", "postgres", &[]).await;
    assert_eq!(wrong["ok"], false, "{wrong}");
    assert_eq!(
        wrong["sqlstate"], "28P01",
        "password auth must be enforced over TCP: {wrong}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_db_and_file_variants_and_initdb_scripts_work() {
    let Some(w) = world("user_db_file_variants").await else {
        return;
    };
    let init_sql = "CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL);\n\
                    INSERT INTO notes (body) VALUES ('nonce-from-initdb');\n";
    let init_sh = "#!/bin/sh\nset -e\npsql -v ON_ERROR_STOP=1 --username \"$POSTGRES_USER\" --dbname \"$POSTGRES_DB\" \
                   -c \"INSERT INTO notes (body) VALUES ('nonce-from-sh')\"\n";
    let init_isready = "#!/bin/sh\nif pg_isready -q -h /var/run/postgresql; then echo 'init-isready: default socket answers'; \
                        else echo 'init-isready: default socket silent'; fi\n";
    w.start_db(
        &[
            "POSTGRES_USER=app",
            "POSTGRES_DB=appdb",
            "POSTGRES_PASSWORD_FILE=/run/secrets/db_password",
        ],
        &[
            ("run/secrets/db_password", 0o644, "from-a-file\n"),
            ("docker-entrypoint-initdb.d/01-schema.sql", 0o644, init_sql),
            ("docker-entrypoint-initdb.d/02-more.sh", 0o755, init_sh),
            (
                "docker-entrypoint-initdb.d/03-isready.sh",
                0o755,
                init_isready,
            ),
        ],
    )
    .await;
    w.wait_db().await;
    // As in the official image, the setup server answers on the usual socket (so a
    // `pg_isready` healthcheck can pass before the real server starts; dependants must retry).
    let logs = w.engine.logs_tail(&w.db, 500).await.unwrap();
    assert!(
        logs.contains("init-isready: default socket answers"),
        "{logs}"
    );
    let tz = w
        .engine
        .exec(
            &w.db,
            &["psql", "-U", "app", "-d", "appdb", "-tAc", "SHOW timezone"],
        )
        .await
        .unwrap();
    assert_eq!(tz.stdout.trim(), "Etc/UTC", "{tz:?}");
    w.engine
        .upload_tar(&w.probe, "/tmp", tar_of(&[("pw", 0o644, "from-a-file\n")]))
        .await
        .unwrap();

    let args = |nonce: &'static str| {
        vec![
            "pg",
            "--host",
            "db",
            "--user",
            "app",
            "--password-file",
            "/tmp/pw",
            "--db",
            "appdb",
            "--query-nonce",
            nonce,
        ]
    };
    let v = w.probe(&args("nonce-from-initdb")).await;
    assert_eq!(
        (v["ok"].clone(), v["found"].clone()),
        (Value::Bool(true), Value::Bool(true)),
        "{v}"
    );
    let v = w.probe(&args("nonce-from-sh")).await;
    assert_eq!(v["found"], true, "the .sh init script ran: {v}");
    let v = w.probe(&args("never-inserted")).await;
    assert_eq!(
        (v["ok"].clone(), v["found"].clone()),
        (Value::Bool(true), Value::Bool(false)),
        "{v}"
    );

    // The superuser is `app`, not `postgres`; the database is `appdb`.
    let v = w.pg("postgres", "from-a-file", "appdb", &[]).await;
    assert_eq!(v["ok"], false, "{v}");
    let v = w.pg("app", "from-a-file", "postgres", &[]).await;
    assert_eq!(v["ok"], true, "the maintenance db still exists: {v}");

    // docker stop sends the image's STOPSIGNAL (SIGINT): a fast shutdown, exit 0.
    let started = Instant::now();
    w.engine
        .stop_container(&w.db, Duration::from_secs(10))
        .await
        .unwrap();
    eprintln!("stop took {:.2} s", started.elapsed().as_secs_f64());
    let state = w
        .engine
        .inspect_container(&w.db)
        .await
        .unwrap()
        .state
        .unwrap();
    assert_eq!(state.exit_code, Some(0), "{state:?}");
    let logs = w.engine.logs_tail(&w.db, 20).await.unwrap();
    assert!(logs.contains("fast shutdown request"), "{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_password_exits_non_zero_with_the_official_message() {
    let Some(w) = world("missing_password").await else {
        return;
    };
    w.start_db(&["POSTGRES_USER=app"], &[]).await;
    let code = common::wait_exit(&w.engine, &w.db).await;
    assert_ne!(code, 0);
    let logs = w.engine.logs_tail(&w.db, 20).await.unwrap();
    assert!(
        logs.contains("superuser password is not specified"),
        "{logs}"
    );
    assert!(logs.contains("POSTGRES_HOST_AUTH_METHOD=trust"), "{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trust_auth_needs_no_password() {
    let Some(w) = world("trust_auth").await else {
        return;
    };
    w.start_db(&["POSTGRES_HOST_AUTH_METHOD=trust"], &[]).await;
    w.wait_db().await;
    let v = w.pg("postgres", "anything", "postgres", &[]).await;
    assert_eq!(v["ok"], true, "{v}");
}

/// The hardening the sandbox applies to every container leaves the
/// stand-in working: only the capabilities its entrypoint needs, no new privileges, a pids and
/// memory limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stand_in_runs_under_the_sandbox_hardening() {
    let Some(w) = world("hardened").await else {
        return;
    };
    let caps = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"];
    w.start_db_with(
        &["POSTGRES_PASSWORD=hardened"],
        &[],
        HostConfig {
            cap_drop: Some(vec!["ALL".into()]),
            cap_add: Some(caps.iter().map(|c| c.to_string()).collect()),
            security_opt: Some(vec!["no-new-privileges".into()]),
            pids_limit: Some(256),
            memory: Some(512 * 1024 * 1024),
            memory_swap: Some(512 * 1024 * 1024),
            ..Default::default()
        },
    )
    .await;
    w.wait_db().await;
    let v = w.pg("postgres", "hardened", "postgres", &[]).await;
    assert_eq!(v["ok"], true, "{v}");
}
