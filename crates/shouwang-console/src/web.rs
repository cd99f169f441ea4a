use std::sync::Arc;

use axum::Router;
use shouwang_store::Store;

use crate::ConsoleConfig;

pub fn router(_store: Arc<dyn Store>, _config: ConsoleConfig) -> Router {
    Router::new()
}
