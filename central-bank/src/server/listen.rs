//! Serving the router on a listener: plain HTTP on loopback or TLS, each connection admitted
//! ([`crate::admission`]) before any byte is read, and a graceful shutdown.

use super::*;

/// Serves `app` on `listener` until `shutdown` resolves, then waits for open requests to finish,
/// with the default [`AdmissionConfig`](crate::admission::AdmissionConfig).
pub async fn serve(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let admission = crate::admission::Admission::new(Default::default())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    serve_with(state, listener, admission, shutdown).await
}

/// [`serve`] under the given admission limits (see [`crate::admission`]), plain HTTP.
pub async fn serve_with(
    state: AppState,
    listener: tokio::net::TcpListener,
    admission: Arc<crate::admission::Admission>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_tls_with(state, listener, admission, None, shutdown).await
}

/// [`serve_with`], over TLS when `tls` is given (see [`crate::tls`]).
///
/// Not `axum::serve`: it gives hyper no timer (so no header read timeout), stops accepting when
/// its connection table is full (so honest clients wait in the kernel's backlog behind a flood)
/// and knows nothing of client addresses. Here every connection is admitted or closed at once
/// by its address, is closed if it has not sent a complete request in time, and its requests
/// carry the client address for the rate limit. The TLS handshake runs after admission and
/// under the same first-request timeout, so a stalled handshake holds its slot no longer than
/// a silent plain connection.
pub async fn serve_tls_with(
    state: AppState,
    listener: tokio::net::TcpListener,
    admission: Arc<crate::admission::Admission>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use crate::admission::ClientAddr;
    use hyper_util::rt::{TokioExecutor, TokioTimer};
    use hyper_util::server::conn::auto::Builder;
    use tower::ServiceExt;

    let router = app(state).layer(middleware::from_fn_with_state(
        admission.clone(),
        crate::admission::admit,
    ));
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    builder.http2().timer(TokioTimer::new());
    let builder = Arc::new(builder);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let sweeper = {
        let admission = admission.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(60)).await;
                admission.forget_idle_clients();
            }
        })
    };
    // Every connection's task, so that a stop can end those still open after the grace period
    // (each holds the router and with it the sequencer's queue, which must close for the
    // sequencer to drain and end).
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        // The tasks of connections that ended are reaped as the node goes.
        while connections.try_join_next().is_some() {}
        let accepted = tokio::select! {
            conn = listener.accept() => conn,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(c) => c,
            Err(e) => {
                // Out of file descriptors and the like: back off rather than spin.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(slot) = admission.admit_connection(peer.ip()) else {
            tracing::debug!(%peer, "connection refused: connection cap reached");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let activity = slot.activity();
        let client = ClientAddr(peer.ip());
        let router = router.clone();
        let service = tower::service_fn(move |req: axum::http::Request<hyper::body::Incoming>| {
            let mark = activity.begin();
            let mut req = req.map(axum::body::Body::new);
            req.extensions_mut().insert(client);
            let router = router.clone();
            async move {
                let response = router.oneshot(req).await;
                drop(mark);
                response
            }
        });
        let watcher = graceful.watcher();
        let builder = builder.clone();
        let tls = tls.clone();
        connections.spawn(async move {
            match tls {
                None => serve_connection(&builder, stream, service, watcher, slot, peer).await,
                Some(acceptor) => {
                    let handshake = tokio::select! {
                        r = acceptor.accept(stream) => r,
                        () = slot.expired() => {
                            tracing::debug!(%peer, "connection closed: TLS handshake not done in time");
                            return;
                        }
                    };
                    match handshake {
                        Ok(tls_stream) => {
                            serve_connection(&builder, tls_stream, service, watcher, slot, peer)
                                .await
                        }
                        Err(e) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                    }
                }
            }
        });
    }
    sweeper.abort();
    drop(listener);
    // Requests in flight are answered; a connection still open after the grace period (a client
    // that never finishes its request) is dropped, so a stop never waits on a client.
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            grace_s = SHUTDOWN_GRACE.as_secs(),
            open = connections.len(),
            "connections still open at shutdown: closed"
        );
    }
    connections.abort_all();
    while connections.join_next().await.is_some() {}
    Ok(())
}

/// How long a stop waits for the open connections' requests to finish before closing them.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Serves one admitted connection (plain or TLS) until it ends, the node shuts down, or it stays
/// too long without a request; then its admission slot is released.
async fn serve_connection<I, S>(
    builder: &hyper_util::server::conn::auto::Builder<hyper_util::rt::TokioExecutor>,
    io: I,
    service: S,
    watcher: hyper_util::server::graceful::Watcher,
    slot: crate::admission::ConnectionSlot,
    peer: std::net::SocketAddr,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    S: tower::Service<
            axum::http::Request<hyper::body::Incoming>,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    use hyper_util::rt::TokioIo;
    use hyper_util::service::TowerToHyperService;
    let conn = builder
        .serve_connection_with_upgrades(TokioIo::new(io), TowerToHyperService::new(service))
        .into_owned();
    let conn = watcher.watch(conn);
    tokio::select! {
        r = conn => if let Err(e) = r {
            tracing::debug!(error = %e, "connection ended with an error");
        },
        () = slot.expired() => tracing::debug!(%peer, "connection closed: no request in time"),
    }
    drop(slot);
}
