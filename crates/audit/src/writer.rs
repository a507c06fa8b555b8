//! The writer: one thread owns the log, commits records in groups, and acknowledges each
//! record only once it is durable.
//!
//! Producers hold an [`AuditLog`], a cheap handle. [`AuditLog::append`] encodes the event on
//! the producer's side, waits for room in the bounded queue and hands the record to the
//! writer thread. The thread takes what is queued (up to a batch limit, optionally lingering
//! for more), assigns `seq` and `prev_hash`, hashes, writes the whole batch with one write,
//! calls `fdatasync` once, and only then resolves every record's [`Ack`].
//!
//! A sync costs the machine far more than the records it carries: on a virtual disk, tens of
//! microseconds of CPU for the device notifications and wake-ups, whatever its size. Records
//! that arrive during a sync share the next one. When records arrive steadily but too slowly
//! for that to gather many (producers that spend long on each, as when every token is new and
//! its signature must be checked), the writer waits briefly for a few more before it syncs
//! ([`Gather`]): at such rates the wait is short, and the CPU it saves goes to the producers.
//!
//! When a write or sync fails, every record of the batch gets the error, the log is cut back
//! to its last durable length, the chain does not advance and [`AuditLog::healthy`] turns
//! false. The next batch reopens the storage first; once a batch succeeds the log is healthy
//! again. Nothing is dropped silently: a record is either durable and acknowledged with its
//! [`Receipt`], or its producer gets an [`AuditError`].

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, TryRecvError};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use std::{io, thread};

use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError, oneshot};

use crate::chain::{self, Digest, EncodedEvent, Head};
use crate::error::{AuditError, OpenError, StorageOp};
use crate::event::{AuditEvent, TornLine};
use crate::recovery::{self, Resumed};
use crate::storage::{FileStorage, Storage};

/// How the writer queues and groups records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterConfig {
    /// How many records may wait for the writer (at least 1); `append` waits for room
    /// beyond that and `try_append` fails.
    pub queue_capacity: usize,
    /// The most records one batch (one write, one sync) holds; 0 counts as 1.
    pub max_batch_records: usize,
    /// The most bytes of encoded events one batch holds; a single larger record still
    /// goes out, alone.
    pub max_batch_bytes: usize,
    /// How long the writer waits for more records after the first of a batch, when fewer
    /// than a full batch are queued. Zero commits what is queued at once; records that arrive
    /// during a sync still share the next batch, which is where most grouping comes from.
    /// A non-zero linger applies to every batch, whatever the rate, in place of
    /// [`gather`](Self::gather).
    pub linger: Duration,
    /// Waiting for a fuller batch only when records arrive fast enough to fill it soon;
    /// `None` never waits. See [`Gather`].
    pub gather: Option<Gather>,
}

/// When the writer waits for more records before a sync.
///
/// The writer keeps an estimate of how many records arrive a second, decayed over
/// [`Gather::RATE_WINDOW`]. When it has fewer than [`target_records`](Self::target_records)
/// at hand and nothing more is queued, it sleeps once until the missing records are
/// expected, for at most [`max_wait`](Self::max_wait) after it took the first, then commits
/// what has come. It waits only when at least one more record is expected within
/// `max_wait`: at low rates a record is committed at once, and no record ever waits more than
/// `max_wait` for others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gather {
    /// The batch size worth waiting for; a batch this large is committed at once.
    pub target_records: usize,
    /// The longest the writer waits, from the first record of a batch.
    pub max_wait: Duration,
}

impl Gather {
    /// How far back the arrival rate looks: an arrival's weight falls by a factor e with each
    /// window that passes.
    pub const RATE_WINDOW: Duration = Duration::from_millis(20);
}

impl Default for Gather {
    /// Eight records (a sync's cost shared eight ways), waiting at most 400 µs: below what one
    /// sync takes on a virtual disk, and well inside the latency a caller notices.
    fn default() -> Self {
        Self {
            target_records: 8,
            max_wait: Duration::from_micros(400),
        }
    }
}

impl Default for WriterConfig {
    fn default() -> Self {
        Self {
            queue_capacity: 4096,
            max_batch_records: 512,
            max_batch_bytes: 1024 * 1024,
            linger: Duration::ZERO,
            gather: Some(Gather::default()),
        }
    }
}

/// Proof that a record is durable: where it sits in the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Receipt {
    /// The record's `seq`.
    pub seq: u64,
    /// The record's `hash`.
    pub hash: Digest,
}

/// A handle to the audit log; clone it freely.
///
/// One thread owns the log. [`append`](AuditLog::append) encodes the event on the caller's
/// side and queues it; the thread takes what is queued (up to
/// [`WriterConfig::max_batch_records`] and [`WriterConfig::max_batch_bytes`], lingering up
/// to [`WriterConfig::linger`] for more), assigns `seq` and `prev_hash`, writes the batch
/// with one write, calls `fdatasync` once, and only then resolves each record's [`Ack`]
/// with its [`Receipt`].
///
/// When a write or sync fails, every record of the batch gets the error, the file is cut
/// back to its last durable length (no partial line stays in the chain), the chain does not
/// advance, and [`healthy`](AuditLog::healthy) turns false. The next batch reopens the
/// storage first and tries again; once one succeeds the log is healthy again, without a
/// restart. Nothing is dropped silently: each record is either durable and acknowledged, or
/// its producer gets an [`AuditError`].
///
/// The writer thread ends when [`close`](AuditLog::close) is called or when the last handle
/// is dropped; either way it first writes and syncs everything already queued.
#[derive(Debug, Clone)]
pub struct AuditLog {
    queue: mpsc::Sender<Command>,
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    healthy: AtomicBool,
    /// One permit per free queue slot; closed by `close`.
    slots: Arc<Semaphore>,
    recovered: Option<TornLine>,
    closed_head: OnceLock<Head>,
}

impl AuditLog {
    /// Opens the log file at `path` and starts its writer.
    ///
    /// This blocks while it resumes the chain (reading the end of the file and, after a
    /// crash, recording a torn final line): call it at startup, before serving.
    ///
    /// # Errors
    ///
    /// [`OpenError`] if the file cannot be opened, locked or read, or does not end in intact
    /// records.
    pub fn open(
        path: impl Into<std::path::PathBuf>,
        config: WriterConfig,
    ) -> Result<Self, OpenError> {
        Self::with_storage(FileStorage::open(path)?, config)
    }

    /// Starts a writer on any storage, blocking while it resumes the chain as
    /// [`open`](AuditLog::open) does. [`MemoryStorage`](crate::MemoryStorage) makes a log
    /// for tests whose failures can be switched on.
    ///
    /// # Errors
    ///
    /// As [`open`](AuditLog::open).
    pub fn with_storage<S>(mut storage: S, config: WriterConfig) -> Result<Self, OpenError>
    where
        S: Storage + Send + 'static,
    {
        let Resumed { head, len, torn } = recovery::resume(&mut storage)?;
        let (queue, commands) = mpsc::channel();
        let shared = Arc::new(Shared {
            healthy: AtomicBool::new(true),
            slots: Arc::new(Semaphore::new(
                config.queue_capacity.clamp(1, Semaphore::MAX_PERMITS),
            )),
            recovered: torn,
            closed_head: OnceLock::new(),
        });

        let writer = Writer {
            storage,
            config,
            head,
            durable_len: len,
            needs_repair: false,
            arrivals: ArrivalRate::new(Instant::now()),
            shared: Arc::clone(&shared),
        };
        thread::Builder::new()
            .name("scopegate-audit".to_owned())
            .spawn(move || writer.run(&commands))
            .map_err(OpenError::Spawn)?;
        Ok(Self { queue, shared })
    }

    /// Queues `event` and resolves once it is durable, waiting for room if the queue is full.
    ///
    /// Dropping the future after the record was queued does not withdraw it: it is still
    /// written, only nobody hears about it.
    ///
    /// # Errors
    ///
    /// [`AuditError`]; on any error the record may not be in the log.
    pub async fn append(&self, event: AuditEvent) -> Result<Receipt, AuditError> {
        let encoded = encode(&event)?;
        let slot = Arc::clone(&self.shared.slots).acquire_owned().await;
        let slot = slot.map_err(|_| AuditError::Closed)?;
        self.enqueue(encoded, slot)?.await
    }

    /// Queues `event` without waiting for room, and returns the future of its acknowledgement.
    ///
    /// # Errors
    ///
    /// [`AuditError::QueueFull`] at once if the queue is full; the other [`AuditError`]s
    /// either now or from the returned [`Ack`].
    pub fn try_append(&self, event: AuditEvent) -> Result<Ack, AuditError> {
        let encoded = encode(&event)?;
        let slot = match Arc::clone(&self.shared.slots).try_acquire_owned() {
            Ok(slot) => slot,
            Err(TryAcquireError::NoPermits) => return Err(AuditError::QueueFull),
            Err(TryAcquireError::Closed) => return Err(AuditError::Closed),
        };
        self.enqueue(encoded, slot)
    }

    /// Whether the log can take records: readiness checks report this.
    ///
    /// It turns false when a write, sync or reopen fails, true again after the next batch
    /// succeeds, and false for good once the writer has stopped.
    #[must_use]
    pub fn healthy(&self) -> bool {
        self.shared.healthy.load(Ordering::Acquire)
    }

    /// The torn final line found and recorded at startup, if there was one.
    #[must_use]
    pub fn recovered_torn_line(&self) -> Option<TornLine> {
        self.shared.recovered
    }

    /// Stops accepting records, writes and syncs everything queued, stops the writer and
    /// returns the chain's final head.
    ///
    /// Records appended concurrently with or after the call fail with
    /// [`AuditError::Closed`]. Calling it again returns the same head.
    ///
    /// # Errors
    ///
    /// [`AuditError::Closed`] if the writer had already stopped without a head to report.
    pub async fn close(&self) -> Result<Head, AuditError> {
        self.shared.slots.close();
        if let Some(head) = self.shared.closed_head.get() {
            return Ok(*head);
        }
        let (reply, head) = oneshot::channel();
        let sent = self.queue.send(Command::Close(reply)).is_ok();
        let head = if sent { head.await.ok() } else { None };
        // A writer that stopped for another close has left its head behind.
        head.or_else(|| self.shared.closed_head.get().copied())
            .ok_or(AuditError::Closed)
    }

    fn enqueue(&self, event: EncodedEvent, slot: OwnedSemaphorePermit) -> Result<Ack, AuditError> {
        let (ack, receiver) = oneshot::channel();
        let record = Queued { event, ack, slot };
        self.queue
            .send(Command::Append(record))
            .map_err(|_| AuditError::Closed)?;
        Ok(Ack { receiver })
    }
}

/// Resolves when a record is durable, with its [`Receipt`], or with why it is not.
#[derive(Debug)]
#[must_use = "the record is written either way; the Ack says whether it became durable"]
pub struct Ack {
    receiver: oneshot::Receiver<Result<Receipt, AuditError>>,
}

impl Future for Ack {
    type Output = Result<Receipt, AuditError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // A dropped sender means the writer stopped before reaching the record.
        Pin::new(&mut self.receiver)
            .poll(cx)
            .map(|reply| reply.unwrap_or(Err(AuditError::Closed)))
    }
}

fn encode(event: &AuditEvent) -> Result<EncodedEvent, AuditError> {
    if event.event_type.is_reserved() {
        return Err(AuditError::Reserved {
            event_type: event.event_type,
        });
    }
    let encoded = EncodedEvent::new(event).map_err(|error| AuditError::Encode(Arc::new(error)))?;
    let line_len = encoded.members().len() + SEAL_OVERHEAD;
    if line_len > crate::MAX_LINE_BYTES {
        return Err(AuditError::TooLarge {
            bytes: line_len,
            limit: crate::MAX_LINE_BYTES,
        });
    }
    Ok(encoded)
}

#[derive(Debug)]
enum Command {
    Append(Queued),
    Close(oneshot::Sender<Head>),
}

#[derive(Debug)]
struct Queued {
    event: EncodedEvent,
    ack: oneshot::Sender<Result<Receipt, AuditError>>,
    /// Frees the queue slot when the writer takes the record.
    slot: OwnedSemaphorePermit,
}

/// A record the writer has taken off the queue.
struct Pending {
    event: EncodedEvent,
    ack: oneshot::Sender<Result<Receipt, AuditError>>,
}

/// The state the writer thread owns.
struct Writer<S> {
    storage: S,
    config: WriterConfig,
    /// The last durable record.
    head: Head,
    /// The log's length up to and including `head`.
    durable_len: u64,
    /// A write or sync failed; reopen and cut back before writing again.
    needs_repair: bool,
    /// How fast records have been arriving, for [`Gather`].
    arrivals: ArrivalRate,
    shared: Arc<Shared>,
}

impl<S: Storage> Writer<S> {
    fn run(mut self, commands: &mpsc::Receiver<Command>) {
        let mut batch = Vec::new();
        // `recv` fails once every handle is gone and the queue is empty.
        while let Ok(first) = commands.recv() {
            let close = self.collect(first, commands, &mut batch);
            self.arrivals.count(batch.len(), Instant::now());
            self.commit(&mut batch);
            if let Some(reply) = close {
                let head = self.head;
                let _ = self.shared.closed_head.set(head);
                drop(self);
                // The caller may have stopped waiting; the head is kept for it either way.
                let _ = reply.send(head);
                return;
            }
        }
    }

    /// Fills `batch`, starting with `first`; returns a close request if one arrived.
    fn collect(
        &self,
        first: Command,
        commands: &mpsc::Receiver<Command>,
        batch: &mut Vec<Pending>,
    ) -> Option<oneshot::Sender<Head>> {
        let started = Instant::now();
        // A linger too long to represent waits until the batch is full.
        let deadline = started.checked_add(self.config.linger);
        let mut napped = false;
        let mut bytes = 0;
        let mut next = Some(first);
        loop {
            match next.take() {
                Some(Command::Append(Queued { event, ack, slot })) => {
                    drop(slot);
                    bytes += event.members().len();
                    batch.push(Pending { event, ack });
                }
                Some(Command::Close(reply)) => return Some(reply),
                None => {}
            }
            let full = batch.len() >= self.config.max_batch_records
                || bytes >= self.config.max_batch_bytes;
            if full {
                return None;
            }
            if !self.config.linger.is_zero() {
                next = Some(wait_for_more(commands, deadline)?);
                continue;
            }
            match commands.try_recv() {
                Ok(command) => next = Some(command),
                Err(TryRecvError::Disconnected) => return None,
                // One nap per batch: what arrived during it is taken, then the batch goes.
                Err(TryRecvError::Empty) if napped => return None,
                Err(TryRecvError::Empty) => {
                    let gather = self.config.gather?;
                    let per_second = self.arrivals.per_second();
                    let pause = nap(gather, per_second, batch.len(), started.elapsed())?;
                    // Nothing unparks the writer: producers do not wake it during the nap,
                    // which costs one timer instead of a wake-up per record.
                    thread::park_timeout(pause);
                    napped = true;
                }
            }
        }
    }

    /// Writes and syncs `batch`, then resolves every record's acknowledgement.
    fn commit(&mut self, batch: &mut Vec<Pending>) {
        if batch.is_empty() {
            return;
        }
        let outcome = self.repair().and_then(|()| self.write(batch));
        self.shared
            .healthy
            .store(outcome.is_ok(), Ordering::Release);
        match outcome {
            Ok(receipts) => {
                for (record, receipt) in batch.drain(..).zip(receipts) {
                    let _ = record.ack.send(Ok(receipt));
                }
            }
            Err(error) => {
                for record in batch.drain(..) {
                    let _ = record.ack.send(Err(error.clone()));
                }
            }
        }
    }

    /// Chains, writes and syncs the batch; on failure cuts the log back and keeps the head.
    fn write(&mut self, batch: &[Pending]) -> Result<Vec<Receipt>, AuditError> {
        let capacity = batch
            .iter()
            .map(|record| record.event.members().len() + SEAL_OVERHEAD);
        let mut bytes = Vec::with_capacity(capacity.sum());
        let mut head = self.head;
        let mut receipts = Vec::with_capacity(batch.len());
        for record in batch {
            // A u64 `seq` outlasts any log: a billion records a second take 584 years.
            head.seq += 1;
            head.hash = chain::seal(&mut bytes, head.seq, record.event.members(), &head.hash);
            receipts.push(Receipt {
                seq: head.seq,
                hash: head.hash,
            });
        }

        let written = self
            .storage
            .append(&bytes)
            .map_err(storage_error(StorageOp::Write));
        let synced =
            written.and_then(|()| self.storage.sync().map_err(storage_error(StorageOp::Sync)));
        if let Err(error) = synced {
            self.roll_back();
            return Err(error);
        }
        self.head = head;
        self.durable_len += bytes.len() as u64;
        Ok(receipts)
    }

    /// Cuts a failed batch off the log, so no partial line stays in the chain.
    fn roll_back(&mut self) {
        self.needs_repair = true;
        // If this fails too, `repair` cuts back after reopening.
        let _ = self.storage.truncate(self.durable_len);
    }

    /// After a failure: reopens the storage and cuts it back to the durable length.
    fn repair(&mut self) -> Result<(), AuditError> {
        if !self.needs_repair {
            return Ok(());
        }
        self.storage
            .reopen()
            .map_err(storage_error(StorageOp::Reopen))?;
        let size = self
            .storage
            .size()
            .map_err(storage_error(StorageOp::Size))?;
        if size < self.durable_len {
            return Err(AuditError::Shrank {
                expected: self.durable_len,
                found: size,
            });
        }
        if size > self.durable_len {
            self.storage
                .truncate(self.durable_len)
                .map_err(storage_error(StorageOp::Truncate))?;
        }
        self.needs_repair = false;
        Ok(())
    }
}

impl<S> Drop for Writer<S> {
    /// A writer that has stopped, by `close`, by the last handle going away or by a bug,
    /// cannot write: readiness must say so.
    fn drop(&mut self) {
        self.shared.healthy.store(false, Ordering::Release);
    }
}

/// How long [`Gather`] waits with `held` records at hand since `waited`, at `per_second`;
/// `None`: commit now.
fn nap(gather: Gather, per_second: f64, held: usize, waited: Duration) -> Option<Duration> {
    let missing = gather.target_records.checked_sub(held).filter(|&n| n > 0)?;
    let left = gather
        .max_wait
        .checked_sub(waited)
        .filter(|left| !left.is_zero())?;
    // Worth waiting only if at least one more record is expected within `max_wait`.
    let expected_in_wait = per_second * gather.max_wait.as_secs_f64();
    if expected_in_wait.is_nan() || expected_in_wait < 1.0 {
        return None;
    }
    let expected = Duration::try_from_secs_f64(missing as f64 / per_second).ok()?;
    Some(expected.min(left))
}

/// Records arriving per second, an average that forgets over [`Gather::RATE_WINDOW`].
#[derive(Debug)]
struct ArrivalRate {
    per_second: f64,
    last: Instant,
}

impl ArrivalRate {
    fn new(now: Instant) -> Self {
        Self {
            per_second: 0.0,
            last: now,
        }
    }

    fn per_second(&self) -> f64 {
        self.per_second
    }

    /// Counts `records` taken at `now`.
    fn count(&mut self, records: usize, now: Instant) {
        let window = Gather::RATE_WINDOW.as_secs_f64();
        let gap = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        // An exponentially weighted average over irregular gaps: the old rate fades by
        // e^(-gap/window), and the `records` seen over `gap` fill the weight it lost. As the
        // gap shrinks to nothing, that weight over the gap tends to 1/window.
        let kept = (-gap / window).exp();
        let weight_per_second = if gap > 0.0 {
            (1.0 - kept) / gap
        } else {
            1.0 / window
        };
        self.per_second = self.per_second * kept + records as f64 * weight_per_second;
    }
}

/// The next command, if one is queued or arrives before `deadline` (`None`: no deadline).
fn wait_for_more(commands: &mpsc::Receiver<Command>, deadline: Option<Instant>) -> Option<Command> {
    match commands.try_recv() {
        Ok(command) => return Some(command),
        Err(TryRecvError::Disconnected) => return None,
        Err(TryRecvError::Empty) => {}
    }
    let Some(deadline) = deadline else {
        return commands.recv().ok();
    };
    let remaining = deadline.saturating_duration_since(Instant::now());
    if remaining.is_zero() {
        return None;
    }
    // Both a timeout and a disconnection end the batch.
    commands.recv_timeout(remaining).ok()
}

fn storage_error(operation: StorageOp) -> impl Fn(io::Error) -> AuditError {
    move |source| AuditError::Storage {
        operation,
        source: Arc::new(source),
    }
}

/// What sealing adds to an event's members: `{"seq":<20 digits>,` and
/// `,"prev_hash":"<64>","hash":"<64>"}` and the newline.
const SEAL_OVERHEAD: usize = 7 + 20 + 1 + 14 + 64 + 1 + chain::SEALED_TAIL_LEN + 1;

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULT: Gather = Gather {
        target_records: 8,
        max_wait: Duration::from_micros(400),
    };

    #[test]
    fn the_default_is_the_documented_one() {
        assert_eq!(Gather::default(), DEFAULT);
    }

    #[test]
    fn a_nap_lasts_until_the_missing_records_are_expected_within_the_cap() {
        // 20,000 a second with two at hand: six more in 300 µs.
        let expected = nap(DEFAULT, 20_000.0, 2, Duration::ZERO);
        assert_eq!(expected, Some(Duration::from_micros(300)));
        // 8,000 a second: six more would take 750 µs; the cap is what is left of 400 µs.
        let capped = nap(DEFAULT, 8_000.0, 2, Duration::from_micros(100));
        assert_eq!(capped, Some(Duration::from_micros(300)));
    }

    #[test]
    fn no_nap_at_low_rates_with_a_full_batch_or_once_the_cap_is_spent() {
        // Fewer than one record expected within 400 µs: below 2,500 a second.
        assert_eq!(nap(DEFAULT, 2_000.0, 1, Duration::ZERO), None);
        assert_eq!(nap(DEFAULT, 0.0, 1, Duration::ZERO), None);
        assert_eq!(nap(DEFAULT, f64::NAN, 1, Duration::ZERO), None);
        assert_eq!(nap(DEFAULT, 50_000.0, 8, Duration::ZERO), None);
        assert_eq!(nap(DEFAULT, 50_000.0, 2, Duration::from_micros(400)), None);
        assert_eq!(nap(DEFAULT, 50_000.0, 2, Duration::from_secs(1)), None);
    }

    #[test]
    fn the_arrival_rate_follows_a_steady_stream_and_forgets_an_old_one() {
        let start = Instant::now();
        let mut rate = ArrivalRate::new(start);
        // Four records every 400 µs, for ten windows: 10,000 a second.
        let step = Duration::from_micros(400);
        let mut now = start;
        for _ in 0..500 {
            now += step;
            rate.count(4, now);
        }
        let steady = rate.per_second();
        assert!((9_900.0..10_100.0).contains(&steady), "{steady}");

        // One record after a second of silence: the stream is forgotten.
        rate.count(1, now + Duration::from_secs(1));
        assert!(rate.per_second() < 2.0, "{}", rate.per_second());
    }

    #[test]
    fn records_taken_at_the_same_instant_weigh_as_over_a_window() {
        let start = Instant::now();
        let mut rate = ArrivalRate::new(start);
        rate.count(20, start);
        assert!(
            (rate.per_second() - 1_000.0).abs() < 1e-6,
            "{}",
            rate.per_second()
        );
    }
}
