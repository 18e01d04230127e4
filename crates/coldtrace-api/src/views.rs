//! Role-dependent answers: only the fields the role may see, personal data masked where the role needs no more.

use coldtrace_domain::person::{mask_id_no, mask_name, mask_phone};
use coldtrace_domain::{Enterprise, Movement, Principal, Role};
use coldtrace_store::Stored;
use serde_json::{Value, json};

use crate::authz::EnterpriseAccess;

pub fn enterprise(e: &Stored<Enterprise>, access: EnterpriseAccess, p: &Principal) -> Value {
    match access {
        EnterpriseAccess::NameOnly => json!({ "id": e.record.id, "name": e.record.name }),
        EnterpriseAccess::Full => {
            let mut v = serde_json::to_value(e).unwrap_or(Value::Null);
            if p.role == Role::National
                && let Some(c) = v.get_mut("contact")
            {
                // The national platform gets the contact for command, with the mobile masked until an incident.
                if let Some(phone) = c.get("phone").and_then(Value::as_str) {
                    c["phone"] = Value::String(mask_phone(phone));
                }
            }
            v
        }
    }
}

pub fn movement(m: &Stored<Movement>, p: &Principal) -> Value {
    let mut m = m.clone();
    if p.role == Role::National {
        for h in &mut m.record.handlers {
            h.name = mask_name(&h.name);
            h.id_no = h.id_no.as_deref().map(mask_id_no);
            h.phone = h.phone.as_deref().map(mask_phone);
        }
    }
    serde_json::to_value(&m).unwrap_or(Value::Null)
}
