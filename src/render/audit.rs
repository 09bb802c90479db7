//! The audit report: aligned text for people, JSON (the same findings) for scripts.
//! Evidence text was escaped when the findings were made.

use crate::audit::Report;
use std::io::{self, Write};

/// One document on one line, as every `--json` view (docs/json.md, `audit`).
pub fn write_json(w: &mut impl Write, report: &Report) -> io::Result<()> {
    serde_json::to_writer(&mut *w, report).map_err(io::Error::other)?;
    writeln!(w)
}

pub fn write_text(w: &mut impl Write, report: &Report) -> io::Result<()> {
    let spaces: Vec<String> = report
        .namespaces
        .iter()
        .map(|n| match &n.name {
            Some(name) => format!("{} ({})", n.inode, crate::escape::escape(name.as_bytes())),
            None => n.inode.to_string(),
        })
        .collect();
    let count = report.findings.len();
    writeln!(
        w,
        "rnetstat audit: {} finding{} in {} network namespace{} [{}]{}",
        count,
        if count == 1 { "" } else { "s" },
        spaces.len(),
        if spaces.len() == 1 { "" } else { "s" },
        spaces.join(", "),
        if report.root {
            ""
        } else {
            " (not root: partial)"
        }
    )?;
    if count > 0 {
        writeln!(w)?;
        writeln!(w, "{:<8} {:<15} FINDING", "SEVERITY", "CHECK")?;
        for f in &report.findings {
            writeln!(
                w,
                "{:<8} {:<15} {}",
                f.severity.name(),
                f.check.name(),
                f.summary
            )?;
            let pairs: Vec<String> = f
                .evidence
                .pairs()
                .into_iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            writeln!(w, "{:<24} {}", "", pairs.join(" "))?;
            // A filter's program, one tcpdump -d line each, under its finding. tcpdump's
            // tab before `jf` becomes a space: the report carries no control bytes.
            for line in f.evidence.filter.iter().flat_map(|f| &f.disassembly) {
                writeln!(w, "{:<24}   {}", "", line.replace('\t', " "))?;
            }
        }
    }
    if !report.not_done.is_empty() {
        writeln!(w)?;
        writeln!(w, "Not done:")?;
        for n in &report.not_done {
            let check = n.check.map_or("all checks", |c| c.name());
            match n.namespace {
                Some(ns) => writeln!(w, "  {check:<15} netns={ns}: {}", n.reason)?,
                None => writeln!(w, "  {check:<15} {}", n.reason)?,
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::finding::{Check, Evidence, Finding, Severity};

    #[test]
    fn text_and_json_show_the_same_finding() {
        let mut e = Evidence::in_namespace(42);
        e.interface = Some("v0".into());
        let report = Report {
            schema: 1,
            view: "audit",
            clean: false,
            root: true,
            namespaces: vec![crate::audit::NamespaceInfo {
                inode: 42,
                name: None,
                pid: None,
                own: true,
            }],
            findings: vec![Finding::new(
                Severity::Medium,
                Check::Promiscuous,
                "promisc",
                e,
            )],
            not_done: vec![],
            warnings: vec![],
        };
        let mut text = Vec::new();
        write_text(&mut text, &report).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(text.contains("medium   promiscuous     promisc"), "{text}");
        assert!(text.contains("interface=v0 netns=42"), "{text}");
        let mut json = Vec::new();
        write_json(&mut json, &report).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(v["findings"][0]["check"], "promiscuous");
        assert_eq!(v["findings"][0]["evidence"]["interface"], "v0");
        assert!(v["findings"][0]["evidence"]["pid"].is_null());
        assert_eq!(json.iter().filter(|&&b| b == b'\n').count(), 1);
    }
}
