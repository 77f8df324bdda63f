//! UI strings, Chinese and English, in one table.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "zh" | "zh-CN" | "zh_CN" => Some(Lang::Zh),
            "en" | "en-US" | "en_US" => Some(Lang::En),
            _ => None,
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }
}

/// (key, English, Chinese)
const STRINGS: &[(&str, &str, &str)] = &[
    ("app", "trunkd CRM", "trunkd 客户管理"),
    ("login", "Log in", "登录"),
    ("logout", "Log out", "退出"),
    ("user", "User", "用户名"),
    ("password", "Password", "密码"),
    ("login_failed", "Wrong user name or password.", "用户名或密码错误。"),
    ("forbidden", "You may not open this page.", "您无权访问此页面。"),
    (
        "csrf",
        "The form expired or did not come from this site. Reload and try again.",
        "表单已过期或来源无效，请刷新后重试。",
    ),
    ("not_found", "Not found.", "未找到。"),
    ("bad_request", "The request is not valid.", "请求无效。"),
    ("error", "Something went wrong; it has been logged.", "出错了，已记录日志。"),
    ("desktop", "Desktop", "坐席桌面"),
    ("customers", "Customers", "客户"),
    ("calls", "Calls", "通话记录"),
    ("live", "Live calls", "实时通话"),
    ("lists", "Number lists", "号码名单"),
    ("users", "Users", "用户"),
    ("search", "Search", "搜索"),
    ("new_customer", "New customer", "新建客户"),
    ("import", "Import CSV", "导入 CSV"),
    ("name", "Name", "姓名"),
    ("level", "Level", "等级"),
    ("phones", "Phones", "电话"),
    ("phones_hint", "one per line", "每行一个"),
    ("owner", "Owner agent", "负责坐席"),
    ("notes", "Notes", "备注"),
    ("none", "—", "—"),
    ("save", "Save", "保存"),
    ("delete", "Delete", "删除"),
    ("edit", "Edit", "编辑"),
    ("add", "Add", "添加"),
    ("saved", "Saved.", "已保存。"),
    ("normal", "Normal", "普通"),
    ("vip", "VIP", "VIP"),
    ("svip", "SVIP", "SVIP"),
    ("blacklist", "Blacklist", "黑名单"),
    ("whitelist", "Whitelist", "白名单"),
    ("dnc", "Do not call", "免打扰"),
    ("kind", "List", "名单"),
    ("pattern", "Number or prefix", "号码或号段"),
    ("prefix", "Prefix", "号段"),
    ("reason", "Reason", "原因"),
    ("expires", "Expires", "到期"),
    ("never", "never", "永不"),
    ("expired", "expired", "已过期"),
    ("active", "active", "生效"),
    ("time", "Time", "时间"),
    ("direction", "Direction", "方向"),
    ("inbound", "in", "呼入"),
    ("outbound", "out", "呼出"),
    ("from", "From", "主叫"),
    ("to", "To", "被叫"),
    ("device", "Line", "线路"),
    ("agent", "Agent", "坐席"),
    ("class", "Class", "分类"),
    ("route", "Route", "路由"),
    ("talk", "Talk", "通话时长"),
    ("cause", "Result", "结果"),
    ("recording", "Recording", "录音"),
    ("state", "State", "状态"),
    ("customer", "Customer", "客户"),
    ("unknown_caller", "Unknown caller", "未知来电"),
    ("waiting", "Waiting for calls…", "等待来电……"),
    ("connected", "connected", "已连接"),
    ("disconnected", "disconnected — reconnecting", "已断开，正在重连"),
    ("ringing", "ringing", "振铃"),
    ("answered", "answered", "已接听"),
    ("ended", "ended", "已结束"),
    ("failed", "failed", "未接通"),
    ("recent_calls", "Recent calls", "最近通话"),
    ("gateways", "Gateways", "网关"),
    (
        "csv_help",
        "Columns: name, level (normal/vip/svip), phones (separated by ;), notes. A header row is skipped.",
        "列：姓名、等级（normal/vip/svip）、电话（用 ; 分隔）、备注。首行表头会被跳过。",
    ),
    ("csv_file", "CSV file", "CSV 文件"),
    ("imported", "Imported", "已导入"),
    ("failed_rows", "Rows with errors", "出错的行"),
    ("row", "Row", "行"),
    ("display_name", "Display name", "显示名"),
    ("role", "Role", "角色"),
    ("contact", "Contact device", "坐席设备"),
    ("language", "Language", "语言"),
    ("no_results", "Nothing here yet.", "暂无数据。"),
    ("empty_name", "The name must not be empty.", "姓名不能为空。"),
    ("bad_phone", "Not a phone number:", "不是有效号码："),
    ("bad_level", "Unknown level:", "未知等级："),
    ("exists", "Already exists.", "已存在。"),
];

/// The string for `key` (the key itself if missing, so a typo shows rather than panics).
pub fn t(lang: Lang, key: &'static str) -> &'static str {
    match STRINGS.iter().find(|(k, _, _)| *k == key) {
        Some((_, en, zh)) => match lang {
            Lang::En => en,
            Lang::Zh => zh,
        },
        None => key,
    }
}

/// The strings the desktop and live scripts need, as JSON.
pub fn js_strings(lang: Lang) -> String {
    const KEYS: &[&str] = &[
        "unknown_caller",
        "connected",
        "disconnected",
        "ringing",
        "answered",
        "ended",
        "failed",
        "normal",
        "vip",
        "svip",
        "blacklist",
        "whitelist",
        "inbound",
        "outbound",
        "none",
        "recent_calls",
        "owner",
        "notes",
        "phones",
        "no_results",
    ];
    let m: serde_json::Map<String, serde_json::Value> =
        KEYS.iter().map(|&k| (k.to_string(), serde_json::Value::from(t(lang, k)))).collect();
    serde_json::Value::Object(m).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_has_both_languages_and_is_unique() {
        for (i, (k, en, zh)) in STRINGS.iter().enumerate() {
            assert!(!en.is_empty() && !zh.is_empty(), "{k}");
            assert!(STRINGS[..i].iter().all(|(k2, _, _)| k2 != k), "duplicate {k}");
        }
        assert_eq!(t(Lang::Zh, "login"), "登录");
        assert_eq!(t(Lang::En, "missing-key"), "missing-key");
    }
}
