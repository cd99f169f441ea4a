//! GB/T 20986-2023 incident classes and subclasses, and the four levels.
//!
//! The class and subclass names follow the standard. The codes are the seed
//! codes compiled in `shared/incident-taxonomy.md`; the standard's own Annex B
//! codes are unconfirmed there, so each subclass has an `official_code` slot
//! that stays empty until someone checks Annex B. Our own code is the stable
//! identifier the store and the incident rules use.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::UnknownName;

/// One of the ten GB/T 20986-2023 classes (类别).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct IncidentClass {
    pub code: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
    pub subclasses: &'static [Subclass],
}

/// A subclass (子类) of an incident class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Subclass {
    /// Shouwang's stable code (the seed code), e.g. `NAWEBMOD`.
    pub code: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
    /// The code of the standard's Annex B, once confirmed.
    pub official_code: Option<&'static str>,
}

/// The ten classes, in the standard's order.
pub static CLASSES: &[IncidentClass] = &[
    IncidentClass {
        code: "MP",
        zh: "恶意程序事件",
        en: "Malware",
        subclasses: &[
            Subclass {
                code: "MPEVIR",
                zh: "计算机病毒事件",
                en: "Computer virus",
                official_code: None,
            },
            Subclass {
                code: "MPWORM",
                zh: "网络蠕虫事件",
                en: "Network worm",
                official_code: None,
            },
            Subclass {
                code: "MPTROJ",
                zh: "特洛伊木马事件",
                en: "Trojan / remote-control implant",
                official_code: None,
            },
            Subclass {
                code: "MPZOMB",
                zh: "僵尸网络事件",
                en: "Botnet",
                official_code: None,
            },
            Subclass {
                code: "MPWEB",
                zh: "恶意代码内嵌网页事件",
                en: "Web page carrying malicious code",
                official_code: None,
            },
            Subclass {
                code: "MPHOST",
                zh: "恶意代码宿主站点事件",
                en: "Site hosting malicious code",
                official_code: None,
            },
            Subclass {
                code: "MPRANS",
                zh: "勒索软件事件",
                en: "Ransomware",
                official_code: None,
            },
            Subclass {
                code: "MPMINER",
                zh: "挖矿病毒事件",
                en: "Cryptomining malware",
                official_code: None,
            },
            Subclass {
                code: "MPHYBR",
                zh: "混合攻击程序事件",
                en: "Blended malware",
                official_code: None,
            },
            Subclass {
                code: "MPOTH",
                zh: "其他恶意程序事件",
                en: "Other malware",
                official_code: None,
            },
        ],
    },
    IncidentClass {
        code: "NA",
        zh: "网络攻击事件",
        en: "Network attack",
        subclasses: &[
            Subclass {
                code: "NASCAN",
                zh: "网络扫描探测事件",
                en: "Scanning and probing",
                official_code: None,
            },
            Subclass {
                code: "NAPHISH",
                zh: "网络钓鱼事件",
                en: "Phishing",
                official_code: None,
            },
            Subclass {
                code: "NAEXPLOIT",
                zh: "漏洞利用事件",
                en: "Vulnerability exploitation",
                official_code: None,
            },
            Subclass {
                code: "NABACKDOOR",
                zh: "后门利用事件",
                en: "Backdoor abuse",
                official_code: None,
            },
            Subclass {
                code: "NABACKIMPL",
                zh: "后门植入事件",
                en: "Backdoor or webshell implanted",
                official_code: None,
            },
            Subclass {
                code: "NACRED",
                zh: "凭据攻击事件",
                en: "Credential attack",
                official_code: None,
            },
            Subclass {
                code: "NASIGINT",
                zh: "信号干扰事件",
                en: "Signal jamming",
                official_code: None,
            },
            Subclass {
                code: "NADOS",
                zh: "拒绝服务事件",
                en: "Denial of service",
                official_code: None,
            },
            Subclass {
                code: "NAWEBMOD",
                zh: "网页篡改事件",
                en: "Web defacement",
                official_code: None,
            },
            Subclass {
                code: "NALINK",
                zh: "暗链植入事件",
                en: "Hidden links injected",
                official_code: None,
            },
            Subclass {
                code: "NADNSHIJ",
                zh: "域名劫持事件",
                en: "Domain hijack",
                official_code: None,
            },
            Subclass {
                code: "NATRANSFER",
                zh: "域名转嫁事件",
                en: "Domain pointed elsewhere",
                official_code: None,
            },
            Subclass {
                code: "NADNSPOLL",
                zh: "DNS污染事件",
                en: "DNS poisoning",
                official_code: None,
            },
            Subclass {
                code: "NAWLANH",
                zh: "WLAN劫持事件",
                en: "Wireless LAN hijack",
                official_code: None,
            },
            Subclass {
                code: "NATRAFHIJ",
                zh: "流量劫持事件",
                en: "Traffic hijack",
                official_code: None,
            },
            Subclass {
                code: "NABGPATT",
                zh: "BGP劫持攻击事件",
                en: "BGP hijack",
                official_code: None,
            },
            Subclass {
                code: "NABRDCAST",
                zh: "广播欺诈事件",
                en: "Broadcast spoofing",
                official_code: None,
            },
            Subclass {
                code: "NAHACKED",
                zh: "失陷主机事件",
                en: "Compromised host",
                official_code: None,
            },
            Subclass {
                code: "NASUPPLY",
                zh: "供应链攻击事件",
                en: "Supply-chain attack",
                official_code: None,
            },
            Subclass {
                code: "NAAPT",
                zh: "APT事件",
                en: "Advanced persistent threat",
                official_code: None,
            },
            Subclass {
                code: "NAOTH",
                zh: "其他网络攻击事件",
                en: "Other network attack",
                official_code: None,
            },
        ],
    },
    IncidentClass {
        code: "DS",
        zh: "数据安全事件",
        en: "Data security",
        subclasses: &[
            Subclass {
                code: "DSDATAALTER",
                zh: "数据篡改事件",
                en: "Data tampering",
                official_code: None,
            },
            Subclass {
                code: "DSDATAFAKE",
                zh: "数据假冒事件",
                en: "Forged data",
                official_code: None,
            },
            Subclass {
                code: "DSDATALEAK",
                zh: "数据泄露事件",
                en: "Data leak",
                official_code: None,
            },
            Subclass {
                code: "DSSOCENG",
                zh: "社会工程事件",
                en: "Social engineering",
                official_code: None,
            },
            Subclass {
                code: "DSDATASTEAL",
                zh: "数据窃取事件",
                en: "Data theft",
                official_code: None,
            },
            Subclass {
                code: "DSDATAINTER",
                zh: "数据拦截事件",
                en: "Data interception",
                official_code: None,
            },
            Subclass {
                code: "DSLOCDETECT",
                zh: "位置检测事件",
                en: "Illicit location discovery",
                official_code: None,
            },
            Subclass {
                code: "DSDATAPOLL",
                zh: "数据投毒事件",
                en: "Data poisoning",
                official_code: None,
            },
            Subclass {
                code: "DSDATAABUSE",
                zh: "数据滥用事件",
                en: "Data misuse",
                official_code: None,
            },
            Subclass {
                code: "DSPRIVACY",
                zh: "隐私侵犯事件",
                en: "Privacy violation",
                official_code: None,
            },
            Subclass {
                code: "DSDATALOSS",
                zh: "数据损失事件",
                en: "Data loss",
                official_code: None,
            },
            Subclass {
                code: "DSOTH",
                zh: "其他数据安全事件",
                en: "Other data security",
                official_code: None,
            },
        ],
    },
    IncidentClass {
        code: "IC",
        zh: "信息内容安全事件",
        en: "Content security",
        subclasses: &[
            Subclass {
                code: "ICRADICAL",
                zh: "反动宣传事件",
                en: "Subversive propaganda",
                official_code: None,
            },
            Subclass {
                code: "ICTERROR",
                zh: "暴恐宣扬事件",
                en: "Terrorism promotion",
                official_code: None,
            },
            Subclass {
                code: "ICPORN",
                zh: "色情传播事件",
                en: "Pornography",
                official_code: None,
            },
            Subclass {
                code: "ICFAKENEWS",
                zh: "虚假信息传播事件",
                en: "False information",
                official_code: None,
            },
            Subclass {
                code: "ICRIGHTS",
                zh: "权益侵害事件",
                en: "Infringement of rights",
                official_code: None,
            },
            Subclass {
                code: "ICSPAM",
                zh: "信息滥发事件",
                en: "Spam",
                official_code: None,
            },
            Subclass {
                code: "ICFRAUD",
                zh: "网络欺诈事件",
                en: "Online fraud",
                official_code: None,
            },
            Subclass {
                code: "ICOTH",
                zh: "其他信息内容安全事件",
                en: "Other content security",
                official_code: None,
            },
        ],
    },
    IncidentClass {
        code: "DE",
        zh: "设备设施故障事件",
        en: "Equipment failure",
        subclasses: &[
            Subclass {
                code: "DETECH",
                zh: "技术故障事件",
                en: "Technical fault",
                official_code: None,
            },
            Subclass {
                code: "DEACCFAC",
                zh: "配套设施故障事件",
                en: "Supporting facility failure",
                official_code: None,
            },
            Subclass {
                code: "DEPHYS",
                zh: "物理损害事件",
                en: "Physical damage",
                official_code: None,
            },
            Subclass {
                code: "DERADINT",
                zh: "辐射干扰事件",
                en: "Radiation interference",
                official_code: None,
            },
            Subclass {
                code: "DEOTH",
                zh: "其他设备设施故障事件",
                en: "Other equipment failure",
                official_code: None,
            },
        ],
    },
    IncidentClass {
        code: "RO",
        zh: "违规操作事件",
        en: "Improper operation",
        subclasses: &[
            Subclass {
                code: "ROPABUSE",
                zh: "权限滥用事件",
                en: "Privilege abuse",
                official_code: None,
            },
            Subclass {
                code: "ROPFAKE",
                zh: "权限伪造事件",
                en: "Forged privileges",
                official_code: None,
            },
            Subclass {
                code: "ROPDENY",
                zh: "行为抵赖事件",
                en: "Repudiation",
                official_code: None,
            },
            Subclass {
                code: "ROPINTENT",
                zh: "故意违规操作事件",
                en: "Deliberate violation",
                official_code: None,
            },
            Subclass {
                code: "ROPMISTAKE",
                zh: "误操作事件",
                en: "Operator error",
                official_code: None,
            },
            Subclass {
                code: "ROPUAVAIL",
                zh: "人员可用性破坏事件",
                en: "Loss of staff availability",
                official_code: None,
            },
            Subclass {
                code: "ROPNOUNAUTH",
                zh: "资源未授权使用事件",
                en: "Unauthorised use of resources",
                official_code: None,
            },
            Subclass {
                code: "ROPO",
                zh: "其他违规操作事件",
                en: "Other improper operation",
                official_code: None,
            },
        ],
    },
    IncidentClass {
        code: "SHE",
        zh: "安全隐患事件",
        en: "Security hazard",
        subclasses: &[
            Subclass {
                code: "SHEVULN",
                zh: "网络漏洞事件",
                en: "Vulnerability present",
                official_code: None,
            },
            Subclass {
                code: "SHECONFIG",
                zh: "网络配置合规缺陷事件",
                en: "Non-compliant configuration",
                official_code: None,
            },
            Subclass {
                code: "SHEOTH",
                zh: "其他安全隐患事件",
                en: "Other hazard",
                official_code: None,
            },
        ],
    },
    IncidentClass {
        code: "AB",
        zh: "异常行为事件",
        en: "Anomalous behaviour",
        subclasses: &[
            Subclass {
                code: "ABACCESS",
                zh: "访问异常事件",
                en: "Access anomaly",
                official_code: None,
            },
            Subclass {
                code: "ABTRAFFIC",
                zh: "流量异常事件",
                en: "Traffic anomaly",
                official_code: None,
            },
            Subclass {
                code: "ABOTH",
                zh: "其他异常行为事件",
                en: "Other anomaly",
                official_code: None,
            },
        ],
    },
    IncidentClass {
        code: "FOC",
        zh: "不可抗力事件",
        en: "Force majeure",
        subclasses: &[
            Subclass {
                code: "FOCDISASTER",
                zh: "自然灾害事件",
                en: "Natural disaster",
                official_code: None,
            },
            Subclass {
                code: "FOCACCIDENT",
                zh: "事故灾难事件",
                en: "Accident",
                official_code: None,
            },
            Subclass {
                code: "FOCHEALTH",
                zh: "公共卫生事件",
                en: "Public-health event",
                official_code: None,
            },
            Subclass {
                code: "FOCSOCIALSEC",
                zh: "社会安全事件",
                en: "Social-security event",
                official_code: None,
            },
            Subclass {
                code: "FOCOTH",
                zh: "其他不可抗力事件",
                en: "Other force majeure",
                official_code: None,
            },
        ],
    },
    IncidentClass {
        code: "OTH",
        zh: "其他事件",
        en: "Other",
        subclasses: &[],
    },
];

/// The class with this code (`NA`, `DS`, ...).
pub fn class(code: &str) -> Option<&'static IncidentClass> {
    CLASSES.iter().find(|c| c.code == code)
}

/// The subclass with this code, and the class it belongs to.
pub fn subclass(code: &str) -> Option<(&'static IncidentClass, &'static Subclass)> {
    CLASSES
        .iter()
        .find_map(|c| c.subclasses.iter().find(|s| s.code == code).map(|s| (c, s)))
}

/// The four incident levels, from least to most serious.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IncidentLevel {
    /// 一般 (Ⅳ), blue warning.
    General,
    /// 较大 (Ⅲ), yellow warning.
    Large,
    /// 重大 (Ⅱ), orange warning.
    Major,
    /// 特别重大 (Ⅰ), red warning.
    ExtraordinarilyMajor,
}

impl IncidentLevel {
    pub const ALL: [IncidentLevel; 4] = [
        IncidentLevel::General,
        IncidentLevel::Large,
        IncidentLevel::Major,
        IncidentLevel::ExtraordinarilyMajor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IncidentLevel::General => "general",
            IncidentLevel::Large => "large",
            IncidentLevel::Major => "major",
            IncidentLevel::ExtraordinarilyMajor => "extraordinarily-major",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            IncidentLevel::General => "一般",
            IncidentLevel::Large => "较大",
            IncidentLevel::Major => "重大",
            IncidentLevel::ExtraordinarilyMajor => "特别重大",
        }
    }

    pub fn roman(self) -> &'static str {
        match self {
            IncidentLevel::General => "Ⅳ",
            IncidentLevel::Large => "Ⅲ",
            IncidentLevel::Major => "Ⅱ",
            IncidentLevel::ExtraordinarilyMajor => "Ⅰ",
        }
    }

    /// The warning colour of the 2017 national emergency plan.
    pub fn warning_colour_zh(self) -> &'static str {
        match self {
            IncidentLevel::General => "蓝色",
            IncidentLevel::Large => "黄色",
            IncidentLevel::Major => "橙色",
            IncidentLevel::ExtraordinarilyMajor => "红色",
        }
    }

    /// Whether the 2025 reporting rule obliges a report (较大 or above).
    pub fn must_report(self) -> bool {
        self >= IncidentLevel::Large
    }
}

impl fmt::Display for IncidentLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for IncidentLevel {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IncidentLevel::ALL
            .into_iter()
            .find(|l| l.as_str() == s || l.zh() == s)
            .ok_or_else(|| UnknownName {
                what: "incident level",
                value: s.to_string(),
                expected: "general, large, major, extraordinarily-major (一般, 较大, 重大, 特别重大)",
            })
    }
}

/// 重要程度: how much the affected object matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Importance {
    /// 一般
    Ordinary,
    /// 重要
    Important,
    /// 特别重要
    Critical,
}

/// 系统损失 / 业务损失: what it costs to restore normal operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Loss {
    /// 较小
    Minor,
    /// 较大
    Considerable,
    /// 严重
    Serious,
    /// 特别严重
    ExtremelySerious,
}

/// The level from importance and loss, per the GB/T 20986 grading matrix;
/// the final level is the higher of this and the social-impact level.
pub fn level_from(importance: Importance, loss: Loss) -> IncidentLevel {
    use IncidentLevel::*;
    use Loss::*;
    match (importance, loss) {
        (Importance::Critical, ExtremelySerious) => ExtraordinarilyMajor,
        (Importance::Critical, Serious) => Major,
        (Importance::Critical, Considerable) => Large,
        (Importance::Critical, Minor) => General,
        (Importance::Important, ExtremelySerious) => Major,
        (Importance::Important, Serious) => Large,
        (Importance::Important, _) => General,
        (Importance::Ordinary, ExtremelySerious) => Large,
        (Importance::Ordinary, _) => General,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn has_the_ten_classes_of_the_standard() {
        assert_eq!(CLASSES.len(), 10);
        let counts: Vec<usize> = CLASSES.iter().map(|c| c.subclasses.len()).collect();
        assert_eq!(counts, [10, 21, 12, 8, 5, 8, 3, 3, 5, 0]);
    }

    #[test]
    fn subclass_codes_are_unique_and_found() {
        let mut seen = std::collections::HashSet::new();
        for c in CLASSES {
            for s in c.subclasses {
                assert!(seen.insert(s.code), "duplicate {}", s.code);
                assert!(
                    s.code.starts_with(c.code),
                    "{} not under {}",
                    s.code,
                    c.code
                );
                assert!(s.zh.ends_with("事件"), "{}", s.zh);
            }
        }
        let (class, sub) = subclass("NAWEBMOD").unwrap();
        assert_eq!(class.zh, "网络攻击事件");
        assert_eq!(sub.zh, "网页篡改事件");
        assert!(subclass("XX").is_none());
    }

    #[test]
    fn grading_matrix_matches_the_standard() {
        assert_eq!(
            level_from(Importance::Critical, Loss::ExtremelySerious),
            IncidentLevel::ExtraordinarilyMajor
        );
        assert_eq!(
            level_from(Importance::Important, Loss::Serious),
            IncidentLevel::Large
        );
        assert_eq!(
            level_from(Importance::Ordinary, Loss::ExtremelySerious),
            IncidentLevel::Large
        );
        assert_eq!(
            level_from(Importance::Ordinary, Loss::Serious),
            IncidentLevel::General
        );
        assert!(IncidentLevel::Large.must_report());
        assert!(!IncidentLevel::General.must_report());
    }
}
