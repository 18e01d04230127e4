//! GS1's syntax tests ("linters") named in the dictionary, each a check of one component's content. A linter this
//! version does not know passes (GS1 adds linters with new AIs; the format check still applies).

use std::collections::HashSet;
use std::sync::OnceLock;

/// GS1 AI encodable character set 82.
pub const CSET82: &str =
    "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";
/// GS1 AI encodable character set 39.
pub const CSET39: &str = "#-/0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const CSET32: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

fn table(text: &'static str) -> HashSet<&'static str> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .flat_map(|l| l.split('\t'))
        .collect()
}

fn countries() -> &'static HashSet<&'static str> {
    static T: OnceLock<HashSet<&'static str>> = OnceLock::new();
    T.get_or_init(|| table(include_str!("../../data/iso3166.txt")))
}

fn currencies() -> &'static HashSet<&'static str> {
    static T: OnceLock<HashSet<&'static str>> = OnceLock::new();
    T.get_or_init(|| table(include_str!("../../data/iso4217.txt")))
}

/// Runs linter `name` on a component's value; `Err` says what is wrong.
pub fn run(name: &str, v: &str) -> Result<(), String> {
    let digits = || v.bytes().all(|b| b.is_ascii_digit());
    let num = |s: &str| s.parse::<u32>().unwrap_or(u32::MAX);
    match name {
        "csum" => {
            let n = v.len();
            let body = &v[..n - 1];
            let want = crate::id::gs1_check_digit(body);
            let got = num(&v[n - 1..]);
            if want != got {
                return Err(format!("check digit is {got}, should be {want}"));
            }
        }
        "csumalpha" => csumalpha(v)?,
        "gcppos1" | "gcppos2" => {
            // A GS1 Company Prefix (at least four digits) starts the key. Which prefixes are allocated is GS1's
            // registry (GEPIR), not the syntax; it is not checked here.
            let skip = if name == "gcppos2" { 1 } else { 0 };
            if !v
                .get(skip..skip + 4)
                .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
            {
                return Err("does not start with a GS1 Company Prefix".into());
            }
        }
        "yymmd0" | "yymmdd" => {
            let (m, d) = (num(&v[2..4]), num(&v[4..6]));
            let yy = num(&v[..2]);
            // GS1's sliding window: 49 years back, 50 ahead; leap years only matter for 29 February.
            let year = 2000 + yy;
            if !(1..=12).contains(&m) {
                return Err(format!("month {m:02} is not 01 to 12"));
            }
            let zero_ok = name == "yymmd0";
            if d == 0 && zero_ok {
                return Ok(());
            }
            if d == 0 || d > days_in(year, m).max(if m == 2 { 29 } else { 0 }) {
                return Err(format!("day {d:02} is not in month {m:02}"));
            }
        }
        "yyyymmdd" => {
            let (y, m, d) = (num(&v[..4]), num(&v[4..6]), num(&v[6..8]));
            if !(1..=12).contains(&m) {
                return Err(format!("month {m:02} is not 01 to 12"));
            }
            if d == 0 || d > days_in(y, m) {
                return Err(format!("day {d:02} is not in {y}-{m:02}"));
            }
        }
        "hhmi" if num(&v[..2]) > 23 || num(&v[2..4]) > 59 => {
            return Err(format!("{v} is not a time HHMM"));
        }
        "hh" if num(v) > 23 => return Err(format!("hour {v} is not 00 to 23")),
        "mi" | "ss" if num(v) > 59 => return Err(format!("{v} is not 00 to 59")),
        "iso3166" if !countries().contains(v) => {
            return Err(format!("{v} is not an ISO 3166 country code"));
        }
        "iso3166999" if v != "999" && !countries().contains(v) => {
            return Err(format!("{v} is not an ISO 3166 country code or 999"));
        }
        "iso3166alpha2" if !countries().contains(v) || digits() => {
            return Err(format!("{v} is not an ISO 3166 alpha-2 country code"));
        }
        "iso4217" if !currencies().contains(v) => {
            return Err(format!("{v} is not an ISO 4217 currency code"));
        }
        "nonzero" if v.bytes().all(|b| b == b'0') => return Err("must not be zero".into()),
        "zero" if v != "0" => return Err("must be 0".into()),
        "nozeroprefix" if v.len() > 1 && v.starts_with('0') => {
            return Err("must not start with 0".into());
        }
        "hasnondigit" if digits() => {
            return Err("must contain a character that is not a digit".into());
        }
        "yesno" if v != "0" && v != "1" => return Err("must be 0 or 1".into()),
        "winding" if !matches!(v, "0" | "1" | "9") => return Err("must be 0, 1 or 9".into()),
        "hyphen" if v != "-" => return Err("must be -".into()),
        "iso5218" if !matches!(v, "0" | "1" | "2" | "9") => {
            return Err("must be an ISO 5218 sex code (0, 1, 2 or 9)".into());
        }
        "mediatype" if !matches!(num(v), 1..=10 | 80..=99) => {
            return Err(format!("{v} is not a media type (01 to 10, 80 to 99)"));
        }
        "pieceoftotal" => {
            let (p, t) = (num(&v[..v.len() / 2]), num(&v[v.len() / 2..]));
            if p == 0 || t == 0 || p > t {
                return Err(format!("piece {p} of {t} is not a piece of a total"));
            }
        }
        "posinseqslash" => {
            let ok = v.split_once('/').is_some_and(|(a, b)| {
                a.parse::<u32>()
                    .is_ok_and(|a| b.parse::<u32>().is_ok_and(|b| a >= 1 && a <= b))
            });
            if !ok {
                return Err(format!("{v} is not a position in a sequence (n/m)"));
            }
        }
        "latitude" if num(v) > 1_800_000_000 => return Err("latitude is out of range".into()),
        "longitude" if num(v) > 3_600_000_000 => return Err("longitude is out of range".into()),
        "importeridx"
            if !v
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            return Err("is not an importer index".into());
        }
        "pcenc" => {
            let b = v.as_bytes();
            let mut i = 0;
            while i < b.len() {
                if b[i] == b'%' {
                    if !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                        && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
                    {
                        return Err("a % is not followed by two hex digits".into());
                    }
                    i += 3;
                } else {
                    i += 1;
                }
            }
        }
        "iban" => iban(v)?,
        _ => {}
    }
    Ok(())
}

fn days_in(y: u32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400) => 29,
        2 => 28,
        _ => 0,
    }
}

/// The check character pair of a GMN or MUDI: every character but the last two, weighted by the primes from
/// the right, summed mod 1021, written as two characters of character set 32.
fn csumalpha(v: &str) -> Result<(), String> {
    const PRIMES: [u32; 24] = [
        2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89,
    ];
    let b = v.as_bytes();
    if b.len() < 2 || b.len() - 2 > PRIMES.len() {
        return Err("is too short or too long for its check pair".into());
    }
    let data = &b[..b.len() - 2];
    let mut sum = 0u32;
    for (i, c) in data.iter().rev().enumerate() {
        let val = CSET82
            .bytes()
            .position(|x| x == *c)
            .ok_or("is outside character set 82")? as u32;
        sum += val * PRIMES[i];
    }
    sum %= 1021;
    let want = [CSET32[(sum >> 5) as usize], CSET32[(sum & 31) as usize]];
    if b[b.len() - 2..] != want {
        return Err(format!(
            "check characters are {}, should be {}",
            &v[v.len() - 2..],
            String::from_utf8_lossy(&want)
        ));
    }
    Ok(())
}

fn iban(v: &str) -> Result<(), String> {
    let b = v.as_bytes();
    if b.len() < 5
        || !b[..2].iter().all(u8::is_ascii_uppercase)
        || !b[2..4].iter().all(u8::is_ascii_digit)
    {
        return Err("is not an IBAN".into());
    }
    let mut rem = 0u32;
    for c in b[4..].iter().chain(&b[..4]) {
        let d = match c {
            b'0'..=b'9' => (c - b'0') as u32,
            b'A'..=b'Z' => (c - b'A') as u32 + 10,
            _ => return Err("is not an IBAN".into()),
        };
        rem = if d >= 10 {
            (rem * 100 + d) % 97
        } else {
            (rem * 10 + d) % 97
        };
    }
    if rem != 1 {
        return Err("IBAN check digits do not match".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::run;

    #[test]
    fn linters_accept_good_values_and_refuse_bad_ones() {
        assert!(run("csum", "09520123456788").is_ok());
        assert!(run("csum", "09520123456789").is_err());
        // GS1 General Specifications' GMN example.
        assert!(run("csumalpha", "1987654Ad4X4bL5ttr2310c2K").is_ok());
        assert!(run("csumalpha", "1987654Ad4X4bL5ttr2310c2L").is_err());
        assert!(run("yymmd0", "251200").is_ok());
        assert!(run("yymmdd", "251200").is_err());
        assert!(run("yymmdd", "241329").is_err());
        assert!(run("yymmdd", "240229").is_ok());
        assert!(run("yyyymmdd", "20230229").is_err());
        assert!(run("hhmi", "2360").is_err());
        assert!(run("iso3166", "156").is_ok());
        assert!(run("iso3166", "999").is_err());
        assert!(run("iso3166999", "999").is_ok());
        assert!(run("iso3166alpha2", "CN").is_ok());
        assert!(run("iso4217", "156").is_ok());
        assert!(run("iso4217", "000").is_err());
        assert!(run("pieceoftotal", "0203").is_ok());
        assert!(run("pieceoftotal", "0302").is_err());
        assert!(run("pcenc", "a%20b").is_ok());
        assert!(run("pcenc", "a%2").is_err());
        assert!(run("iban", "GB82WEST12345698765432").is_ok());
        assert!(run("iban", "GB82WEST12345698765433").is_err());
        assert!(run("gcppos2", "09520123456788").is_ok());
        assert!(run("a-linter-from-the-future", "x").is_ok());
    }
}
