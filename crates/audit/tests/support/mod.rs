//! Shared helpers of the integration tests: events, logs written through the real writer,
//! and a storage wrapper that can hold a sync open and count what each write held.

#![allow(dead_code, reason = "each test binary uses a different part")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use scopegate_audit::{
    AuditEvent, AuditLog, EventType, MemoryStorage, Outcome, Storage, WriterConfig,
};

/// How long a test waits for the writer thread before declaring it stuck.
pub(crate) const PATIENCE: Duration = Duration::from_secs(10);

/// A capability decision for `actor`.
pub(crate) fn decision(actor: &str) -> AuditEvent {
    AuditEvent::builder(EventType::CapabilityDecision)
        .actor(actor)
        .acting_through("mcp-server")
        .capability("workday.hcm.get_employee")
        .policy_matched("employee-self-service")
        .outcome(Outcome::Success)
        .build()
}

/// The bytes of a log of `count` records written by the real writer, in memory.
pub(crate) async fn written_log(count: usize) -> Vec<u8> {
    let storage = MemoryStorage::new();
    let log = AuditLog::with_storage(storage.clone(), WriterConfig::default()).unwrap();
    for index in 1..=count {
        log.append(decision(&format!("EMP{index:03}")))
            .await
            .unwrap();
    }
    log.close().await.unwrap();
    storage.contents()
}

/// The lines of `bytes`, each with its newline.
pub(crate) fn lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes
        .split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

/// Wraps a storage: syncs can be held until released, and every append's line count is kept.
pub(crate) struct Instrumented<S> {
    inner: S,
    armed: Arc<AtomicBool>,
    entered: Sender<()>,
    release: Receiver<()>,
    appends: Arc<Mutex<Vec<usize>>>,
    dropped: Sender<()>,
}

/// The test's side of an [`Instrumented`] storage.
pub(crate) struct Controls {
    armed: Arc<AtomicBool>,
    entered: Receiver<()>,
    release: Sender<()>,
    appends: Arc<Mutex<Vec<usize>>>,
    dropped: Receiver<()>,
}

pub(crate) fn instrument<S: Storage>(inner: S) -> (Instrumented<S>, Controls) {
    let armed = Arc::new(AtomicBool::new(false));
    let appends = Arc::new(Mutex::new(Vec::new()));
    let (entered_tx, entered_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel();
    let (dropped_tx, dropped_rx) = mpsc::channel();
    let storage = Instrumented {
        inner,
        armed: Arc::clone(&armed),
        entered: entered_tx,
        release: release_rx,
        appends: Arc::clone(&appends),
        dropped: dropped_tx,
    };
    let controls = Controls {
        armed,
        entered: entered_rx,
        release: release_tx,
        appends,
        dropped: dropped_rx,
    };
    (storage, controls)
}

impl Controls {
    /// From now on, every sync waits for [`Controls::release`].
    pub(crate) fn hold_syncs(&self) {
        self.armed.store(true, Ordering::SeqCst);
    }

    /// Blocks until the writer is inside a held sync.
    pub(crate) fn wait_until_syncing(&self) {
        self.entered
            .recv_timeout(PATIENCE)
            .expect("the writer never reached sync");
    }

    /// Lets one held sync return.
    pub(crate) fn release(&self) {
        self.release.send(()).unwrap();
    }

    /// Stops holding syncs, and lets a sync that is held now return.
    pub(crate) fn stop_holding(&self) {
        self.armed.store(false, Ordering::SeqCst);
        self.release.send(()).unwrap();
    }

    /// How many lines each successful or failed append carried, in order.
    pub(crate) fn appends(&self) -> Vec<usize> {
        self.appends.lock().unwrap().clone()
    }

    /// Blocks until the writer has dropped its storage.
    pub(crate) fn wait_until_dropped(&self) {
        self.dropped
            .recv_timeout(PATIENCE)
            .expect("the writer never dropped its storage");
    }
}

impl<S: Storage> Storage for Instrumented<S> {
    fn size(&mut self) -> io::Result<u64> {
        self.inner.size()
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read_at(offset, buf)
    }

    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        let lines = bytes.iter().filter(|&&b| b == b'\n').count();
        self.appends.lock().unwrap().push(lines);
        self.inner.append(bytes)
    }

    fn sync(&mut self) -> io::Result<()> {
        if self.armed.load(Ordering::SeqCst) {
            self.entered.send(()).unwrap();
            // A test that has gone away releases every sync.
            let _ = self.release.recv();
        }
        self.inner.sync()
    }

    fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.inner.truncate(len)
    }

    fn reopen(&mut self) -> io::Result<()> {
        self.inner.reopen()
    }
}

impl<S> Drop for Instrumented<S> {
    fn drop(&mut self) {
        let _ = self.dropped.send(());
    }
}
