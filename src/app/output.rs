//! Output plumbing shared by the binaries: one buffered writer, quiet exit on a
//! closed pipe, warnings on stderr.

use std::io::{self, Write};

/// Lets a closed pipe end the process silently, as C tools do (`rnetstat | head -1`).
pub fn reset_sigpipe() {
    use nix::sys::signal::{signal, SigHandler, Signal};
    // SAFETY: nix marks signal() unsafe for the handlers it may install; SIG_DFL is
    // none, so restoring the default disposition has no preconditions.
    let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) };
}

/// The buffered stdout every view writes through.
pub fn stdout() -> io::BufWriter<io::StdoutLock<'static>> {
    io::BufWriter::with_capacity(64 * 1024, io::stdout().lock())
}

/// The name the binary's messages start with: the last component of argv[0], as lsof
/// names itself (its `Pn`), so a binary installed under the name netstat, ss or lsof
/// speaks as that tool does, and as itself under its own name. `fallback` when argv[0]
/// is missing or empty; control bytes escaped (a name is the invoker's to choose).
pub fn program_name(fallback: &'static str) -> &'static str {
    static NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NAME.get_or_init(|| {
        use std::os::unix::ffi::OsStrExt;
        let argv0 = std::env::args_os().next().unwrap_or_default();
        let base = argv0
            .as_bytes()
            .rsplit(|&b| b == b'/')
            .next()
            .unwrap_or_default();
        if base.is_empty() {
            fallback.to_string()
        } else {
            crate::escape::escape(base).into_owned()
        }
    })
}

/// Prints `prog: message` on stderr, ignoring a closed stderr.
pub fn warn(prog: &str, message: impl std::fmt::Display) {
    let _ = writeln!(io::stderr().lock(), "{prog}: {message}");
}

/// The exit status of a run after any read failed for want of descriptors or memory
/// (EMFILE, ENFILE, ENOMEM): such a file was not "gone", so the answer is incomplete;
/// said on stderr, and at least 1.
pub fn exhaustion_status(prog: &str, status: u8) -> u8 {
    match crate::proc::exhaustion_count() {
        0 => status,
        n => {
            warn(
                prog,
                format_args!(
                    "ran out of file descriptors or memory ({n} files could not be opened): \
                     the answer is incomplete (raise the limit: ulimit -n)"
                ),
            );
            status.max(1)
        }
    }
}

/// Reports the lines a reader could not parse, one `prog: warning: FILE:LINE: why` each.
/// The file name comes from the proc root and is escaped like any untrusted text.
pub fn parse_warnings(prog: &str, warnings: &[crate::proc::ParseWarning]) {
    for w in warnings {
        warn(
            prog,
            format_args!(
                "warning: {}",
                crate::escape::escape(w.to_string().as_bytes())
            ),
        );
    }
}
