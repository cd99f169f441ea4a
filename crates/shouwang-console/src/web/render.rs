//! Server-side rendering: minijinja templates compiled into the binary,
//! auto-escaped, with `t(key)` for the page's language.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use minijinja::{Environment, State};

use super::{AppError, Auth};
use crate::i18n::tr;

pub(crate) struct Renderer {
    env: Environment<'static>,
}

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    ("login.html", include_str!("../../templates/login.html")),
    ("trust.html", include_str!("../../templates/trust.html")),
    (
        "dashboard.html",
        include_str!("../../templates/dashboard.html"),
    ),
    (
        "findings.html",
        include_str!("../../templates/findings.html"),
    ),
    ("finding.html", include_str!("../../templates/finding.html")),
    ("events.html", include_str!("../../templates/events.html")),
    ("hosts.html", include_str!("../../templates/hosts.html")),
    ("sites.html", include_str!("../../templates/sites.html")),
    ("guard.html", include_str!("../../templates/guard.html")),
    (
        "guard_state.html",
        include_str!("../../templates/guard_state.html"),
    ),
    (
        "guard_root.html",
        include_str!("../../templates/guard_root.html"),
    ),
    (
        "guard_diff.html",
        include_str!("../../templates/guard_diff.html"),
    ),
    (
        "guard_add.html",
        include_str!("../../templates/guard_add.html"),
    ),
    (
        "incidents.html",
        include_str!("../../templates/incidents.html"),
    ),
    (
        "incident.html",
        include_str!("../../templates/incident.html"),
    ),
    ("notify.html", include_str!("../../templates/notify.html")),
    ("unit.html", include_str!("../../templates/unit.html")),
    ("reports.html", include_str!("../../templates/reports.html")),
    ("audit.html", include_str!("../../templates/audit.html")),
    ("users.html", include_str!("../../templates/users.html")),
    (
        "password.html",
        include_str!("../../templates/password.html"),
    ),
    ("message.html", include_str!("../../templates/message.html")),
];

/// The language of the page being rendered (`lang` in its context).
fn lang_of(state: &State) -> String {
    state
        .lookup("lang")
        .map(|v| v.to_string())
        .unwrap_or_default()
}

impl Renderer {
    pub fn new() -> Self {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("built-in template {name} does not compile: {e}"));
        }
        env.add_function("t", |state: &State, key: &str| -> String {
            let lang = lang_of(state);
            tr(&lang, key).to_string()
        });
        // An event by what happened (网页篡改已恢复), not by its kind.
        env.add_function("event_kind", |state: &State, kind: &str| -> String {
            let lang = lang_of(state);
            match shouwang_model::events::kind_label(kind) {
                Some(label) => label.get(&lang).to_string(),
                None => kind.to_string(),
            }
        });
        // A sensor by what it does (主机自查), not by its code name (host).
        env.add_function("sensor_name", |state: &State, sensor: &str| -> String {
            let lang = lang_of(state);
            crate::i18n::sensor_name(&lang, sensor).to_string()
        });
        Renderer { env }
    }

    /// Render a page. `ctx` (a JSON object) is merged with what every page
    /// needs: the language, the user, the CSRF token.
    pub fn page(
        &self,
        template: &str,
        lang: &str,
        auth: Option<&Auth>,
        ctx: serde_json::Value,
    ) -> Response {
        let mut base = serde_json::json!({
            "lang": lang,
            "version": shouwang_model::VERSION,
        });
        if let Some(auth) = auth {
            base["user"] = serde_json::json!({
                "name": auth.user.name,
                "role": auth.user.role.as_str(),
                "can_operate": auth.can_operate(),
                "can_admin": auth.can_admin(),
            });
            base["csrf"] = auth.csrf().into();
            base["request_path"] = super::auth::urlencode(&auth.path).into();
        }
        if let (Some(b), serde_json::Value::Object(extra)) = (base.as_object_mut(), ctx) {
            b.extend(extra);
        }
        let rendered = self
            .env
            .get_template(template)
            .and_then(|t| t.render(minijinja::Value::from_serialize(&base)));
        match rendered {
            Ok(html) => Html(html).into_response(),
            Err(e) => {
                tracing::error!(template, error = %e, detail = ?e.detail(), "template failed to render");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    tr(lang, "error.internal").to_string(),
                )
                    .into_response()
            }
        }
    }

    /// Render with a status; a page that failed to render keeps its 500.
    pub fn page_with_status(
        &self,
        template: &str,
        lang: &str,
        auth: Option<&Auth>,
        ctx: serde_json::Value,
        status: StatusCode,
    ) -> Response {
        let mut res = self.page(template, lang, auth, ctx);
        if res.status().is_success() {
            *res.status_mut() = status;
        }
        res
    }

    pub fn message_page(&self, auth: &Auth, status: StatusCode, message: &str) -> Response {
        self.page_with_status(
            "message.html",
            &auth.lang,
            Some(auth),
            serde_json::json!({ "message": message }),
            status,
        )
    }

    pub fn error_page(&self, auth: Option<&Auth>, lang: &str, err: AppError) -> Response {
        let status = err.status();
        let mut res = self.page_with_status(
            "message.html",
            lang,
            auth,
            serde_json::json!({ "message": err.public_message(lang), "error": true }),
            status,
        );
        super::with_retry_after(&err, &mut res);
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every template renders with an empty context and with a typical one,
    /// so a template error shows up here with its message, not as a 500.
    #[test]
    fn templates_render() {
        let r = Renderer::new();
        let ctx = serde_json::json!({
            "lang": "zh",
            "user": { "name": "admin", "role": "admin", "can_operate": true, "can_admin": true },
            "csrf": "tok",
            "users": [{ "name": "张三", "role": "auditor", "disabled": false, "locked": false, "is_self": false }],
            "roles": ["admin", "operator", "auditor"],
            "f": { "id": 1, "severity": "high", "title": "x", "status": "open" },
            "a": { "owner": "张三", "due": "2026-12-31", "due_zh": "2026年12月31日", "overdue": false, "roster": ["张三"] },
            "staff": [{ "name": "张三", "department": "办公室", "title": "", "email": "", "mobile": "" }],
            "root": "/var/www/html",
            "p": { "sealed_files": 3, "sealed_bytes": 10, "writable_files": 1, "excluded_files": 0, "truncated": false,
                   "top": [{ "name": "uploads", "dir": true, "treated": "writable", "files": 1 }], "suggested_writables": ["cache/**"] },
            "mb": "0.1",
            "writables": ["uploads/**"],
            "excludes": [],
            // guard_state.html is included with `s`, one root's state.
            "s": { "condition": "differs", "differing": 3, "oldest_path": "index.html", "oldest_since": "2026-11-22 16:00（北京时间）" },
            "state": { "condition": "converged" },
            "record": { "id": "q1", "path": "index.html", "reason": "tampered", "kind": "file", "size": 5, "mode": 420, "uid": 0 },
            "lines": [{ "tag": "del", "text": "<h1>政府</h1>" }, { "tag": "ins", "text": "<h1>HACKED</h1>" }],
            "text": true,
            "filter": {},
            "form": {},
            "inc": { "id": 1, "level": "large", "level_label": "较大（Ⅲ级）", "title": "网页被篡改", "deadline": null },
            "unit": { "name": "某某县教育局", "security_officer": { "name": "张三" }, "leading_group": [], "systems": [] },
        });
        for (name, _) in TEMPLATES {
            let t = r.env.get_template(name).unwrap();
            if let Err(e) = t.render(minijinja::Value::from_serialize(&ctx)) {
                panic!("{name}: {e} {:?}", e.detail());
            }
        }
        let html = r
            .env
            .get_template("users.html")
            .unwrap()
            .render(minijinja::Value::from_serialize(&ctx))
            .unwrap();
        assert!(html.contains("%E5%BC%A0%E4%B8%89/disable"), "{html}");
    }
}
