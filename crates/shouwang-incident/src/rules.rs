//! Incident rules: data that says which events and findings make an
//! incident, of which class and level, and how related ones are grouped.
//!
//! Rules are read from TOML (the built-in set is `default-rules.toml`),
//! checked against the taxonomy, and compiled once: globs into matchers,
//! exact kinds into a map, so matching an event costs a hash lookup and a
//! few comparisons, not a walk over every rule.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use globset::{Glob, GlobBuilder, GlobMatcher, GlobSet, GlobSetBuilder};
use serde::Deserialize;
use shouwang_model::taxonomy::{self, IncidentLevel};
use shouwang_model::{AssetRef, Event, Finding, Severity};

/// The rules Shouwang ships with.
pub const DEFAULT_RULES: &str = include_str!("default-rules.toml");

/// A rule file that cannot be used, with where and what to do.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("cannot read the incident rules {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("the incident rules {origin} are not valid TOML: {detail}")]
    Syntax { origin: String, detail: String },
    #[error("incident rule {rule:?} in {origin}: {detail}")]
    Invalid {
        origin: String,
        rule: String,
        detail: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    rule: Vec<RuleDef>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Event,
    Finding,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleDef {
    id: String,
    source: Source,
    kinds: Vec<String>,
    #[serde(default)]
    when: Vec<ConditionDef>,
    #[serde(default)]
    clear_when: Vec<ConditionDef>,
    min_severity: Option<String>,
    subclass: String,
    #[serde(default = "default_level")]
    level: String,
    #[serde(default = "default_window")]
    window: String,
    sustained: Option<String>,
    title: String,
    summary: String,
}

fn default_level() -> String {
    "general".into()
}

fn default_window() -> String {
    "1h".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConditionDef {
    field: String,
    equals: Option<toml::Value>,
    glob: Option<Vec<String>>,
    at_least: Option<f64>,
}

/// One test on a field of an event or finding.
#[derive(Debug, Clone)]
pub struct Condition {
    field: Vec<String>,
    test: Test,
}

#[derive(Debug, Clone)]
enum Test {
    Equals(serde_json::Value),
    Glob(GlobSet),
    AtLeast(f64),
}

impl Condition {
    fn holds(&self, subject: &Subject<'_>) -> bool {
        let value = subject.field(&self.field);
        match (&self.test, value) {
            (Test::Equals(want), Some(v)) => v == *want,
            (Test::Glob(set), Some(serde_json::Value::String(s))) => set.is_match(s.as_str()),
            (Test::AtLeast(min), Some(v)) => v.as_f64().is_some_and(|x| x >= *min),
            _ => false,
        }
    }
}

/// A compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub source: Source,
    pub subclass: String,
    pub level: IncidentLevel,
    pub window: Duration,
    pub sustained: Option<Duration>,
    pub title: String,
    pub summary: String,
    min_severity: Option<Severity>,
    when: Vec<Condition>,
    clear_when: Vec<Condition>,
    kinds: Vec<String>,
}

impl Rule {
    /// The title for an incident on `asset`.
    pub fn title_for(&self, asset: &AssetRef) -> String {
        self.title.replace("{asset}", &describe_asset(asset))
    }

    /// The event kinds or finding check ids it names, exact or glob.
    pub fn kinds(&self) -> &[String] {
        &self.kinds
    }

    /// The dotted fields its conditions and clearing conditions read
    /// (`details.path`), for checking them against the event contracts.
    pub fn condition_fields(&self) -> impl Iterator<Item = String> + '_ {
        self.when
            .iter()
            .chain(&self.clear_when)
            .map(|c| c.field.join("."))
    }

    fn accepts(&self, s: &Subject<'_>) -> bool {
        self.min_severity.is_none_or(|min| s.severity() >= min)
            && self.when.iter().all(|c| c.holds(s))
    }

    /// Whether `s` clears a sustained condition (a successful probe).
    fn clears(&self, s: &Subject<'_>) -> bool {
        !self.clear_when.is_empty() && self.clear_when.iter().all(|c| c.holds(s))
    }
}

/// "网站 https://x.gov.cn/", "网站目录 /srv/www", "主机 pc-01".
pub fn describe_asset(asset: &AssetRef) -> String {
    format!("{} {}", asset.kind.zh(), asset.locator)
}

/// What a rule looks at: an event or a finding.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    Event(&'a Event),
    Finding(&'a Finding),
}

impl Subject<'_> {
    pub fn source(&self) -> Source {
        match self {
            Subject::Event(_) => Source::Event,
            Subject::Finding(_) => Source::Finding,
        }
    }

    /// The event kind or the finding's check id.
    pub fn kind(&self) -> &str {
        match self {
            Subject::Event(e) => &e.event.kind,
            Subject::Finding(f) => f.check_id(),
        }
    }

    pub fn severity(&self) -> Severity {
        match self {
            Subject::Event(e) => e.event.severity,
            Subject::Finding(f) => f.severity,
        }
    }

    pub fn asset(&self) -> &AssetRef {
        match self {
            Subject::Event(e) => &e.event.asset,
            Subject::Finding(f) => &f.asset,
        }
    }

    pub fn time(&self) -> chrono::DateTime<chrono::Utc> {
        match self {
            Subject::Event(e) => e.event.time,
            Subject::Finding(f) => f.last_seen,
        }
    }

    /// A field by dotted path: `kind`, `summary`, `asset`, `location`,
    /// `evidence`, `details.x.y` (events).
    fn field(&self, path: &[String]) -> Option<serde_json::Value> {
        use serde_json::Value;
        let first = path.first()?.as_str();
        let rest = &path[1..];
        let scalar = |v: &str| rest.is_empty().then(|| Value::String(v.to_string()));
        match (self, first) {
            (_, "kind") => scalar(self.kind()),
            (_, "asset") => scalar(&self.asset().locator),
            (Subject::Event(e), "summary") => scalar(&e.event.summary),
            (Subject::Event(e), "details") => {
                let mut v = &e.event.details;
                for p in rest {
                    v = v.get(p.as_str())?;
                }
                Some(v.clone())
            }
            (Subject::Finding(f), "location") => scalar(&f.location),
            (Subject::Finding(f), "evidence") => scalar(&f.evidence),
            _ => None,
        }
    }
}

/// A checked, compiled rule set.
#[derive(Debug, Clone)]
pub struct RuleSet {
    rules: Vec<Rule>,
    /// Exact kind → indexes of rules naming it, in rule order.
    exact: HashMap<(SourceKey, String), Vec<usize>>,
    /// Rules with glob kinds: (source, matcher, rule index).
    globbed: Vec<(Source, GlobMatcher, usize)>,
    pub origin: String,
}

type SourceKey = u8;

fn source_key(s: Source) -> SourceKey {
    match s {
        Source::Event => 0,
        Source::Finding => 1,
    }
}

impl RuleSet {
    /// The built-in rules.
    pub fn builtin() -> Self {
        Self::parse(DEFAULT_RULES, "built-in rules").expect("the built-in rules are valid")
    }

    pub fn load(path: &Path) -> Result<Self, RuleError> {
        let text = std::fs::read_to_string(path).map_err(|source| RuleError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    pub fn parse(text: &str, origin: &str) -> Result<Self, RuleError> {
        let file: RuleFile = toml::from_str(text).map_err(|e| RuleError::Syntax {
            origin: origin.to_string(),
            detail: e.to_string(),
        })?;
        let mut rules = Vec::with_capacity(file.rule.len());
        let mut seen = std::collections::HashSet::new();
        for def in file.rule {
            let invalid = |detail: String| RuleError::Invalid {
                origin: origin.to_string(),
                rule: def.id.clone(),
                detail,
            };
            if def.id.trim().is_empty() {
                return Err(invalid("the id is empty".into()));
            }
            if !seen.insert(def.id.clone()) {
                return Err(invalid("another rule has the same id".into()));
            }
            if def.subclass != "OTH" && taxonomy::subclass(&def.subclass).is_none() {
                let near = nearest_subclass(&def.subclass);
                return Err(invalid(format!(
                    "subclass {:?} is not a GB/T 20986-2023 subclass code{near}; see `shouwang incident classes`",
                    def.subclass
                )));
            }
            if def.kinds.is_empty() {
                return Err(invalid(
                    "kinds is empty: name the event kinds or finding checks it matches".into(),
                ));
            }
            let level: IncidentLevel = def.level.parse().map_err(|e| invalid(format!("{e}")))?;
            let min_severity = def
                .min_severity
                .as_deref()
                .map(str::parse::<Severity>)
                .transpose()
                .map_err(|e| invalid(format!("{e}")))?;
            let window = shouwang_model::parse_duration(&def.window)
                .map_err(|e| invalid(format!("window: {e}")))?;
            let sustained = def
                .sustained
                .as_deref()
                .map(shouwang_model::parse_duration)
                .transpose()
                .map_err(|e| invalid(format!("sustained: {e}")))?;
            if sustained.is_none() && !def.clear_when.is_empty() {
                return Err(invalid("clear_when needs sustained".into()));
            }
            let when = compile_conditions(&def.when).map_err(|e| invalid(format!("when: {e}")))?;
            let clear_when = compile_conditions(&def.clear_when)
                .map_err(|e| invalid(format!("clear_when: {e}")))?;
            if def.title.trim().is_empty() {
                return Err(invalid("title is empty".into()));
            }
            rules.push(Rule {
                id: def.id,
                source: def.source,
                subclass: def.subclass,
                level,
                window,
                sustained,
                title: def.title,
                summary: def.summary,
                min_severity,
                when,
                clear_when,
                kinds: def.kinds,
            });
        }
        let mut exact: HashMap<(SourceKey, String), Vec<usize>> = HashMap::new();
        let mut globbed = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            for k in &r.kinds {
                if k.contains(['*', '?', '[', '{']) {
                    let m = Glob::new(k)
                        .map_err(|e| RuleError::Invalid {
                            origin: origin.to_string(),
                            rule: r.id.clone(),
                            detail: format!("kind pattern {k:?}: {e}"),
                        })?
                        .compile_matcher();
                    globbed.push((r.source, m, i));
                } else {
                    exact
                        .entry((source_key(r.source), k.clone()))
                        .or_default()
                        .push(i);
                }
            }
        }
        Ok(RuleSet {
            rules,
            exact,
            globbed,
            origin: origin.to_string(),
        })
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The first rule (in file order) whose kinds and conditions match.
    pub fn first_match(&self, s: &Subject<'_>) -> Option<&Rule> {
        self.candidates(s)
            .into_iter()
            .map(|i| &self.rules[i])
            .find(|r| r.accepts(s))
    }

    /// Sustained rules whose clear condition `s` meets.
    pub fn clearing(&self, s: &Subject<'_>) -> Vec<&Rule> {
        self.candidates(s)
            .into_iter()
            .map(|i| &self.rules[i])
            .filter(|r| r.sustained.is_some() && r.clears(s))
            .collect()
    }

    /// Indexes of the rules whose kinds name `s`, in rule order.
    fn candidates(&self, s: &Subject<'_>) -> Vec<usize> {
        let src = s.source();
        let mut out: Vec<usize> = self
            .exact
            .get(&(source_key(src), s.kind().to_string()))
            .cloned()
            .unwrap_or_default();
        let before = out.len();
        for (gsrc, m, i) in &self.globbed {
            if *gsrc == src && m.is_match(s.kind()) && !out.contains(i) {
                out.push(*i);
            }
        }
        if out.len() != before {
            out.sort_unstable();
        }
        out
    }
}

fn compile_conditions(defs: &[ConditionDef]) -> Result<Vec<Condition>, String> {
    defs.iter()
        .map(|d| {
            let field: Vec<String> = d.field.split('.').map(str::to_string).collect();
            let known = [
                "kind", "asset", "summary", "details", "location", "evidence",
            ];
            if !known.contains(&field[0].as_str()) {
                return Err(format!(
                    "field {:?} is not one of {}",
                    d.field,
                    known.join(", ")
                ));
            }
            let test = match (&d.equals, &d.glob, d.at_least) {
                (Some(v), None, None) => {
                    Test::Equals(serde_json::to_value(v).map_err(|e| e.to_string())?)
                }
                (None, Some(globs), None) => {
                    let mut b = GlobSetBuilder::new();
                    for g in globs {
                        b.add(
                            GlobBuilder::new(g)
                                .case_insensitive(true)
                                .literal_separator(false)
                                .build()
                                .map_err(|e| format!("glob {g:?}: {e}"))?,
                        );
                    }
                    Test::Glob(b.build().map_err(|e| e.to_string())?)
                }
                (None, None, Some(n)) => Test::AtLeast(n),
                _ => {
                    return Err(format!(
                        "condition on {:?} needs exactly one of equals, glob, at_least",
                        d.field
                    ));
                }
            };
            Ok(Condition { field, test })
        })
        .collect()
}

fn nearest_subclass(code: &str) -> String {
    let upper = code.to_ascii_uppercase();
    taxonomy::CLASSES
        .iter()
        .flat_map(|c| c.subclasses.iter())
        .find(|s| s.code == upper || s.zh == code)
        .map(|s| format!(" (did you mean {:?}, {}?)", s.code, s.zh))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use shouwang_model::{AssetKind, NewEvent, Provenance};

    fn event(kind: &str, details: serde_json::Value) -> Event {
        Event {
            id: 1,
            event: NewEvent {
                time: chrono::Utc::now(),
                kind: kind.into(),
                asset: AssetRef::new(AssetKind::WebRoot, "/srv/www"),
                severity: Severity::High,
                summary: String::new(),
                details,
                provenance: Provenance::now("guard", "guard.watch", "/srv/www"),
            },
        }
    }

    #[test]
    fn the_builtin_rules_are_valid_and_match_in_order() {
        let rules = RuleSet::builtin();
        let e = event(
            "guard.quarantined",
            serde_json::json!({"path": "upload/x.PHP"}),
        );
        assert_eq!(
            rules.first_match(&Subject::Event(&e)).unwrap().id,
            "webshell-dropped"
        );
        let e = event(
            "guard.quarantined",
            serde_json::json!({"path": "news/a.html"}),
        );
        assert_eq!(
            rules.first_match(&Subject::Event(&e)).unwrap().id,
            "guard-tamper"
        );
        let e = event(
            "guard.writable-new",
            serde_json::json!({"path": "upload/a.jpg"}),
        );
        assert!(rules.first_match(&Subject::Event(&e)).is_none());
        let probe = shouwang_model::events::site::Probe {
            ok: true,
            ..Default::default()
        };
        let e = event(
            shouwang_model::events::site::PROBE,
            serde_json::to_value(probe).unwrap(),
        );
        assert!(rules.first_match(&Subject::Event(&e)).is_none());
        assert_eq!(rules.clearing(&Subject::Event(&e)).len(), 1);
    }

    #[test]
    fn bad_rules_are_refused_with_the_rule_and_the_fix() {
        let base = |extra: &str| {
            format!(
                "[[rule]]\nid = \"r1\"\nsource = \"event\"\nkinds = [\"guard.restored\"]\ntitle = \"t\"\nsummary = \"s\"\n{extra}"
            )
        };
        let err = RuleSet::parse(&base("subclass = \"nawebmod\""), "rules.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"r1\"") && err.contains("NAWEBMOD"), "{err}");
        let err = RuleSet::parse(&base("subclass = \"NAWEBMOD\"\nlevel = \"huge\""), "x")
            .unwrap_err()
            .to_string();
        assert!(err.contains("较大"), "{err}");
        let err = RuleSet::parse(&base("subclass = \"NAWEBMOD\"\nwindow = \"1 week\""), "x")
            .unwrap_err()
            .to_string();
        assert!(err.contains("window"), "{err}");
        let err = RuleSet::parse(
            &base("subclass = \"NAWEBMOD\"\nwhen = [{ field = \"details.ok\" }]"),
            "x",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("exactly one of"), "{err}");
        let err = RuleSet::parse(&base("subclass = \"NAWEBMOD\"\ncolour = 1"), "x")
            .unwrap_err()
            .to_string();
        assert!(err.contains("colour"), "{err}");
        assert!(RuleSet::parse(&base("subclass = \"NAWEBMOD\""), "x").is_ok());
    }
}
