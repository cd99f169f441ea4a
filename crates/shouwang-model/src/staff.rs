//! The unit's staff roster (人员名册) and who answers for a finding by when
//! (责任人, 整改时限). Plain data and the checks a person's entry must pass;
//! the console keeps the roster as a store setting and the assignments
//! beside the findings.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// At most this many people on a roster (an import's budget too).
pub const STAFF_MAX: usize = 2_000;
/// At most this many characters in one field of a roster entry.
pub const STAFF_FIELD_MAX: usize = 100;

/// One person of the unit.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StaffMember {
    /// 姓名 (the key: one entry per name).
    pub name: String,
    /// 部门.
    pub department: String,
    /// 职务.
    pub title: String,
    /// 邮箱.
    pub email: String,
    /// 手机.
    pub mobile: String,
}

impl StaffMember {
    /// The entry with every field trimmed.
    pub fn trimmed(self) -> StaffMember {
        StaffMember {
            name: self.name.trim().to_string(),
            department: self.department.trim().to_string(),
            title: self.title.trim().to_string(),
            email: self.email.trim().to_string(),
            mobile: self.mobile.trim().to_string(),
        }
    }

    /// Why the entry cannot be kept, in Chinese: a name is required, a
    /// mobile is 11 digits starting with 1, an e-mail has one `@` with a
    /// dotted domain after it.
    pub fn problem(&self) -> Option<String> {
        if self.name.is_empty() {
            return Some("姓名未填写".into());
        }
        for (label, v) in [
            ("姓名", &self.name),
            ("部门", &self.department),
            ("职务", &self.title),
            ("邮箱", &self.email),
            ("手机", &self.mobile),
        ] {
            if v.chars().count() > STAFF_FIELD_MAX {
                return Some(format!("{label}超过 {STAFF_FIELD_MAX} 个字"));
            }
            if v.chars().any(char::is_control) {
                return Some(format!("{label}含有控制字符"));
            }
        }
        if !self.mobile.is_empty() && !is_mobile(&self.mobile) {
            return Some(format!("手机号“{}”不是以 1 开头的 11 位数字", self.mobile));
        }
        if !self.email.is_empty() && !is_email(&self.email) {
            return Some(format!("邮箱“{}”格式不对", self.email));
        }
        None
    }
}

fn is_mobile(s: &str) -> bool {
    s.len() == 11 && s.starts_with('1') && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let labels: Vec<&str> = domain.split('.').collect();
    !local.is_empty()
        && !s.chars().any(char::is_whitespace)
        && labels.len() >= 2
        && labels.iter().all(|l| !l.is_empty() && !l.contains('@'))
}

/// Who answers for a finding (责任人) and by when (整改时限, a Beijing date).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FindingAssignment {
    pub owner: String,
    pub due: Option<NaiveDate>,
}

impl FindingAssignment {
    /// Nothing set: the finding is back to blank cells.
    pub fn is_empty(&self) -> bool {
        self.owner.is_empty() && self.due.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(name: &str, email: &str, mobile: &str) -> StaffMember {
        StaffMember {
            name: name.into(),
            email: email.into(),
            mobile: mobile.into(),
            ..StaffMember::default()
        }
    }

    #[test]
    fn a_name_is_required_and_mobile_and_email_are_checked_when_given() {
        assert_eq!(member("张三", "", "").problem(), None);
        assert_eq!(
            member("张三", "zhang@example.gov.cn", "13800138000").problem(),
            None
        );
        assert_eq!(member("", "", "").problem().unwrap(), "姓名未填写");
        for bad in ["1380013800", "23800138000", "1380013800a", "138001380001"] {
            let p = member("张三", "", bad).problem().unwrap();
            assert!(p.contains("手机号") && p.contains(bad), "{p}");
        }
        for bad in [
            "zhang",
            "zhang@",
            "@example.cn",
            "zhang@localhost",
            "a b@x.cn",
            "a@x..cn",
        ] {
            let p = member("张三", bad, "").problem().unwrap();
            assert!(p.contains("邮箱"), "{bad}: {p}");
        }
        let long = "长".repeat(STAFF_FIELD_MAX + 1);
        assert!(
            member(&long, "", "")
                .problem()
                .unwrap()
                .contains("姓名超过")
        );
    }
}
