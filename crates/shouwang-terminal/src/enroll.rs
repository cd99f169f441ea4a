//! Enrollment as both ends see it: what the agent sends with its token,
//! the credential it gets back, and the state it keeps afterwards.
//!
//! The credential is the terminal's own secret, `swc1.<terminal>.<secret>`,
//! sent as `Authorization: Bearer …` on every report over the connection
//! [`crate::trust`] verified. The server keeps only its keyed BLAKE3 (as
//! for tokens), so revoking a terminal is one row, and a copy of the
//! database lets no one report as a terminal. A bearer secret rather than
//! a client certificate: it passes the reverse proxies some units already
//! run in front of their server, and the agent's TLS is already pinned to
//! the unit CA, so a secret on that connection is as safe as a
//! certificate's key would be.

use std::fmt;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};

/// Where agents post their token.
pub const ENROLL_PATH: &str = "/api/terminal/enroll";
/// Where agents post their reports.
pub const REPORT_PATH: &str = "/api/terminal/report";

pub const CREDENTIAL_PREFIX: &str = "swc1";

/// What `agent enroll` sends (over the verified connection).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    /// The token as typed; the server hashes it and judges it.
    pub token: String,
    pub hostname: String,
    pub os: String,
}

/// What the server answers to an accepted enrollment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollResponse {
    pub terminal: String,
    pub credential: String,
}

/// A terminal's credential.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    terminal: String,
    secret: [u8; 32],
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the terminal credential is damaged: enroll the terminal again")]
pub struct BadCredential;

impl Credential {
    /// A new credential for `terminal` (made by the server at enrollment).
    pub fn generate(terminal: &str) -> Credential {
        Credential {
            terminal: terminal.to_string(),
            secret: rand::random(),
        }
    }

    pub fn encode(&self) -> String {
        format!(
            "{CREDENTIAL_PREFIX}.{}.{}",
            self.terminal,
            URL_SAFE_NO_PAD.encode(self.secret)
        )
    }

    pub fn parse(text: &str) -> Result<Credential, BadCredential> {
        let text = text.trim();
        if text.len() > 200 {
            return Err(BadCredential);
        }
        let mut parts = text.split('.');
        let (Some(CREDENTIAL_PREFIX), Some(terminal), Some(secret), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(BadCredential);
        };
        if !valid_terminal_id(terminal) {
            return Err(BadCredential);
        }
        let secret = URL_SAFE_NO_PAD
            .decode(secret)
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or(BadCredential)?;
        Ok(Credential {
            terminal: terminal.to_string(),
            secret,
        })
    }

    /// The terminal it belongs to (not secret).
    pub fn terminal(&self) -> &str {
        &self.terminal
    }

    /// What the server keeps and compares.
    pub fn hash(&self) -> String {
        blake3::Hasher::new_derive_key("shouwang terminal credential v1")
            .update(self.terminal.as_bytes())
            .update(&[0])
            .update(&self.secret)
            .finalize()
            .to_hex()
            .to_string()
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("terminal", &self.terminal)
            .field("secret", &"<hidden>")
            .finish()
    }
}

/// A terminal id: the server makes them (`t-` and 16 hex digits); anything
/// else in a credential is refused before it reaches a query or a path.
pub fn valid_terminal_id(id: &str) -> bool {
    id.len() == 18
        && id.starts_with("t-")
        && id[2..]
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// A new terminal id.
pub fn new_terminal_id() -> String {
    let b: [u8; 8] = rand::random();
    format!("t-{}", hex::encode(b))
}

/// What an enrolled agent keeps: its server, the unit CA it pinned, and
/// its credential. Private to root.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentState {
    pub server: String,
    /// The unit CA certificate, DER in base64.
    pub ca_der: String,
    pub terminal: String,
    pub credential: String,
    /// Host-rule profile the agent runs (`terminal`, `dengbao2`, `dengbao3`).
    pub profile: String,
}

impl fmt::Debug for AgentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentState")
            .field("server", &self.server)
            .field("terminal", &self.terminal)
            .field("profile", &self.profile)
            .field("credential", &"<hidden>")
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(
        "this terminal is not enrolled ({0} does not exist): run `shouwang agent enroll https://SERVER:PORT TOKEN`"
    )]
    NotEnrolled(PathBuf),
    #[error("{path}: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The state file's name in the agent's data dir.
pub const STATE_FILE: &str = "agent.json";

/// The most a state file may be (a CA certificate and a few names).
const MAX_STATE_BYTES: u64 = 64 * 1024;

impl AgentState {
    pub fn ca_der(&self) -> Result<Vec<u8>, BadCredential> {
        STANDARD.decode(&self.ca_der).map_err(|_| BadCredential)
    }

    pub fn credential(&self) -> Result<Credential, BadCredential> {
        Credential::parse(&self.credential)
    }

    /// Read the state from `dir`.
    pub fn load(dir: &Path) -> Result<AgentState, StateError> {
        let path = dir.join(STATE_FILE);
        let meta = match fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StateError::NotEnrolled(path));
            }
            Err(e) => {
                return Err(StateError::Unreadable {
                    path,
                    reason: e.to_string(),
                });
            }
        };
        if !meta.is_file() || meta.len() > MAX_STATE_BYTES {
            return Err(StateError::Unreadable {
                path,
                reason: "not a regular file of a state's size".into(),
            });
        }
        let text = fs::read(&path).map_err(|e| StateError::Unreadable {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        serde_json::from_slice(&text).map_err(|e| StateError::Unreadable {
            path,
            reason: format!("damaged ({e}): enroll the terminal again"),
        })
    }

    /// Write the state into `dir` whole (temporary file, sync, rename),
    /// readable by its owner only.
    pub fn save(&self, dir: &Path) -> Result<(), StateError> {
        use std::os::unix::fs::OpenOptionsExt;
        let path = dir.join(STATE_FILE);
        let werr = |source| StateError::Write {
            path: path.clone(),
            source,
        };
        fs::create_dir_all(dir).map_err(werr)?;
        let tmp = dir.join(format!(".{STATE_FILE}.tmp"));
        let _ = fs::remove_file(&tmp);
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(werr)?;
        f.write_all(&serde_json::to_vec_pretty(self).expect("state serialises"))
            .and_then(|()| f.sync_all())
            .map_err(werr)?;
        fs::rename(&tmp, &path).map_err(werr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_credential_round_trips_hides_its_secret_and_hashes_per_terminal() {
        let id = new_terminal_id();
        assert!(valid_terminal_id(&id), "{id}");
        let c = Credential::generate(&id);
        let back = Credential::parse(&c.encode()).unwrap();
        assert_eq!(back, c);
        assert_eq!(back.terminal(), id);
        let secret = c.encode().rsplit('.').next().unwrap().to_string();
        assert!(!format!("{c:?}").contains(&secret));
        // The same secret under another terminal's name is another hash: a
        // credential cannot be moved to another terminal.
        let moved = c.encode().replace(&id, &new_terminal_id());
        assert_ne!(Credential::parse(&moved).unwrap().hash(), c.hash());
    }

    #[test]
    fn damaged_credentials_and_ids_that_are_not_ours_are_refused() {
        let c = Credential::generate(&new_terminal_id()).encode();
        for bad in [
            "",
            "swc1",
            &c[..c.len() - 2],
            &c.replacen("swc1", "swc2", 1),
            "swc1.t-../../etc.AAAA",
            "swc1.t-00112233445566ZZ.AAAA",
            &format!("{c}.extra"),
        ] {
            assert_eq!(Credential::parse(bad), Err(BadCredential), "{bad}");
        }
        assert!(!valid_terminal_id("t-0011223344556677x"));
        assert!(!valid_terminal_id("t-00112233445566AA"));
    }

    proptest::proptest! {
        #[test]
        fn any_text_is_a_credential_or_refused(s in "\\PC{0,120}") {
            if let Ok(c) = Credential::parse(&s) {
                proptest::prop_assert!(valid_terminal_id(c.terminal()));
            }
        }
    }

    #[test]
    fn the_state_is_written_whole_private_and_read_back() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let err = AgentState::load(dir.path()).unwrap_err();
        assert!(err.to_string().contains("agent enroll"), "{err}");
        let id = new_terminal_id();
        let s = AgentState {
            server: "https://192.168.1.10:8443/".into(),
            ca_der: STANDARD.encode([1, 2, 3]),
            terminal: id.clone(),
            credential: Credential::generate(&id).encode(),
            profile: "terminal".into(),
        };
        s.save(dir.path()).unwrap();
        let mode = fs::metadata(dir.path().join(STATE_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let back = AgentState::load(dir.path()).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.ca_der().unwrap(), vec![1, 2, 3]);
        assert!(!format!("{back:?}").contains(&s.credential));
        fs::write(dir.path().join(STATE_FILE), b"{not json").unwrap();
        let err = AgentState::load(dir.path()).unwrap_err();
        assert!(
            err.to_string().contains("enroll the terminal again"),
            "{err}"
        );
    }
}
