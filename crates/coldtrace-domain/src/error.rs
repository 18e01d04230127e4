//! Validation errors that name the field path and the reason.

use std::fmt;

/// One invalid field: the JSON-style path (`batches[2].declaration_no`) and why it was refused.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// Path of the field in the submitted document, e.g. `movements[0].quantity`.
    pub field: String,
    /// Human-readable reason, stable enough to show to the person who typed the value.
    pub reason: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

/// Every problem found in one document. Parsing collects them all so a user fixes a ledger in one pass.
#[derive(Debug, Clone, Default, PartialEq, Eq, thiserror::Error)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl ValidationErrors {
    pub fn one(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self(vec![FieldError::new(field, reason)])
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn push(&mut self, field: impl Into<String>, reason: impl Into<String>) {
        self.0.push(FieldError::new(field, reason));
    }
    /// Turns a parse result into a value, recording the error under `field`.
    pub fn take<T, E: fmt::Display>(&mut self, field: &str, r: Result<T, E>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.push(field, e.to_string());
                None
            }
        }
    }
    /// Like [`take`](Self::take) for optional inputs: `None` stays `None` without error.
    pub fn take_opt<T, E: fmt::Display>(
        &mut self,
        field: &str,
        r: Option<Result<T, E>>,
    ) -> Option<Option<T>> {
        match r {
            None => Some(None),
            Some(r) => self.take(field, r).map(Some),
        }
    }
    pub fn extend(&mut self, other: ValidationErrors) {
        self.0.extend(other.0);
    }
    pub fn into_result<T>(self, v: impl FnOnce() -> T) -> Result<T, ValidationErrors> {
        if self.0.is_empty() {
            Ok(v())
        } else {
            Err(self)
        }
    }
}

/// Joins a parent path and a child field name.
pub fn path(parent: &str, child: &str) -> String {
    if parent.is_empty() {
        child.to_string()
    } else {
        format!("{parent}.{child}")
    }
}

/// Requires a non-empty, trimmed text of at most `max` characters.
pub fn required_text(value: &Option<String>, max: usize) -> Result<String, String> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Err("is required".into()),
        Some(v) if v.chars().count() > max => Err(format!("is longer than {max} characters")),
        Some(v) => Ok(v.to_string()),
    }
}

/// An optional text: empty becomes `None`; too long is an error.
pub fn optional_text(value: &Option<String>, max: usize) -> Result<Option<String>, String> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) if v.chars().count() > max => Err(format!("is longer than {max} characters")),
        Some(v) => Ok(Some(v.to_string())),
    }
}
