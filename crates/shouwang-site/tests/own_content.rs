//! What is a page's own content is decided by comparing the pages of one
//! site, whatever its template: two sites of different shapes (a modern
//! one laid out in classed divs, an old 政务 one in nested tables), each
//! with a normal article, an article with only its title, an article with
//! a short but real body, and a column list of one entry.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use shouwang_site::{InspectOptions, Report, inspect};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 6, 15).unwrap()
}

type Site = Arc<HashMap<String, String>>;

async fn serve(State(site): State<Site>, uri: Uri) -> Response {
    match site.get(uri.path()) {
        Some(page) => (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            page.clone(),
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "404").into_response(),
    }
}

async fn inspect_site(site: HashMap<String, String>) -> Report {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let app = Router::new().fallback(serve).with_state(Arc::new(site));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let mut o = InspectOptions::new(format!("http://{addr}/").parse().unwrap());
    o.today = Some(today());
    o.government = Some(true);
    o.transport_checks = false;
    o.check_external = false;
    o.cloaking_pages = 0;
    o.timeout = Duration::from_secs(5);
    o.per_host_delay = Duration::ZERO;
    tokio::time::timeout(Duration::from_secs(60), inspect(o))
        .await
        .expect("the inspection must not hang")
        .unwrap()
}

fn at(report: &Report, check: &str) -> Vec<String> {
    let mut v: Vec<String> = report
        .findings
        .iter()
        .filter(|f| f.provenance.check == check)
        .map(|f| {
            let u: url::Url = f.location.parse().unwrap();
            u.path().to_string()
        })
        .collect();
    v.sort();
    v
}

fn dump(report: &Report) -> String {
    report
        .findings
        .iter()
        .map(|f| format!("{} | {} | {}", f.provenance.check, f.location, f.evidence))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A county site of today: header, nav, a sidebar and a footer in classed
/// divs, everything between header and footer inside one `.content`
/// (which the body-container check alone reads as the article's body).
fn div_site() -> HashMap<String, String> {
    let page = |title: &str, main: &str| {
        format!(
            r#"<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}_某某县人民政府</title></head>
<body class="inner"><div class="header"><div class="logo">某某县人民政府</div>
<div class="search">站内搜索 请输入关键字</div>
<ul class="nav"><li><a href="/">首页</a></li><li><a href="/xw/">要闻动态</a></li><li><a href="/tzgg/">通知公告</a></li>
<li><a href="/zwgk/">政务公开</a></li><li><a href="/hdjl/">互动交流</a></li></ul></div>
<div class="content"><div class="sidebar"><h3>栏目导航</h3><p>欢迎访问某某县人民政府门户网站</p>
<ul><li><a href="/xw/">要闻动态</a></li><li><a href="/tzgg/">通知公告</a></li></ul></div>
<div class="main">{main}</div></div>
<div class="footer"><p>主办单位：某某县人民政府办公室 承办：某某县大数据中心</p>
<p>地址：某某县人民路1号 联系电话：0591-87654321 邮编：350100</p>
<p>网站标识码：3501000001 闽ICP备12345678号-1 闽公网安备 35010202001234号</p>
<p>版权所有 © 2025 某某县人民政府 您是第 123456 位访客</p></div></body></html>"#
        )
    };
    let article = |n: u32, title: &str, body: &str| {
        page(
            title,
            &format!(
                r#"<div class="location">当前位置：<a href="/">首页</a> &gt; <a href="/xw/">要闻动态</a></div>
<h1 class="title">{title}</h1><div class="info">发布时间：2025-06-{:02} 来源：县政府办 浏览次数：{}</div>
<div class="text">{body}</div>
<div class="share">【字体：大 中 小】【打印本页】【关闭窗口】</div>
<div class="prev">上一篇：<a href="/xw/{}.html">关于做好夏季安全生产工作的通知</a></div>
<div class="next">下一篇：<a href="/xw/{}.html">县领导调研乡村振兴工作</a></div>"#,
                n + 1,
                n * 37,
                n % 4 + 1,
                (n + 1) % 4 + 1
            ),
        )
    };
    let mut s = HashMap::new();
    s.insert(
        "/".into(),
        page(
            "首页",
            r#"<div class="news"><ul>
<li><a href="/xw/1.html">县政府召开常务会议研究部署防汛工作</a><span>2025-06-11</span></li>
<li><a href="/xw/2.html">我县举办2025年农民丰收节</a><span>2025-06-10</span></li>
<li><a href="/xw/3.html">县政府召开防汛会议</a><span>2025-06-09</span></li>
<li><a href="/xw/4.html">县领导调研乡村振兴工作</a><span>2025-06-08</span></li></ul></div>"#,
        ),
    );
    s.insert(
        "/xw/".into(),
        page(
            "要闻动态",
            r#"<ul class="list"><li><a href="/xw/1.html">县政府召开常务会议研究部署防汛工作</a><span>2025-06-11</span></li>
<li><a href="/xw/2.html">我县举办2025年农民丰收节</a><span>2025-06-10</span></li>
<li><a href="/xw/3.html">县政府召开防汛会议</a><span>2025-06-09</span></li>
<li><a href="/xw/4.html">县领导调研乡村振兴工作</a><span>2025-06-08</span></li></ul>"#,
        ),
    );
    // A column of one entry, 23 months old: stale by the 6-month rule.
    s.insert(
        "/tzgg/".into(),
        page(
            "通知公告",
            r#"<ul class="list"><li><a href="/tzgg/1.html">关于开展2023年度防汛演练的通知</a><span>2023-07-10</span></li></ul>"#,
        ),
    );
    s.insert(
        "/tzgg/1.html".into(),
        article(
            5,
            "关于开展2023年度防汛演练的通知",
            "<p>各乡镇、县直各单位：为提高防汛应急处置能力，定于7月中旬开展全县防汛演练，请各单位按方案做好准备。</p>",
        ),
    );
    s.insert(
        "/xw/1.html".into(),
        article(
            1,
            "县政府召开常务会议研究部署防汛工作",
            "<p>6月11日，县长主持召开县政府常务会议，传达学习上级关于防汛工作的部署要求，研究我县防汛备汛工作。</p>\
             <p>会议强调，要压实责任，加强值班值守，确保安全度汛。</p>",
        ),
    );
    // Only its title besides the template.
    s.insert(
        "/xw/2.html".into(),
        article(2, "我县举办2025年农民丰收节", ""),
    );
    // A short body is a body.
    s.insert(
        "/xw/3.html".into(),
        article(
            3,
            "县政府召开防汛会议",
            "<p>6月9日，县政府召开防汛工作会议。</p>",
        ),
    );
    s.insert(
        "/xw/4.html".into(),
        article(
            4,
            "县领导调研乡村振兴工作",
            "<p>近日，县领导深入各乡镇调研乡村振兴工作，实地察看产业发展项目，听取工作汇报。</p>",
        ),
    );
    for col in ["zwgk", "hdjl"] {
        s.insert(
            format!("/{col}/"),
            page(
                "栏目",
                "<p>本栏目介绍政务公开和互动交流的办理渠道，群众可通过县长信箱、12345热线反映诉求。</p>",
            ),
        );
    }
    s
}

/// A township site of 2008: nested tables, the nav a row of links set
/// apart by bars, the body a table cell.
fn table_site() -> HashMap<String, String> {
    let page = |title: &str, main: &str| {
        format!(
            r#"<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"><title>某某乡人民政府--{title}</title></head>
<body topmargin="0"><table width="980" border="0" align="center" cellpadding="0" cellspacing="0">
<tr><td height="120" background="/images/top.jpg">某某乡人民政府欢迎您</td></tr></table>
<table width="980" align="center"><tr><td class="nav"><a href="/">网站首页</a> | <a href="/news/">乡镇动态</a> | <a href="/gg/">通知公告</a> | <a href="/xxgk/">信息公开</a></td></tr></table>
<table width="980" align="center"><tr><td width="220" valign="top">
<table width="100%"><tr><td class="lm">便民服务</td></tr><tr><td>办事指南 表格下载 咨询电话：0597-1234567</td></tr></table></td>
<td valign="top">{main}</td></tr></table>
<table width="980" align="center"><tr><td align="center">版权所有：某某乡人民政府 地址：某某乡政府路8号 电话：0597-7654321<br>
主办单位：某某乡人民政府 闽ICP备87654321号 闽公网安备 35082102000123号 网站标识码：3508210001</td></tr></table></body></html>"#
        )
    };
    let article = |n: u32, title: &str, body: &str| {
        page(
            title,
            &format!(
                r#"<table width="100%"><tr><td class="wzbt" align="center"><b>{title}</b></td></tr>
<tr><td align="center">发布日期：2025-06-{:02}　点击数：{}　【<a href="javascript:window.close()">关闭</a>】</td></tr>
<tr><td class="zw">{body}</td></tr></table>"#,
                n + 10,
                n * 11
            ),
        )
    };
    let mut s = HashMap::new();
    let list = r#"<table width="100%"><tr><td><a href="/news/1.htm">我乡召开秋季森林防火工作会议</a></td><td>2025-06-11</td></tr>
<tr><td><a href="/news/2.htm">乡党委开展主题党日活动</a></td><td>2025-06-12</td></tr>
<tr><td><a href="/news/3.htm">乡政府召开村两委干部会议</a></td><td>2025-06-13</td></tr>
<tr><td><a href="/news/4.htm">我乡开展防汛隐患排查</a></td><td>2025-06-14</td></tr></table>"#;
    s.insert("/".into(), page("首页", list));
    s.insert("/news/".into(), page("乡镇动态", list));
    // A column of one entry, ten days old: not stale.
    s.insert(
        "/gg/".into(),
        page(
            "通知公告",
            r#"<table width="100%"><tr><td><a href="/gg/1.htm">关于做好夏季防汛工作的通知</a></td><td>2025-06-05</td></tr></table>"#,
        ),
    );
    s.insert(
        "/gg/1.htm".into(),
        article(
            9,
            "关于做好夏季防汛工作的通知",
            "各村委会：入汛以来降雨偏多，请各村做好防汛值班和隐患排查工作，发现险情及时上报。",
        ),
    );
    s.insert(
        "/news/1.htm".into(),
        article(
            1,
            "我乡召开秋季森林防火工作会议",
            "5月11日上午，我乡召开森林防火工作会议，各村支部书记参加。会议要求加强巡山护林，严禁野外用火。",
        ),
    );
    s.insert(
        "/news/2.htm".into(),
        article(2, "乡党委开展主题党日活动", "&nbsp;"),
    );
    s.insert(
        "/news/3.htm".into(),
        article(
            3,
            "乡政府召开村两委干部会议",
            "乡政府召开村两委干部会议，部署秋收工作。",
        ),
    );
    s.insert(
        "/news/4.htm".into(),
        article(
            4,
            "我乡开展防汛隐患排查",
            "近日，我乡组织人员对辖区内山塘水库、地质灾害点开展防汛隐患排查，发现问题当场整改。",
        ),
    );
    s.insert(
        "/xxgk/".into(),
        page(
            "信息公开",
            "<p>依据《中华人民共和国政府信息公开条例》，本乡主动公开机构职能、规范性文件、财政预决算等政府信息。</p>",
        ),
    );
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_article_of_only_its_title_is_found_in_a_div_template() {
    let report = inspect_site(div_site()).await;
    assert_eq!(
        at(&report, "site.blank-article"),
        ["/xw/2.html"],
        "{}",
        dump(&report)
    );
    let blank = report
        .findings
        .iter()
        .find(|f| f.provenance.check == "site.blank-article")
        .unwrap();
    assert!(
        blank.evidence.contains("我县举办2025年农民丰收节"),
        "{}",
        blank.evidence
    );
    assert_eq!(
        at(&report, "site.stale-column"),
        ["/tzgg/"],
        "{}",
        dump(&report)
    );
    let stale = report
        .findings
        .iter()
        .find(|f| f.provenance.check == "site.stale-column")
        .unwrap();
    assert!(stale.evidence.contains("2023-07-10"), "{}", stale.evidence);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_article_of_only_its_title_is_found_in_a_table_template() {
    let report = inspect_site(table_site()).await;
    assert_eq!(
        at(&report, "site.blank-article"),
        ["/news/2.htm"],
        "{}",
        dump(&report)
    );
    // The one-entry column is ten days old.
    assert!(
        at(&report, "site.stale-column").is_empty(),
        "{}",
        dump(&report)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_whose_articles_all_have_bodies_gives_no_blank_article() {
    let mut site = div_site();
    let body = "<p>6月10日，我县在中心广场举办农民丰收节，展示特色农产品。</p>";
    let with_body = site["/xw/3.html"]
        .replace("县政府召开防汛会议", "我县举办2025年农民丰收节")
        .replace("<p>6月9日，县政府召开防汛工作会议。</p>", body);
    site.insert("/xw/2.html".into(), with_body);
    let report = inspect_site(site).await;
    assert!(
        at(&report, "site.blank-article").is_empty(),
        "{}",
        dump(&report)
    );
}
