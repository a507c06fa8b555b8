//! Time as tokens see it: [`NumericDate`] (whole Unix seconds, RFC 7519 §2) and the [`Clock`]
//! the verifier, the key store and the issuer read it from.
//!
//! Production code uses [`SystemClock`]; tests and the development IdP's clock offset use
//! [`ManualClock`], which only moves when told to.

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A point in time as whole seconds since 1970-01-01T00:00:00Z, ignoring leap seconds
/// (RFC 7519 §2 "NumericDate").
///
/// The range is 1970-01-01T00:00:00Z ..= 9999-12-31T23:59:59Z, so every value has an
/// RFC 3339 form; arithmetic saturates at both ends. `Display` prints RFC 3339 UTC,
/// for example `2026-01-28T10:33:00Z`; serialisation writes the integer.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NumericDate(i64);

impl NumericDate {
    /// The Unix epoch, 1970-01-01T00:00:00Z.
    pub const EPOCH: Self = Self(0);

    /// The last representable second, 9999-12-31T23:59:59Z.
    pub const MAX: Self = Self(253_402_300_799);

    /// Makes a date from Unix seconds, or `None` outside `EPOCH ..= MAX`.
    #[must_use]
    pub const fn from_unix_seconds(seconds: i64) -> Option<Self> {
        if seconds < Self::EPOCH.0 || seconds > Self::MAX.0 {
            return None;
        }
        Some(Self(seconds))
    }

    /// The Unix seconds of this date.
    #[must_use]
    pub const fn as_unix_seconds(self) -> i64 {
        self.0
    }

    /// This date moved `duration` later, stopping at [`NumericDate::MAX`].
    #[must_use]
    pub fn saturating_add(self, duration: Duration) -> Self {
        let seconds = i64::try_from(duration.as_secs()).unwrap_or(i64::MAX);
        Self(self.0.saturating_add(seconds).min(Self::MAX.0))
    }

    /// This date moved `duration` earlier, stopping at [`NumericDate::EPOCH`].
    #[must_use]
    pub fn saturating_sub(self, duration: Duration) -> Self {
        let seconds = i64::try_from(duration.as_secs()).unwrap_or(i64::MAX);
        Self(self.0.saturating_sub(seconds).max(Self::EPOCH.0))
    }

    /// Signed seconds from `earlier` to `self` (negative when `earlier` is in fact later).
    #[must_use]
    pub const fn seconds_since(self, earlier: Self) -> i64 {
        // Both values lie in 0..=MAX, so the difference cannot overflow.
        self.0 - earlier.0
    }

    /// This date as a `time` value in UTC.
    #[must_use]
    pub fn to_offset_date_time(self) -> OffsetDateTime {
        // The range check in every constructor keeps the value inside what `time` accepts.
        OffsetDateTime::from_unix_timestamp(self.0).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

impl fmt::Display for NumericDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_offset_date_time().format(&Rfc3339) {
            Ok(text) => f.write_str(&text),
            Err(_) => write!(f, "@{}", self.0),
        }
    }
}

impl fmt::Debug for NumericDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NumericDate({} = {self})", self.0)
    }
}

impl Serialize for NumericDate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(self.0)
    }
}

/// Reads an integer in the representable range; for configuration and metadata files (claims
/// are read by the strict claim parser instead).
impl<'de> Deserialize<'de> for NumericDate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let seconds = i64::deserialize(deserializer)?;
        Self::from_unix_seconds(seconds).ok_or_else(|| {
            serde::de::Error::custom(format_args!("date {seconds} is outside 1970..=9999"))
        })
    }
}

/// A source of the current time, shared by the verifier, the key store and the issuer.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> NumericDate;
}

/// The operating system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> NumericDate {
        // A clock set before 1970 reads as the epoch; one past year 9999 as the maximum.
        let seconds = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| {
                i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
            });
        NumericDate(seconds.min(NumericDate::MAX.0))
    }
}

/// A clock that stands still until [`ManualClock::set`] or [`ManualClock::advance`] moves it.
///
/// For tests, and for a development IdP that simulates stale logins.
#[derive(Debug)]
pub struct ManualClock {
    seconds: AtomicI64,
}

impl ManualClock {
    /// A clock reading `start`.
    #[must_use]
    pub const fn new(start: NumericDate) -> Self {
        Self {
            seconds: AtomicI64::new(start.0),
        }
    }

    /// Moves the clock to `to` (backwards too).
    pub fn set(&self, to: NumericDate) {
        self.seconds.store(to.0, Ordering::SeqCst);
    }

    /// Moves the clock `by` later, stopping at [`NumericDate::MAX`].
    pub fn advance(&self, by: Duration) {
        let next = self.now().saturating_add(by);
        self.seconds.store(next.0, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> NumericDate {
        NumericDate(self.seconds.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_as_rfc3339_utc() {
        let date = NumericDate::from_unix_seconds(1_769_596_380).unwrap();

        assert_eq!(date.to_string(), "2026-01-28T10:33:00Z");
    }

    #[test]
    fn refuses_dates_outside_the_representable_range() {
        assert_eq!(NumericDate::from_unix_seconds(-1), None);
        assert_eq!(NumericDate::from_unix_seconds(253_402_300_800), None);
        assert_eq!(NumericDate::MAX.to_string(), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn arithmetic_saturates_at_both_ends() {
        let near_end = NumericDate::MAX.saturating_sub(Duration::from_secs(1));

        assert_eq!(
            near_end.saturating_add(Duration::from_secs(10)),
            NumericDate::MAX
        );
        assert_eq!(
            NumericDate::EPOCH.saturating_sub(Duration::from_secs(10)),
            NumericDate::EPOCH
        );
        assert_eq!(NumericDate::MAX.seconds_since(near_end), 1);
        assert_eq!(near_end.seconds_since(NumericDate::MAX), -1);
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let start = NumericDate::from_unix_seconds(1_000).unwrap();
        let clock = ManualClock::new(start);

        clock.advance(Duration::from_secs(30));
        let advanced = clock.now();
        clock.set(start);

        assert_eq!(advanced.as_unix_seconds(), 1_030);
        assert_eq!(clock.now(), start);
    }

    #[test]
    fn system_clock_reads_a_recent_time() {
        let after_2025 = NumericDate::from_unix_seconds(1_735_689_600).unwrap();

        assert!(SystemClock.now() > after_2025);
    }

    #[test]
    fn serialises_as_an_integer() {
        let date = NumericDate::from_unix_seconds(1_706_445_600).unwrap();

        assert_eq!(serde_json::to_string(&date).unwrap(), "1706445600");
    }
}
