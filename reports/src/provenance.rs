//! The report's Run section: `run.json` as readable rows — seconds with two
//! decimals, the finish time in ISO 8601 (UTC), run statistics one per row
//! — instead of raw JSON and a Unix epoch.

use serde_json::Value;

/// `YYYY-MM-DDTHH:MM:SSZ` for seconds since the Unix epoch (UTC), by the
/// days-to-civil-date algorithm (Hinnant, "chrono-Compatible Low-Level Date
/// Algorithms", `civil_from_days`).
pub fn iso8601(unix_seconds: i64) -> String {
    let days = unix_seconds.div_euclid(86_400);
    let secs = unix_seconds.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

fn text(key: &str, v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) if key.ends_with("seconds") => n
            .as_f64()
            .map_or_else(|| n.to_string(), |s| format!("{s:.2} s")),
        Value::Number(n) if key.ends_with("_unix") => {
            n.as_i64().map_or_else(|| n.to_string(), iso8601)
        }
        Value::Array(a) if a.is_empty() => "none".into(),
        other => other.to_string(),
    }
}

/// Key/value rows of `run.json` (items, warnings and perturbations have
/// sections of their own); nested objects (`stats`) become one row per
/// field, named `stats.field`.
pub fn rows(run: &Value) -> Vec<(String, String)> {
    let Some(object) = run.as_object() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (k, v) in object {
        if matches!(k.as_str(), "skipped_items" | "warnings" | "perturbations") {
            continue;
        }
        let key = if k == "finished_unix" {
            "finished"
        } else {
            k.as_str()
        };
        match v {
            Value::Object(inner) => {
                for (ik, iv) in inner {
                    out.push((format!("{key}.{ik}"), text(ik, iv)));
                }
            }
            _ => out.push((key.to_string(), text(k, v))),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs_become_iso_dates_and_stats_become_rows() {
        // `date -u -d @0`, `@951782400` (a leap day) and `@1764633600`.
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso8601(1_764_633_661), "2025-12-02T00:01:01Z");
        let run = serde_json::json!({
            "finished_unix": 951782400, "elapsed_seconds": 1.23456,
            "stats": {"shards_computed": 2, "embed_seconds": 0.5, "corrupt_entries": []},
            "warnings": ["w"]
        });
        let rows = rows(&run);
        let get = |k: &str| rows.iter().find(|r| r.0 == k).map(|r| r.1.as_str());
        assert_eq!(get("finished"), Some("2000-02-29T00:00:00Z"));
        assert_eq!(get("elapsed_seconds"), Some("1.23 s"));
        assert_eq!(get("stats.shards_computed"), Some("2"));
        assert_eq!(get("stats.embed_seconds"), Some("0.50 s"));
        assert_eq!(get("stats.corrupt_entries"), Some("none"));
        assert_eq!(get("warnings"), None);
    }
}
