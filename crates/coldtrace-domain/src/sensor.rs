//! Temperature records of cold stores, reefers and sensors (温度记录), and the excursions (温度超标) they show.
//!
//! A reading is about one subject of the enterprise that sends it: a lot it holds (by any trace code), a
//! container (by its number), or a place (a storage location as its movements name it; the premises when none).
//! An excursion is a run of readings above the limit of the goods' category that lasts longer than the allowed
//! minutes: from the first reading above the limit to the first one back within it (or the last above).

use crate::error::{ValidationErrors, path};
use crate::id::ContainerNo;

/// At most this many readings in one feed.
pub const MAX_READINGS: usize = 100_000;

/// What a reading is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Subject {
    /// A lot: the batch a trace code names, at the sender.
    Code(String),
    /// A reefer or dry container by its ISO 6346 number.
    Container(String),
    /// A storage location of the sender ("" for its premises as a whole).
    Place(String),
}

impl Subject {
    /// The stored form: `code:{key}`, `container:{no}`, `place:{location}`.
    pub fn key(&self) -> String {
        match self {
            Self::Code(k) => format!("code:{k}"),
            Self::Container(c) => format!("container:{c}"),
            Self::Place(p) => format!("place:{p}"),
        }
    }
}

/// One reading, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub subject: Subject,
    pub device: String,
    pub at_ms: i64,
    pub celsius: f64,
}

/// A reading as sent.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadingDraft {
    /// The sensor or logger (a device id, a reefer's controller); readings of one device form its series.
    pub device: Option<String>,
    /// RFC 3339 with an offset.
    pub at: Option<String>,
    /// Degrees Celsius.
    pub temperature_c: Option<f64>,
    /// What the reading is about: one of a lot's trace code, a container number, or a storage location (none of
    /// them: the premises).
    pub trace_code: Option<String>,
    pub container_no: Option<String>,
    pub location: Option<String>,
}

impl ReadingDraft {
    /// Validates; every error with its path under `at`.
    pub fn parse(&self, at: &str) -> Result<Reading, ValidationErrors> {
        let mut e = ValidationErrors::default();
        let f = |n: &str| path(at, n);
        let device = self.device.as_deref().map(str::trim).unwrap_or("");
        if device.is_empty() || device.chars().count() > 64 {
            e.push(f("device"), "is required, at most 64 characters");
        }
        let at_ms = match self.at.as_deref().map(crate::time::EventTime::parse) {
            Some(Ok(t)) => Some(t.millis()),
            Some(Err(r)) => {
                e.push(f("at"), r);
                None
            }
            None => {
                e.push(f("at"), "is required");
                None
            }
        };
        let celsius = match self.temperature_c {
            Some(c) if c.is_finite() && (-100.0..=100.0).contains(&c) => Some(c),
            Some(c) => {
                e.push(
                    f("temperature_c"),
                    format!("{c} °C is not a temperature a cold chain records"),
                );
                None
            }
            None => {
                e.push(f("temperature_c"), "is required");
                None
            }
        };
        let given = [
            self.trace_code.is_some(),
            self.container_no.is_some(),
            self.location.is_some(),
        ]
        .iter()
        .filter(|x| **x)
        .count();
        if given > 1 {
            e.push(
                f("trace_code"),
                "give at most one of trace_code, container_no, location",
            );
        }
        let subject = if let Some(c) = &self.trace_code {
            match crate::TraceCode::parse(c, None) {
                Ok(c) => Some(Subject::Code(c.key)),
                Err(r) => {
                    e.push(f("trace_code"), r);
                    None
                }
            }
        } else if let Some(c) = &self.container_no {
            match ContainerNo::parse(c) {
                Ok(c) => Some(Subject::Container(c.as_str().to_string())),
                Err(r) => {
                    e.push(f("container_no"), r.to_string());
                    None
                }
            }
        } else {
            let l = self.location.as_deref().map(str::trim).unwrap_or("");
            if l.chars().count() > 200 {
                e.push(f("location"), "is longer than 200 characters");
            }
            Some(Subject::Place(l.to_string()))
        };
        if !e.is_empty() {
            return Err(e);
        }
        Ok(Reading {
            subject: subject.expect("checked"),
            device: device.to_string(),
            at_ms: at_ms.expect("checked"),
            celsius: celsius.expect("checked"),
        })
    }
}

/// A run of readings above the limit.
#[derive(Debug, Clone, PartialEq)]
pub struct Excursion {
    pub from_ms: i64,
    pub to_ms: i64,
    /// The warmest reading.
    pub max_c: f64,
    pub readings: usize,
}

impl Excursion {
    pub fn minutes(&self) -> i64 {
        (self.to_ms - self.from_ms) / 60_000
    }

    /// What the finding about this excursion says: when (UTC+8), how warm, for how long, against which limit,
    /// and what measured it.
    pub fn message(
        &self,
        subject: &Subject,
        device: &str,
        limit_c: i32,
        allowed_minutes: u32,
    ) -> String {
        let at = |ms: i64| crate::time::EventTime::from_millis(ms, 8 * 3600).to_string();
        format!(
            "{} to {}: up to {:.1} °C for {} minutes, above the limit of {limit_c} °C for more than \
             {allowed_minutes} minutes ({}, device {device})",
            at(self.from_ms),
            at(self.to_ms),
            self.max_c,
            self.minutes(),
            match subject {
                Subject::Code(_) => "the lot's own sensor".to_string(),
                Subject::Container(n) => format!("container {n}"),
                Subject::Place(p) if p.is_empty() => "the premises".to_string(),
                Subject::Place(p) => format!("storage location {p}"),
            }
        )
    }
}

/// The excursions of one device's readings (in any order): runs above `limit_c` lasting more than `minutes`.
pub fn excursions(readings: &[(i64, f64)], limit_c: f64, minutes: u32) -> Vec<Excursion> {
    let mut r: Vec<(i64, f64)> = readings.to_vec();
    r.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let mut out = Vec::new();
    let mut run: Option<Excursion> = None;
    for (at, c) in r {
        if c > limit_c {
            let x = run.get_or_insert(Excursion {
                from_ms: at,
                to_ms: at,
                max_c: c,
                readings: 0,
            });
            x.to_ms = at;
            x.max_c = x.max_c.max(c);
            x.readings += 1;
        } else if let Some(mut x) = run.take() {
            // Back within the limit: the excursion lasted until this reading.
            x.to_ms = at;
            out.push(x);
        }
    }
    out.extend(run);
    out.retain(|x| x.to_ms - x.from_ms > i64::from(minutes) * 60_000);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: i64 = 60_000;

    #[test]
    fn an_excursion_is_a_run_above_the_limit_longer_than_allowed() {
        // -18 °C, then 40 minutes at -12 and -10, back to -18.
        let r = [
            (0, -18.0),
            (10 * M, -12.0),
            (30 * M, -10.0),
            (50 * M, -18.0),
            (60 * M, -19.0),
        ];
        let x = excursions(&r, -15.0, 30);
        assert_eq!(x.len(), 1);
        assert_eq!(
            (x[0].from_ms, x[0].to_ms, x[0].max_c, x[0].minutes()),
            (10 * M, 50 * M, -10.0, 40)
        );
        // The same for 20 minutes is within the allowance.
        let r = [
            (0, -18.0),
            (10 * M, -12.0),
            (20 * M, -11.0),
            (30 * M, -18.0),
        ];
        assert!(excursions(&r, -15.0, 30).is_empty());
        // Still warm at the last reading: lasts to it. Readings out of order read the same.
        let r = [(90 * M, -5.0), (0, -12.0), (40 * M, -13.0)];
        let x = excursions(&r, -15.0, 30);
        assert_eq!((x[0].from_ms, x[0].to_ms, x[0].readings), (0, 90 * M, 3));
        // Exactly at the limit is within it.
        assert!(excursions(&[(0, -15.0), (100 * M, -15.0)], -15.0, 30).is_empty());
    }

    #[test]
    fn drafts_name_every_wrong_field() {
        let d = ReadingDraft {
            device: Some("".into()),
            at: Some("2026-03-01 08:00".into()),
            temperature_c: Some(400.0),
            trace_code: Some("(01)09520123456789".into()),
            container_no: Some("CSQU3054383".into()),
            location: None,
        };
        let e = d.parse("readings[0]").unwrap_err();
        let fields: Vec<&str> = e.0.iter().map(|x| x.field.as_str()).collect();
        for f in [
            "readings[0].device",
            "readings[0].at",
            "readings[0].temperature_c",
            "readings[0].trace_code",
        ] {
            assert!(fields.contains(&f), "{fields:?}");
        }
        let ok = ReadingDraft {
            device: Some("CS-1".into()),
            at: Some("2026-03-01T08:00:00+08:00".into()),
            temperature_c: Some(-18.5),
            container_no: Some("CSQU3054383".into()),
            ..Default::default()
        }
        .parse("r")
        .unwrap();
        assert_eq!(ok.subject, Subject::Container("CSQU3054383".into()));
    }
}
