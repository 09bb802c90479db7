//! man/ and completions/ are generated from the clap definitions; this fails when the
//! committed files are stale (run scripts/generate-docs), and when a page does not
//! render cleanly.

use std::path::Path;
use std::process::Command;

fn check(bin: &str, exe: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = [
        ("man", format!("man/{bin}.1")),
        ("complete-bash", format!("completions/{bin}.bash")),
        ("complete-zsh", format!("completions/_{bin}")),
        ("complete-fish", format!("completions/{bin}.fish")),
    ];
    for (kind, rel) in files {
        let out = Command::new(exe)
            .args(["--generate", kind])
            .output()
            .unwrap();
        assert!(out.status.success(), "{bin} --generate {kind} failed");
        let committed = std::fs::read(root.join(&rel)).unwrap_or_default();
        assert!(
            committed == out.stdout,
            "{rel} is stale: run scripts/generate-docs and commit the result"
        );
    }
    let page = root.join(format!("man/{bin}.1"));
    match Command::new("groff")
        .args(["-man", "-ww", "-z"])
        .arg(&page)
        .output()
    {
        Ok(out) => assert!(
            out.stderr.is_empty() && out.status.success(),
            "{}: {}",
            page.display(),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(_) => eprintln!("SKIPPED rendering check: groff is not installed"),
    }
}

#[test]
fn rnetstat_docs_are_current() {
    check("rnetstat", env!("CARGO_BIN_EXE_rnetstat"));
}

#[test]
fn rlsof_docs_are_current() {
    check("rlsof", env!("CARGO_BIN_EXE_rlsof"));
}

#[test]
fn rss_docs_are_current() {
    check("rss", env!("CARGO_BIN_EXE_rss"));
}
