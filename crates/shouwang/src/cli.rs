//! The command line, as clap sees it.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};
use shouwang_store::Role;

#[derive(Debug, Parser)]
#[command(
    name = "shouwang",
    version,
    about = "守望 Shouwang: network-security assurance for small organisations, in one binary.",
    long_about = None,
    after_help = "Exit codes: 0 clean, 1 findings (open findings, a tampered audit log), 2 error."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command accepts, before or after the subcommand.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Where Shouwang keeps its database, keys and baselines
    /// [default: /var/lib/shouwang as root, else $XDG_DATA_HOME/shouwang]
    #[arg(
        long,
        global = true,
        env = "SHOUWANG_DATA_DIR",
        hide_env_values = true,
        value_name = "DIR"
    )]
    pub data_dir: Option<PathBuf>,

    /// The configuration file [default: /etc/shouwang/shouwang.toml as root,
    /// else $XDG_CONFIG_HOME/shouwang/shouwang.toml]
    #[arg(
        long,
        global = true,
        env = "SHOUWANG_CONFIG",
        hide_env_values = true,
        value_name = "FILE"
    )]
    pub config: Option<PathBuf>,

    /// How to write logs to stderr: `human`, or `json` for log collectors
    #[arg(
        long,
        global = true,
        env = "SHOUWANG_LOG_FORMAT",
        value_enum,
        default_value_t = LogFormat::Human
    )]
    pub log_format: LogFormat,

    /// More log detail (-v debug, -vv trace); RUST_LOG overrides
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run Shouwang: open the store, start the console and the enabled
    /// sensors, and keep running until SIGINT or SIGTERM
    Up,
    /// Show where the data is, what it holds and whether `shouwang up` runs
    /// (exit 1 when there are open findings)
    Status(JsonArg),
    /// The tamper-evident audit log
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Console accounts
    #[command(subcommand)]
    User(UserCommand),
    /// The configuration file
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Website inspection (网站巡查): broken links, blank and stale columns,
    /// wording, personal information, dark links, cloaking, identity marks
    #[command(subcommand)]
    Site(crate::commands::site::SiteCommand),
    /// Host self-inspection (主机自查): baseline checks mapped to 等保2.0
    #[command(subcommand)]
    Host(crate::commands::host::HostCommand),
    /// 网页防篡改: seal web roots, check them, watch and restore in real time
    #[command(subcommand)]
    Guard(GuardCommand),
    /// Incidents (事件): classified and graded per GB/T 20986-2023, with
    /// the reporting clock, timeline and actions
    #[command(subcommand)]
    Incident(crate::commands::incident::IncidentCommand),
    /// Reports (报告): 网络安全自查报告, 事件报告, 调查评估报告 (DOCX, HTML)
    /// and ledgers (台账, XLSX), every figure from what Shouwang recorded
    #[command(subcommand)]
    Report(crate::commands::report::ReportCommand),
    /// Notifications (通知): the channels incidents are announced on
    /// (企业微信, 钉钉, 飞书, e-mail, webhooks), and a test message over them
    #[command(subcommand)]
    Notify(crate::commands::notify::NotifyCommand),
    /// Web shells and malicious code in web roots and uploads
    #[command(subcommand)]
    Malware(crate::commands::malware::MalwareCommand),
}

#[derive(Debug, Args)]
pub struct JsonArg {
    /// Print JSON on stdout instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the audit log's hash chain; exit 1 when it was tampered with
    Verify {
        /// Also check that the log still reaches this anchor (SEQ:HASH, as
        /// `audit anchor` or a report printed it): catches entries deleted
        /// and an older head put back
        #[arg(long, value_name = "SEQ:HASH")]
        anchor: Option<shouwang_store::AuditAnchor>,
        #[arg(long)]
        json: bool,
    },
    /// Print the log's anchor (its last entry's number and hash) to keep
    /// outside this machine, for `audit verify --anchor` later
    Anchor(JsonArg),
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user (without --password-stdin, a one-time password is
    /// generated and printed, to be changed at the first login)
    Add {
        name: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        #[command(flatten)]
        password: PasswordArg,
    },
    /// Set a user's password (generated and printed unless --password-stdin)
    Passwd {
        name: String,
        #[command(flatten)]
        password: PasswordArg,
    },
    /// Stop a user from logging in, and end their sessions
    Disable { name: String },
    /// Let a disabled user log in again
    Enable { name: String },
    /// End a user's login lock (after too many failed logins) without
    /// changing the password
    Unlock { name: String },
    /// List the users
    List(JsonArg),
    /// Create an API token for a user (printed only once), or list or
    /// revoke tokens: `user token NAME | list | revoke ID`
    #[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
    Token(TokenArgs),
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    pub command: Option<TokenCommand>,
    /// The user the new token acts for
    #[arg(required = true)]
    pub name: Option<String>,
    /// What the token is for, e.g. the script that uses it
    #[arg(long, default_value = "cli")]
    pub label: String,
    /// What it may do within the user's role: read, operate or admin
    #[arg(long, default_value = "read")]
    pub scope: shouwang_store::TokenScope,
    /// Days until it stops working (1 to 365)
    #[arg(long, default_value_t = shouwang_console::accounts::TOKEN_DAYS_DEFAULT)]
    pub days: u32,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// List the API tokens (never the tokens themselves)
    List(JsonArg),
    /// Revoke an API token by the id `user token list` shows
    Revoke { id: i64 },
}

#[derive(Debug, Args)]
pub struct PasswordArg {
    /// Read the password from the first line of standard input instead of
    /// generating one
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    /// 管理员: everything, including users
    #[value(alias = "管理员")]
    Admin,
    /// 操作员: acts on findings and sensors
    #[value(alias = "操作员")]
    Operator,
    /// 审计员: reads everything, changes nothing
    #[value(alias = "审计员")]
    Auditor,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Admin => Role::Admin,
            RoleArg::Operator => Role::Operator,
            RoleArg::Auditor => Role::Auditor,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Write a commented default configuration file to the config path
    Init {
        /// Overwrite an existing file
        #[arg(long)]
        force: bool,
    },
    /// Print the configuration in effect as TOML (passwords redacted)
    Show,
}

#[derive(Debug, Subcommand)]
pub enum GuardCommand {
    /// Seal a web root: record every file in a baseline in the data dir.
    /// Sealed before, it keeps the baseline's options not given again
    Seal {
        root: PathBuf,
        /// Leave out paths matching this glob (repeatable), e.g. 'cache/**'
        #[arg(long)]
        exclude: Option<Vec<String>>,
        /// Record but never restore paths matching this glob (repeatable),
        /// e.g. 'uploads/**'; new files there are reported
        #[arg(long)]
        writable: Option<Vec<String>>,
        /// Accept into the baseline what changed since the last seal
        #[arg(long)]
        yes: bool,
        #[arg(long)]
        json: bool,
    },
    /// Compare web roots with their baselines (all sealed ones when none is
    /// named); exit 1 when anything differs
    Check {
        roots: Vec<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Detect changes in real time and undo them, until SIGINT or SIGTERM
    /// (the roots of [guard] in the config when none is named, else every
    /// sealed root)
    Watch {
        roots: Vec<PathBuf>,
        /// Use inotify even where fanotify is available
        #[arg(long)]
        inotify: bool,
        /// Deny writes outright instead of undoing them
        #[arg(long)]
        block: bool,
    },
    /// List the sealed web roots
    List(JsonArg),
    /// Accept changes an operator approved: re-seal these paths (or, with
    /// --all, whole web roots)
    Publish {
        paths: Vec<PathBuf>,
        #[arg(long)]
        all: bool,
    },
    /// Open a maintenance window: changes are recorded but not undone until
    /// it closes by itself
    Pause {
        roots: Vec<PathBuf>,
        /// How long, e.g. 30m, 2h
        #[arg(long = "for", default_value = "30m")]
        r#for: String,
    },
    /// Close a maintenance window now
    Resume { roots: Vec<PathBuf> },
    /// Put a web root back to its baseline now, or rebuild it elsewhere
    /// with --to (disaster recovery)
    Restore {
        root: PathBuf,
        #[arg(long, value_name = "DIR")]
        to: Option<PathBuf>,
    },
    /// Intruding files and tampered versions kept instead of deleted
    #[command(subcommand)]
    Quarantine(QuarantineCommand),
}

#[derive(Debug, Subcommand)]
pub enum QuarantineCommand {
    /// List what is in quarantine
    List {
        roots: Vec<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Show one item's record and content
    Show { id: String },
    /// Put an item back where it was and add it to the baseline
    Release { id: String },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_flags_are_accepted_after_the_subcommand() {
        let cli = Cli::try_parse_from([
            "shouwang",
            "user",
            "list",
            "--json",
            "--data-dir",
            "/tmp/x",
            "--log-format",
            "json",
        ])
        .unwrap();
        assert_eq!(cli.global.data_dir, Some(PathBuf::from("/tmp/x")));
        assert_eq!(cli.global.log_format, LogFormat::Json);
    }
}
