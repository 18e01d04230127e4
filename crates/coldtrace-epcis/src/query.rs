//! The standard query parameters of EPCIS 2.0's REST binding (`GET /events?…`): several values of one parameter
//! are separated by `|` or given as repeated parameters. An unknown parameter or a wrong value is refused, naming
//! the parameter.

use crate::vocab::{self, Vocab};
use crate::{EventType, identifier_key};

/// An identifier to match: exactly, or (an EPC pattern `urn:epc:idpat:sgtin:…*`, a class) every identifier under
/// the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    pub key: String,
    /// Matches `key` and every key that extends it (`gs1:01…` matches `gs1:01…/10…` and `gs1:01…/21…`).
    pub prefix: bool,
}

/// A simple event query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventQuery {
    pub event_types: Vec<EventType>,
    pub ge_event_time: Option<i64>,
    pub lt_event_time: Option<i64>,
    pub ge_record_time: Option<i64>,
    pub lt_record_time: Option<i64>,
    pub eq_action: Vec<String>,
    /// Business steps by CBV name or other URI.
    pub eq_biz_step: Vec<String>,
    pub eq_disposition: Vec<String>,
    /// Places by identifier key.
    pub eq_biz_location: Vec<String>,
    pub eq_read_point: Vec<String>,
    /// `MATCH_epc`: epcList and childEPCs.
    pub match_epc: Vec<Pattern>,
    pub match_parent_id: Vec<Pattern>,
    pub match_input_epc: Vec<Pattern>,
    pub match_output_epc: Vec<Pattern>,
    /// `MATCH_anyEPC`: every EPC list and parentID.
    pub match_any_epc: Vec<Pattern>,
    /// `MATCH_epcClass`: the classes of `quantityList` and `childQuantityList`.
    pub match_epc_class: Vec<Pattern>,
    /// `MATCH_anyEPCClass`: the classes of every quantity list.
    pub match_any_epc_class: Vec<Pattern>,
    pub per_page: usize,
    /// The position after which the page starts (the `nextPageToken` of the page before).
    pub after: Option<i64>,
    /// Newest first (`orderDirection=DESC`); oldest first by default.
    pub descending: bool,
}

/// A refused parameter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{param}: {reason}")]
pub struct QueryError {
    pub param: String,
    pub reason: String,
}

pub const DEFAULT_PER_PAGE: usize = 30;
pub const MAX_PER_PAGE: usize = 1000;

impl EventQuery {
    /// Reads the query string's pairs.
    pub fn parse(pairs: &[(String, String)]) -> Result<Self, QueryError> {
        let mut q = EventQuery {
            per_page: DEFAULT_PER_PAGE,
            ..Default::default()
        };
        for (k, v) in pairs {
            let fail = |reason: String| QueryError {
                param: k.clone(),
                reason,
            };
            let values: Vec<&str> = v.split('|').filter(|s| !s.is_empty()).collect();
            if values.is_empty() {
                return Err(fail("has no value".into()));
            }
            let time = |s: &str| {
                s.parse::<jiff::Timestamp>()
                    .map(|t| t.as_millisecond())
                    .map_err(|_| fail(format!("{s:?} is not a date-time with an offset")))
            };
            let patterns = |values: &[&str]| -> Result<Vec<Pattern>, QueryError> {
                values.iter().map(|s| pattern(s).map_err(&fail)).collect()
            };
            let terms = |v: Vocab, values: &[&str]| -> Result<Vec<String>, QueryError> {
                values
                    .iter()
                    .map(|s| {
                        vocab::read(v, s)
                            .map(|t| t.as_str().to_string())
                            .map_err(&fail)
                    })
                    .collect()
            };
            let keys = |values: &[&str]| -> Result<Vec<String>, QueryError> {
                values
                    .iter()
                    .map(|s| identifier_key(s).map_err(&fail))
                    .collect()
            };
            match k.as_str() {
                "eventType" => {
                    for s in &values {
                        q.event_types
                            .push(EventType::parse(s).ok_or_else(|| {
                                fail(format!("{s:?} is not an EPCIS event type"))
                            })?);
                    }
                }
                "GE_eventTime" => q.ge_event_time = Some(time(v)?),
                "LT_eventTime" => q.lt_event_time = Some(time(v)?),
                "GE_recordTime" => q.ge_record_time = Some(time(v)?),
                "LT_recordTime" => q.lt_record_time = Some(time(v)?),
                "EQ_action" => {
                    for s in &values {
                        if !matches!(*s, "ADD" | "OBSERVE" | "DELETE") {
                            return Err(fail(format!("{s:?} is not ADD, OBSERVE or DELETE")));
                        }
                        q.eq_action.push(s.to_string());
                    }
                }
                "EQ_bizStep" => q.eq_biz_step.extend(terms(Vocab::BizStep, &values)?),
                "EQ_disposition" => q.eq_disposition.extend(terms(Vocab::Disposition, &values)?),
                "EQ_bizLocation" => q.eq_biz_location.extend(keys(&values)?),
                "EQ_readPoint" => q.eq_read_point.extend(keys(&values)?),
                "MATCH_epc" => q.match_epc.extend(patterns(&values)?),
                "MATCH_parentID" => q.match_parent_id.extend(patterns(&values)?),
                "MATCH_inputEPC" => q.match_input_epc.extend(patterns(&values)?),
                "MATCH_outputEPC" => q.match_output_epc.extend(patterns(&values)?),
                "MATCH_anyEPC" => q.match_any_epc.extend(patterns(&values)?),
                "MATCH_epcClass" => q.match_epc_class.extend(patterns(&values)?),
                "MATCH_anyEPCClass" => q.match_any_epc_class.extend(patterns(&values)?),
                "perPage" => {
                    q.per_page = v
                        .parse::<usize>()
                        .ok()
                        .filter(|n| (1..=MAX_PER_PAGE).contains(n))
                        .ok_or_else(|| fail(format!("must be a number from 1 to {MAX_PER_PAGE}")))?
                }
                "nextPageToken" => {
                    q.after = Some(
                        v.parse::<i64>()
                            .map_err(|_| fail("is not a page token this server gave".into()))?,
                    )
                }
                "orderBy" => {
                    if v != "recordTime" {
                        return Err(fail(
                            "this repository pages in the order it recorded events: orderBy=recordTime"
                                .into(),
                        ));
                    }
                }
                "orderDirection" => match v.as_str() {
                    "ASC" => q.descending = false,
                    "DESC" => q.descending = true,
                    _ => return Err(fail("must be ASC or DESC".into())),
                },
                _ => {
                    return Err(fail(
                        "is not a query parameter this repository knows".into(),
                    ));
                }
            }
        }
        Ok(q)
    }
}

fn pattern(s: &str) -> Result<Pattern, String> {
    let lower = s.get(..14).unwrap_or(s).to_ascii_lowercase();
    if lower.starts_with("urn:epc:idpat:") {
        // `urn:epc:idpat:sgtin:0614141.107346.*`: every serial of the GTIN.
        let key = identifier_key(s)?;
        return Ok(Pattern { key, prefix: true });
    }
    let key = identifier_key(s)?;
    // A class without a lot (`/01/…` alone) stands for every lot and serial of it.
    let prefix = key.starts_with("gs1:01") && !key.contains('/');
    Ok(Pattern { key, prefix })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Result<EventQuery, QueryError> {
        EventQuery::parse(
            &pairs
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect::<Vec<_>>(),
        )
    }

    #[test]
    fn standard_parameters_read_and_wrong_ones_are_named() {
        let q = p(&[
            ("eventType", "ObjectEvent|AggregationEvent"),
            (
                "EQ_bizStep",
                "shipping|https://ref.gs1.org/cbv/BizStep-receiving",
            ),
            ("MATCH_epc", "urn:epc:idpat:sgtin:0614141.107346.*"),
            (
                "MATCH_epcClass",
                "https://id.gs1.org/01/10614141073464/10/L1",
            ),
            ("GE_eventTime", "2026-01-01T00:00:00+08:00"),
            ("perPage", "2"),
        ])
        .unwrap();
        assert_eq!(q.event_types, [EventType::Object, EventType::Aggregation]);
        assert_eq!(q.eq_biz_step, ["shipping", "receiving"]);
        assert_eq!(
            q.match_epc,
            [Pattern {
                key: "gs1:0110614141073464".into(),
                prefix: true
            }]
        );
        assert_eq!(q.match_epc_class[0].key, "gs1:0110614141073464/10L1");
        assert_eq!(q.per_page, 2);
        for (k, v) in [
            ("GE_eventDate", "2026-01-01T00:00:00Z"),
            ("GE_eventTime", "not-a-date"),
            ("EQ_action", "SHIPPED"),
            ("orderDirection", "SIDEWAYS"),
            ("eventType", "ObjectEventInvalid"),
            ("EQ_bizStep", "transforming"),
            ("perPage", "0"),
        ] {
            let e = p(&[(k, v)]).unwrap_err();
            assert_eq!(e.param, k, "{e}");
        }
    }
}
