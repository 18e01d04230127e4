//! Notifications between nodes: every transaction that stores records (submissions) sends
//! `pg_notify('coldtrace_records', <schema>)`, and every one that stores inbox rows, notices or link decisions
//! `pg_notify('coldtrace_national', <schema>)`; PostgreSQL delivers them at commit. A store that waits for them
//! keeps one connection listening on both (reconnecting after a failure) and wakes the follower of each. A
//! notification is a hint to read, never the data: a node still reads by sequence number, so one lost in a
//! reconnect only delays it until its next timed read.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::Notify;

/// What changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Channel {
    /// Records: enterprises, batches, movements (the trace index follows them).
    Records,
    /// The national inbox, notices out and link decisions (the national registry follows them).
    National,
}

impl Channel {
    fn name(self) -> &'static str {
        match self {
            Channel::Records => "coldtrace_records",
            Channel::National => "coldtrace_national",
        }
    }
}

/// The statement a transaction that stores inbox rows, notices or decisions runs before it commits.
pub(crate) const NOTIFY: &str = "SELECT pg_notify('coldtrace_national', current_schema())";

/// The statement a transaction that stores records runs before it commits.
pub(crate) const NOTIFY_RECORDS: &str = "SELECT pg_notify('coldtrace_records', current_schema())";

/// Who is woken for each channel: one permit per notification, so one that arrives while the follower is reading
/// is not lost.
#[derive(Default)]
pub(crate) struct Wakers {
    pub records: Notify,
    pub national: Notify,
}

impl Wakers {
    pub(crate) fn of(&self, c: Channel) -> &Notify {
        match c {
            Channel::Records => &self.records,
            Channel::National => &self.national,
        }
    }
}

/// Starts listening for `schema`'s notifications.
pub(crate) fn spawn(config: tokio_postgres::Config, schema: String, wake: Arc<Wakers>) {
    tokio::spawn(async move {
        loop {
            if let Err(e) = listen(&config, &schema, &wake).await {
                tracing::warn!(error = %e, "listening for other nodes' writes failed; reconnecting");
            }
            // A reconnect may have missed notifications: let the followers read once.
            wake.records.notify_one();
            wake.national.notify_one();
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
}

async fn listen(
    config: &tokio_postgres::Config,
    schema: &str,
    wake: &Wakers,
) -> Result<(), tokio_postgres::Error> {
    let (client, mut conn) = config.connect(tokio_postgres::NoTls).await?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let drive = tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| conn.poll_message(cx));
        while let Some(m) = messages.next().await {
            match m {
                Ok(tokio_postgres::AsyncMessage::Notification(n)) => {
                    if tx
                        .send((n.channel().to_string(), n.payload().to_string()))
                        .is_err()
                    {
                        break;
                    }
                }
                Ok(_) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    });
    for c in [Channel::Records, Channel::National] {
        client
            .batch_execute(&format!("LISTEN {}", c.name()))
            .await?;
    }
    while let Some((channel, payload)) = rx.recv().await {
        if payload != schema {
            continue;
        }
        for c in [Channel::Records, Channel::National] {
            if channel == c.name() {
                wake.of(c).notify_one();
            }
        }
    }
    drop(client);
    match drive.await {
        Ok(r) => r,
        Err(_) => Ok(()),
    }
}
