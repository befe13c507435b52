//! The HTML validity and accessibility check every page passes: parsed by html5ever (through
//! `scraper`) as a browser would, with no parse error; a language, a title, one `h1` and no
//! skipped heading level; unique ids, and every `for`, `aria-labelledby` and
//! `aria-describedby` naming one; a label for every field; text for every link and button; a
//! text alternative for every image; and nothing the pages' CSP would block (no script, no
//! inline style).

use std::collections::HashSet;

use scraper::{ElementRef, Html, Selector};

fn select<'a>(doc: &'a Html, css: &str) -> Vec<ElementRef<'a>> {
    doc.select(&Selector::parse(css).unwrap()).collect()
}

/// The text a screen reader would read for an element: its text, or its ARIA label.
fn accessible_text(doc: &Html, e: &ElementRef<'_>) -> String {
    if let Some(label) = e.value().attr("aria-label") {
        return label.trim().to_owned();
    }
    if let Some(ids) = e.value().attr("aria-labelledby") {
        return ids
            .split_whitespace()
            .filter_map(|id| select(doc, &format!("[id=\"{id}\"]")).first().map(|l| l.text().collect::<String>()))
            .collect::<String>()
            .trim()
            .to_owned();
    }
    let alt: String = e.select(&Selector::parse("img[alt]").unwrap()).filter_map(|i| i.value().attr("alt")).collect();
    (e.text().collect::<String>() + &alt).trim().to_owned()
}

/// The problems of a page; none for a good one.
pub fn problems(html: &str) -> Vec<String> {
    let doc = Html::parse_document(html);
    let mut found: Vec<String> = doc.errors.iter().map(|e| format!("HTML parse error: {e}")).collect();
    if !html.starts_with("<!doctype html>") && !html.starts_with("<!DOCTYPE html>") {
        found.push("no <!doctype html> first".into());
    }
    if select(&doc, "html[lang]").is_empty() {
        found.push("<html> has no lang".into());
    }
    if select(&doc, "title").iter().all(|t| t.text().collect::<String>().trim().is_empty()) {
        found.push("no title".into());
    }
    if select(&doc, "meta[name=viewport]").is_empty() {
        found.push("no viewport meta (phones)".into());
    }
    let h1 = select(&doc, "h1").len();
    if h1 != 1 {
        found.push(format!("{h1} h1 elements, not one"));
    }
    let mut last = 0;
    for h in select(&doc, "h1, h2, h3, h4, h5, h6") {
        let level: usize = h.value().name()[1..].parse().unwrap();
        if level > last + 1 {
            found.push(format!("heading level skipped: h{level} after h{last} ({:?})", h.text().collect::<String>()));
        }
        if h.text().collect::<String>().trim().is_empty() {
            found.push(format!("empty h{level}"));
        }
        last = level;
    }
    let mut ids = HashSet::new();
    for e in select(&doc, "[id]") {
        let id = e.value().attr("id").unwrap();
        if !ids.insert(id.to_owned()) {
            found.push(format!("duplicate id {id:?}"));
        }
    }
    for (css, attr) in
        [("label[for]", "for"), ("[aria-labelledby]", "aria-labelledby"), ("[aria-describedby]", "aria-describedby")]
    {
        for e in select(&doc, css) {
            for id in e.value().attr(attr).unwrap().split_whitespace() {
                if !ids.contains(id) {
                    found.push(format!("{attr}={id:?} names no element"));
                }
            }
        }
    }
    let labelled: HashSet<String> =
        select(&doc, "label[for]").iter().map(|l| l.value().attr("for").unwrap().to_owned()).collect();
    for field in select(&doc, "input, select, textarea") {
        let kind = field.value().attr("type").unwrap_or("text");
        if ["hidden", "submit", "button"].contains(&kind) {
            continue;
        }
        let by_for = field.value().attr("id").is_some_and(|id| labelled.contains(id));
        let wrapped = field.ancestors().filter_map(ElementRef::wrap).any(|a| a.value().name() == "label");
        let aria = field.value().attr("aria-label").is_some() || field.value().attr("aria-labelledby").is_some();
        if !(by_for || wrapped || aria) {
            found.push(format!("a field without a label: {}", field.html()));
        }
    }
    for e in select(&doc, "a, button") {
        if accessible_text(&doc, &e).is_empty() {
            found.push(format!("a {} without text: {}", e.value().name(), e.html()));
        }
    }
    for a in select(&doc, "a") {
        if a.value().attr("href").is_none_or(|h| h.trim().is_empty()) {
            found.push(format!("a link without href: {}", a.html()));
        }
    }
    for img in select(&doc, "img") {
        if img.value().attr("alt").is_none() {
            found.push(format!("an image without alt: {}", img.html()));
        }
    }
    for svg in select(&doc, "svg") {
        let decorative = svg.value().attr("aria-hidden") == Some("true");
        let named = !accessible_text(&doc, &svg).is_empty()
            || svg.ancestors().filter_map(ElementRef::wrap).any(|a| a.value().attr("aria-label").is_some());
        if !decorative && !named {
            found.push("an svg with neither a name nor aria-hidden".into());
        }
    }
    if !select(&doc, "script").is_empty() {
        found.push("a script (the pages run none)".into());
    }
    if !select(&doc, "[style], style").is_empty() {
        found.push("an inline style (the CSP allows only the stylesheet)".into());
    }
    for form in select(&doc, "form[method=post]") {
        if form.select(&Selector::parse("input[name=csrf]").unwrap()).next().is_none() {
            found.push(format!("a form without a CSRF token: {:?}", form.value().attr("action")));
        }
    }
    found
}

/// Panics with every problem of a page.
pub fn check(html: &str, what: &str) {
    let found = problems(html);
    assert!(found.is_empty(), "{what} fails the page check:\n  {}", found.join("\n  "));
}

#[test]
fn the_check_finds_what_it_looks_for() {
    let good = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"x\">\
                <title>t</title></head><body><h1>a</h1><h2>b</h2><form method=\"post\"><input type=\"hidden\" name=\"csrf\">\
                <label for=\"n\">n</label><input id=\"n\"><button>go</button></form><a href=\"/\">home</a></body></html>";
    assert_eq!(problems(good), Vec::<String>::new());
    let bad = "<!doctype html><html><head><title></title></head><body><h1>a</h1><h1>b</h1><h4>c</h4>\
               <p id=\"x\"></p><p id=\"x\"></p><input name=\"q\"><a href=\"/\"></a><img src=\"/i.png\">\
               <label for=\"nope\">x</label><div style=\"color:red\"></div><script>1</script>\
               <form method=\"post\"></form><b></i></body></html>";
    let found = problems(bad).join("\n");
    for expected in [
        "HTML parse error",
        "no lang",
        "no title",
        "2 h1 elements",
        "heading level skipped",
        "duplicate id \"x\"",
        "field without a label",
        "a a without text",
        "image without alt",
        "for=\"nope\" names no element",
        "inline style",
        "a script",
        "without a CSRF token",
        "no viewport",
    ] {
        assert!(found.contains(expected), "{expected:?} not found in:\n{found}");
    }
}
