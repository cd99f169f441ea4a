//! Wording dictionaries: wrong → right expressions, common 错别字, and
//! forbidden or spam words, matched in one Aho-Corasick pass.
//!
//! A dictionary is a TOML file of `[[rule]]` tables (see
//! `data/wording.toml`, the documented default that is compiled in). A
//! user's file adds rules, replaces a default rule by using the same
//! `find`, and switches default rules off with `disable = ["…"]`.
//!
//! Context rules keep valid uses quiet: `unless` lists longer expressions
//! that contain the match and are correct (吃哑巴亏 is an idiom, 伪满洲国
//! is already right), `followed_by` and `preceded_by` restrict a rule to
//! the contexts in which it is wrong (纪念 is wrong before 新中国成立, right
//! before 抗战胜利 and in 纪念馆).

use std::collections::HashMap;
use std::fmt;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use serde::{Deserialize, Serialize};

/// The default dictionary, compiled in.
pub const DEFAULT_DICTIONARY: &str = include_str!("../data/wording.toml");

/// What a rule catches; the sensors map it to a severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleKind {
    /// 不规范表述: a wrong or non-standard expression with a right one.
    Expression,
    /// 错别字: a miswritten word.
    Typo,
    /// 禁用词: a word official writing must not use (discriminatory terms
    /// and the like), with what to write instead.
    Forbidden,
    /// 涉赌涉黄及垃圾信息: words of gambling, pornography and spam sites.
    /// Sensors look for these where attackers put them: in hidden links,
    /// link texts and pages shown only to search engines.
    Spam,
}

impl RuleKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::Expression => "expression",
            RuleKind::Typo => "typo",
            RuleKind::Forbidden => "forbidden",
            RuleKind::Spam => "spam",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            RuleKind::Expression => "不规范表述",
            RuleKind::Typo => "错别字",
            RuleKind::Forbidden => "禁用词",
            RuleKind::Spam => "涉赌涉黄及垃圾信息",
        }
    }
}

impl fmt::Display for RuleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of a dictionary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// The text to look for.
    pub find: String,
    pub kind: RuleKind,
    /// What to write instead; empty when the text should simply go (spam,
    /// and forbidden words such as slurs that have no neutral twin).
    #[serde(default)]
    pub suggest: String,
    /// Longer expressions, each containing `find`, in which `find` is
    /// correct: a match inside one of them is not reported.
    #[serde(default)]
    pub unless: Vec<String>,
    /// When not empty, the rule fires only when one of these follows the
    /// match immediately.
    #[serde(default)]
    pub followed_by: Vec<String>,
    /// When not empty, the rule fires only when one of these comes
    /// immediately before the match.
    #[serde(default)]
    pub preceded_by: Vec<String>,
    /// Why, for the person reading the report.
    #[serde(default)]
    pub note: String,
    /// The public text the entry rests on (a standard, a published style
    /// guide, the official name as published), shown beside the note so
    /// that a reader can check it. Every built-in rule has one; a unit's own
    /// rules may leave it empty.
    #[serde(default)]
    pub source: String,
}

/// A dictionary file as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DictionaryFile {
    /// `find` values of default rules to switch off.
    #[serde(default)]
    disable: Vec<String>,
    #[serde(default)]
    rule: Vec<Rule>,
}

/// A dictionary that cannot be used, said so that its author can fix it.
#[derive(Debug, thiserror::Error)]
pub enum DictionaryError {
    #[error("the wording dictionary {source_name} is not valid TOML: {detail}")]
    Parse { source_name: String, detail: String },
    #[error("the wording dictionary {source_name}, rule {find:?}: {problem}")]
    Rule {
        source_name: String,
        find: String,
        problem: String,
    },
    #[error("cannot build the wording matcher: {0}")]
    Build(String),
}

/// A compiled dictionary: the rules and one automaton over their `find`s.
#[derive(Debug, Clone)]
pub struct Dictionary {
    rules: Vec<Rule>,
    /// `unless` entries of each rule, with the byte offsets at which `find`
    /// occurs inside them, precomputed so that a hit checks them in place.
    exceptions: Vec<Vec<(String, Vec<usize>)>>,
    automaton: Option<AhoCorasick>,
}

/// One match of a rule in a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WordingHit {
    /// Index into [`Dictionary::rules`].
    pub rule: usize,
    /// Byte range in the text.
    pub start: usize,
    pub end: usize,
}

impl Dictionary {
    /// The compiled-in default dictionary.
    pub fn builtin() -> Dictionary {
        // The default is tested to compile; a failure here is a build bug.
        Dictionary::from_sources(&[("built-in dictionary", DEFAULT_DICTIONARY)])
            .unwrap_or_else(|e| panic!("the built-in wording dictionary is invalid: {e}"))
    }

    /// The default dictionary changed by a user's file: its rules are added
    /// (replacing default rules with the same `find`), its `disable` list
    /// switches default rules off.
    pub fn builtin_with(user_name: &str, user_toml: &str) -> Result<Dictionary, DictionaryError> {
        Dictionary::from_sources(&[
            ("built-in dictionary", DEFAULT_DICTIONARY),
            (user_name, user_toml),
        ])
    }

    /// A dictionary from files applied in order: each later file may add,
    /// replace and disable rules of the earlier ones.
    pub fn from_sources(sources: &[(&str, &str)]) -> Result<Dictionary, DictionaryError> {
        let mut rules: Vec<Rule> = Vec::new();
        let mut by_find: HashMap<String, usize> = HashMap::new();
        for (name, text) in sources {
            let file: DictionaryFile =
                toml::from_str(text).map_err(|e| DictionaryError::Parse {
                    source_name: name.to_string(),
                    detail: e.to_string(),
                })?;
            for find in &file.disable {
                if let Some(i) = by_find.remove(find) {
                    rules[i].find.clear();
                }
            }
            for rule in file.rule {
                check_rule(name, &rule)?;
                match by_find.get(&rule.find) {
                    Some(&i) => rules[i] = rule,
                    None => {
                        by_find.insert(rule.find.clone(), rules.len());
                        rules.push(rule);
                    }
                }
            }
        }
        // Disabled rules were emptied in place so that indices stayed valid.
        rules.retain(|r| !r.find.is_empty());
        Dictionary::from_rules(rules)
    }

    /// A dictionary of exactly these rules.
    pub fn from_rules(rules: Vec<Rule>) -> Result<Dictionary, DictionaryError> {
        for r in &rules {
            check_rule("rules", r)?;
        }
        let exceptions = rules
            .iter()
            .map(|r| {
                r.unless
                    .iter()
                    .map(|u| {
                        let offsets = u.match_indices(r.find.as_str()).map(|(i, _)| i).collect();
                        (u.clone(), offsets)
                    })
                    .collect()
            })
            .collect();
        let automaton = if rules.is_empty() {
            None
        } else {
            Some(
                AhoCorasickBuilder::new()
                    // The longest rule wins where rules overlap: 台湾副总统
                    // before 台湾总统 would otherwise be cut short.
                    .match_kind(MatchKind::LeftmostLongest)
                    .ascii_case_insensitive(true)
                    .build(rules.iter().map(|r| r.find.as_str()))
                    .map_err(|e| DictionaryError::Build(e.to_string()))?,
            )
        };
        Ok(Dictionary {
            rules,
            exceptions,
            automaton,
        })
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn rule(&self, hit: &WordingHit) -> &Rule {
        &self.rules[hit.rule]
    }

    /// Every match in `text` that its rule's context allows, in order.
    pub fn find(&self, text: &str) -> Vec<WordingHit> {
        let mut out = Vec::new();
        self.for_each(text, |h| out.push(h));
        out
    }

    /// Like [`Dictionary::find`], calling `f` for each hit instead of
    /// collecting them.
    pub fn for_each(&self, text: &str, mut f: impl FnMut(WordingHit)) {
        let Some(ac) = &self.automaton else {
            return;
        };
        for m in ac.find_iter(text) {
            let rule = m.pattern().as_usize();
            let (start, end) = (m.start(), m.end());
            if self.context_allows(rule, text, start, end) {
                f(WordingHit { rule, start, end });
            }
        }
    }

    fn context_allows(&self, rule: usize, text: &str, start: usize, end: usize) -> bool {
        let r = &self.rules[rule];
        if !r.followed_by.is_empty()
            && !r
                .followed_by
                .iter()
                .any(|s| text[end..].starts_with(s.as_str()))
        {
            return false;
        }
        if !r.preceded_by.is_empty()
            && !r
                .preceded_by
                .iter()
                .any(|s| text[..start].ends_with(s.as_str()))
        {
            return false;
        }
        for (exception, offsets) in &self.exceptions[rule] {
            for &k in offsets {
                let Some(from) = start.checked_sub(k) else {
                    continue;
                };
                if text
                    .get(from..from + exception.len())
                    .is_some_and(|s| s == exception)
                {
                    return false;
                }
            }
        }
        true
    }
}

fn check_rule(source: &str, r: &Rule) -> Result<(), DictionaryError> {
    let problem = |p: String| DictionaryError::Rule {
        source_name: source.to_string(),
        find: r.find.clone(),
        problem: p,
    };
    if r.find.trim().is_empty() {
        return Err(problem("`find` is empty".into()));
    }
    if r.find == r.suggest {
        return Err(problem("`suggest` is the same as `find`".into()));
    }
    if let Some(u) = r.unless.iter().find(|u| !u.contains(r.find.as_str())) {
        return Err(problem(format!(
            "the `unless` entry {u:?} does not contain {:?}; an exception must be a longer expression around the match",
            r.find
        )));
    }
    if r.followed_by
        .iter()
        .chain(&r.preceded_by)
        .any(String::is_empty)
    {
        return Err(problem(
            "an empty `followed_by` or `preceded_by` entry".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hits(d: &Dictionary, text: &str) -> Vec<String> {
        d.find(text)
            .iter()
            .map(|h| format!("{}→{}", &text[h.start..h.end], d.rule(h).suggest))
            .collect()
    }

    #[test]
    fn the_builtin_dictionary_compiles_and_is_documented() {
        let d = Dictionary::builtin();
        assert!(d.rules().len() >= 100, "{}", d.rules().len());
        for kind in [
            RuleKind::Expression,
            RuleKind::Typo,
            RuleKind::Forbidden,
            RuleKind::Spam,
        ] {
            assert!(d.rules().iter().any(|r| r.kind == kind), "no {kind} rule");
        }
        // Every expression and typo says what to write instead; a forbidden
        // word without one is to be deleted, and its note says why.
        for r in d.rules() {
            match r.kind {
                RuleKind::Expression | RuleKind::Typo => {
                    assert!(!r.suggest.is_empty(), "{:?} has no suggestion", r.find)
                }
                RuleKind::Forbidden => assert!(
                    !r.suggest.is_empty() || !r.note.is_empty(),
                    "{:?} has neither a suggestion nor a note",
                    r.find
                ),
                RuleKind::Spam => {}
            }
        }
    }

    #[test]
    fn the_seed_reports_cases_are_caught_and_valid_uses_are_not() {
        let d = Dictionary::builtin();
        assert_eq!(hits(&d, "热烈纪念新中国成立75周年"), ["纪念→庆祝"],);
        assert_eq!(hits(&d, "建国以来，我镇发展迅速"), ["建国→新中国成立"]);
        // Valid uses of the same characters.
        assert!(hits(&d, "参观革命纪念馆，纪念抗战胜利80周年").is_empty());
        assert!(hits(&d, "国庆纪念日，途经建国门").is_empty());
        assert!(hits(&d, "他吃了哑巴亏").is_empty());
        assert_eq!(hits(&d, "他是个哑巴"), ["哑巴→言语残疾人"]);
    }

    #[test]
    fn every_builtin_entry_cites_its_source_and_is_its_own_pair() {
        let d = Dictionary::builtin();
        let rules = d.rules();
        assert!(rules.len() >= 1000, "{} entries", rules.len());
        let mut pairs = std::collections::HashSet::new();
        for r in rules {
            assert!(!r.source.trim().is_empty(), "{:?} has no source", r.find);
            assert!(
                pairs.insert((r.find.as_str(), r.suggest.as_str())),
                "{:?} → {:?} is there twice",
                r.find,
                r.suggest
            );
        }
        // Single-character variant mappings are at most a fifth.
        let single = rules.iter().filter(|r| r.find.chars().count() == 1).count();
        assert!(single * 5 <= rules.len(), "{single} of {}", rules.len());
        // The parsed file, not only the deduplicated dictionary: a second
        // entry with the same `find` would silently replace the first.
        let file: DictionaryFile = toml::from_str(DEFAULT_DICTIONARY).unwrap();
        let mut finds = std::collections::HashSet::new();
        for r in &file.rule {
            assert!(finds.insert(r.find.as_str()), "{:?} twice", r.find);
        }
    }

    #[test]
    fn a_builtin_entry_without_a_source_is_noticed_but_a_units_may_have_none() {
        let user = "[[rule]]\nfind = \"本镇\"\nkind = \"expression\"\nsuggest = \"我镇\"\n";
        let d = Dictionary::builtin_with("user.toml", user).unwrap();
        let r = d.rules().iter().find(|r| r.find == "本镇").unwrap();
        assert!(r.source.is_empty());
    }

    #[test]
    fn the_issues_seed_cases_are_caught() {
        let d = Dictionary::builtin();
        let cases: &[(&str, &str)] = &[
            // Idiom typos.
            (
                "这一做法在当地脍炙人口，也曾被人说成烩炙人口",
                "烩炙人口→脍炙人口",
            ),
            ("全体干部鼎立相助", "鼎立相助→鼎力相助"),
            ("切不可草管人命", "草管人命→草菅人命"),
            ("各项工作要按步就班推进", "按步就班→按部就班"),
            ("这份计画已经通过", "计画→计划"),
            ("严防坐收鱼利的行为", "坐收鱼利→坐收渔利"),
            // Political and territorial wording.
            ("中华民国总统发表讲话", "中华民国总统→台湾地区领导人"),
            ("两岸三地的青年交流", "两岸三地→海峡两岸和香港"),
            ("渔船在尖阁群岛附近作业", "尖阁群岛→钓鱼岛"),
            ("他毕业于国立台湾大学", "国立台湾大学→台湾大学"),
            ("代表团以中华台北名义参赛", "中华台北→中国台北"),
            ("香港政府宣布", "香港政府→香港特区政府"),
            // Names of Party and state bodies and meetings.
            ("向最高人民检查院报告", "最高人民检查院→最高人民检察院"),
            ("县卫计局组织义诊", "卫计局→卫生健康局"),
            ("县安监局开展检查", "安监局→应急管理局"),
            (
                "中国共产党第二十届全国代表大会",
                "届全国代表大会→次全国代表大会",
            ),
            ("学习十九大四中全会精神", "十九大四中全会→十九届四中全会"),
            ("中纪委通报", "中纪委→中央纪委"),
            // Discriminatory, ethnic and religious terms.
            ("帮扶独眼龙老人", "独眼龙→视力残疾人"),
            ("为瘫子送去轮椅", "瘫子→肢体残疾人"),
            ("村里有几户维族群众", "维族→维吾尔族"),
            ("他是僮族人", "僮族→壮族"),
            ("不称穆斯林国家", "穆斯林国家→伊斯兰国家"),
            // Anniversaries and events with Arabic numerals.
            ("纪念5·4运动105周年", "5·4运动→五四运动"),
            ("勿忘9·18事变", "9·18事变→九一八事变"),
            ("纪念12·9运动", "12·9运动→“一二·九”运动"),
            ("7·7事变爆发", "7·7事变→七七事变"),
            ("深入学习党的20大精神", "党的20大→党的二十大"),
        ];
        for (text, want) in cases {
            let got = hits(&d, text);
            assert!(
                got.iter().any(|g| g == want),
                "{text}: {got:?}, want {want}"
            );
        }
    }

    #[test]
    fn correct_official_sentences_stay_quiet() {
        let d = Dictionary::builtin();
        let text = "为深入学习贯彻党的二十大和二十届三中全会精神，中共中央、国务院印发通知。\
            中国共产党第二十次全国代表大会在北京召开，历届全国代表大会都强调从严治党。\
            县卫生健康局、应急管理局、市场监督管理局联合开展检查，原国土资源局的职责划入自然资源局。\
            法定货币是人民币，特定货物的进出口须经许可；按纳税年度计算，实行绿色采购。\
            生态环境保护部门依法监督，农业部门做好春耕，交通部门保障运输，人事部门组织招聘。\
            盲人、聋人和智力障碍者平等参与社会生活，残疾人事业发展纲要印发。\
            回族、维吾尔族、蒙古族、朝鲜族群众欢度节日；台湾同胞来大陆旅游，内地与香港深化合作。\
            香港特别行政区政府、澳门特别行政区政府依法施政；钓鱼岛及其附属岛屿是中国固有领土。\
            纪念五四运动105周年，勿忘九一八事变，缅怀一二·九运动先驱，庆祝中华人民共和国成立75周年。\
            报名截止日期为6月30日；截至目前，共受理申请120件。他吃了哑巴亏，书呆子气十足。\
            参观革命纪念馆；途经建国门；村长期坚持植树造林；要检查长效机制是否落实。\
            既使用电子证照，又保留纸质证照；光伏输出功率稳定；请检查官网公布的名单，按排名先后录取。\
            个股分析不构成投资建议；支部纪检委员列席会议；机房采购机架式服务器；\
            先辈筚路蓝缕，文天祥过零丁洋；台湾国际机场航班正常；确保母婴安全；市委过问此事。";
        assert!(hits(&d, text).is_empty(), "{:?}", hits(&d, text));
    }

    #[test]
    fn typos_and_the_longest_rule_win() {
        let d = Dictionary::builtin();
        assert_eq!(hits(&d, "我们要再接再励"), ["再接再励→再接再厉"]);
        assert_eq!(hits(&d, "截止目前，共"), ["截止目前→截至目前"]);
        assert!(hits(&d, "报名截止日期").is_empty());
        assert_eq!(hits(&d, "台湾副总统"), ["台湾副总统→台湾地区副领导人"]);
    }

    #[test]
    fn user_files_add_replace_and_disable_rules() {
        let user = r#"
disable = ["再接再励"]

[[rule]]
find = "本镇"
kind = "expression"
suggest = "我镇"
note = "house style"

[[rule]]
find = "建国"
kind = "expression"
suggest = "中华人民共和国成立"
followed_by = ["以来"]
"#;
        let d = Dictionary::builtin_with("user.toml", user).unwrap();
        assert!(hits(&d, "再接再励").is_empty());
        assert_eq!(
            hits(&d, "本镇建国以来"),
            ["本镇→我镇", "建国→中华人民共和国成立"]
        );
    }

    #[test]
    fn bad_rules_are_refused_with_the_reason() {
        let e = Dictionary::builtin_with(
            "u.toml",
            "[[rule]]\nfind = \"纪念\"\nkind = \"expression\"\nsuggest = \"庆祝\"\nunless = [\"馆\"]\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("does not contain"), "{e}");
        let e = Dictionary::builtin_with("u.toml", "[[rule]]\nfind = \"\"\nkind = \"typo\"\n")
            .unwrap_err();
        assert!(e.to_string().contains("empty"), "{e}");
        let e = Dictionary::builtin_with("u.toml", "[[rule]]\nfnd = \"x\"\n").unwrap_err();
        assert!(e.to_string().contains("u.toml"), "{e}");
    }

    #[test]
    fn spam_words_match_case_insensitively() {
        let d = Dictionary::builtin();
        let found = d.find("Welcome to BACCARAT online");
        assert_eq!(found.len(), 1);
        assert_eq!(d.rule(&found[0]).kind, RuleKind::Spam);
    }

    #[test]
    fn an_empty_dictionary_matches_nothing() {
        let d = Dictionary::from_rules(Vec::new()).unwrap();
        assert!(d.find("任何文字").is_empty());
    }
}
