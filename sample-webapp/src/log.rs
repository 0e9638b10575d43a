//! One JSON object per line on stdout: `{"ts":…,"level":…,"msg":…,"fields":{…}}`.

use serde_json::{json, Value};
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

/// Severity of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Normal operation.
    Info,
    /// Something is wrong but the app carries on.
    Warn,
    /// The app cannot do its job (usually followed by exit 1).
    Error,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

/// Writes one log line. `fields` should be a JSON object (anything else is wrapped in one).
pub fn write(level: Level, msg: &str, fields: Value) {
    let fields = match fields {
        Value::Object(_) => fields,
        other => json!({ "value": other }),
    };
    // Written by hand so the keys keep this order (serde_json's maps sort them).
    let text = format!(
        "{{\"ts\":\"{}\",\"level\":\"{}\",\"msg\":{},\"fields\":{}}}\n",
        rfc3339_now(),
        level.as_str(),
        Value::from(msg),
        fields
    );
    let mut out = std::io::stdout().lock();
    // A closed stdout must not take the service down; there is nowhere else to report it.
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// Logs at `info`.
pub fn info(msg: &str, fields: Value) {
    write(Level::Info, msg, fields);
}

/// Logs at `warn`.
pub fn warn(msg: &str, fields: Value) {
    write(Level::Warn, msg, fields);
}

/// Logs at `error`.
pub fn error(msg: &str, fields: Value) {
    write(Level::Error, msg, fields);
}

/// The current UTC time as `2024-05-01T12:34:56.789Z`.
pub fn rfc3339_now() -> String {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339(since.as_secs(), since.subsec_millis())
}

/// Formats seconds since the Unix epoch (UTC) with milliseconds.
pub fn rfc3339(secs: u64, millis: u32) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Converts days since 1970-01-01 to a proleptic Gregorian (year, month, day).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Shift the epoch to 0000-03-01 so leap days fall at the end of each 400-year era.
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400, 5), "2000-02-29T00:00:00.005Z");
        assert_eq!(rfc3339(1_709_251_199, 999), "2024-02-29T23:59:59.999Z");
        assert_eq!(rfc3339(4_102_444_800, 0), "2100-01-01T00:00:00.000Z");
    }
}
