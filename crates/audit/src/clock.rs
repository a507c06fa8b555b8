//! Times as the audit log writes them: RFC 3339 date-times in UTC.
//!
//! Two precisions exist because they mean different things. An [`EventTime`] is the moment
//! something happened in this process and carries milliseconds (`2026-01-28T10:30:00.145Z`).
//! A [`ClaimTime`] is copied from a token's `iat`, `exp` or `auth_time` claim, which are whole
//! seconds (RFC 7519 §2, NumericDate), and is written without a fraction
//! (`2026-01-28T10:33:00Z`) so that it reads exactly like the claim it came from.
//!
//! Both are restricted to the years 0000 to 9999, the only years RFC 3339 §5.6 can write.

use std::fmt;
use std::str::FromStr;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The moment an audit event happened, in UTC with millisecond precision.
///
/// Written as `YYYY-MM-DDTHH:MM:SS.mmmZ`, always with three fraction digits, so timestamps
/// of the same log sort as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventTime {
    unix_millis: i64,
}

impl EventTime {
    /// The current time of the system clock.
    #[must_use]
    pub fn now() -> Self {
        let now = OffsetDateTime::now_utc();
        let millis = now.unix_timestamp() * 1000 + i64::from(now.millisecond());

        // A system clock outside RFC 3339's years is broken beyond repair; pin it to the
        // nearest writable instant rather than fail an audit record over it.
        Self {
            unix_millis: millis.clamp(MIN_UNIX_SECONDS * 1000, MAX_UNIX_SECONDS * 1000 + 999),
        }
    }

    /// The instant `unix_millis` milliseconds after 1970-01-01T00:00:00Z.
    ///
    /// # Errors
    ///
    /// [`TimeError::OutOfRange`] if the instant falls outside the years 0000 to 9999.
    pub fn from_unix_millis(unix_millis: i64) -> Result<Self, TimeError> {
        let seconds = unix_millis.div_euclid(1000);
        check_range(seconds).map_err(|_| TimeError::OutOfRange { value: unix_millis })?;
        Ok(Self { unix_millis })
    }

    /// Milliseconds since 1970-01-01T00:00:00Z.
    #[must_use]
    pub fn unix_millis(self) -> i64 {
        self.unix_millis
    }
}

impl fmt::Display for EventTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = *b"0000-00-00T00:00:00.000Z";
        write_date_time(&mut text, self.unix_millis.div_euclid(1000))?;
        // `rem_euclid` of a positive divisor is within 0..1000.
        put_digits(
            &mut text[20..23],
            self.unix_millis.rem_euclid(1000).unsigned_abs(),
        );
        f.write_str(ascii(&text)?)
    }
}

impl FromStr for EventTime {
    type Err = TimeError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let parsed = parse_rfc3339(text)?;
        let millis = parsed.unix_timestamp_nanos().div_euclid(1_000_000);
        let millis = i64::try_from(millis).map_err(|_| not_rfc3339(text))?;
        Self::from_unix_millis(millis)
    }
}

/// A time taken from a token claim: whole seconds, in UTC.
///
/// Written as `YYYY-MM-DDTHH:MM:SSZ`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClaimTime {
    unix_seconds: i64,
}

impl ClaimTime {
    /// The time of a NumericDate claim value (seconds since 1970-01-01T00:00:00Z).
    ///
    /// # Errors
    ///
    /// [`TimeError::OutOfRange`] if the value falls outside the years 0000 to 9999.
    pub fn from_unix(unix_seconds: i64) -> Result<Self, TimeError> {
        check_range(unix_seconds)?;
        Ok(Self { unix_seconds })
    }

    /// Seconds since 1970-01-01T00:00:00Z, as the claim held them.
    #[must_use]
    pub fn unix_seconds(self) -> i64 {
        self.unix_seconds
    }
}

impl fmt::Display for ClaimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = *b"0000-00-00T00:00:00Z";
        write_date_time(&mut text, self.unix_seconds)?;
        f.write_str(ascii(&text)?)
    }
}

impl FromStr for ClaimTime {
    type Err = TimeError;

    /// Parses any RFC 3339 date-time; a fraction of a second, which the writer never
    /// produces, is dropped.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::from_unix(parse_rfc3339(text)?.unix_timestamp())
    }
}

/// Why a time cannot be represented in the audit log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// The value lies outside the years 0000 to 9999.
    #[error("unix time `{value}` is outside the years 0000 to 9999 that RFC 3339 can write")]
    OutOfRange {
        /// The rejected value, in the unit it was given in.
        value: i64,
    },
    /// The text is not an RFC 3339 date-time.
    #[error("`{text}` is not an RFC 3339 date-time")]
    NotRfc3339 {
        /// The rejected text.
        text: String,
    },
}

serde_as_text!(EventTime);
serde_as_text!(ClaimTime);

/// Fills the `YYYY-MM-DDTHH:MM:SS` digits at the start of `text`, whose separators are in
/// place. The audit writes several times per record, so this avoids the formatting machinery.
fn write_date_time(text: &mut [u8], unix_seconds: i64) -> fmt::Result {
    // Construction checked the range (years 0000 to 9999), so neither step can fail.
    let at = OffsetDateTime::from_unix_timestamp(unix_seconds).map_err(|_| fmt::Error)?;
    let year = u64::try_from(at.year()).map_err(|_| fmt::Error)?;
    put_digits(&mut text[0..4], year);
    put_digits(&mut text[5..7], u8::from(at.month()).into());
    put_digits(&mut text[8..10], at.day().into());
    put_digits(&mut text[11..13], at.hour().into());
    put_digits(&mut text[14..16], at.minute().into());
    put_digits(&mut text[17..19], at.second().into());
    Ok(())
}

/// Writes `value` as decimal digits filling `slot`, zero-padded on the left.
fn put_digits(slot: &mut [u8], mut value: u64) {
    for digit in slot.iter_mut().rev() {
        // A remainder of 10 is a single digit.
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

fn ascii(text: &[u8]) -> Result<&str, fmt::Error> {
    std::str::from_utf8(text).map_err(|_| fmt::Error)
}

fn parse_rfc3339(text: &str) -> Result<OffsetDateTime, TimeError> {
    OffsetDateTime::parse(text, &Rfc3339).map_err(|_| not_rfc3339(text))
}

fn not_rfc3339(text: &str) -> TimeError {
    TimeError::NotRfc3339 {
        text: text.to_owned(),
    }
}

fn check_range(unix_seconds: i64) -> Result<(), TimeError> {
    if (MIN_UNIX_SECONDS..=MAX_UNIX_SECONDS).contains(&unix_seconds) {
        Ok(())
    } else {
        Err(TimeError::OutOfRange {
            value: unix_seconds,
        })
    }
}

/// 0000-01-01T00:00:00Z.
const MIN_UNIX_SECONDS: i64 = -62_167_219_200;
/// 9999-12-31T23:59:59Z.
const MAX_UNIX_SECONDS: i64 = 253_402_300_799;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claim_time_is_written_in_whole_seconds_with_a_z() {
        let time = ClaimTime::from_unix(1_706_445_960).unwrap();

        assert_eq!(time.to_string(), "2024-01-28T12:46:00Z");
    }

    #[test]
    fn event_time_always_carries_three_fraction_digits() {
        let time = EventTime::from_unix_millis(1_706_445_960_045).unwrap();

        assert_eq!(time.to_string(), "2024-01-28T12:46:00.045Z");
    }

    #[test]
    fn event_time_before_1970_rounds_towards_the_past() {
        let time = EventTime::from_unix_millis(-1).unwrap();

        assert_eq!(time.to_string(), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn range_ends_are_the_first_and_last_second_rfc3339_can_write() {
        let first = ClaimTime::from_unix(MIN_UNIX_SECONDS).unwrap();
        let last = ClaimTime::from_unix(MAX_UNIX_SECONDS).unwrap();

        assert_eq!(first.to_string(), "0000-01-01T00:00:00Z");
        assert_eq!(last.to_string(), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn rejects_a_claim_past_the_year_9999() {
        let error = ClaimTime::from_unix(MAX_UNIX_SECONDS + 1).unwrap_err();

        assert_eq!(
            error,
            TimeError::OutOfRange {
                value: MAX_UNIX_SECONDS + 1
            }
        );
    }

    #[test]
    fn parsing_normalises_an_offset_to_utc() {
        let time: EventTime = "2026-01-28T12:30:00.250+02:00".parse().unwrap();

        assert_eq!(time.to_string(), "2026-01-28T10:30:00.250Z");
    }

    #[test]
    fn rejects_text_that_is_not_rfc3339() {
        let error = "28/01/2026".parse::<ClaimTime>().unwrap_err();

        assert_eq!(
            error,
            TimeError::NotRfc3339 {
                text: "28/01/2026".to_owned()
            }
        );
    }

    #[test]
    fn now_round_trips_through_its_text() {
        let now = EventTime::now();

        assert_eq!(now.to_string().parse::<EventTime>().unwrap(), now);
    }

    #[test]
    fn times_across_the_whole_range_round_trip_through_the_rfc3339_parser() {
        // A prime stride visits every field value: leap days, month ends, every millisecond.
        let (first, last) = (MIN_UNIX_SECONDS * 1000, MAX_UNIX_SECONDS * 1000 + 999);
        let stride = (last - first) / 100_003;
        for millis in (first..=last).step_by(stride.unsigned_abs().try_into().unwrap()) {
            let time = EventTime::from_unix_millis(millis).unwrap();
            let text = time.to_string();
            assert_eq!(text.len(), 24, "{text}");
            assert_eq!(text.parse::<EventTime>().unwrap(), time, "{text}");

            let claim = ClaimTime::from_unix(millis.div_euclid(1000)).unwrap();
            assert_eq!(claim.to_string().parse::<ClaimTime>().unwrap(), claim);
        }
    }
}
