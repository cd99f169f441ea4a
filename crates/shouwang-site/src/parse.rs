//! html5ever through scraper's tree, with a budget on what the tree builder
//! builds. The HTML rules make the parser build elements the page never
//! wrote: every formatting element left open (`<b>`, `<font>`, …) is built
//! again inside each later block, so 1,400 of them and 6,000 blocks (86 KB)
//! make eight million elements and 1.5 GB. The page is fed in small pieces
//! and feeding stops once the elements built pass the budget; what was
//! built until then is the tree.

use std::borrow::Cow;
use std::cell::Cell;

use html5ever::tendril::{StrTendril, TendrilSink};
use html5ever::tree_builder::{ElementFlags, NodeOrText, QuirksMode, TreeSink};
use html5ever::{Attribute, QualName, driver};
use scraper::{Html, HtmlTreeSink};

/// Elements an ordinary page may make the parser build per tag it writes
/// (a `<td>` straight in a `<table>` adds a `<tbody>` and a `<tr>`; a few
/// formatting elements left open are rebuilt in each block).
pub const ELEMENTS_PER_TAG: usize = 4;
/// Elements every page may have built, however few tags it writes.
pub const ELEMENT_ALLOWANCE: usize = 20_000;
/// Elements no page may have built: about 200 MB of tree.
pub const MAX_ELEMENTS: usize = 1_000_000;
/// Bytes fed to the parser at a time; the budget is looked at between
/// pieces, so one piece's worth of rebuilding may pass it.
const PIECE: usize = 1024;

/// The elements `html` may make the parser build.
pub fn element_budget(html: &str) -> usize {
    let tags = html.bytes().filter(|&b| b == b'<').count();
    tags.saturating_mul(ELEMENTS_PER_TAG)
        .saturating_add(ELEMENT_ALLOWANCE)
        .min(MAX_ELEMENTS)
}

/// A parsed page, and where feeding stopped when the budget was spent.
pub struct Parsed {
    pub doc: Html,
    /// The byte offset of the first byte not parsed, when the budget cut
    /// the page short.
    pub cut_at: Option<usize>,
    /// Elements the parser built.
    pub elements: usize,
}

/// Parse `html` as a document, building at most about `budget` elements.
pub fn parse_budgeted(html: &str, budget: usize) -> Parsed {
    let mut parser = driver::parse_document(
        Counting {
            inner: HtmlTreeSink::new(Html::new_document()),
            elements: Cell::new(0),
        },
        driver::ParseOpts::default(),
    );
    let mut at = 0;
    let mut cut_at = None;
    while at < html.len() {
        if parser.tokenizer.sink.sink.elements.get() > budget {
            cut_at = Some(at);
            break;
        }
        let mut end = (at + PIECE).min(html.len());
        while !html.is_char_boundary(end) {
            end += 1;
        }
        parser.process(StrTendril::from_slice(&html[at..end]));
        at = end;
    }
    let elements = parser.tokenizer.sink.sink.elements.get();
    Parsed {
        doc: parser.finish(),
        cut_at,
        elements,
    }
}

/// scraper's sink, counting the elements created.
struct Counting {
    inner: HtmlTreeSink,
    elements: Cell<usize>,
}

impl TreeSink for Counting {
    type Handle = <HtmlTreeSink as TreeSink>::Handle;
    type Output = Html;
    type ElemName<'a> = <HtmlTreeSink as TreeSink>::ElemName<'a>;

    fn finish(self) -> Html {
        self.inner.finish()
    }
    fn parse_error(&self, msg: Cow<'static, str>) {
        self.inner.parse_error(msg)
    }
    fn get_document(&self) -> Self::Handle {
        self.inner.get_document()
    }
    fn elem_name<'a>(&'a self, target: &'a Self::Handle) -> Self::ElemName<'a> {
        self.inner.elem_name(target)
    }
    fn create_element(
        &self,
        name: QualName,
        attrs: Vec<Attribute>,
        flags: ElementFlags,
    ) -> Self::Handle {
        self.elements.set(self.elements.get() + 1);
        self.inner.create_element(name, attrs, flags)
    }
    fn create_comment(&self, text: StrTendril) -> Self::Handle {
        self.inner.create_comment(text)
    }
    fn create_pi(&self, target: StrTendril, data: StrTendril) -> Self::Handle {
        self.inner.create_pi(target, data)
    }
    fn append(&self, parent: &Self::Handle, child: NodeOrText<Self::Handle>) {
        self.inner.append(parent, child)
    }
    fn append_based_on_parent_node(
        &self,
        element: &Self::Handle,
        prev_element: &Self::Handle,
        child: NodeOrText<Self::Handle>,
    ) {
        self.inner
            .append_based_on_parent_node(element, prev_element, child)
    }
    fn append_doctype_to_document(
        &self,
        name: StrTendril,
        public_id: StrTendril,
        system_id: StrTendril,
    ) {
        self.inner
            .append_doctype_to_document(name, public_id, system_id)
    }
    fn mark_script_already_started(&self, node: &Self::Handle) {
        self.inner.mark_script_already_started(node)
    }
    fn pop(&self, node: &Self::Handle) {
        self.inner.pop(node)
    }
    fn get_template_contents(&self, target: &Self::Handle) -> Self::Handle {
        self.inner.get_template_contents(target)
    }
    fn same_node(&self, x: &Self::Handle, y: &Self::Handle) -> bool {
        self.inner.same_node(x, y)
    }
    fn set_quirks_mode(&self, mode: QuirksMode) {
        self.inner.set_quirks_mode(mode)
    }
    fn append_before_sibling(&self, sibling: &Self::Handle, new_node: NodeOrText<Self::Handle>) {
        self.inner.append_before_sibling(sibling, new_node)
    }
    fn add_attrs_if_missing(&self, target: &Self::Handle, attrs: Vec<Attribute>) {
        self.inner.add_attrs_if_missing(target, attrs)
    }
    fn associate_with_form(
        &self,
        target: &Self::Handle,
        form: &Self::Handle,
        nodes: (&Self::Handle, Option<&Self::Handle>),
    ) {
        self.inner.associate_with_form(target, form, nodes)
    }
    fn remove_from_parent(&self, target: &Self::Handle) {
        self.inner.remove_from_parent(target)
    }
    fn reparent_children(&self, node: &Self::Handle, new_parent: &Self::Handle) {
        self.inner.reparent_children(node, new_parent)
    }
    fn is_mathml_annotation_xml_integration_point(&self, handle: &Self::Handle) -> bool {
        self.inner
            .is_mathml_annotation_xml_integration_point(handle)
    }
    fn set_current_line(&self, line_number: u64) {
        self.inner.set_current_line(line_number)
    }
    fn allow_declarative_shadow_roots(&self, intended_parent: &Self::Handle) -> bool {
        self.inner.allow_declarative_shadow_roots(intended_parent)
    }
    fn attach_declarative_shadow(
        &self,
        location: &Self::Handle,
        template: &Self::Handle,
        attrs: &[Attribute],
    ) -> bool {
        self.inner
            .attach_declarative_shadow(location, template, attrs)
    }
    fn maybe_clone_an_option_into_selectedcontent(&self, option: &Self::Handle) {
        self.inner
            .maybe_clone_an_option_into_selectedcontent(option)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reopening(count: usize, blocks: usize) -> String {
        let opened: String = (0..count).map(|i| format!("<b id={i}>")).collect();
        format!("<div>{opened}</div>{}", "<div>x</div>".repeat(blocks))
    }

    #[test]
    fn formatting_left_open_before_thousands_of_blocks_is_cut_at_the_budget() {
        let html = reopening(1400, 6000);
        let budget = element_budget(&html);
        assert!(budget < 100_000, "{budget}");
        let parsed = parse_budgeted(&html, budget);
        let at = parsed.cut_at.expect("cut");
        assert!(at < html.len() && html.is_char_boundary(at));
        // Stopped within a piece of the budget, not at eight million.
        assert!(parsed.elements < budget + 200_000, "{}", parsed.elements);
        // What was built before the cut is a tree to read.
        let text: String = parsed.doc.root_element().text().collect();
        assert!(text.starts_with("xxx"), "{text:.20}");
    }

    #[test]
    fn a_few_formatting_elements_left_open_on_an_ordinary_page_are_no_cut() {
        let html = "<font color=red><b>".repeat(3) + &"<p>段落</p>".repeat(5000);
        let parsed = parse_budgeted(&html, element_budget(&html));
        assert_eq!(parsed.cut_at, None);
    }

    mod hostile {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(500))]

            /// Uncut, the page is the tree scraper would build; cut, the
            /// cut is on a character boundary and the budget was spent.
            #[test]
            fn the_budgeted_parser_builds_scrapers_tree_or_stops_past_its_budget(
                pieces in proptest::collection::vec(
                    "\\PC{0,4}|<(b|i|font|u|a|div|p|table|td|tr|li)( id=[a-z0-9]{1,3})?>|</(b|i|font|u|a|div|p|table|td|tr|li)>|x",
                    0..400,
                ),
                budget in 0..400usize,
            ) {
                let html = pieces.concat();
                let parsed = parse_budgeted(&html, budget);
                match parsed.cut_at {
                    None => prop_assert_eq!(
                        parsed.doc.root_element().html(),
                        Html::parse_document(&html).root_element().html()
                    ),
                    Some(at) => {
                        prop_assert!(at < html.len() && html.is_char_boundary(at));
                        prop_assert!(parsed.elements > budget);
                    }
                }
            }
        }
    }
}
