//! `wait-tcp`: retry a TCP connect until it succeeds or the deadline passes.

use crate::{failure, ProbeResult};
use std::time::Duration;
use tokio::net::TcpStream;

/// Pause between attempts.
const RETRY_EVERY: Duration = Duration::from_millis(200);

pub async fn wait(host: &str, port: u16, timeout: Duration) -> ProbeResult {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let last_error = match tokio::time::timeout(left, TcpStream::connect((host, port))).await {
            Ok(Ok(_)) => {
                return ProbeResult {
                    attempts: Some(attempts),
                    ..ProbeResult::success()
                }
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => "connect timed out".to_string(),
        };
        if tokio::time::Instant::now() + RETRY_EVERY >= deadline {
            return ProbeResult {
                attempts: Some(attempts),
                ..failure(format!(
                    "{host}:{port} not accepting connections after {} ms: {last_error}",
                    timeout.as_millis()
                ))
            };
        }
        tokio::time::sleep(RETRY_EVERY).await;
    }
}
