//! Quantities in fixed point (thousandths), so that ledger sums are exact.

use std::fmt;

/// A non-negative amount with three decimals, stored as thousandths. JSON accepts a number or a string.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quantity(i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    #[error("{0:?} is not a number")]
    NotANumber(String),
    #[error("has more than 3 decimals")]
    TooPrecise,
    #[error("must not be negative")]
    Negative,
    #[error("is too large")]
    TooLarge,
}

impl Quantity {
    pub const ZERO: Quantity = Quantity(0);

    pub fn from_milli(m: i64) -> Self {
        Self(m)
    }
    pub fn from_units(u: i64) -> Self {
        Self(u * 1000)
    }
    pub fn milli(self) -> i64 {
        self.0
    }
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Parses a decimal text such as `12`, `12.5` or `0.125`; a comma thousands separator is allowed.
    pub fn parse(s: &str) -> Result<Self, QuantityError> {
        let t: String = s.trim().chars().filter(|c| *c != ',').collect();
        if t.is_empty() {
            return Err(QuantityError::NotANumber(s.to_string()));
        }
        let (neg, t) = match t.strip_prefix('-') {
            Some(r) => (true, r.to_string()),
            None => (false, t),
        };
        let (int, frac) = t.split_once('.').unwrap_or((&t, ""));
        if int.is_empty() && frac.is_empty()
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(QuantityError::NotANumber(s.to_string()));
        }
        let frac_trim = frac.trim_end_matches('0');
        if frac_trim.len() > 3 {
            return Err(QuantityError::TooPrecise);
        }
        if neg && (int.bytes().any(|b| b != b'0') || !frac_trim.is_empty()) {
            return Err(QuantityError::Negative);
        }
        let int_v: i64 = if int.is_empty() {
            0
        } else {
            int.parse().map_err(|_| QuantityError::TooLarge)?
        };
        let frac_v: i64 = format!("{frac_trim:0<3}").parse().expect("digits");
        int_v
            .checked_mul(1000)
            .and_then(|v| v.checked_add(frac_v))
            .filter(|v| *v < 1_000_000_000_000_000)
            .map(Self)
            .ok_or(QuantityError::TooLarge)
    }

    pub fn checked_sub(self, o: Quantity) -> Option<Quantity> {
        self.0.checked_sub(o.0).filter(|v| *v >= 0).map(Quantity)
    }
}

impl std::ops::Add for Quantity {
    type Output = Quantity;
    fn add(self, o: Quantity) -> Quantity {
        Quantity(self.0 + o.0)
    }
}
impl std::ops::AddAssign for Quantity {
    fn add_assign(&mut self, o: Quantity) {
        self.0 += o.0;
    }
}
impl std::iter::Sum for Quantity {
    fn sum<I: Iterator<Item = Quantity>>(it: I) -> Quantity {
        Quantity(it.map(|q| q.0).sum())
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let int = self.0 / 1000;
        let frac = (self.0 % 1000).abs();
        if frac == 0 {
            write!(f, "{int}")
        } else {
            let s = format!("{frac:03}");
            write!(f, "{int}.{}", s.trim_end_matches('0'))
        }
    }
}

impl serde::Serialize for Quantity {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0 % 1000 == 0 {
            s.serialize_i64(self.0 / 1000)
        } else {
            s.serialize_f64(self.0 as f64 / 1000.0)
        }
    }
}

impl<'de> serde::Deserialize<'de> for Quantity {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Number(n) => {
                Quantity::parse(&n.to_string()).map_err(D::Error::custom)
            }
            serde_json::Value::String(s) => Quantity::parse(&s).map_err(D::Error::custom),
            other => Err(D::Error::custom(format!("expected a number, got {other}"))),
        }
    }
}

impl utoipa::PartialSchema for Quantity {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::SchemaType::new(
                utoipa::openapi::schema::Type::Number,
            ))
            .description(Some(
                "non-negative amount with at most 3 decimals; a decimal string is also accepted",
            ))
            .minimum(Some(0.0))
            .into()
    }
}
impl utoipa::ToSchema for Quantity {}

/// Unit of a quantity (计量单位).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// 千克
    Kg,
    /// 吨
    Tonne,
    /// 箱
    Carton,
    /// 件
    Piece,
    /// 袋
    Bag,
}

impl Unit {
    /// Accepts the API names and the words found in Chinese ledgers.
    pub fn parse(s: &str) -> Result<Self, String> {
        Ok(match s.trim().to_lowercase().as_str() {
            "kg" | "千克" | "公斤" => Unit::Kg,
            "t" | "tonne" | "ton" | "吨" => Unit::Tonne,
            "carton" | "box" | "箱" => Unit::Carton,
            "piece" | "pcs" | "件" | "个" | "只" => Unit::Piece,
            "bag" | "袋" => Unit::Bag,
            other => {
                return Err(format!(
                    "{other:?} is not a unit (kg, tonne, carton, piece, bag)"
                ));
            }
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Kg => "kg",
            Unit::Tonne => "tonne",
            Unit::Carton => "carton",
            Unit::Piece => "piece",
            Unit::Bag => "bag",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_decimals() {
        assert_eq!(Quantity::parse("12").unwrap().milli(), 12_000);
        assert_eq!(Quantity::parse("12.5").unwrap().milli(), 12_500);
        assert_eq!(Quantity::parse("1,200.125").unwrap().milli(), 1_200_125);
        assert_eq!(Quantity::parse(".5").unwrap().milli(), 500);
        assert_eq!(Quantity::parse("1.2500").unwrap().milli(), 1_250);
        assert_eq!(Quantity::parse("1.2345"), Err(QuantityError::TooPrecise));
        assert_eq!(Quantity::parse("-1"), Err(QuantityError::Negative));
        assert!(matches!(
            Quantity::parse("abc"),
            Err(QuantityError::NotANumber(_))
        ));
        assert!(matches!(
            Quantity::parse("."),
            Err(QuantityError::NotANumber(_))
        ));
        assert_eq!(Quantity::from_milli(12_500).to_string(), "12.5");
    }

    proptest! {
        #[test]
        fn display_parse_round_trip(m in 0i64..1_000_000_000_000) {
            let q = Quantity::from_milli(m);
            prop_assert_eq!(Quantity::parse(&q.to_string()).unwrap(), q);
            let json = serde_json::to_string(&q).unwrap();
            prop_assert_eq!(serde_json::from_str::<Quantity>(&json).unwrap(), q);
        }
        #[test]
        fn parse_never_panics(s in "\\PC{0,30}") {
            let _ = Quantity::parse(&s);
        }
    }
}
