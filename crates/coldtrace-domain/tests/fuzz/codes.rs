//! Codes and identifiers as typed, scanned or read from a ledger: [`TraceCode::parse`] with and without a scheme
//! (GS1 element strings and Digital Link URIs, URL, issued, customs and USCC-based codes), USCC, GTIN, region,
//! province and country codes, declaration and container numbers, identity and phone numbers, quantities and
//! event times.
//!
//! Properties: nothing panics on any text; what parses is in its canonical form and reads back the same; the
//! spellings of one GS1 code share one key; a quantity's display and JSON read back the same quantity; an event
//! time's display reads back the same time; a ledger date and time that parses has the numbers it was written
//! with.

use coldtrace_domain::code::{CodeScheme, TraceCode};
use coldtrace_domain::id::{ContainerNo, DeclarationNo};
use coldtrace_domain::person::{valid_id_no, valid_phone};
use coldtrace_domain::quantity::QuantityError;
use coldtrace_domain::{
    CountryCode, EventTime, Gtin, ProvinceCode, Quantity, RegionCode, Unit, Uscc,
};
use proptest::prelude::*;
use proptest::sample::select;

use crate::fuzz;
use crate::generate::*;

const SCHEMES: [CodeScheme; 6] = [
    CodeScheme::Gs1,
    CodeScheme::Url,
    CodeScheme::Issued,
    CodeScheme::Uscc,
    CodeScheme::Customs,
    CodeScheme::Enterprise,
];

fn key_prefix(s: CodeScheme) -> &'static str {
    match s {
        CodeScheme::Gs1 => "gs1:",
        CodeScheme::Url => "url:",
        CodeScheme::Issued => "issued:",
        CodeScheme::Uscc => "uscc:",
        CodeScheme::Customs => "customs:",
        CodeScheme::Enterprise => "ent:",
    }
}

fn check_code(text: &str, scheme: Option<CodeScheme>) -> Result<(), TestCaseError> {
    let Ok(c) = TraceCode::parse(text, scheme) else {
        return Ok(());
    };
    prop_assert_eq!(c.value.as_str(), text.trim());
    prop_assert!(c.value.chars().count() <= 256);
    if let Some(s) = scheme {
        prop_assert_eq!(c.scheme, s);
    }
    prop_assert!(
        c.key.starts_with(key_prefix(c.scheme)),
        "{:?} is keyed {:?}",
        c.scheme,
        c.key
    );
    // The value kept reads back as the same code, in its scheme and by detection alike.
    let again = TraceCode::parse(&c.value, Some(c.scheme));
    prop_assert_eq!(again, Ok(c.clone()));
    if scheme.is_none() {
        prop_assert_eq!(TraceCode::parse(&c.value, None), Ok(c.clone()));
    }
    // A GS1 code's parts, written as an element string, give the same key.
    if let Some(p) = c.gs1() {
        let mut canonical = format!("(01){}", p.gtin.to_gtin14());
        if let Some(b) = &p.batch {
            canonical.push_str(&format!("(10){b}"));
        }
        if let Some(s) = &p.serial {
            canonical.push_str(&format!("(21){s}"));
        }
        if !canonical[4..].contains('(') {
            let k = TraceCode::parse(&canonical, None).map(|k| k.key);
            prop_assert_eq!(k.as_deref(), Ok(c.key.as_str()), "{}", canonical);
        }
    }
    Ok(())
}

/// Any text as a code, with each scheme and with the scheme detected.
#[test]
fn trace_codes_from_any_text() {
    fuzz(file!(), trace_code_text(), |text| {
        check_code(&text, None)?;
        for s in SCHEMES {
            check_code(&text, Some(s))?;
        }
        let _ = CodeScheme::parse(&text);
        let _ = coldtrace_domain::code::parse_gs1(&text);
        Ok(())
    });
}

/// One GS1 code in its three spellings (bracketed and raw element strings, Digital Link URI) has one key,
/// which is that of its parts.
#[test]
fn gs1_spellings_share_one_key() {
    let lot = || prop::option::of(chars_of(SET82, 1..21));
    fuzz(file!(), (gtin(), lot(), lot()), |(g, batch, serial)| {
        let g14 = format!("{g:0>14}");
        let mut bracketed = format!("(01){g14}");
        let mut raw = format!("01{g14}");
        let mut link = format!("https://id.gs1.org/01/{g14}");
        let mut key = format!("gs1:01{g14}");
        if let Some(b) = &batch {
            bracketed.push_str(&format!("(10){b}"));
            raw.push_str(&format!("10{b}\u{1d}"));
            link.push_str(&format!("/10/{}", percent_encode(b)));
            key.push_str(&format!("/10{b}"));
        }
        if let Some(s) = &serial {
            bracketed.push_str(&format!("(21){s}"));
            raw.push_str(&format!("21{s}"));
            link.push_str(&format!("/21/{}", percent_encode(s)));
            key.push_str(&format!("/21{s}"));
        }
        let mut spellings = vec![link];
        // A bare `01` and 14 digits is read as an enterprise's own code: a GTIN alone names no batch.
        if batch.is_some() || serial.is_some() {
            spellings.push(raw);
        }
        // `(` inside a value cannot be told from the next application identifier in the bracketed form.
        if !bracketed[4..].contains('(') {
            spellings.push(bracketed);
        }
        for text in spellings {
            let c = TraceCode::parse(&text, None)
                .map_err(|e| TestCaseError::fail(format!("{text:?}: {e}")))?;
            prop_assert_eq!(c.scheme, CodeScheme::Gs1, "{}", text);
            prop_assert_eq!(&c.key, &key, "{}", text);
            let p = c.gs1().expect("a GS1 code");
            prop_assert_eq!(p.batch.as_ref(), batch.as_ref());
            prop_assert_eq!(p.serial.as_ref(), serial.as_ref());
        }
        Ok(())
    });
}

/// Two GS1 codes of one GTIN share a key only when they have the same batch and serial, or when one's batch is
/// the other's batch, `/21` and serial: the key writes `/10{batch}/21{serial}`, so batch `X/21Y` and batch `X`
/// with serial `Y` meet. That is a known limit, kept until stored keys can be migrated; this target pins it down.
#[test]
fn gs1_keys_tell_codes_apart() {
    // A small alphabet, so that independent keys meet often enough to be compared.
    let lot = || prop::option::of(chars_of("/210A", 1..7));
    fuzz(
        file!(),
        (gtin(), lot(), lot(), lot(), lot(), any::<bool>()),
        |(g, b1, s1, b2, s2, merge)| {
            let code = |b: &Option<String>, s: &Option<String>| {
                let mut text = format!("(01){g:0>14}");
                if let Some(b) = b {
                    text.push_str(&format!("(10){b}"));
                }
                if let Some(s) = s {
                    text.push_str(&format!("(21){s}"));
                }
                TraceCode::parse(&text, None).expect("a GS1 code")
            };
            let one = code(&b1, &s1);
            if let (true, Some(b), Some(s)) = (merge, &b1, &s1) {
                // The serial folded into the batch: a different code under the same key.
                let merged = code(&Some(format!("{b}/21{s}")), &None);
                prop_assert_eq!(&merged.key, &one.key);
                return Ok(());
            }
            let two = code(&b2, &s2);
            // Where two batches meet under one key, the longer holds `/21`.
            let known = match (&b1, &b2) {
                (Some(x), Some(y)) => x.contains("/21") || y.contains("/21"),
                _ => false,
            };
            if one.key == two.key && !known {
                prop_assert_eq!((&b1, &s1), (&b2, &s2), "{}", one.key);
            }
            Ok(())
        },
    );
}

/// Identifiers from any text: what parses is canonical and parses again to itself.
#[test]
fn identifiers_from_any_text() {
    let text = prop_oneof![
        3 => hostile_text(),
        2 => uscc(),
        1 => gtin(),
        1 => "[0-9]{6}|[0-9]{2}0000|[0-9]{16}[0-9A-Za-z牛é]{1,2}",
        1 => "[A-Za-z]{2}|[A-Z]{3}[UJZ][0-9]{7}",
        1 => "[0-9]{4}(19[89][0-9]|20[0-9]{2})[01][0-9]{9}",
        1 => "[0-9\\- +]{0,20}",
    ];
    fuzz(file!(), text, |s| {
        if let Ok(u) = Uscc::parse(&s) {
            prop_assert_eq!(u.as_str().chars().count(), 18);
            prop_assert!(u.check_ok());
            prop_assert_eq!(Uscc::parse(u.as_str()), Ok(u.clone()));
            prop_assert_eq!(Uscc::parse_overridden(&s), Ok(u.clone()));
        }
        if let Ok(u) = Uscc::parse_overridden(&s) {
            prop_assert_eq!(Uscc::parse_overridden(u.as_str()), Ok(u.clone()));
            prop_assert_eq!(u.region().len(), 6);
        }
        if let Ok(g) = Gtin::parse(&s) {
            prop_assert_eq!(
                Gtin::parse(&g.to_gtin14()).map(|x| x.to_gtin14()),
                Ok(g.to_gtin14())
            );
        }
        if let Ok(r) = RegionCode::parse(&s) {
            prop_assert_eq!(RegionCode::parse(r.as_str()), Ok(r.clone()));
            prop_assert!(ProvinceCode::parse(r.province().as_str()).is_ok());
            prop_assert!(!r.province().name().is_empty());
            prop_assert_eq!(r.city().len(), 6);
        }
        if let Ok(p) = ProvinceCode::parse(&s) {
            prop_assert_eq!(ProvinceCode::parse(p.as_str()), Ok(p.clone()));
        }
        if let Ok(c) = CountryCode::parse(&s) {
            prop_assert_eq!(CountryCode::parse(c.as_str()), Ok(c.clone()));
        }
        if let Ok(d) = DeclarationNo::parse(&s) {
            prop_assert_eq!(DeclarationNo::parse(d.as_str()), Ok(d.clone()));
            prop_assert!((1980..=2100).contains(&d.year()));
        }
        if let Ok(c) = ContainerNo::parse(&s) {
            prop_assert_eq!(ContainerNo::parse(c.as_str()), Ok(c.clone()));
        }
        if let Ok(id) = valid_id_no(&s) {
            prop_assert_eq!(valid_id_no(&id), Ok(id.clone()));
        }
        let _ = valid_phone(&s);
        let _ = Unit::parse(&s);
        Ok(())
    });
}

/// Quantities from any text: what parses displays as text and JSON that read back the same quantity.
#[test]
fn quantities_from_any_text() {
    let text = prop_oneof![
        2 => hostile_text(),
        3 => "-?[0-9,]{0,22}(\\.[0-9]{0,6})?",
        2 => "[0-9]{10,16}\\.[0-9]{1,3}",
        1 => "[0-9]{1,3}(,[0-9]{3}){0,6}(\\.[0-9]{1,3})?",
    ];
    fuzz(file!(), text, |s| {
        let Ok(q) = Quantity::parse(&s) else {
            return Ok(());
        };
        prop_assert!(q.milli() >= 0);
        prop_assert_eq!(Quantity::parse(&q.to_string()), Ok(q), "displayed {}", q);
        let json = serde_json::to_string(&q).expect("serializes");
        let back = serde_json::from_str::<Quantity>(&json);
        prop_assert!(
            back.as_ref().ok() == Some(&q),
            "{:?} reads as {:?}, written as JSON {} it reads back as {:?}",
            s,
            q,
            json,
            back
        );
        Ok(())
    });
}

/// The boundary of what a quantity may be: the largest accepted value round-trips, the next is refused.
#[test]
fn quantity_bounds_hold_across_json() {
    fuzz(file!(), 0i64..1_000_000_000_000_000, |milli| {
        let q = Quantity::from_milli(milli);
        match Quantity::parse(&q.to_string()) {
            Ok(p) => {
                prop_assert_eq!(p, q);
                let json = serde_json::to_string(&q).expect("serializes");
                prop_assert_eq!(
                    serde_json::from_str::<Quantity>(&json).ok(),
                    Some(q),
                    "{}",
                    json
                );
            }
            Err(e) => prop_assert_eq!(e, QuantityError::TooLarge),
        }
        Ok(())
    });
}

/// Event times from any text: what parses displays as a time that reads back the same.
#[test]
fn event_times_from_any_text() {
    fuzz(file!(), (time_text(), -12i8..=14), |(s, hours)| {
        if let Ok(t) = EventTime::parse(&s) {
            let shown = t.to_string();
            prop_assert_eq!(
                EventTime::parse(&shown),
                Ok(t),
                "{:?} displayed {:?}",
                s,
                shown
            );
            prop_assert!(t.offset_seconds.abs() < 26 * 3600);
            let json = serde_json::to_string(&t).expect("serializes");
            prop_assert_eq!(serde_json::from_str::<EventTime>(&json).ok(), Some(t));
        }
        if let Ok(t) = EventTime::parse_local(&s, hours) {
            prop_assert_eq!(EventTime::parse(&t.to_string()), Ok(t));
        }
        Ok(())
    });
}

/// A ledger date and time that parses is the one written: no part of it wraps around.
#[test]
fn ledger_times_keep_their_numbers() {
    let sep = || select(vec!["-", "/"]);
    // Each part in its range or just past a multiple of 256 beyond it, where a narrowing would wrap it back in.
    let part = |range: std::ops::Range<i32>| {
        (range, select(vec![0, 0, 256, 512, -256])).prop_map(|(v, k)| v + k)
    };
    fuzz(
        file!(),
        (
            1i32..10_000,
            part(1..13),
            part(1..29),
            part(0..24),
            part(0..60),
            part(0..60),
            sep(),
            sep(),
        ),
        |(y, mo, d, h, mi, s, a, b)| {
            let text = format!("{y}{a}{mo}{b}{d} {h}:{mi}:{s}");
            if let Ok(t) = EventTime::parse_local(&text, 8) {
                let shown = t.to_string();
                let written = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}");
                prop_assert_eq!(
                    shown.get(..19),
                    Some(written.as_str()),
                    "{:?} read as {}",
                    text,
                    shown
                );
            }
            Ok(())
        },
    );
}
