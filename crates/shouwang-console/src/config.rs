use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// The `[console]` section of the config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsoleConfig {
    /// Whether `shouwang up` starts the console.
    pub enabled: bool,
    /// Address and port the console listens on. Keep it on 127.0.0.1 unless
    /// a TLS reverse proxy sits in front.
    pub listen: SocketAddr,
    /// Hours a login lasts.
    pub session_hours: u32,
    /// Failed logins in a row that lock an account.
    pub max_failed_logins: u32,
    /// Minutes a locked account stays locked.
    pub lockout_minutes: u32,
    /// Mark cookies `Secure` (set when the console is served over HTTPS).
    pub secure_cookies: bool,
    /// `zh` (default) or `en`: the language before a user picks one.
    pub language: String,
    /// The data dir, where the guard's baselines and quarantine live; set
    /// by `shouwang up`, never read from the file.
    #[serde(skip)]
    pub data_dir: Option<std::path::PathBuf>,
    /// The reporting clock (`[incident]`); set by `shouwang up`. Its
    /// operator type yields to the unit profile's when one is stored.
    #[serde(skip)]
    pub incident_policy: shouwang_incident::ReportingPolicy,
    /// The notification channels of the config file (`[notify]`); set by
    /// `shouwang up`. Channels added in the console join them.
    #[serde(skip)]
    pub notify: shouwang_notify::NotifyConfig,
    /// The unit profile of the config file (`[unit]`), shown until one is
    /// saved in the console; set by `shouwang up`.
    #[serde(skip)]
    pub unit: shouwang_model::UnitProfile,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            enabled: true,
            listen: SocketAddr::from(([127, 0, 0, 1], 8700)),
            session_hours: 8,
            max_failed_logins: 5,
            lockout_minutes: 15,
            secure_cookies: false,
            language: "zh".into(),
            data_dir: None,
            incident_policy: Default::default(),
            notify: Default::default(),
            unit: Default::default(),
        }
    }
}
