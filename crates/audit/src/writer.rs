//! The writer: one thread owns the log, commits records in groups, and acknowledges each
//! record only once it is durable.
//!
//! Producers hold an [`AuditLog`], a cheap handle. [`AuditLog::append`] encodes the event on
//! the producer's side, waits for room in the bounded queue and hands the record to the
//! writer thread. The thread takes what is queued (up to a batch limit, optionally lingering
//! for more), assigns `seq` and `prev_hash`, hashes, writes the whole batch with one write,
//! calls `fdatasync` once, and only then resolves every record's [`Ack`].
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
    pub linger: Duration,
}

impl Default for WriterConfig {
    fn default() -> Self {
        Self {
            queue_capacity: 4096,
            max_batch_records: 512,
            max_batch_bytes: 1024 * 1024,
            linger: Duration::ZERO,
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
    shared: Arc<Shared>,
}

impl<S: Storage> Writer<S> {
    fn run(mut self, commands: &mpsc::Receiver<Command>) {
        let mut batch = Vec::new();
        // `recv` fails once every handle is gone and the queue is empty.
        while let Ok(first) = commands.recv() {
            let close = self.collect(first, commands, &mut batch);
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
        // A linger too long to represent waits until the batch is full.
        let deadline = Instant::now().checked_add(self.config.linger);
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
            next = Some(wait_for_more(commands, deadline)?);
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
