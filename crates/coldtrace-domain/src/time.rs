//! Event times: an instant plus the UTC offset it was recorded in, because a ledger line written in Urumqi and
//! one written in Shanghai must both keep their local reading and still sort on one time line.

use std::fmt;

use jiff::{Timestamp, tz::Offset};

/// The moment a movement happened, with the offset it was recorded in (RFC 3339, offset required).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventTime {
    /// The instant, for ordering and the trace engine's time rule.
    pub at: Timestamp,
    /// The recorder's UTC offset in seconds, kept so the time reads as it was written.
    pub offset_seconds: i32,
}

impl EventTime {
    /// Parses an RFC 3339 time with an explicit offset (`2026-03-01T08:30:00+08:00` or `...Z`).
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let at: Timestamp = s.parse().map_err(|e| {
            format!(
                "{s:?} is not an RFC 3339 time with offset (e.g. 2026-03-01T08:30:00+08:00): {e}"
            )
        })?;
        let offset_seconds = parse_offset(s).ok_or_else(|| format!("{s:?} has no UTC offset"))?;
        Ok(Self { at, offset_seconds })
    }

    /// Parses a local time from a ledger, which carries no offset, reading it in `default_offset_hours`.
    /// Accepts `2026-03-01 08:30`, `2026-03-01 08:30:00`, `2026/3/1 8:30`, `2026-03-01`.
    pub fn parse_local(s: &str, default_offset_hours: i8) -> Result<Self, String> {
        if let Ok(t) = Self::parse(s) {
            return Ok(t);
        }
        let norm = s.trim().replace('/', "-").replace('T', " ");
        let (date, time) = norm.split_once(' ').unwrap_or((&norm, "00:00:00"));
        let mut dparts = date.split('-');
        let (y, m, d) = (dparts.next(), dparts.next(), dparts.next());
        let num = |p: Option<&str>| p.and_then(|v| v.trim().parse::<i16>().ok());
        let (Some(y), Some(m), Some(d)) = (num(y), num(m), num(d)) else {
            return Err(format!(
                "{s:?} is not a date and time (e.g. 2026-03-01 08:30)"
            ));
        };
        let mut tparts = time.trim().split(':');
        let h = num(tparts.next()).unwrap_or(0);
        let mi = num(tparts.next()).unwrap_or(0);
        let sec = num(tparts.next()).unwrap_or(0);
        // A part too large for its field is refused, not wrapped (month 257 is not January).
        let part =
            |v: i16| i8::try_from(v).map_err(|_| format!("{s:?} is not a valid date and time"));
        let dt =
            jiff::civil::DateTime::new(y, part(m)?, part(d)?, part(h)?, part(mi)?, part(sec)?, 0)
                .map_err(|e| format!("{s:?} is not a valid date and time: {e}"))?;
        let off = Offset::constant(default_offset_hours);
        let at = off.to_timestamp(dt).map_err(|e| e.to_string())?;
        Ok(Self {
            at,
            offset_seconds: off.seconds(),
        })
    }

    pub fn from_millis(ms: i64, offset_seconds: i32) -> Self {
        Self {
            at: Timestamp::from_millisecond(ms).expect("in range"),
            offset_seconds,
        }
    }

    pub fn millis(&self) -> i64 {
        self.at.as_millisecond()
    }
}

fn parse_offset(s: &str) -> Option<i32> {
    if s.ends_with('Z') || s.ends_with('z') {
        return Some(0);
    }
    let tail = &s[s.len().checked_sub(6)?..];
    let sign = match tail.as_bytes()[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let h: i32 = tail[1..3].parse().ok()?;
    let m: i32 = tail[4..6].parse().ok()?;
    Some(sign * (h * 3600 + m * 60))
}

impl fmt::Display for EventTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let off = Offset::from_seconds(self.offset_seconds).unwrap_or(Offset::UTC);
        let dt = off.to_datetime(self.at);
        let sign = if self.offset_seconds < 0 { '-' } else { '+' };
        let a = self.offset_seconds.abs();
        write!(
            f,
            "{}{}{:02}:{:02}",
            // Fractional seconds only when there are some, so that the text reads back as the same time.
            dt.strftime("%Y-%m-%dT%H:%M:%S%.f"),
            sign,
            a / 3600,
            (a % 3600) / 60
        )
    }
}

impl serde::Serialize for EventTime {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for EventTime {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        EventTime::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for EventTime {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::SchemaType::new(
                utoipa::openapi::schema::Type::String,
            ))
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::DateTime,
            )))
            .description(Some("RFC 3339 time with an explicit UTC offset"))
            .into()
    }
}
impl utoipa::ToSchema for EventTime {}

/// The calendar day (China Standard Time, UTC+8) of an instant in milliseconds, the day by which schedules,
/// declaration days and daily records are counted. An instant out of range counts as the epoch's day.
pub fn day_at(ms: i64) -> jiff::civil::Date {
    Timestamp::from_millisecond(ms)
        .unwrap_or(Timestamp::UNIX_EPOCH)
        .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
        .date()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_offset_and_instant() {
        let t = EventTime::parse("2026-03-01T08:30:00+08:00").unwrap();
        assert_eq!(t.offset_seconds, 8 * 3600);
        assert_eq!(t.to_string(), "2026-03-01T08:30:00+08:00");
        let u = EventTime::parse("2026-03-01T00:30:00Z").unwrap();
        assert_eq!(t.at, u.at);
        assert!(EventTime::parse("2026-03-01T08:30:00").is_err());
        assert!(EventTime::parse("yesterday").is_err());
    }

    #[test]
    fn ledger_local_times() {
        let t = EventTime::parse_local("2026/3/1 8:30", 8).unwrap();
        assert_eq!(t.to_string(), "2026-03-01T08:30:00+08:00");
        let d = EventTime::parse_local("2026-03-01", 8).unwrap();
        assert_eq!(d.to_string(), "2026-03-01T00:00:00+08:00");
        assert!(EventTime::parse_local("2026-13-01", 8).is_err());
        let r = EventTime::from_millis(t.millis(), t.offset_seconds);
        assert_eq!(r, t);
    }
}
