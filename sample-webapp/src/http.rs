//! The HTTP API: `/health`, `/notes`, `/notes/{id}`, `/`, and a JSON log line per request.

use crate::db::{self, Db};
use crate::log;
use axum::body::{Body, Bytes};
use axum::extract::connect_info::ConnectInfo;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::time::timeout;

/// Largest note body accepted by `POST /notes`, in bytes.
pub const MAX_NOTE_BYTES: usize = 4096;
/// How long a note query may take.
const NOTE_QUERY_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest request path written to the log.
const MAX_LOGGED_PATH: usize = 256;

/// The application's routes over the shared database state.
pub fn router(db: Arc<Db>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/health", get(health))
        .route(
            "/notes",
            post(create_note).layer(DefaultBodyLimit::max(MAX_NOTE_BYTES)),
        )
        .route("/notes/{id}", get(read_note))
        .fallback(not_found)
        .layer(middleware::from_fn(log_request))
        .with_state(db)
}

fn json_response(status: StatusCode, value: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

fn error_response(status: StatusCode, message: impl Into<String>) -> Response {
    json_response(status, json!({ "error": message.into() }))
}

async fn health(State(db): State<Arc<Db>>) -> Response {
    let result = match db.client() {
        Ok(client) => db::ping(&client).await,
        Err(reason) => Err(reason),
    };
    match result {
        Ok(()) => json_response(StatusCode::OK, json!({"status": "ok", "database": "ok"})),
        Err(reason) => {
            db.recheck();
            json_response(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"status": "degraded", "database": reason}),
            )
        }
    }
}

/// Maps a failed note query: the database is the problem, so 503 and a recheck of the link.
fn database_failure(db: &Db, error: String) -> Response {
    db.recheck();
    error_response(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("database unavailable: {error}"),
    )
}

async fn create_note(State(db): State<Arc<Db>>, body: Result<Bytes, BytesRejection>) -> Response {
    let bytes = match body {
        Ok(bytes) => bytes,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return error_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("a note is at most {MAX_NOTE_BYTES} bytes"),
            )
        }
        Err(rejection) => return error_response(rejection.status(), rejection.body_text()),
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return error_response(StatusCode::BAD_REQUEST, "a note must be UTF-8 text");
    };
    let client = match db.client() {
        Ok(client) => client,
        Err(reason) => return database_failure(&db, reason),
    };
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&text];
    let insert = client.query_one("INSERT INTO notes (body) VALUES ($1) RETURNING id", &params);
    match timeout(NOTE_QUERY_TIMEOUT, insert).await {
        Ok(Ok(row)) => match row.try_get::<_, i64>(0) {
            Ok(id) => json_response(StatusCode::CREATED, json!({ "id": id })),
            Err(e) => database_failure(&db, db::describe(&e)),
        },
        Ok(Err(e)) => database_failure(&db, db::describe(&e)),
        Err(_) => database_failure(&db, "the insert timed out".to_string()),
    }
}

async fn read_note(State(db): State<Arc<Db>>, Path(id): Path<String>) -> Response {
    let Some(id) = id.parse::<i64>().ok().filter(|id| *id > 0) else {
        return error_response(StatusCode::NOT_FOUND, "no such note");
    };
    let client = match db.client() {
        Ok(client) => client,
        Err(reason) => return database_failure(&db, reason),
    };
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&id];
    let select = client.query_opt("SELECT body FROM notes WHERE id = $1", &params);
    match timeout(NOTE_QUERY_TIMEOUT, select).await {
        Ok(Ok(Some(row))) => match row.try_get::<_, String>(0) {
            Ok(body) => (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                body,
            )
                .into_response(),
            Err(e) => database_failure(&db, db::describe(&e)),
        },
        Ok(Ok(None)) => error_response(StatusCode::NOT_FOUND, format!("no note {id}")),
        Ok(Err(e)) => database_failure(&db, db::describe(&e)),
        Err(_) => database_failure(&db, "the query timed out".to_string()),
    }
}

async fn index() -> Response {
    let page = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">\
         <title>sample-webapp</title></head>\n<body>\n<h1>sample-webapp {}</h1>\n\
         <p>A tiny notes service backed by Postgres.</p>\n<ul>\n\
         <li><code>GET /health</code> &mdash; is the database reachable?</li>\n\
         <li><code>POST /notes</code> &mdash; store a text note (at most {MAX_NOTE_BYTES} bytes)</li>\n\
         <li><code>GET /notes/{{id}}</code> &mdash; read a note back</li>\n\
         </ul>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION")
    );
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page,
    )
        .into_response()
}

async fn not_found() -> Response {
    error_response(StatusCode::NOT_FOUND, "not found")
}

async fn log_request(
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    request: Request<Body>,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let mut path = request.uri().path().to_string();
    if path.len() > MAX_LOGGED_PATH {
        let mut cut = MAX_LOGGED_PATH;
        while !path.is_char_boundary(cut) {
            cut -= 1;
        }
        path.truncate(cut);
        path.push('…');
    }
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let fields = json!({
        "method": method,
        "path": path,
        "status": status,
        "duration_ms": (started.elapsed().as_secs_f64() * 1e6).round() / 1e3,
        "remote": remote.to_string(),
    });
    if response.status().is_server_error() {
        log::warn("request", fields);
    } else {
        log::info("request", fields);
    }
    response
}
