//! What an EPCIS event means for the platform's records (EPCIS 事件到追溯记录的映射). The service turns the
//! answer into batches and movements and submits them through the same checks as every other write.
//!
//! | event | business step / disposition | record |
//! |---|---|---|
//! | ObjectEvent `ADD` | `commissioning`, `creating_class_instance` or none | a batch per class or GTIN (一批一码) |
//! | ObjectEvent | `shipping`, `departing` | `ship` to the destination party |
//! | ObjectEvent | `receiving`, `arriving`, `accepting` | `receive` from the source party |
//! | ObjectEvent | `retail_selling` | `sell` |
//! | ObjectEvent | `destroying`, or disposition `destroyed` | `destroy` |
//! | TransformationEvent | any | `transform`: inputs consumed, output batches made |
//! | AggregationEvent, TransactionEvent, AssociationEvent, other steps | — | kept in the repository only |

use crate::vocab::Term;
use crate::{Event, EventType};

/// The record an event makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Native {
    /// New batches.
    Commission,
    Ship,
    Receive,
    Sell,
    Destroy,
    Transform,
    /// Nothing in the trace; the event stays in the repository.
    None,
}

/// Which record an event makes.
pub fn native(e: &Event) -> Native {
    let step = match &e.biz_step {
        Some(Term::Cbv(s)) => Some(s.as_str()),
        Some(Term::Other(_)) => Some("other"),
        None => None,
    };
    let destroyed = matches!(&e.disposition, Some(Term::Cbv(d)) if d == "destroyed");
    match e.kind {
        EventType::Transformation => Native::Transform,
        EventType::Object => match (e.action.as_deref(), step) {
            (_, Some("destroying")) => Native::Destroy,
            (_, _) if destroyed => Native::Destroy,
            (Some("ADD"), Some("commissioning" | "creating_class_instance") | None) => {
                Native::Commission
            }
            (_, Some("shipping" | "departing")) => Native::Ship,
            (_, Some("receiving" | "arriving" | "accepting")) => Native::Receive,
            (_, Some("retail_selling")) => Native::Sell,
            _ => Native::None,
        },
        _ => Native::None,
    }
}

/// The platform's unit for a UN/CEFACT code (`KGM` kilograms, `TNE` tonnes); a count has none.
pub fn unit(uom: Option<&str>) -> Result<&'static str, String> {
    match uom {
        None => Ok("piece"),
        Some("KGM") => Ok("kg"),
        Some("TNE") => Ok("tonne"),
        Some("CT") | Some("CS") => Ok("carton"),
        Some("BG") => Ok("bag"),
        Some("H87") | Some("EA") | Some("C62") => Ok("piece"),
        Some(o) => Err(format!(
            "unit {o:?} has no equivalent in the platform's units (KGM, TNE, CT, BG, EA)"
        )),
    }
}

/// A value of the event's lot master data (`ilmd`) by its local name (`cbvmda:lotNumber` → `lotNumber`).
pub fn ilmd<'a>(e: &'a Event, local: &str) -> Option<&'a str> {
    e.ilmd.as_ref()?.as_object()?.iter().find_map(|(k, v)| {
        let name = k.rsplit([':', '#', '/']).next().unwrap_or(k);
        (name == local).then(|| v.as_str()).flatten()
    })
}
