//! Stored objects as HTTP answers with `Range`: the local folder through tower-http's
//! `ServeFile` (as before the store had buckets), a bucket through ranged GETs streamed to the
//! client without holding the body.

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{ACCEPT_RANGES, CONTENT_LENGTH, CONTENT_RANGE, RANGE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use object_store::{GetOptions, GetRange, ObjectStore};
use tower::ServiceExt;

use super::{Backend, Store};
use crate::error::{AppError, AppResult};

/// The one byte range of a `Range: bytes=…` header, resolved against `len`; `Err` when it
/// cannot be satisfied. Several ranges are answered with the whole object, as RFC 9110 allows.
fn byte_range(header: &str, len: u64) -> Option<Result<std::ops::Range<u64>, ()>> {
    let spec = header.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (a, b) = (a.trim(), b.trim());
    let range = if a.is_empty() {
        let n: u64 = b.parse().ok()?;
        if n == 0 {
            return Some(Err(()));
        }
        len.saturating_sub(n)..len
    } else {
        let start: u64 = a.parse().ok()?;
        let end = if b.is_empty() {
            len
        } else {
            b.parse::<u64>().ok()?.saturating_add(1).min(len)
        };
        if start >= len || start >= end {
            return Some(Err(()));
        }
        start..end
    };
    Some(Ok(range))
}

impl Store {
    /// Answers `request` with the object `key`: 200, or 206 for a satisfiable `Range`, or 416;
    /// 404 in the error shape when the object is not there. Content type and cache headers are
    /// the caller's.
    pub async fn serve(&self, key: &str, request: Request) -> AppResult<Response> {
        if let Backend::Folder(f) = &self.inner.backend {
            let response = tower_http::services::ServeFile::new(f.root().join(key))
                .oneshot(request)
                .await
                .map_err(anyhow::Error::from)?
                .into_response();
            if response.status() == StatusCode::NOT_FOUND {
                return Err(AppError::NotFound);
            }
            return Ok(response);
        }
        let objects = &self.inner.objects;
        let path = self.key(key);
        let meta = match objects.head(&path).await {
            Ok(m) => m,
            Err(object_store::Error::NotFound { .. }) => return Err(AppError::NotFound),
            Err(e) => return Err(AppError::Internal(e.into())),
        };
        let len = meta.size;
        let asked = request
            .headers()
            .get(RANGE)
            .and_then(|v| v.to_str().ok())
            .and_then(|h| byte_range(h, len));
        let (status, range) = match asked {
            Some(Err(())) => {
                let mut r = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
                r.headers_mut().insert(
                    CONTENT_RANGE,
                    HeaderValue::from_str(&format!("bytes */{len}"))
                        .map_err(anyhow::Error::from)?,
                );
                return Ok(r);
            }
            Some(Ok(r)) => (StatusCode::PARTIAL_CONTENT, r),
            None => (StatusCode::OK, 0..len),
        };
        let body = if range.is_empty() {
            Body::empty()
        } else {
            let got = objects
                .get_opts(
                    &path,
                    GetOptions {
                        range: Some(GetRange::Bounded(range.clone())),
                        ..Default::default()
                    },
                )
                .await
                .map_err(anyhow::Error::from)?;
            Body::from_stream(got.into_stream().map(|c| c.map_err(std::io::Error::other)))
        };
        let mut response = Response::new(body);
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        headers.insert(CONTENT_LENGTH, HeaderValue::from(range.end - range.start));
        if status == StatusCode::PARTIAL_CONTENT {
            headers.insert(
                CONTENT_RANGE,
                HeaderValue::from_str(&format!("bytes {}-{}/{len}", range.start, range.end - 1))
                    .map_err(anyhow::Error::from)?,
            );
        }
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::byte_range;

    #[test]
    fn ranges_resolve_as_rfc_9110_says() {
        assert_eq!(byte_range("bytes=0-9", 100), Some(Ok(0..10)));
        assert_eq!(byte_range("bytes=90-", 100), Some(Ok(90..100)));
        assert_eq!(byte_range("bytes=-10", 100), Some(Ok(90..100)));
        assert_eq!(byte_range("bytes=95-200", 100), Some(Ok(95..100)));
        assert_eq!(byte_range("bytes=100-", 100), Some(Err(())));
        assert_eq!(byte_range("bytes=0-1,5-6", 100), None);
        assert_eq!(byte_range("items=0-1", 100), None);
    }
}
