//! What the PostgreSQL server's settings mean for a store that grows, read when the store opens and logged as
//! warnings (`coldtrace serve` prints them; `docs/operations.md` lists the settings).
//!
//! The store prepares each statement once per connection and PostgreSQL plans it once, generically (see
//! `PgStore::open`). A cached plan is planned again when the statistics of its tables change, which autovacuum's
//! `ANALYZE` does as they grow. With autovacuum off the plans made when the tables were small stay: at 600,000
//! generated movements a submission's read of its lots' stock, planned on near-empty tables, walked every lot of
//! each holder and took 1.3-2.3 s for 1,400 lots, where a plan made on the grown tables took 24 ms
//! (`docs/performance.md`).

/// The settings [`advice`] reads (`pg_settings.name`).
pub(crate) const READ: &[&str] = &["autovacuum", "track_counts"];

/// Warnings about the server's settings (name, value as `pg_settings.setting` gives it), one sentence each;
/// empty when nothing is amiss.
pub(crate) fn advice<'a>(settings: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vec<String> {
    let mut out = Vec::new();
    for (name, value) in settings {
        let off = value.eq_ignore_ascii_case("off");
        match name {
            "autovacuum" if off => out.push(
                "autovacuum is off: the tables' statistics are never refreshed, so the store's statements keep \
                 the plans made when the tables were small and slow down as the store grows (turn it on, the \
                 PostgreSQL default, or ANALYZE the store's schema regularly)"
                    .to_string(),
            ),
            "track_counts" if off => out.push(
                "track_counts is off: autovacuum cannot tell which tables changed, so their statistics are \
                 never refreshed (turn it on, the PostgreSQL default)"
                    .to_string(),
            ),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_without_autovacuum_is_named_and_a_default_one_is_not() {
        assert!(advice([("autovacuum", "on"), ("track_counts", "on")]).is_empty());
        let a = advice([("autovacuum", "off"), ("track_counts", "on")]);
        assert_eq!(a.len(), 1);
        assert!(a[0].starts_with("autovacuum is off"), "{a:?}");
        let a = advice([("autovacuum", "on"), ("track_counts", "off")]);
        assert_eq!(a.len(), 1);
        assert!(a[0].starts_with("track_counts is off"), "{a:?}");
        assert_eq!(
            advice([("autovacuum", "off"), ("track_counts", "off")]).len(),
            2
        );
    }
}
