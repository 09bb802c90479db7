//! `rnetstat --audit`: run the checks, print the report, map the outcome to the exit
//! status scripts alert on: 0 clean, 1 findings, 2 the audit could not run.

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
    if report.clean {
        0
    } else {
        1
    }
}
