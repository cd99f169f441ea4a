//! Two small sites served on 127.0.0.1: one with every defect class the
//! inspection looks for planted in it, and a clean twin with none. Every
//! planted defect must be found, and the twin must give no finding.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::Response;
use chrono::NaiveDate;
use shouwang_model::Severity;
use shouwang_site::{InspectOptions, Report, inspect};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 6, 15).unwrap()
}

/// A resident ID number with a valid check character, for a birth date.
fn valid_id(first17: &str) -> String {
    "0123456789X"
        .chars()
        .map(|c| format!("{first17}{c}"))
        .find(|id| shouwang_scan::pii::valid_id_card(id.as_bytes(), today()))
        .unwrap()
}

/// The same number with its check character changed: not valid.
fn invalid_id(first17: &str) -> String {
    let good = valid_id(first17);
    let last = good.chars().last().unwrap();
    let wrong = if last == '1' { '2' } else { '1' };
    format!("{first17}{wrong}")
}

#[derive(Clone)]
enum Reply {
    Page {
        status: u16,
        content_type: &'static str,
        body: Vec<u8>,
    },
    /// Different bodies for a browser and for Baiduspider.
    Cloaked {
        browser: String,
        spider: String,
    },
    Redirect(&'static str),
    /// A page sent gzip-compressed (Content-Encoding: gzip).
    Gzipped(String),
    Slow(Duration),
    /// A page that answers after a delay, within the timeout.
    Late(Duration, &'static str),
    Huge(usize),
}

fn html(body: impl Into<String>) -> Reply {
    Reply::Page {
        status: 200,
        content_type: "text/html; charset=utf-8",
        body: body.into().into_bytes(),
    }
}

fn gbk_html(body: &str) -> Reply {
    Reply::Page {
        status: 200,
        // Declared only in the page, as many old sites do.
        content_type: "text/html",
        body: encoding_rs::GBK.encode(body).0.into_owned(),
    }
}

fn file(content_type: &'static str, body: &[u8]) -> Reply {
    Reply::Page {
        status: 200,
        content_type,
        body: body.to_vec(),
    }
}

/// A zip archive with stored (uncompressed) entries: enough for an XLSX
/// that the inspection must open.
fn stored_zip(entries: &[(&str, String)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, content) in entries {
        let offset = out.len() as u32;
        let sizes = |v: &mut Vec<u8>| {
            v.extend(0u32.to_le_bytes()); // crc, not checked by readers we test
            v.extend((content.len() as u32).to_le_bytes());
            v.extend((content.len() as u32).to_le_bytes());
            v.extend((name.len() as u16).to_le_bytes());
        };
        out.extend(b"PK\x03\x04\x14\0\0\0\0\0\0\0\0\0");
        sizes(&mut out);
        out.extend(0u16.to_le_bytes());
        out.extend(name.as_bytes());
        out.extend(content.as_bytes());
        central.extend(b"PK\x01\x02\x14\0\x14\0\0\0\0\0\0\0\0\0");
        sizes(&mut central);
        central.extend([0u8; 8]);
        central.extend(0u32.to_le_bytes());
        central.extend(offset.to_le_bytes());
        central.extend(name.as_bytes());
    }
    let cd = out.len() as u32;
    out.extend(&central);
    out.extend(b"PK\x05\x06\0\0\0\0");
    out.extend((entries.len() as u16).to_le_bytes());
    out.extend((entries.len() as u16).to_le_bytes());
    out.extend((central.len() as u32).to_le_bytes());
    out.extend(cd.to_le_bytes());
    out.extend([0, 0]);
    out
}

fn xlsx(rows: &[(&str, &str)]) -> Vec<u8> {
    let strings: String = rows
        .iter()
        .map(|(a, b)| format!("<si><t>{a}</t></si><si><t>{b}</t></si>"))
        .collect();
    stored_zip(&[
        ("[Content_Types].xml", "<Types/>".into()),
        ("xl/sharedStrings.xml", format!("<sst>{strings}</sst>")),
    ])
}

/// A DOCX whose one paragraph is `text`, written as is (a bare `&` stays
/// bare, as sloppy generators leave it).
fn docx(text: &str) -> Vec<u8> {
    stored_zip(&[
        ("[Content_Types].xml", "<Types/>".into()),
        (
            "word/document.xml",
            format!(
                "<w:document><w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>"
            ),
        ),
    ])
}

/// A legacy binary document: text in UTF-16LE, numbers in ASCII.
fn binary_doc(text: &str, number: &str) -> Vec<u8> {
    let mut doc = vec![0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, 0, 0];
    for unit in text.encode_utf16() {
        doc.extend(unit.to_le_bytes());
    }
    doc.extend([0, 0, 0x13]);
    doc.extend(number.as_bytes());
    doc.extend([0, 0xff]);
    doc
}

type Site = Arc<HashMap<&'static str, Reply>>;

async fn serve(State(site): State<Site>, uri: Uri, headers: HeaderMap) -> Response {
    let not_found = || {
        Response::builder()
            .status(StatusCode::NOT_FOUND)
            .header(header::CONTENT_TYPE, "text/html")
            .body(Body::from("<html><body>404 页面不存在</body></html>"))
            .unwrap()
    };
    let Some(reply) = site.get(uri.path()) else {
        return not_found();
    };
    match reply.clone() {
        Reply::Page {
            status,
            content_type,
            body,
        } => Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap(),
        Reply::Cloaked { browser, spider } => {
            let ua = headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let body = if ua.contains("Baiduspider") {
                spider
            } else {
                browser
            };
            Response::builder()
                .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
                .body(Body::from(body))
                .unwrap()
        }
        Reply::Gzipped(page) => {
            use std::io::Write;
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(page.as_bytes()).unwrap();
            Response::builder()
                .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
                .header(header::CONTENT_ENCODING, "gzip")
                .body(Body::from(enc.finish().unwrap()))
                .unwrap()
        }
        Reply::Redirect(to) => Response::builder()
            .status(StatusCode::FOUND)
            .header(header::LOCATION, to)
            .body(Body::empty())
            .unwrap(),
        Reply::Slow(d) => {
            tokio::time::sleep(d).await;
            Response::builder()
                .header(header::CONTENT_TYPE, "text/html")
                .body(Body::from("<html>slow</html>"))
                .unwrap()
        }
        Reply::Late(d, page) => {
            tokio::time::sleep(d).await;
            Response::builder()
                .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
                .body(Body::from(page))
                .unwrap()
        }
        Reply::Huge(n) => {
            let mut body = String::from("<html><head><title>大页面</title></head><body>");
            while body.len() < n {
                body.push_str("<p>政务公开内容，政务公开内容。</p>");
            }
            Response::builder()
                .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
                .body(Body::from(body))
                .unwrap()
        }
    }
}

async fn start(site: HashMap<&'static str, Reply>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().fallback(serve).with_state(Arc::new(site));
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    addr
}

fn options(addr: SocketAddr) -> InspectOptions {
    let mut o = InspectOptions::new(format!("http://{addr}/").parse().unwrap());
    o.today = Some(today());
    o.government = Some(true);
    o.transport_checks = false;
    // Only 127.0.0.1 is reachable from tests: external links are judged
    // on the page (dark links, spam) but not fetched.
    o.check_external = false;
    o.timeout = Duration::from_secs(5);
    o.max_page_bytes = 1024 * 1024;
    o.cloaking_pages = 100;
    o.per_host_delay = Duration::ZERO;
    o
}

const FOOTER_OK: &str = r#"<div class="footer">主办单位：某某镇人民政府 联系电话：0591-87654321
网站标识码：3501000001 闽ICP备12345678号-1 闽公网安备 35010202001234号</div>"#;

fn defect_site() -> HashMap<&'static str, Reply> {
    let id = valid_id("35058219900307123");
    let mut s = HashMap::new();
    s.insert(
        "/",
        html(
            r#"<!DOCTYPE html><html><head><title>某某镇人民政府</title></head><body>
<ul class="nav"><li><a href="/bdgk/">本地概况</a></li><li><a href="/ldbz/">领导班子</a></li>
<li><a href="/tzgg/">通知公告</a></li><li><a href="/gzdt/">工作动态</a></li><li><a href="/zcwj/">政策文件</a></li></ul>
<div class="news"><ul>
<li><a href="/gzdt/a1.html">图片新闻：我镇召开安全生产会议</a> 2025-06-10</li>
<li><a href="/missing.html">关于开展安全检查的通知</a> 2025-06-09</li>
<li><a href="/cloak.html">镇情简介</a> 2025-06-01</li>
</ul></div>
<img src="/img/banner.png" alt="横幅"><img src="/img/missing.png" alt="领导照片">
<a href="/files/empty.pdf">报名表.pdf</a> <a href="/files/gone.doc">申请表.doc</a>
<a href="/loop/a">旧版网站</a> <a href="/slow.html">办事大厅</a> <a href="/huge.html">统计数据</a>
<a href="/garbage.html">下载专区</a> <a href="/deep.html">网上信箱</a> <a href="/gz.html">领导讲话</a> <a href="/late.html">办事指南</a>
<div style="display:none"><a href="http://casino.example/">百家乐 真人娱乐</a></div>
<script>document.write('<a href="http://spam.example/">友情链接</a>');</script>
<div class="footer">主办单位：某某镇人民政府 联系电话：0591-87654321 闽ICP备12345678号-1</div>
</body></html>"#,
        ),
    );
    s.insert(
        "/img/banner.png",
        file("image/png", b"\x89PNG\r\n\x1a\nfake"),
    );
    s.insert("/files/empty.pdf", file("application/pdf", b""));
    s.insert(
        "/bdgk/",
        html(format!(
            r#"<html><head><title>本地概况 - 某某镇</title></head><body><div id="content">
<p>我镇位于县城东部，建国以来经济社会发展迅速，辖 12 个行政村。</p>
<p>低保对象公示：王某某，身份证号 {id}，联系电话 13812345678。</p>
<p><a href="/files/dibao.xlsx">低保名单.xlsx</a> <a href="/files/contacts.doc">联络表.doc</a></p>
<p><a href="/files/yanfa.docx">研发测试部名单.docx</a> <a href="/files/yanfa.xlsx">研发测试部名单.xlsx</a>
<a href="/files/broken.docx">报名表.docx</a></p></div></body></html>"#
        )),
    );
    // A bare `&` before Chinese text once cut the reader inside a
    // character: the panic was swallowed and the leak passed unseen.
    let docx_id = valid_id("44030619851122301");
    s.insert(
        "/files/yanfa.docx",
        file(
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            &docx(&format!("研发&测试部 张三 身份证 {docx_id}")),
        ),
    );
    let xlsx_id = valid_id("32010219780203452");
    s.insert(
        "/files/yanfa.xlsx",
        file(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            &xlsx(&[("研发&测试部 李四", &format!("身份证 {xlsx_id}"))]),
        ),
    );
    s.insert(
        "/files/broken.docx",
        file(
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            b"this upload was cut off by the CMS and is not a zip",
        ),
    );
    let other_id = valid_id("11010519491231002");
    s.insert(
        "/files/dibao.xlsx",
        file(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            &xlsx(&[("姓名", "身份证号"), ("赵某某", other_id.as_str())]),
        ),
    );
    s.insert(
        "/files/contacts.doc",
        file(
            "application/msword",
            &binary_doc("联络人手机", "13987654321"),
        ),
    );
    s.insert(
        "/ldbz/",
        html(
            r#"<html><head><title>领导班子</title>
<script>if (document.referrer.indexOf("baidu") > -1) { window.location.href = "http://casino.example/"; }</script>
</head><body><h1>领导班子</h1><p>镇党委书记：张某，主持镇党委全面工作。镇长：李某，主持镇政府全面工作。</p>
<marquee height="1" width="1"><a href="http://pills.example/">特价药品</a></marquee></body></html>"#,
        ),
    );
    s.insert(
        "/tzgg/",
        html(
            r#"<html><head><title>通知公告_某某镇</title><meta name="ColumnName" content="通知公告"></head><body>
<ul class="list"><li><a href="/tzgg/1.html">关于秋季防火的通告</a><span>2024-10-01</span></li>
<li><a href="/tzgg/2.html">关于征兵工作的通知</a><span>2024-08-15</span></li></ul></body></html>"#,
        ),
    );
    s.insert(
        "/tzgg/1.html",
        html(r#"<html><head><title>关于秋季防火的通告</title></head><body><div id="zoom">各村（社区）：秋季天干物燥，请做好森林防火工作，严禁野外用火。</div></body></html>"#),
    );
    s.insert(
        "/tzgg/2.html",
        html(r#"<html><head><title>关于征兵工作的通知</title></head><body><div id="zoom">根据县人武部安排，现将本年度征兵工作有关事项通知如下。</div></body></html>"#),
    );
    s.insert(
        "/gzdt/",
        gbk_html(
            r#"<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312"><title>工作动态</title></head><body>
<ul><li><a href="/gzdt/a1.html">图片新闻：我镇召开安全生产会议</a> [06-10]</li>
<li><a href="/gzdt/a2.html">我镇举办活动纪念新中国成立75周年</a> [06-01]</li></ul></body></html>"#,
        ),
    );
    s.insert(
        "/gzdt/a1.html",
        html(
            r#"<html><head><title>图片新闻：我镇召开安全生产会议</title><meta name="ArticleTitle" content="图片新闻：我镇召开安全生产会议"></head>
<body><h1>图片新闻：我镇召开安全生产会议</h1><div id="zoom"> </div></body></html>"#,
        ),
    );
    s.insert(
        "/gzdt/a2.html",
        gbk_html(
            r#"<html><head><meta charset="gbk"><title>纪念活动</title></head><body><div id="zoom">
<p>为纪念新中国成立75周年，我镇举办文艺汇演，群众热情参与，气氛热烈。</p></div></body></html>"#,
        ),
    );
    s.insert(
        "/zcwj/",
        html(r#"<html><head><title>政策文件</title><meta name="ColumnName" content="政策文件"></head><body><h2>政策文件</h2><div class="list">暂无信息</div></body></html>"#),
    );
    s.insert(
        "/cloak.html",
        Reply::Cloaked {
            browser: r#"<html><head><title>镇情简介</title></head><body><div id="zoom"><p>某某镇地处山区，森林覆盖率高，特产有茶叶和竹笋。</p></div></body></html>"#.into(),
            spider: r#"<html><head><title>百家乐 真人娱乐城 官方网站</title></head><body><p>百家乐 真人荷官 开户送彩金</p></body></html>"#.into(),
        },
    );
    s.insert(
        "/gz.html",
        Reply::Gzipped(
            r#"<html><head><title>领导讲话</title></head><body><div id="zoom"><p>全镇干部群众要再接再励，圆满完成全年目标任务。</p></div></body></html>"#.into(),
        ),
    );
    s.insert(
        "/late.html",
        Reply::Late(
            Duration::from_millis(3200),
            r#"<html><head><title>办事指南</title></head><body><div id="zoom"><p>办理户籍业务请携带身份证件到镇便民服务中心窗口办理。</p></div></body></html>"#,
        ),
    );
    s.insert("/loop/a", Reply::Redirect("/loop/b"));
    s.insert("/loop/b", Reply::Redirect("/loop/a"));
    s.insert("/slow.html", Reply::Slow(Duration::from_secs(30)));
    s.insert("/huge.html", Reply::Huge(3 * 1024 * 1024));
    let garbage: Vec<u8> = (0u32..40_000)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    s.insert(
        "/garbage.html",
        Reply::Page {
            status: 200,
            content_type: "text/html",
            body: garbage,
        },
    );
    s.insert(
        "/deep.html",
        html(format!(
            "<html><body><p>网上信箱</p>{}</body></html>",
            "<div><span>".repeat(20_000)
        )),
    );
    s
}

fn clean_site() -> HashMap<&'static str, Reply> {
    let not_an_id = invalid_id("35058219900307123");
    let mut s = HashMap::new();
    s.insert(
        "/",
        html(format!(
            r#"<!DOCTYPE html><html><head><title>某某镇人民政府</title>
<style>.sub {{ display: none }}</style></head><body>
<ul class="nav"><li><a href="/bdgk/">本地概况</a><ul class="sub"><li><a href="/bdgk/">自然地理</a></li></ul></li>
<li><a href="/tzgg/">通知公告</a></li><li><a href="/gzdt/">工作动态</a></li></ul>
<div class="news"><ul>
<li><a href="/gzdt/a1.html">图片新闻：我镇召开安全生产会议</a> 2025-06-10</li>
<li><a href="/tzgg/1.html">关于做好防汛工作的通知</a> 2025-06-09</li></ul></div>
<img src="/img/banner.png" alt="横幅"> <a href="/files/form.pdf">报名表.pdf</a>
{FOOTER_OK}</body></html>"#
        )),
    );
    s.insert(
        "/img/banner.png",
        file("image/png", b"\x89PNG\r\n\x1a\nfake"),
    );
    s.insert(
        "/img/photo.jpg",
        file("image/jpeg", b"\xff\xd8\xff\xe0fake"),
    );
    s.insert("/files/form.pdf", file("application/pdf", b"%PDF-1.4 fake"));
    let wrong_id = invalid_id("11010519491231002");
    s.insert(
        "/files/mingdan.xlsx",
        file(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            &xlsx(&[("档案号", wrong_id.as_str()), ("咨询电话", "0591-87654321")]),
        ),
    );
    s.insert(
        "/bdgk/",
        html(format!(
            r#"<html><head><title>本地概况 - 某某镇</title></head><body><div id="content">
<p>我镇位于县城东部，新中国成立以来经济社会发展迅速，辖 12 个行政村。</p>
<p>镇内有革命纪念馆一座，每年国家公祭日和烈士纪念日组织祭扫。档案编号 {not_an_id}。</p>
<p>服务热线 0591-87654321。<a href="/files/mingdan.xlsx">名单.xlsx</a> <a href="/files/tongzhi.docx">通知.docx</a></p></div>{FOOTER_OK}</body></html>"#
        )),
    );
    s.insert(
        "/files/tongzhi.docx",
        file(
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            &docx(&format!("研发&测试部 值班安排 档案编号 {not_an_id}")),
        ),
    );
    s.insert(
        "/tzgg/",
        html(format!(
            r#"<html><head><title>通知公告_某某镇</title><meta name="ColumnName" content="通知公告"></head><body>
<ul class="list"><li><a href="/tzgg/1.html">关于做好防汛工作的通知</a><span>2025-06-09</span></li>
<li><a href="/tzgg/2.html">关于征兵工作的通知</a><span>2025-03-15</span></li></ul>{FOOTER_OK}</body></html>"#
        )),
    );
    s.insert(
        "/tzgg/1.html",
        html(r#"<html><head><title>关于做好防汛工作的通知</title></head><body><div id="zoom">各村（社区）：入汛以来降雨偏多，请做好防汛值班和隐患排查工作。</div></body></html>"#),
    );
    s.insert(
        "/tzgg/2.html",
        html(r#"<html><head><title>关于征兵工作的通知</title></head><body><div id="zoom">根据县人武部安排，现将本年度征兵工作有关事项通知如下。</div></body></html>"#),
    );
    s.insert(
        "/gzdt/",
        gbk_html(
            r#"<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312"><title>工作动态</title></head><body>
<ul><li><a href="/gzdt/a1.html">图片新闻：我镇召开安全生产会议</a> [06-10]</li>
<li><a href="/gzdt/a2.html">我镇举办活动纪念抗战胜利80周年</a> [06-01]</li></ul></body></html>"#,
        ),
    );
    s.insert(
        "/gzdt/a1.html",
        html(
            r#"<html><head><title>图片新闻：我镇召开安全生产会议</title><meta name="ArticleTitle" content="图片新闻：我镇召开安全生产会议"></head>
<body><h1>图片新闻：我镇召开安全生产会议</h1><div id="zoom"><img src="/img/photo.jpg" alt="会议现场"><p>6月10日，我镇召开安全生产工作会议。</p></div></body></html>"#,
        ),
    );
    s.insert(
        "/gzdt/a2.html",
        gbk_html(
            r#"<html><head><meta charset="gbk"><title>纪念活动</title></head><body><div id="zoom">
<p>为纪念抗战胜利80周年，我镇组织干部群众参观革命纪念馆，缅怀先烈。</p></div></body></html>"#,
        ),
    );
    s
}

fn checks(report: &Report) -> BTreeSet<String> {
    report
        .findings
        .iter()
        .map(|f| f.provenance.check.clone())
        .collect()
}

fn located<'a>(report: &'a Report, check: &str, path: &str) -> Vec<&'a shouwang_model::NewFinding> {
    report
        .findings
        .iter()
        .filter(|f| f.provenance.check == check && f.location.contains(path))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_planted_defect_is_found() {
    let addr = start(defect_site()).await;
    let started = Instant::now();
    let report = tokio::time::timeout(Duration::from_secs(60), inspect(options(addr)))
        .await
        .expect("the inspection must not hang")
        .unwrap();
    let found = checks(&report);
    let dump = || {
        report
            .findings
            .iter()
            .map(|f| {
                format!(
                    "{} {} | {} | {}",
                    f.provenance.check, f.severity, f.location, f.evidence
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    for expected in [
        "site.dark-link",
        "site.hidden-spam",
        "site.document-write-link",
        "site.broken-link",
        "site.broken-image",
        "site.broken-attachment",
        "site.empty-attachment",
        "site.stale-column",
        "site.blank-article",
        "site.blank-column",
        "site.wording.expression",
        "site.pii.id-card",
        "site.pii.mobile",
        "site.unreadable-attachment",
        "site.script-redirect",
        "site.cloaking",
        "site.redirect-loop",
        "site.oversized-page",
        "site.malformed-html",
        "site.footer.site-id",
        "site.footer.police-filing",
        "site.slow-page",
    ] {
        assert!(
            found.contains(expected),
            "{expected} not found; found:\n{}",
            dump()
        );
    }
    // Where each was found.
    assert_eq!(
        located(&report, "site.stale-column", "/tzgg/").len(),
        1,
        "{}",
        dump()
    );
    assert_eq!(
        located(&report, "site.blank-article", "/gzdt/a1.html").len(),
        1
    );
    assert_eq!(located(&report, "site.blank-column", "/zcwj/").len(), 1);
    assert_eq!(located(&report, "site.cloaking", "/cloak.html").len(), 1);
    assert_eq!(
        located(&report, "site.malformed-html", "/deep.html").len(),
        1
    );
    let dark = located(&report, "site.dark-link", "casino.example");
    assert_eq!(dark.len(), 1);
    assert_eq!(dark[0].severity, Severity::Critical);
    assert_eq!(
        located(&report, "site.dark-link", "pills.example").len(),
        1,
        "marquee link"
    );
    // The GBK page was decoded: its wording error is found.
    let gbk = located(&report, "site.wording.expression", "/gzdt/a2.html");
    assert_eq!(gbk.len(), 1, "{}", dump());
    assert!(gbk[0].title.zh.contains("纪念") && gbk[0].title.zh.contains("庆祝"));
    // The reader can check the entry: its public source is in the details.
    assert!(
        gbk[0].evidence.contains("（依据：") && gbk[0].evidence.contains("庆祝中华人民共和国成立"),
        "{}",
        gbk[0].evidence
    );
    assert_eq!(
        located(&report, "site.wording.expression", "/bdgk/").len(),
        1
    );
    // Broken links: the missing page, the timed-out page, the loop.
    for path in ["/missing.html", "/slow.html", "/loop/a"] {
        assert!(
            !located(&report, "site.broken-link", path).is_empty(),
            "{path} not reported broken:\n{}",
            dump()
        );
    }
    // missing.html, missing.png, gone.doc, loop/a, slow.html
    assert_eq!(report.broken_on_homepage, 5, "{}", dump());
    assert_eq!(report.broken_elsewhere, 0, "{}", dump());
    // Personal numbers never appear in full.
    let id = valid_id("35058219900307123");
    for f in &report.findings {
        assert!(!f.evidence.contains(&id), "{}", f.evidence);
        assert!(!f.evidence.contains("13812345678"), "{}", f.evidence);
    }
    // Attachments are read: the XLSX list and the legacy DOC.
    let in_xlsx = located(&report, "site.pii.id-card", "/files/dibao.xlsx");
    assert_eq!(in_xlsx.len(), 1, "{}", dump());
    assert!(
        in_xlsx[0].evidence.contains("11*************"),
        "{}",
        in_xlsx[0].evidence
    );
    assert!(!in_xlsx[0].evidence.contains(&valid_id("11010519491231002")));
    assert_eq!(
        located(&report, "site.pii.mobile", "/files/contacts.doc").len(),
        1,
        "{}",
        dump()
    );
    // A bare `&` before Chinese text, in a DOCX and in an XLSX.
    for path in ["/files/yanfa.docx", "/files/yanfa.xlsx"] {
        let found = located(&report, "site.pii.id-card", path);
        assert_eq!(found.len(), 1, "{path}:\n{}", dump());
        assert!(
            found[0].evidence.contains("测试部"),
            "{}",
            found[0].evidence
        );
    }
    // An attachment that cannot be read says so and why, and is not
    // taken for one without personal information.
    let unreadable = located(&report, "site.unreadable-attachment", "/files/");
    assert_eq!(unreadable.len(), 1, "{}", dump());
    assert!(unreadable[0].location.ends_with("/files/broken.docx"));
    assert_eq!(unreadable[0].title.zh, "附件无法读取");
    assert!(
        unreadable[0].title.en.contains("not a zip"),
        "{}",
        unreadable[0].title.en
    );
    assert!(
        unreadable[0].evidence.contains("不是 zip 压缩包")
            && unreadable[0].evidence.contains("/bdgk/"),
        "{}",
        unreadable[0].evidence
    );
    let pii = &located(&report, "site.pii.id-card", "/bdgk/")[0];
    assert!(pii.evidence.contains("35*************"), "{}", pii.evidence);
    assert_eq!(pii.severity, Severity::Critical);
    // Binary garbage served as HTML was read without trouble, and the
    // slow server did not hold the run past its timeout by much.
    assert!(report.pages >= 12, "{}", report.pages);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    // The estimate against the inspection rules: a veto (dark links,
    // leaks), each item linked to its findings.
    assert!(!report.score.passed);
    let v1 = &report.score.vetoes[0];
    assert!(v1.rule.contains("V1"), "{:#?}", report.score);
    assert!(v1.findings.iter().any(|f| f.contains("casino.example")));
    // The run's summary event carries the counts.
    let event = report.event();
    assert_eq!(event.kind, "site.inspected");
    assert_eq!(event.details["pages"], report.pages);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clean_twin_gives_no_finding() {
    let addr = start(clean_site()).await;
    let report = tokio::time::timeout(Duration::from_secs(60), inspect(options(addr)))
        .await
        .expect("the inspection must not hang")
        .unwrap();
    let dump: Vec<String> = report
        .findings
        .iter()
        .map(|f| format!("{} | {} | {}", f.provenance.check, f.location, f.evidence))
        .collect();
    assert!(report.findings.is_empty(), "{dump:#?}");
    assert_eq!(report.pages, 8, "{report:#?}");
    assert!(report.refs_checked >= 10);
    assert_eq!(report.broken_on_homepage + report.broken_elsewhere, 0);
    assert!(report.score.passed);
    assert_eq!(report.score.points, 100.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_site_is_a_finding_not_an_error() {
    // Bind and drop: nothing listens on the port any more.
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let report = inspect(options(addr)).await.unwrap();
    assert_eq!(
        checks(&report),
        BTreeSet::from(["site.unreachable".to_string()])
    );
    assert_eq!(report.findings[0].severity, Severity::Critical);
    assert!(report.homepage.error.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_homepage_in_a_redirect_loop_is_reported() {
    let mut site = HashMap::new();
    site.insert("/", Reply::Redirect("/a"));
    site.insert("/a", Reply::Redirect("/"));
    let addr = start(site).await;
    let report = inspect(options(addr)).await.unwrap();
    let f = &report.findings[0];
    assert_eq!(f.provenance.check, "site.unreachable");
    assert!(f.evidence.contains("重定向循环"), "{}", f.evidence);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_without_https_is_reported_when_transport_checks_run() {
    let addr = start(clean_site()).await;
    let mut o = options(addr);
    o.transport_checks = true;
    o.max_pages = 1;
    let report = inspect(o).await.unwrap();
    // https://127.0.0.1/ (port 443): nothing listens there.
    assert!(
        checks(&report).contains("site.https-missing"),
        "{:#?}",
        report.findings
    );
    // An IP address has no AAAA record to look for.
    assert!(!checks(&report).contains("site.ipv6-missing"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn robots_txt_is_honoured_unless_the_site_is_ours() {
    let mut site = clean_site();
    site.insert(
        "/robots.txt",
        file("text/plain", b"User-agent: *\nDisallow: /tzgg/\n"),
    );
    site.insert(
        "/tzgg/",
        html("<html><head><title>x</title></head><body>暂无信息</body></html>"),
    );
    let addr = start(site).await;
    let polite = inspect(options(addr)).await.unwrap();
    assert!(
        !checks(&polite).contains("site.blank-column"),
        "{:#?}",
        polite.findings
    );
    let mut own = options(addr);
    own.own_site = true;
    let ours = inspect(own).await.unwrap();
    assert!(
        checks(&ours).contains("site.blank-column"),
        "{:#?}",
        ours.findings
    );
}
