//! A campaign's executions, counted by the harness itself for a long
//! campaign's record (`scripts/soak`): libFuzzer prints its count only at
//! powers of two and on new inputs. With `RMAPFUZZ_STATS=FILE` each fuzz
//! process appends `UNIX_SECONDS PID EXECUTIONS` to FILE at its first
//! execution and then at most every [`PERIOD`]; without it, counting costs
//! one relaxed increment.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How often a process adds a line, at most.
pub const PERIOD: Duration = Duration::from_secs(10);

/// The clock is read once per this many executions.
const CHECK_EVERY: u64 = 256;

static EXECUTIONS: AtomicU64 = AtomicU64::new(0);

struct Record {
    path: PathBuf,
    last: Mutex<Option<Instant>>,
}

fn record() -> Option<&'static Record> {
    static RECORD: OnceLock<Option<Record>> = OnceLock::new();
    RECORD
        .get_or_init(|| {
            let path = std::env::var_os("RMAPFUZZ_STATS").filter(|p| !p.is_empty())?;
            Some(Record {
                path: PathBuf::from(path),
                last: Mutex::new(None),
            })
        })
        .as_ref()
}

/// Counts one execution of a fuzz target; writes the record when due.
pub fn count() {
    let n = EXECUTIONS.fetch_add(1, Ordering::Relaxed) + 1;
    if n != 1 && n % CHECK_EVERY != 0 {
        return;
    }
    if let Some(rec) = record() {
        rec.note(n);
    }
}

impl Record {
    /// Appends a line for `n` executions unless one was written less than
    /// [`PERIOD`] ago; returns whether it wrote.
    fn note(&self, n: u64) -> bool {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_some_and(|t| t.elapsed() < PERIOD) {
            return false;
        }
        *last = Some(Instant::now());
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        // A record that cannot be written is no reason to stop a campaign.
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .and_then(|mut f| writeln!(f, "{secs} {} {n}", std::process::id()))
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_period() {
        let dir = tempfile::tempdir().unwrap();
        let rec = Record {
            path: dir.path().join("stats"),
            last: Mutex::new(None),
        };
        assert!(rec.note(1));
        assert!(!rec.note(256), "a second line within the period");
        let text = std::fs::read_to_string(&rec.path).unwrap();
        let fields: Vec<&str> = text.split_whitespace().collect();
        assert_eq!(fields.len(), 3, "{text:?}");
        assert_eq!(fields[1], std::process::id().to_string());
        assert_eq!(fields[2], "1");
        assert!(fields[0].parse::<u64>().unwrap() > 1_700_000_000);
    }
}
