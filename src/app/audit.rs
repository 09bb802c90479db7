//! `rnetstat --audit`: run the checks, print the report, map the outcome to the exit
//! status scripts alert on: 0 clean, 1 findings, 2 the audit could not run, 3 no
//! findings but some checks could not be done (not root, hidepid, ...).

use super::output;
use crate::audit::{self, AuditOptions};
use crate::render::audit as view;
use std::io::Write;

pub fn run(opts: &AuditOptions, json: bool, out: &mut impl Write) -> u8 {
    let report = match audit::run(opts) {
        Ok(r) => r,
        Err(e) => {
            output::warn("rnetstat", format_args!("audit could not run: {e}"));
            return 2;
        }
    };
    for w in &report.warnings {
        output::warn(
            "rnetstat",
            format_args!("warning: {}", crate::escape::escape(w.as_bytes())),
        );
    }
    let written = if json {
        view::write_json(out, &report)
    } else {
        view::write_text(out, &report)
    };
    if written.and_then(|()| out.flush()).is_err() {
        return 2;
    }
    if !report.findings.is_empty() {
        1
    } else if report.partial() {
        // Nothing found, but not everything could be looked at: not a clean bill.
        output::warn(
            "rnetstat",
            "audit incomplete: no findings in what could be checked (see Not done)",
        );
        3
    } else {
        0
    }
}
