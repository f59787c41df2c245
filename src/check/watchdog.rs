//! A per-operation watchdog. A slip in a tree's code can make the C side
//! loop forever (an rbtree insert that meets a node inserted twice never
//! finds a leaf); libFuzzer reports that as a timeout, but `rmapfuzz
//! replay` would just hang. With a watchdog installed, the runner marks
//! each operation as it starts (an atomic progress counter and the step's
//! index, per thread), and a thread of the watchdog's own looks at them a
//! few times per limit: an operation that has made no progress for the
//! limit is reported with the scenario, the operation, its text and the
//! variant, through the callback given (the CLI prints it and exits with
//! [`EXIT_STUCK`]).
//!
//! "An operation" is everything the runner does for it: the call into the
//! code under test, the snapshots and the checks after it; the teardown at
//! the end of a run is watched the same way. Safe Rust only: atomics, a
//! mutex, a thread.

use std::cell::RefCell;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::language::scenario::Scenario;

/// The limit when none is given (`--op-timeout`).
pub const DEFAULT_LIMIT: Duration = Duration::from_secs(10);

/// The exit code of a process the watchdog stopped.
pub const EXIT_STUCK: u8 = 3;

/// [`Slot::step`] during the teardown.
const TEARDOWN: usize = usize::MAX;

/// What was running when the watchdog fired.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stuck {
    /// What the command was working on (a scenario file, an artifact,
    /// `explore ...`), as it said with [`set_context`]; may be empty.
    pub context: String,
    /// The variant, as reports name it.
    pub variant: String,
    /// The scenario as run (in a sweep, with its injection).
    pub scenario: Scenario,
    /// The operation (0-based); `None`: the teardown after the last one.
    pub step: Option<usize>,
    /// How long it had made no progress when seen.
    pub stalled: Duration,
    pub limit: Duration,
}

impl fmt::Display for Stuck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self
            .step
            .and_then(|i| self.scenario.steps.get(i).map(|s| (i, s)))
        {
            Some((i, s)) => format!("op #{} `{s}` (or the checks after it)", i + 1),
            None => "the teardown after the last operation (every process exits)".to_owned(),
        };
        let of = if self.context.is_empty() {
            String::new()
        } else {
            format!(" of {}", self.context)
        };
        writeln!(
            f,
            "rmapfuzz: watchdog: [{}] {what}{of} has not finished after {:.1} s (limit {} s, \
             --op-timeout): the code under test is stuck, e.g. looping forever",
            self.variant,
            self.stalled.as_secs_f64(),
            self.limit.as_secs_f64()
        )?;
        let upto = match self.step {
            Some(i) => i + 1,
            None => self.scenario.steps.len(),
        }
        .min(self.scenario.steps.len());
        let prefix = Scenario {
            header: self.scenario.header.clone(),
            steps: self.scenario.steps[..upto].to_vec(),
            race: None,
        };
        writeln!(f, "    the scenario as run, up to that operation:")?;
        for line in prefix.to_string().lines() {
            writeln!(f, "      {line}")?;
        }
        Ok(())
    }
}

/// One thread's runs, as the watchdog sees them.
#[derive(Debug, Default)]
struct Slot {
    /// Bumped whenever an operation starts and when a run ends.
    progress: AtomicU64,
    /// The operation running ([`TEARDOWN`] at the end).
    step: AtomicUsize,
    /// A run is under way.
    busy: AtomicBool,
    /// The current run: its scenario and variant.
    run: Mutex<Option<(Scenario, String)>>,
}

type OnStuck = Box<dyn Fn(Stuck) + Send + Sync>;

struct Shared {
    limit: Duration,
    context: Mutex<String>,
    slots: Mutex<Vec<Weak<Slot>>>,
    on_stuck: OnStuck,
    stop: AtomicBool,
}

/// The watching thread and what it watches; dropping it stops the thread.
pub struct Watchdog {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// A thread's handle on the watchdog: what its runs report progress to.
#[derive(Clone)]
pub struct Watcher {
    slot: Arc<Slot>,
}

impl Watchdog {
    /// Starts watching: `on_stuck` is called (on the watchdog's thread) once
    /// for each run whose operation has made no progress for `limit`.
    pub fn start(limit: Duration, on_stuck: impl Fn(Stuck) + Send + Sync + 'static) -> Watchdog {
        let shared = Arc::new(Shared {
            limit,
            context: Mutex::new(String::new()),
            slots: Mutex::new(Vec::new()),
            on_stuck: Box::new(on_stuck),
            stop: AtomicBool::new(false),
        });
        let watched = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("rmapfuzz-watchdog".into())
            .spawn(move || watch(&watched))
            .expect("start the watchdog thread");
        Watchdog {
            shared,
            thread: Some(thread),
        }
    }

    pub fn limit(&self) -> Duration {
        self.shared.limit
    }

    /// Says what the command is working on, for the report.
    pub fn set_context(&self, what: impl Into<String>) {
        *lock(&self.shared.context) = what.into();
    }

    /// A new handle for one thread's runs.
    pub fn watcher(&self) -> Watcher {
        let slot = Arc::new(Slot::default());
        let mut slots = lock(&self.shared.slots);
        slots.retain(|s| s.strong_count() > 0);
        slots.push(Arc::downgrade(&slot));
        Watcher { slot }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

/// A poisoned lock (a panic elsewhere while holding it) still holds good
/// data here: plain values, written whole.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Watcher {
    /// A run of `scenario` on `variant` begins, at its first operation.
    pub fn run_started(&self, scenario: &Scenario, variant: &str) {
        // (Copied into the last run's buffers: a search starts millions.)
        match &mut *lock(&self.slot.run) {
            Some((s, v)) => {
                s.header.clone_from(&scenario.header);
                s.steps.clone_from(&scenario.steps);
                s.race.clone_from(&scenario.race);
                v.clear();
                v.push_str(variant);
            }
            run => *run = Some((scenario.clone(), variant.to_owned())),
        }
        self.step(0);
        self.slot.busy.store(true, Ordering::Release);
    }

    /// Operation `i` (0-based) begins.
    pub fn step(&self, i: usize) {
        self.slot.step.store(i, Ordering::Relaxed);
        self.slot.progress.fetch_add(1, Ordering::Release);
    }

    /// The teardown after the last operation begins.
    pub fn teardown(&self) {
        self.step(TEARDOWN);
    }

    /// The run is over.
    pub fn run_finished(&self) {
        self.slot.busy.store(false, Ordering::Release);
        self.slot.progress.fetch_add(1, Ordering::Release);
    }
}

/// How often the thread looks: a tenth of the limit, within [1 ms, 250 ms].
fn tick(limit: Duration) -> Duration {
    (limit / 10).clamp(Duration::from_millis(1), Duration::from_millis(250))
}

/// What the thread last saw of a slot.
struct Seen {
    slot: Weak<Slot>,
    progress: u64,
    since: Instant,
    fired: bool,
}

fn watch(shared: &Shared) {
    let mut seen: Vec<Seen> = Vec::new();
    while !shared.stop.load(Ordering::Relaxed) {
        std::thread::park_timeout(tick(shared.limit));
        let now = Instant::now();
        let slots: Vec<Arc<Slot>> = lock(&shared.slots)
            .iter()
            .filter_map(Weak::upgrade)
            .collect();
        seen.retain(|s| s.slot.strong_count() > 0);
        for slot in slots {
            let progress = slot.progress.load(Ordering::Acquire);
            let busy = slot.busy.load(Ordering::Acquire);
            let entry = match seen
                .iter_mut()
                .find(|s| std::ptr::eq(s.slot.as_ptr(), Arc::as_ptr(&slot)))
            {
                Some(e) => e,
                None => {
                    seen.push(Seen {
                        slot: Arc::downgrade(&slot),
                        progress,
                        since: now,
                        fired: false,
                    });
                    continue;
                }
            };
            if entry.progress != progress || !busy {
                entry.progress = progress;
                entry.since = now;
                entry.fired = false;
                continue;
            }
            let stalled = now.duration_since(entry.since);
            if entry.fired || stalled < shared.limit {
                continue;
            }
            let step = slot.step.load(Ordering::Relaxed);
            let run = lock(&slot.run).clone();
            // Progress made while the record was read: not stuck after all.
            if slot.progress.load(Ordering::Acquire) != progress {
                continue;
            }
            entry.fired = true;
            let (scenario, variant) = run.unwrap_or_default();
            (shared.on_stuck)(Stuck {
                context: lock(&shared.context).clone(),
                variant,
                scenario,
                step: (step != TEARDOWN).then_some(step),
                stalled,
                limit: shared.limit,
            });
        }
    }
}

/// The process's watchdog, when the CLI installed one.
static INSTALLED: OnceLock<Watchdog> = OnceLock::new();

thread_local! {
    static WATCHER: RefCell<Option<Watcher>> = const { RefCell::new(None) };
}

/// Installs the process's watchdog, which every run of the runner reports
/// to; `false` if one was installed already.
pub fn install(limit: Duration, on_stuck: impl Fn(Stuck) + Send + Sync + 'static) -> bool {
    let mut fresh = false;
    INSTALLED.get_or_init(|| {
        fresh = true;
        Watchdog::start(limit, on_stuck)
    });
    fresh
}

/// Tells the installed watchdog (if any) what the command works on.
pub fn set_context(what: impl Into<String>) {
    if let Some(w) = INSTALLED.get() {
        w.set_context(what);
    }
}

/// This thread's handle on the installed watchdog, if there is one.
fn current() -> Option<Watcher> {
    let w = INSTALLED.get()?;
    WATCHER.with(|cell| Some(cell.borrow_mut().get_or_insert_with(|| w.watcher()).clone()))
}

/// One run, as the runner reports it to the installed watchdog: nothing
/// when none is installed. The run is over when this is dropped.
pub struct RunWatch(Option<Watcher>);

impl RunWatch {
    pub fn begin(scenario: &Scenario, variant: &str) -> RunWatch {
        let w = current();
        if let Some(w) = &w {
            w.run_started(scenario, variant);
        }
        RunWatch(w)
    }

    pub fn step(&self, i: usize) {
        if let Some(w) = &self.0 {
            w.step(i);
        }
    }

    pub fn teardown(&self) {
        if let Some(w) = &self.0 {
            w.teardown();
        }
    }
}

impl Drop for RunWatch {
    fn drop(&mut self) {
        if let Some(w) = &self.0 {
            w.run_finished();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::language::parse::parse_scenario;
    use std::sync::mpsc;

    fn scenario() -> Scenario {
        parse_scenario(
            "mmap 0 0x10000 0x1000\nfault 0 0x10000 w\nfork 0\nexit 1\n",
            "t.txt",
        )
        .expect("parses")
    }

    /// A watchdog whose reports arrive on a channel.
    fn watchdog(limit: Duration) -> (Watchdog, mpsc::Receiver<Stuck>) {
        let (tx, rx) = mpsc::channel();
        let tx = Mutex::new(tx);
        let w = Watchdog::start(limit, move |s| {
            let _ = lock(&tx).send(s);
        });
        (w, rx)
    }

    /// Long enough for any scheduler.
    const EVENTUALLY: Duration = Duration::from_secs(30);

    #[test]
    fn a_stuck_operation_is_reported_once_with_what_ran() {
        let (dog, rx) = watchdog(Duration::from_millis(50));
        dog.set_context("corpus/t.txt");
        let w = dog.watcher();
        w.run_started(&scenario(), "kernel-vma 7.2.13");
        w.step(1);
        w.step(2);
        let s = rx.recv_timeout(EVENTUALLY).expect("the watchdog fires");
        assert_eq!(s.step, Some(2));
        assert_eq!(s.context, "corpus/t.txt");
        assert_eq!(s.variant, "kernel-vma 7.2.13");
        assert_eq!(s.scenario, scenario());
        assert!(s.stalled >= Duration::from_millis(50));
        let text = s.to_string();
        assert!(
            text.contains(
                "[kernel-vma 7.2.13] op #3 `fork 0` (or the checks after it) of corpus/t.txt"
            ),
            "{text}"
        );
        assert!(
            text.contains("      fork 0\n") && !text.contains("exit 1"),
            "{text}"
        );
        // Once per stall: no second report while it stays stuck.
        assert!(rx.recv_timeout(Duration::from_millis(300)).is_err());
        // Progress, then a new stall: reported again, at the teardown.
        w.teardown();
        let s = rx.recv_timeout(EVENTUALLY).expect("fires again");
        assert_eq!(s.step, None);
        assert!(s.to_string().contains("the teardown"), "{s}");
    }

    #[test]
    fn progress_and_idleness_are_never_reported() {
        let (dog, rx) = watchdog(Duration::from_secs(2));
        let w = dog.watcher();
        let s = scenario();
        let start = Instant::now();
        let mut i = 0;
        while start.elapsed() < Duration::from_secs(3) {
            w.run_started(&s, "mainline");
            for step in 0..s.steps.len() {
                w.step(step);
                std::thread::sleep(Duration::from_millis(5));
                i += 1;
            }
            w.teardown();
            w.run_finished();
        }
        assert!(i > 10);
        // A thread that runs nothing is not stuck, however long it waits.
        std::thread::sleep(Duration::from_secs(3));
        assert!(rx.try_recv().is_err(), "fired without a stall");
    }

    #[test]
    fn only_the_stuck_thread_is_reported() {
        let (dog, rx) = watchdog(Duration::from_millis(200));
        let busy = dog.watcher();
        let stuck = dog.watcher();
        let s = scenario();
        stuck.run_started(&s, "stuck");
        stuck.step(3);
        let done = Arc::new(AtomicBool::new(false));
        let worker = {
            let done = Arc::clone(&done);
            let s = s.clone();
            std::thread::spawn(move || {
                while !done.load(Ordering::Relaxed) {
                    busy.run_started(&s, "busy");
                    busy.step(1);
                    std::thread::sleep(Duration::from_millis(2));
                    busy.run_finished();
                }
            })
        };
        let got = rx.recv_timeout(EVENTUALLY).expect("fires");
        done.store(true, Ordering::Relaxed);
        worker.join().unwrap();
        assert_eq!((got.variant.as_str(), got.step), ("stuck", Some(3)));
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn a_dropped_watchdog_stops_and_a_dropped_watcher_is_forgotten() {
        let (dog, rx) = watchdog(Duration::from_millis(20));
        {
            let w = dog.watcher();
            w.run_started(&scenario(), "gone");
        }
        std::thread::sleep(Duration::from_millis(200));
        assert!(
            rx.try_recv().is_err(),
            "a watcher no thread holds is not watched"
        );
        assert_eq!(lock(&dog.shared.slots).len(), 1);
        let _again = dog.watcher();
        assert_eq!(lock(&dog.shared.slots).len(), 1, "dead slots are pruned");
        drop(dog);
    }

    #[test]
    fn the_runner_reports_through_the_installed_watchdog_only() {
        // Nothing is installed in unit tests: a run watch is inert.
        let r = RunWatch::begin(&scenario(), "mainline");
        assert!(r.0.is_none());
        r.step(1);
        r.teardown();
    }
}
