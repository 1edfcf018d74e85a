//! The graceful stop: on SIGTERM or Ctrl-C the server stops accepting connections, lets the
//! requests in flight finish (an upload keeps streaming to its end), ends the event streams
//! (which would otherwise never finish), then the jobs run to their end
//! ([`crate::jobs::Jobs::drain`]) and the process exits 0.
//!
//! There is no deadline of its own: the supervisor's (systemd's `TimeoutStopSec`, Kubernetes'
//! `terminationGracePeriodSeconds`) is the one that counts, and what a SIGKILL then cuts short
//! is recovered at the next start like any crash.

use axum::Router;
use axum::body::Body;
use axum::http::header::CONTENT_TYPE;
use axum::middleware;
use axum::response::Response;
use futures_util::StreamExt;
use tokio::sync::watch;

/// Resolves at the first SIGTERM or Ctrl-C (SIGINT).
pub async fn signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!("cannot listen for Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C: stopping"),
        () = term => tracing::info!("SIGTERM: stopping"),
    }
}

/// Ends every `text/event-stream` answer when `stop` turns true, so the graceful stop does not
/// wait forever on a client watching a job. The client's `EventSource` reconnects, to another
/// replica or to this one once it is back.
pub fn end_streams(router: Router, stop: watch::Receiver<bool>) -> Router {
    router.layer(middleware::map_response(move |response: Response| {
        let stop = stop.clone();
        async move { cut_stream_on(response, stop) }
    }))
}

fn cut_stream_on(response: Response, mut stop: watch::Receiver<bool>) -> Response {
    let is_stream = response
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    if !is_stream {
        return response;
    }
    let (parts, body) = response.into_parts();
    let stopped = async move {
        let _ = stop.wait_for(|stopped| *stopped).await;
    };
    let body = Body::from_stream(body.into_data_stream().take_until(Box::pin(stopped)));
    Response::from_parts(parts, body)
}
