//! The error type of the sign-in pages: what a page handler returns with `?` instead of
//! building the error page at each failure.
//!
//! A [`PageError`] needs no state to be made, so `?` works on a [`StoreError`]; the error
//! page it becomes links to the issuer's stylesheet, so [`render_error_pages`], a layer
//! that knows the issuer, renders the page's body. The admin console may return it too,
//! behind the same layer.

use std::borrow::Cow;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use gatehouse_oidc::Issuer;
use gatehouse_storage::StoreError;

use crate::pages;

/// Why a page handler did not produce its page.
#[derive(Debug)]
pub enum PageError {
    /// The error page: a status, a title and a sentence that says what to do, and for a
    /// 429 how many seconds to wait.
    Page {
        status: StatusCode,
        title: Cow<'static, str>,
        description: Cow<'static, str>,
        retry_after: Option<i64>,
    },
    /// The store could not be read or written (logged where it happened): the 503 page.
    /// Never a verdict on the request.
    Unavailable,
    /// An answer built already: a form shown again with its message, or an error
    /// redirected back to the client. (Boxed: a `Response` is large, and every `Result`
    /// carries room for its error.)
    Answer(Box<Response>),
}

impl PageError {
    pub fn page(
        status: StatusCode,
        title: impl Into<Cow<'static, str>>,
        description: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::Page {
            status,
            title: title.into(),
            description: description.into(),
            retry_after: None,
        }
    }

    /// 400 with the given title and description.
    pub fn bad_request(
        title: impl Into<Cow<'static, str>>,
        description: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::page(StatusCode::BAD_REQUEST, title, description)
    }

    /// A form without this session's CSRF token (RFC 6749 §10.12): 403.
    pub fn csrf_refused() -> Self {
        Self::page(
            StatusCode::FORBIDDEN,
            "Request refused",
            "This form has expired or did not come from this site. Go back, reload the page and try again.",
        )
    }

    /// A pending authorization request that is gone, expired, another browser's, or
    /// finished already.
    pub fn expired_request() -> Self {
        Self::bad_request(
            "Sign-in request expired",
            "This sign-in request has expired or was already completed. Return to the application and start again.",
        )
    }

    /// Every password-hashing slot is taken: 429, try again in a second.
    pub fn busy(description: &'static str) -> Self {
        Self::Page {
            status: StatusCode::TOO_MANY_REQUESTS,
            title: "Busy".into(),
            description: description.into(),
            retry_after: Some(1),
        }
    }

    /// A storage failure, logged with `detail` and the place it happened.
    #[track_caller]
    pub fn unavailable(detail: impl std::fmt::Display) -> Self {
        let at = std::panic::Location::caller();
        tracing::error!(error = %detail, %at, "storage failed");
        Self::Unavailable
    }
}

impl From<StoreError> for PageError {
    /// `?` on a store call: logged here, with the line of the `?`, and answered 503.
    #[track_caller]
    fn from(e: StoreError) -> Self {
        Self::unavailable(e)
    }
}

impl From<Response> for PageError {
    fn from(res: Response) -> Self {
        Self::Answer(Box::new(res))
    }
}

/// The error page's content, left on the response for [`render_error_pages`].
#[derive(Debug, Clone)]
struct ErrorPageContent {
    status: StatusCode,
    title: Cow<'static, str>,
    description: Cow<'static, str>,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, title, description, retry_after) = match self {
            Self::Answer(res) => return *res,
            Self::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Temporarily unavailable".into(),
                "The service cannot complete this step right now. Try again shortly.".into(),
                None,
            ),
            Self::Page {
                status,
                title,
                description,
                retry_after,
            } => (status, title, description, retry_after),
        };
        // Rendered here with links from the root, which is right when the issuer has no
        // path; `render_error_pages` renders it again with the issuer's links.
        let mut res = pages::error_page("", status, &title, &description);
        if let Some(secs) = retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.max(1).to_string())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        res.extensions_mut().insert(ErrorPageContent {
            status,
            title,
            description,
        });
        res
    }
}

/// The layer that gives [`PageError`] pages the issuer's links (its state is the issuer).
/// The response keeps its status and headers (`Retry-After`, `Set-Cookie`); only the body
/// is rendered again.
pub async fn render_error_pages(
    State(issuer): State<Issuer>,
    req: Request,
    next: Next,
) -> Response {
    let res = next.run(req).await;
    let Some(content) = res.extensions().get::<ErrorPageContent>().cloned() else {
        return res;
    };
    let (mut parts, _) = res.into_parts();
    let page = pages::error_page(
        issuer.as_str(),
        content.status,
        &content.title,
        &content.description,
    );
    let (page_parts, body) = page.into_parts();
    parts.status = page_parts.status;
    parts.headers.remove(header::CONTENT_LENGTH);
    if let Some(v) = page_parts.headers.get(header::CONTENT_TYPE) {
        parts.headers.insert(header::CONTENT_TYPE, v.clone());
    }
    Response::from_parts(parts, Body::new(body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::routing::get;
    use tower::ServiceExt;

    async fn body_of(res: Response) -> String {
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .expect("body");
        String::from_utf8(bytes.to_vec()).expect("utf-8")
    }

    #[tokio::test]
    async fn the_layer_renders_the_page_with_the_issuers_links_and_keeps_the_headers() {
        async fn handler() -> Result<Response, PageError> {
            Err(PageError::busy("Try again in a moment."))
        }
        let app =
            Router::new()
                .route("/x", get(handler))
                .layer(axum::middleware::from_fn_with_state(
                    Issuer::new("https://id.example/tenant"),
                    render_error_pages,
                ));
        let res = app
            .oneshot(Request::get("/x").body(Body::empty()).expect("request"))
            .await
            .expect("response");
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(res.headers()[header::RETRY_AFTER], "1");
        let body = body_of(res).await;
        assert!(
            body.contains("https://id.example/tenant/static/gatehouse.css"),
            "{body}"
        );
        assert!(body.contains("Try again in a moment."), "{body}");
    }

    #[tokio::test]
    async fn a_storage_failure_is_the_503_page() {
        let res = PageError::from(StoreError::Corrupt("test".into())).into_response();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(body_of(res).await.contains("Temporarily unavailable"));
    }
}
