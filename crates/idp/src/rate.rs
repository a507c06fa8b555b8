//! Rate limiting at the token endpoint: one token bucket per key, refilled continuously, so a
//! caller may burst after being idle but cannot sustain more than its rate.
//!
//! What a request is charged to decides who can spend whose budget:
//! * a confidential client that proved its secret is charged by its id, so nobody without the
//!   secret can use up its budget;
//! * a public client (anyone can name one) is charged by its id together with the peer address;
//! * a request that authenticates no client is charged to the peer address, and an address
//!   whose budget is spent is refused before its next attempt is even checked, which slows
//!   guessing of client secrets;
//! * a password grant is also charged to its username, under a separate and much smaller
//!   budget, which slows guessing of one person's password from many clients and addresses.
//!
//! Memory is bounded: past [`MAX_TRACKED`] keys, buckets that have refilled completely (and so
//! remember nothing) are dropped; while none can be, requests under new keys are refused too.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The most keys tracked at once.
pub const MAX_TRACKED: usize = 65_536;

/// How long a full table that could not be pruned is left alone before it is scanned again, so
/// a flood of new keys does not cost a scan each.
const PRUNE_BACKOFF: Duration = Duration::from_secs(1);

/// A sustained rate and a burst size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests per second a key may sustain.
    pub per_second: NonZeroU32,
    /// Requests a key may make at once after being idle (the bucket's size).
    pub burst: NonZeroU32,
}

impl RateLimit {
    /// The default budget of each client at the token endpoint: 1,000 requests a second with
    /// bursts of 2,000. A chat application's backend exchanges tokens for all of its users
    /// under one client id, so the budget is sized for a busy application rather than for one
    /// person; it stops a runaway or compromised client from taking the whole signer.
    pub const PER_CLIENT: Self = Self {
        per_second: NonZeroU32::MIN.saturating_add(999),
        burst: NonZeroU32::MIN.saturating_add(1999),
    };

    /// The default budget of password attempts for each username: 5 a second with bursts of
    /// 10. Passwords are hashed with argon2, the one expensive step an unauthenticated caller
    /// can trigger, and guessing is per account, so this budget is per account and far lower.
    pub const PER_USER_PASSWORD: Self = Self {
        per_second: NonZeroU32::MIN.saturating_add(4),
        burst: NonZeroU32::MIN.saturating_add(9),
    };
}

/// What a request is charged to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RateKey {
    /// A confidential client that proved its secret.
    Client(String),
    /// A public client, as seen from one address.
    PublicClient(String, Option<IpAddr>),
    /// A request that authenticated no client, by its peer address (unknown when the server
    /// was not told it).
    Peer(Option<IpAddr>),
    /// Password attempts for one username, whoever makes them.
    User(String),
}

impl fmt::Display for RateKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Client(id) => write!(formatter, "client `{id}`"),
            Self::PublicClient(id, Some(address)) => {
                write!(formatter, "client `{id}` from `{address}`")
            }
            Self::PublicClient(id, None) => write!(formatter, "client `{id}`"),
            Self::Peer(Some(address)) => {
                write!(formatter, "unauthenticated callers at `{address}`")
            }
            Self::Peer(None) => formatter.write_str("unauthenticated callers"),
            Self::User(username) => write!(formatter, "username `{username}`"),
        }
    }
}

/// A refusal: the key has no request left, and when it will have one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    /// How long until one request is allowed again.
    pub retry_after: Duration,
}

impl Throttled {
    /// [`Throttled::retry_after`] in whole seconds, rounded up and at least one, as the
    /// `Retry-After` header carries it (RFC 9110 §10.2.3).
    #[must_use]
    pub fn retry_after_seconds(&self) -> u64 {
        let whole = self.retry_after.as_secs();
        let rounded = if self.retry_after.subsec_nanos() > 0 {
            whole.saturating_add(1)
        } else {
            whole
        };
        rounded.max(1)
    }
}

/// Token buckets by key, kept in the equivalent "generic cell rate" form (the time at which a
/// key's bucket will be full again), so every computation is exact integer time arithmetic.
#[derive(Debug)]
pub struct RateLimiter {
    limit: RateLimit,
    /// The time one request's token takes to refill.
    interval: Duration,
    /// How far ahead of now a key's full time may be while it still has a token left.
    tolerance: Duration,
    table: Mutex<Table>,
}

#[derive(Debug, Default)]
struct Table {
    /// The instant each key's bucket is full again; a key not listed is full.
    full_at: HashMap<RateKey, Instant>,
    /// When a full table that could not be pruned may be scanned again.
    next_prune: Option<Instant>,
}

impl RateLimiter {
    /// Buckets of `limit`.
    #[must_use]
    pub fn new(limit: RateLimit) -> Self {
        let interval = Duration::from_secs(1) / limit.per_second.get();
        Self {
            limit,
            interval,
            tolerance: interval * (limit.burst.get() - 1),
            table: Mutex::new(Table::default()),
        }
    }

    /// The limit every bucket has.
    #[must_use]
    pub const fn limit(&self) -> RateLimit {
        self.limit
    }

    /// Spends one request of `key`'s budget at `now`.
    ///
    /// # Errors
    ///
    /// [`Throttled`] when the budget is spent, or when `key` is new and the table is full.
    pub fn acquire(&self, key: &RateKey, now: Instant) -> Result<(), Throttled> {
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        let full_at = match table.full_at.get(key).copied() {
            Some(full_at) => full_at,
            None if table.make_room(now) => now,
            None => {
                return Err(Throttled {
                    retry_after: PRUNE_BACKOFF,
                });
            }
        };
        let full_at = self.admit(full_at, now)?;
        table.full_at.insert(key.clone(), full_at + self.interval);
        Ok(())
    }

    /// Whether `key` has a request left at `now`, without spending it.
    ///
    /// # Errors
    ///
    /// [`Throttled`] when the budget is spent.
    pub fn check(&self, key: &RateKey, now: Instant) -> Result<(), Throttled> {
        let table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        match table.full_at.get(key) {
            Some(full_at) => self.admit(*full_at, now).map(|_| ()),
            None => Ok(()),
        }
    }

    /// How many keys are tracked.
    #[must_use]
    pub fn tracked(&self) -> usize {
        self.table
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .full_at
            .len()
    }

    /// The bucket's full time if it holds a token at `now`: a bucket full by `now` holds all
    /// of its burst, and each request pushes the full time one interval further.
    fn admit(&self, full_at: Instant, now: Instant) -> Result<Instant, Throttled> {
        let full_at = full_at.max(now);
        let ahead = full_at.saturating_duration_since(now);
        if ahead > self.tolerance {
            return Err(Throttled {
                retry_after: ahead - self.tolerance,
            });
        }
        Ok(full_at)
    }
}

impl Table {
    /// Whether a new key fits, dropping buckets that are full again if needed.
    fn make_room(&mut self, now: Instant) -> bool {
        if self.full_at.len() < MAX_TRACKED {
            return true;
        }
        if self.next_prune.is_some_and(|next| now < next) {
            return false;
        }
        self.full_at.retain(|_, full_at| *full_at > now);
        let room = self.full_at.len() < MAX_TRACKED;
        self.next_prune = (!room).then(|| now + PRUNE_BACKOFF);
        room
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(per_second: u32, burst: u32) -> RateLimit {
        RateLimit {
            per_second: NonZeroU32::new(per_second).unwrap(),
            burst: NonZeroU32::new(burst).unwrap(),
        }
    }

    fn client(id: &str) -> RateKey {
        RateKey::Client(id.to_owned())
    }

    #[test]
    fn a_burst_is_allowed_and_the_next_request_is_throttled_until_a_token_refills() {
        let limiter = RateLimiter::new(limit(2, 3));
        let start = Instant::now();

        let burst: Vec<_> = (0..3)
            .map(|_| limiter.acquire(&client("a"), start))
            .collect();
        let over = limiter.acquire(&client("a"), start);
        let still_over = limiter.acquire(&client("a"), start + Duration::from_millis(400));
        let refilled = limiter.acquire(&client("a"), start + Duration::from_millis(500));

        assert_eq!(burst, vec![Ok(()); 3]);
        assert_eq!(
            over,
            Err(Throttled {
                retry_after: Duration::from_millis(500)
            })
        );
        assert!(still_over.is_err());
        assert_eq!(refilled, Ok(()));
    }

    #[test]
    fn keys_have_separate_budgets() {
        let limiter = RateLimiter::new(limit(1, 1));
        let now = Instant::now();

        let first = limiter.acquire(&client("a"), now);
        let other = limiter.acquire(&client("b"), now);
        let again = limiter.acquire(&client("a"), now);

        assert_eq!((first, other), (Ok(()), Ok(())));
        assert!(again.is_err());
    }

    #[test]
    fn a_long_idle_key_regains_only_its_burst() {
        let limiter = RateLimiter::new(limit(10, 2));
        let start = Instant::now();
        let later = start + Duration::from_secs(3600);

        let _ = limiter.acquire(&client("a"), start);
        let allowed = (0..5)
            .filter(|_| limiter.acquire(&client("a"), later).is_ok())
            .count();

        assert_eq!(allowed, 2);
    }

    #[test]
    fn checking_does_not_spend() {
        let limiter = RateLimiter::new(limit(1, 1));
        let now = Instant::now();
        let peer = RateKey::Peer(Some(IpAddr::from([192, 0, 2, 1])));

        let unknown = limiter.check(&peer, now);
        let spent = limiter.acquire(&peer, now);
        let checked = limiter.check(&peer, now);

        assert_eq!((unknown, spent), (Ok(()), Ok(())));
        assert_eq!(
            checked,
            Err(Throttled {
                retry_after: Duration::from_secs(1)
            })
        );
        assert_eq!(limiter.tracked(), 1);
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds_and_is_never_zero() {
        let seconds = |millis| {
            Throttled {
                retry_after: Duration::from_millis(millis),
            }
            .retry_after_seconds()
        };

        assert_eq!(
            [seconds(0), seconds(20), seconds(1000), seconds(1001)],
            [1, 1, 1, 2]
        );
    }

    #[test]
    fn a_full_table_drops_refilled_buckets_and_refuses_new_keys_while_none_can_go() {
        let limiter = RateLimiter::new(limit(1, 1));
        let start = Instant::now();
        for n in 0..MAX_TRACKED {
            limiter.acquire(&client(&n.to_string()), start).unwrap();
        }

        let refused = limiter.acquire(&client("new"), start);
        let after_refill = limiter.acquire(&client("newer"), start + Duration::from_secs(2));

        assert_eq!(
            refused,
            Err(Throttled {
                retry_after: PRUNE_BACKOFF
            })
        );
        assert_eq!(after_refill, Ok(()));
        assert_eq!(limiter.tracked(), 1);
    }

    #[test]
    fn keys_name_what_was_charged() {
        let address = Some(IpAddr::from([192, 0, 2, 7]));

        assert_eq!(client("chainlit-app").to_string(), "client `chainlit-app`");
        assert_eq!(
            RateKey::PublicClient("cli".to_owned(), address).to_string(),
            "client `cli` from `192.0.2.7`"
        );
        assert_eq!(
            RateKey::Peer(address).to_string(),
            "unauthenticated callers at `192.0.2.7`"
        );
    }
}
