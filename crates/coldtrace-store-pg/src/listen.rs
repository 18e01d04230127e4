//! Notifications between nodes: every transaction that stores inbox rows, notices or link decisions sends
//! `pg_notify('coldtrace_national', <schema>)`, which PostgreSQL delivers at commit; a store that waits for them
//! keeps one connection listening (reconnecting after a failure) and wakes its follower. A notification is a hint
//! to read, never the data: a node still reads by sequence number, so one lost in a reconnect only delays it until
//! its next timed read.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::Notify;

/// The channel every coldtrace store notifies on; the payload is the schema that changed.
pub(crate) const CHANNEL: &str = "coldtrace_national";

/// The statement a writing transaction runs before it commits.
pub(crate) const NOTIFY: &str = "SELECT pg_notify('coldtrace_national', current_schema())";

/// Starts listening for `schema`'s notifications; `wake` gets a permit for each (so one that arrives while the
/// follower is reading is not lost).
pub(crate) fn spawn(config: tokio_postgres::Config, schema: String, wake: Arc<Notify>) {
    tokio::spawn(async move {
        loop {
            if let Err(e) = listen(&config, &schema, &wake).await {
                tracing::warn!(error = %e, "listening for other nodes' writes failed; reconnecting");
            }
            // A reconnect may have missed notifications: let the follower read once.
            wake.notify_one();
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
}

async fn listen(
    config: &tokio_postgres::Config,
    schema: &str,
    wake: &Notify,
) -> Result<(), tokio_postgres::Error> {
    let (client, mut conn) = config.connect(tokio_postgres::NoTls).await?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let drive = tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| conn.poll_message(cx));
        while let Some(m) = messages.next().await {
            match m {
                Ok(tokio_postgres::AsyncMessage::Notification(n)) => {
                    if tx.send(n.payload().to_string()).is_err() {
                        break;
                    }
                }
                Ok(_) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    });
    client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
    while let Some(payload) = rx.recv().await {
        if payload == schema {
            wake.notify_one();
        }
    }
    drop(client);
    match drive.await {
        Ok(r) => r,
        Err(_) => Ok(()),
    }
}
