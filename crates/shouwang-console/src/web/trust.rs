//! The unit CA for people: its certificate to download (`/ca.crt` PEM,
//! `/ca.der` DER) and how to trust it (`/trust`), all without a login,
//! since they are what a browser needs before it can log in safely.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::i18n::tr;

/// The CA certificate, read when asked (it is made by `up` before the
/// console starts, and a few hundred bytes).
fn ca(state: &AppState) -> Option<(crate::tls::CaIdentity, Vec<u8>)> {
    let dir = crate::tls::tls_dir(state.config.data_dir.as_deref()?);
    match crate::tls::UnitCa::identity_in(&dir) {
        Ok(found) => found.map(|(id, der)| (id, der.to_vec())),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the unit CA certificate");
            None
        }
    }
}

/// PEM, as `.crt` files go: Windows opens it with a double click, Linux
/// trust stores take it as it is, and Firefox offers to trust it when it
/// is fetched with this type.
pub(crate) async fn ca_pem(State(state): State<AppState>) -> Response {
    match ca(&state) {
        Some((_, der)) => download(
            "application/x-x509-ca-cert",
            "shouwang-ca.crt",
            crate::tls::ca::pem_encode("CERTIFICATE", &der).into_bytes(),
        ),
        None => not_made(),
    }
}

/// DER (RFC 2585's type), for tools that want the binary form.
pub(crate) async fn ca_der(State(state): State<AppState>) -> Response {
    match ca(&state) {
        Some((_, der)) => download("application/pkix-cert", "shouwang-ca.cer", der),
        None => not_made(),
    }
}

fn download(content_type: &'static str, name: &str, body: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

fn not_made() -> Response {
    (StatusCode::NOT_FOUND, tr("zh", "trust.none")).into_response()
}

pub(crate) async fn page(
    State(state): State<AppState>,
    crate::web::auth::Lang(lang): crate::web::auth::Lang,
) -> Response {
    let identity = ca(&state).map(|(id, _)| id);
    state.renderer.page(
        "trust.html",
        &lang,
        None,
        serde_json::json!({ "ca": identity }),
    )
}
