//! Customs data as the store keeps it (海关数据): declarations with who sent them, and what a customs feed did.

use coldtrace_domain::customs::Declaration;

/// A declaration as stored: the record, the province whose platform customs fed, who sent it and when.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct StoredDeclaration {
    pub record: Declaration,
    /// The province of the customs key that sent it (GB/T 2260 two digits).
    pub province: String,
    /// The customs key or account that sent it (`customs:<credential>`).
    pub submitted_by: String,
    pub received_at_ms: i64,
}

/// What one customs feed did (海关数据接收回执).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct CustomsReceipt {
    /// Declarations stored for the first time.
    pub stored: u64,
    /// Declarations sent again with the same content: nothing changed.
    pub unchanged: u64,
    /// Declarations sent again with other content (customs amended them): the new content replaced the old.
    pub replaced: u64,
    /// Findings of the cross-check opened, and resolved, by this feed.
    pub opened: u64,
    pub resolved: u64,
}

/// Which declarations to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeclarationFilter {
    /// Those a province's customs sent.
    pub province: Option<String>,
    /// Those of one consignee (USCC).
    pub consignee: Option<String>,
}
