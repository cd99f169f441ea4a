//! Accounts: passwords, users and API tokens, shared by the console and the
//! `shouwang user` commands so that both hash, check and audit the same way.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::Rng;
use rand::distr::Alphanumeric;
use shouwang_store::{
    ApiToken, NewApiToken, NewAuditEntry, NewUser, Role, Store, StoreError, TokenScope, Tx, User,
    UserChange,
};

/// Why an account action was refused.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(
        "the password is too weak: {0}. Use at least 8 characters from at least 3 of: lower case, upper case, digits, symbols"
    )]
    WeakPassword(Weakness),
    #[error(
        "the user name {0:?} is not allowed: use 1 to 64 letters, digits, '.', '-', '_' or Chinese characters"
    )]
    BadName(String),
    #[error("no user named {0:?}; `shouwang user list` shows the users")]
    NoSuchUser(String),
    #[error("no API token with id {0}; `shouwang user token list` shows the tokens")]
    NoSuchToken(i64),
    #[error("an API token lasts 1 to {max} days, not {0}", max = TOKEN_DAYS_MAX)]
    BadTokenDays(u32),
    #[error("a token of {name} ({role}) cannot have the scope {scope}: it goes beyond the role")]
    ScopeBeyondRole {
        name: String,
        role: Role,
        scope: TokenScope,
    },
    #[error("cannot hash the password: {0}")]
    Hash(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub type Result<T, E = AccountError> = std::result::Result<T, E>;

impl AccountError {
    /// The refusal in the console's language (`zh` unless `en`); the
    /// command line prints the English `Display`.
    pub fn text(&self, lang: &str) -> String {
        if lang == "en" {
            return self.to_string();
        }
        match self {
            AccountError::WeakPassword(why) => format!("密码太弱：{}", why.zh()),
            AccountError::BadName(name) => {
                format!("用户名“{name}”不可用：请使用 1 到 64 个字母、数字、汉字或 . - _")
            }
            AccountError::NoSuchUser(name) => format!("没有名为“{name}”的用户"),
            AccountError::NoSuchToken(id) => format!("没有编号为 {id} 的接口令牌"),
            AccountError::BadTokenDays(days) => {
                format!("接口令牌有效期应为 1 到 {TOKEN_DAYS_MAX} 天，不能是 {days} 天")
            }
            AccountError::ScopeBeyondRole { name, role, .. } => {
                format!("{name}（{}）的接口令牌不能超出其角色的权限", role.zh())
            }
            AccountError::Hash(_) => "无法计算密码摘要，请重试".to_string(),
            AccountError::Store(_) => "数据存储出错，请查看系统日志".to_string(),
        }
    }
}

/// What makes a password too weak, said in the language of the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weakness {
    TooShort,
    FewKinds,
    WellKnown,
    ContainsName,
    Repetitive,
}

impl Weakness {
    pub fn en(self) -> &'static str {
        match self {
            Weakness::TooShort => "it has fewer than 8 characters",
            Weakness::FewKinds => "it uses fewer than 3 kinds of characters",
            Weakness::WellKnown => "it contains a well-known weak password",
            Weakness::ContainsName => "it contains the user name",
            Weakness::Repetitive => "it repeats a short pattern or a few characters",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Weakness::TooShort => "密码少于 8 个字符",
            Weakness::FewKinds => "密码只用了不到 3 类字符",
            Weakness::WellKnown => "密码含有常见弱口令",
            Weakness::ContainsName => "密码含有用户名",
            Weakness::Repetitive => "密码由少数字符或短片段重复组成",
        }
    }

    /// The reason in the console's language (`zh` unless `en`).
    pub fn text(self, lang: &str) -> &'static str {
        if lang == "en" { self.en() } else { self.zh() }
    }
}

impl std::fmt::Display for Weakness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.en())
    }
}

/// Argon2id with the OWASP-recommended parameters (19 MiB, 2 passes).
fn argon2() -> Argon2<'static> {
    Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(19 * 1024, 2, 1, None).expect("static argon2 parameters are valid"),
    )
}

/// An argon2id PHC string for `password`.
pub fn hash_password(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    rand::rng().fill(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| AccountError::Hash(e.to_string()))?;
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AccountError::Hash(e.to_string()))
}

/// Does `password` match the stored hash? A malformed hash never matches.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            argon2()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash that no password matches, verified against when a login names an
/// unknown user so that the answer takes as long as for a known one.
pub(crate) fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("no password matches this one!").unwrap_or_default())
}

/// The password policy: at least 8 characters, at least 3 character classes
/// (the 等保 requirement of complexity), not a known weak password, and not
/// a few characters or a short piece repeated (`Aaaaaaa1`, `Abc1Abc1`),
/// which meet the classes while guessed first.
pub fn check_password_policy(password: &str) -> Result<()> {
    let weak = |w| Err(AccountError::WeakPassword(w));
    let chars: Vec<char> = password.to_lowercase().chars().collect();
    if chars.len() < 8 {
        return weak(Weakness::TooShort);
    }
    let classes = [
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_ascii_alphanumeric()),
    ];
    if classes.iter().filter(|&&c| c).count() < 3 {
        return weak(Weakness::FewKinds);
    }
    let lower: String = chars.iter().collect();
    const WEAK: &[&str] = &[
        "password", "passw0rd", "admin", "qwerty", "asdfgh", "zxcvbn", "123456", "654321",
        "abc123", "1qaz2wsx", "iloveyou", "welcome", "shouwang", "p@ssw0rd",
    ];
    if WEAK.iter().any(|w| lower.contains(w)) {
        return weak(Weakness::WellKnown);
    }
    let distinct: std::collections::BTreeSet<char> = chars.iter().copied().collect();
    let repeats_a_piece = (1..=chars.len() / 2).any(|k| {
        chars.len().is_multiple_of(k) && chars.chunks(k).all(|piece| piece == &chars[..k])
    });
    if distinct.len() < 4 || repeats_a_piece {
        return weak(Weakness::Repetitive);
    }
    Ok(())
}

/// The policy for `name`'s password: the general one, and not built from
/// the user name (`Tuser1tuser1` for tuser1), the first thing an attacker
/// tries.
pub fn check_password_for(name: &str, password: &str) -> Result<()> {
    let name = name.to_lowercase();
    if name.chars().count() >= 3 && password.to_lowercase().contains(&name) {
        return Err(AccountError::WeakPassword(Weakness::ContainsName));
    }
    check_password_policy(password)
}

/// A random password that satisfies the policy: 16 characters in four
/// groups, easy to read aloud.
pub fn generate_password() -> String {
    const LOWER: &[u8] = b"abcdefghijkmnpqrstuvwxyz";
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const DIGIT: &[u8] = b"23456789";
    let mut rng = rand::rng();
    let mut pick = |set: &[u8]| set[rng.random_range(0..set.len())] as char;
    let mut groups = Vec::new();
    for _ in 0..3 {
        let g: String = (0..4)
            .map(|i| match i % 3 {
                0 => pick(LOWER),
                1 => pick(UPPER),
                _ => pick(DIGIT),
            })
            .collect();
        groups.push(g);
    }
    groups.join("-")
}

/// A new API token: shown once, stored only as its hash.
pub fn generate_token() -> String {
    let body: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(40)
        .map(char::from)
        .collect();
    format!("sw_{body}")
}

/// The key under which the failed logins of a submitted user name are
/// counted (the name itself is not kept).
pub(crate) fn login_key(name: &str) -> String {
    token_hash(&format!("login:{name}"))
}

/// The hash under which a session id or API token is stored.
pub fn token_hash(token: &str) -> String {
    blake3::hash(token.as_bytes()).to_hex().to_string()
}

fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.chars().count() <= 64
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(AccountError::BadName(name.to_string()))
    }
}

/// Create a user. With `must_change`, the console asks for a new password
/// at the first login (for generated one-time passwords).
pub fn add_user(
    store: &dyn Store,
    actor: &str,
    name: &str,
    role: Role,
    password: &str,
    must_change: bool,
) -> Result<User> {
    check_name(name)?;
    check_password_for(name, password)?;
    let new = NewUser {
        name: name.to_string(),
        role,
        password_hash: hash_password(password)?,
        must_change_password: must_change,
    };
    store.audited(|tx| {
        let user = tx.create_user(&new)?;
        tx.audit(&NewAuditEntry::new(
            actor,
            "user.add",
            name,
            serde_json::json!({ "role": role.as_str() }),
        ))?;
        Ok(user)
    })
}

/// What [`first_admin`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum FirstAdmin {
    /// Users exist already: nothing was created.
    Exists,
    /// Created with the password the installer gave.
    Given,
    /// Created with this generated one-time password, to be shown once and
    /// changed at the first login.
    Generated(String),
}

/// On the first run (no users yet), create the administrator `name`: with
/// `given` (an unattended install's password), or with a generated one.
pub fn first_admin(store: &dyn Store, name: &str, given: Option<&str>) -> Result<FirstAdmin> {
    if !store.users()?.is_empty() {
        return Ok(FirstAdmin::Exists);
    }
    if let Some(password) = given {
        add_user(store, "system", name, Role::Admin, password, false)?;
        return Ok(FirstAdmin::Given);
    }
    let password = generate_password();
    add_user(store, "system", name, Role::Admin, &password, true)?;
    Ok(FirstAdmin::Generated(password))
}

pub fn find_user(store: &dyn Store, name: &str) -> Result<User> {
    store
        .user_by_name(name)?
        .ok_or_else(|| AccountError::NoSuchUser(name.to_string()))
}

fn find_in(tx: &mut dyn Tx, name: &str) -> Result<User> {
    tx.user_by_name(name)?
        .ok_or_else(|| AccountError::NoSuchUser(name.to_string()))
}

/// Set a new password; logs the user out everywhere.
pub fn set_password(
    store: &dyn Store,
    actor: &str,
    name: &str,
    password: &str,
    must_change: bool,
) -> Result<User> {
    find_user(store, name)?;
    check_password_for(name, password)?;
    let hash = hash_password(password)?;
    store.audited(|tx| {
        let user = find_in(tx, name)?;
        let user = tx.update_user(user.id, &UserChange::Password { hash, must_change })?;
        tx.delete_user_sessions(user.id)?;
        // A new password ends a lock, and the API tokens made under the old
        // one: a leaked password may have minted them.
        tx.set_login_failures(&login_key(name), None)?;
        let revoked = tx.revoke_user_tokens(user.id)?;
        tx.audit(&NewAuditEntry::new(
            actor,
            "user.passwd",
            name,
            serde_json::json!({ "must_change": must_change, "tokens_revoked": revoked }),
        ))?;
        Ok(user)
    })
}

/// Disable (or re-enable) a user; disabling logs them out everywhere.
pub fn set_disabled(store: &dyn Store, actor: &str, name: &str, disabled: bool) -> Result<User> {
    store.audited(|tx| {
        let user = find_in(tx, name)?;
        let user = tx.update_user(user.id, &UserChange::Disabled(disabled))?;
        if disabled {
            tx.delete_user_sessions(user.id)?;
        }
        let action = if disabled {
            "user.disable"
        } else {
            "user.enable"
        };
        tx.audit(&NewAuditEntry::new(
            actor,
            action,
            name,
            serde_json::Value::Null,
        ))?;
        Ok(user)
    })
}

/// End a login lock (and forget the failures counted against the name)
/// without touching the password; returns the user and when the lock would
/// have ended, `None` when there was none.
pub fn unlock(
    store: &dyn Store,
    actor: &str,
    name: &str,
) -> Result<(User, Option<chrono::DateTime<chrono::Utc>>)> {
    store.audited(|tx| {
        let user = find_in(tx, name)?;
        let now = chrono::Utc::now();
        let counted = tx.login_failures(&login_key(name))?;
        let until = [
            user.locked_until,
            counted.as_ref().and_then(|f| f.locked_until),
        ]
        .into_iter()
        .flatten()
        .filter(|t| *t > now)
        .max();
        // The same reset a successful login makes: the count and the lock.
        let user = tx.update_user(user.id, &UserChange::LoginSucceeded)?;
        tx.set_login_failures(&login_key(name), None)?;
        tx.audit(&NewAuditEntry::new(
            actor,
            "user.unlock",
            name,
            serde_json::json!({ "was_locked_until": until }),
        ))?;
        Ok((user, until))
    })
}

/// Days a new API token lasts unless told otherwise, and at most.
pub const TOKEN_DAYS_DEFAULT: u32 = 90;
pub const TOKEN_DAYS_MAX: u32 = 365;

/// What a new API token is for, may do, and how long it lasts.
#[derive(Debug, Clone)]
pub struct TokenGrant {
    pub label: String,
    pub scope: TokenScope,
    pub days: u32,
}

/// The widest scope a role's token may have.
pub fn widest_scope(role: Role) -> TokenScope {
    match role {
        Role::Admin => TokenScope::Admin,
        Role::Operator => TokenScope::Operate,
        Role::Auditor => TokenScope::Read,
    }
}

/// Create an API token for a user; returns the token, which is shown once.
pub fn create_api_token(
    store: &dyn Store,
    actor: &str,
    name: &str,
    grant: &TokenGrant,
) -> Result<String> {
    if !(1..=TOKEN_DAYS_MAX).contains(&grant.days) {
        return Err(AccountError::BadTokenDays(grant.days));
    }
    let token = generate_token();
    let expires_at = chrono::Utc::now() + chrono::Duration::days(i64::from(grant.days));
    store.audited(|tx| {
        let user = find_in(tx, name)?;
        if grant.scope > widest_scope(user.role) {
            return Err(AccountError::ScopeBeyondRole {
                name: name.to_string(),
                role: user.role,
                scope: grant.scope,
            });
        }
        let made = tx.create_api_token(&NewApiToken {
            user_id: user.id,
            name: grant.label.clone(),
            token_hash: token_hash(&token),
            scope: grant.scope,
            expires_at,
        })?;
        tx.audit(&NewAuditEntry::new(
            actor,
            "token.create",
            name,
            serde_json::json!({
                "id": made.id,
                "label": grant.label,
                "scope": grant.scope.as_str(),
                "expires_at": made.expires_at,
            }),
        ))?;
        Ok(token)
    })
}

/// Revoke an API token by its id; the token it was.
pub fn revoke_api_token(store: &dyn Store, actor: &str, id: i64) -> Result<ApiToken> {
    let owner = |user_id| {
        store
            .user(user_id)
            .map(|u| u.map_or_else(|| user_id.to_string(), |u| u.name))
    };
    store.audited(|tx| {
        let token = tx
            .revoke_api_token(id)?
            .ok_or(AccountError::NoSuchToken(id))?;
        tx.audit(&NewAuditEntry::new(
            actor,
            "token.revoke",
            owner(token.user_id)?,
            serde_json::json!({ "id": id, "label": token.name, "scope": token.scope.as_str() }),
        ))?;
        Ok(token)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_pass_the_policy_and_differ() {
        let a = generate_password();
        let b = generate_password();
        assert_ne!(a, b);
        check_password_policy(&a).unwrap();
        assert_eq!(a.len(), 14);
    }

    #[test]
    fn policy_refuses_short_simple_and_well_known_passwords() {
        assert!(check_password_policy("Ab1!").is_err());
        assert!(check_password_policy("abcdefghij").is_err());
        assert!(check_password_policy("Password123").is_err());
        assert!(check_password_policy("MyShouwang-1").is_err());
        check_password_policy("Shou-wang-2026").unwrap();
    }

    #[test]
    fn policy_refuses_the_user_name_and_short_repetitions() {
        let weakness = |name, pw| match check_password_for(name, pw) {
            Err(AccountError::WeakPassword(w)) => Some(w),
            _ => None,
        };
        assert_eq!(
            weakness("tuser1", "Tuser1tuser1"),
            Some(Weakness::ContainsName)
        );
        assert_eq!(weakness("张伟", "Guard-Tower-2026"), None);
        assert_eq!(weakness("x", "Guard-Tower-2026"), None);
        assert_eq!(weakness("bob", "Aaaaaaa1"), Some(Weakness::Repetitive));
        assert_eq!(weakness("bob", "Abc1Abc1"), Some(Weakness::Repetitive));
        assert_eq!(weakness("bob", "Xy7!Xy7!Xy7!"), Some(Weakness::Repetitive));
        assert_eq!(weakness("bob", "Night-Watch-2026"), None);
        assert_eq!(
            Weakness::Repetitive.text("zh"),
            "密码由少数字符或短片段重复组成"
        );
    }

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let h = hash_password("Correct-Horse-7").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("Correct-Horse-7", &h));
        assert!(!verify_password("correct-horse-7", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn names_are_checked() {
        check_name("张三").unwrap();
        check_name("ops.admin-1").unwrap();
        assert!(check_name("a b").is_err());
        assert!(check_name("../x").is_err());
        assert!(check_name("").is_err());
    }
}
