//! Admission control for a node on a hostile network: who gets a connection, how long a
//! connection may stay without a request, how fast one client may send, and when the node
//! sheds load instead of queueing it.
//!
//! Every limit is a flag of `dfc-bank serve` ([`AdmissionConfig`]); the defaults are generous so
//! the test suites and `dfc-sim load`, which run many concurrent clients from `127.0.0.1`, never
//! meet them, while a flood from one address is still bounded.
//!
//! | limit | enforced | answer |
//! |---|---|---|
//! | connections in total and per client address | at accept, before any byte is read | the connection is closed at once |
//! | first request / idle time of a connection | by a watchdog per connection | the connection is closed |
//! | requests per second per client address | before routing | `429 rate_limited` + `Retry-After` |
//! | requests admitted at once (running + waiting) | before routing | `503 overloaded` + `Retry-After` |
//!
//! The accept loop never stops accepting: a full table refuses new connections quickly instead
//! of leaving them in the kernel's backlog, where honest clients time out behind the flood.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use tokio::time::Instant;

use crate::error::ApiErr;

/// Limits of [`crate::server::serve`]; each is a `dfc-bank serve` flag.
#[derive(Debug, Clone)]
pub struct AdmissionConfig {
    /// Open connections at once, all clients together.
    pub max_connections: usize,
    /// Open connections at once from one client address.
    pub max_connections_per_client: usize,
    /// A new connection must have sent a complete request head within this time (HTTP/1 and
    /// HTTP/2 alike), or it is closed: idle and slowloris connections cannot fill the table.
    pub first_request_timeout: Duration,
    /// A connection with no request in flight for this long is closed. Longer than the 90 s
    /// that `reqwest`'s pool keeps idle connections, so clients close theirs first.
    pub idle_timeout: Duration,
    /// Requests per second from one client address (token bucket); `0` turns the limit off.
    pub rate_per_second: u32,
    /// Requests one client address may send in a burst above the rate.
    pub rate_burst: u32,
    /// Requests admitted at once (running plus waiting for one of the node's request slots);
    /// beyond it requests are shed with 503.
    pub max_pending_requests: usize,
}

impl Default for AdmissionConfig {
    fn default() -> Self {
        AdmissionConfig {
            max_connections: 8192,
            max_connections_per_client: 2048,
            first_request_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(120),
            rate_per_second: 5000,
            rate_burst: 10_000,
            max_pending_requests: 4096,
        }
    }
}

/// Why an [`AdmissionConfig`] is unusable.
#[derive(Debug, thiserror::Error)]
pub enum AdmissionError {
    /// A limit that must be positive is zero.
    #[error("admission limit {0} must be at least 1")]
    Zero(&'static str),
}

/// The shared admission state of one listener.
pub struct Admission {
    config: AdmissionConfig,
    open: AtomicUsize,
    per_client: Mutex<HashMap<IpAddr, usize>>,
    pending: AtomicUsize,
    limiter: Option<DefaultKeyedRateLimiter<IpAddr>>,
    refused_connections: AtomicU64,
    rate_limited: AtomicU64,
    shed: AtomicU64,
}

/// Counters of what admission control refused, for logs and tests.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct AdmissionStats {
    /// Connections open now.
    pub open_connections: usize,
    /// Connections closed at accept because a cap was reached.
    pub refused_connections: u64,
    /// Requests answered 429.
    pub rate_limited: u64,
    /// Requests answered 503 `overloaded`.
    pub shed: u64,
}

impl Admission {
    /// Checks `config` and builds the state.
    pub fn new(config: AdmissionConfig) -> Result<Arc<Admission>, AdmissionError> {
        for (name, v) in [
            ("--max-connections", config.max_connections),
            (
                "--max-connections-per-client",
                config.max_connections_per_client,
            ),
            ("--max-pending-requests", config.max_pending_requests),
        ] {
            if v == 0 {
                return Err(AdmissionError::Zero(name));
            }
        }
        let limiter = match NonZeroU32::new(config.rate_per_second) {
            None => None,
            Some(rate) => {
                let burst = NonZeroU32::new(config.rate_burst.max(config.rate_per_second))
                    .ok_or(AdmissionError::Zero("--rate-burst"))?;
                Some(DefaultKeyedRateLimiter::keyed(
                    Quota::per_second(rate).allow_burst(burst),
                ))
            }
        };
        Ok(Arc::new(Admission {
            config,
            open: AtomicUsize::new(0),
            per_client: Mutex::new(HashMap::new()),
            pending: AtomicUsize::new(0),
            limiter,
            refused_connections: AtomicU64::new(0),
            rate_limited: AtomicU64::new(0),
            shed: AtomicU64::new(0),
        }))
    }

    /// The limits.
    pub fn config(&self) -> &AdmissionConfig {
        &self.config
    }

    /// What has been refused so far.
    pub fn stats(&self) -> AdmissionStats {
        AdmissionStats {
            open_connections: self.open.load(Ordering::Relaxed),
            refused_connections: self.refused_connections.load(Ordering::Relaxed),
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
            shed: self.shed.load(Ordering::Relaxed),
        }
    }

    /// Admits a new connection from `ip`, or `None` (close it) when the total or the client's
    /// cap is reached. The slot is held until the returned guard drops.
    pub fn admit_connection(self: &Arc<Self>, ip: IpAddr) -> Option<ConnectionSlot> {
        let mut per = match self.per_client.lock() {
            Ok(p) => p,
            Err(p) => p.into_inner(),
        };
        let mine = per.get(&ip).copied().unwrap_or(0);
        if self.open.load(Ordering::Relaxed) >= self.config.max_connections
            || mine >= self.config.max_connections_per_client
        {
            self.refused_connections.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        per.insert(ip, mine + 1);
        self.open.fetch_add(1, Ordering::Relaxed);
        Some(ConnectionSlot {
            admission: self.clone(),
            ip,
            activity: Arc::new(Activity {
                started: Instant::now(),
                in_flight: AtomicUsize::new(0),
                served: AtomicBool::new(false),
                quiet_since_ms: AtomicU64::new(0),
            }),
        })
    }

    /// Forgets rate-limiter state of clients not seen lately, so the table stays bounded.
    pub fn forget_idle_clients(&self) {
        if let Some(l) = &self.limiter {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }
}

/// One admitted connection: releases its slot on drop and tracks its requests.
pub struct ConnectionSlot {
    admission: Arc<Admission>,
    ip: IpAddr,
    activity: Arc<Activity>,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut per = match self.admission.per_client.lock() {
            Ok(p) => p,
            Err(p) => p.into_inner(),
        };
        if let Some(n) = per.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                per.remove(&self.ip);
            }
        }
        self.admission.open.fetch_sub(1, Ordering::Relaxed);
    }
}

impl ConnectionSlot {
    /// The connection's activity, to mark requests with [`Activity::begin`].
    pub fn activity(&self) -> Arc<Activity> {
        self.activity.clone()
    }

    /// Resolves when the connection has gone too long without a request in flight: the first
    /// request's head not complete within `first_request_timeout`, or no request for
    /// `idle_timeout` after the last one. The caller then drops (closes) the connection.
    pub async fn expired(&self) {
        let a = &self.activity;
        loop {
            let limit = if a.served.load(Ordering::Acquire) {
                self.admission.config.idle_timeout
            } else {
                self.admission.config.first_request_timeout
            };
            let quiet_ms = a.quiet_since_ms.load(Ordering::Acquire);
            tokio::time::sleep_until(a.started + Duration::from_millis(quiet_ms) + limit).await;
            let unchanged = a.quiet_since_ms.load(Ordering::Acquire) == quiet_ms;
            if a.in_flight.load(Ordering::Acquire) == 0 && unchanged {
                return;
            }
            if a.in_flight.load(Ordering::Acquire) > 0 {
                // A request is running: it is bounded by the request timeout; look again then.
                tokio::time::sleep(limit).await;
            }
        }
    }
}

/// Requests of one connection: in flight now, and since when it has had none.
pub struct Activity {
    started: Instant,
    in_flight: AtomicUsize,
    served: AtomicBool,
    quiet_since_ms: AtomicU64,
}

impl Activity {
    /// Marks a request (its head complete) as in flight until the guard drops.
    pub fn begin(self: &Arc<Self>) -> RequestMark {
        self.served.store(true, Ordering::Release);
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.touch();
        RequestMark {
            activity: self.clone(),
        }
    }

    fn touch(&self) {
        self.quiet_since_ms.store(
            u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX),
            Ordering::Release,
        );
    }
}

/// A request in flight on a connection.
pub struct RequestMark {
    activity: Arc<Activity>,
}

impl Drop for RequestMark {
    fn drop(&mut self) {
        self.activity.touch();
        self.activity.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The client address of a request, put in its extensions by the accept loop.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub IpAddr);

/// Middleware: per-client rate limit (429) and load shedding (503), before any routing, body
/// read or verification. Requests without a [`ClientAddr`] (the router called without a
/// socket, in tests) are only counted for shedding.
pub async fn admit(State(admission): State<Arc<Admission>>, req: Request, next: Next) -> Response {
    if let (Some(limiter), Some(ClientAddr(ip))) =
        (&admission.limiter, req.extensions().get::<ClientAddr>())
    {
        if let Err(not_until) = limiter.check_key(ip) {
            admission.rate_limited.fetch_add(1, Ordering::Relaxed);
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            return with_retry_after(
                ApiErr::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    format!(
                        "too many requests from {ip}: at most {} per second (burst {}); retry in {} s",
                        admission.config.rate_per_second,
                        admission.config.rate_burst.max(admission.config.rate_per_second),
                        secs.max(1)
                    ),
                ),
                secs.max(1),
            );
        }
    }
    let now = admission.pending.fetch_add(1, Ordering::AcqRel);
    let _pending = Pending(&admission.pending);
    if now >= admission.config.max_pending_requests {
        admission.shed.fetch_add(1, Ordering::Relaxed);
        return with_retry_after(
            ApiErr::unavailable(
                "overloaded",
                format!(
                    "the node is overloaded: {} requests are already admitted (limit {}); retry later",
                    now, admission.config.max_pending_requests
                ),
            ),
            1,
        );
    }
    next.run(req).await
}

struct Pending<'a>(&'a AtomicUsize);

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// `err` with a `Retry-After` header of `secs` seconds.
pub fn with_retry_after(err: ApiErr, secs: u64) -> Response {
    let mut r = err.into_response();
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_caps_hold_per_client_and_in_total() {
        let adm = Admission::new(AdmissionConfig {
            max_connections: 3,
            max_connections_per_client: 2,
            ..AdmissionConfig::default()
        })
        .expect("valid");
        let a: IpAddr = [127, 0, 0, 2].into();
        let b: IpAddr = [127, 0, 0, 3].into();
        let a1 = adm.admit_connection(a).expect("first");
        let _a2 = adm.admit_connection(a).expect("second");
        assert!(adm.admit_connection(a).is_none(), "per-client cap");
        let _b1 = adm.admit_connection(b).expect("another client");
        assert!(adm.admit_connection(b).is_none(), "total cap");
        drop(a1);
        assert!(adm.admit_connection(b).is_some(), "a freed slot is reused");
        assert_eq!(adm.stats().refused_connections, 2);
    }

    #[test]
    fn zero_limits_are_refused() {
        let err = Admission::new(AdmissionConfig {
            max_pending_requests: 0,
            ..AdmissionConfig::default()
        })
        .err()
        .expect("refused");
        assert!(err.to_string().contains("--max-pending-requests"));
    }
}
