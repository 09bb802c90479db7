//! Command-line definitions, shared by the binaries, the man pages and the completions.

pub mod getopt;
pub mod lsof;
pub mod netstat;
pub mod ss;

/// An I/O error's text as the C tools print it (perror, strerror): Rust's Display
/// without the " (os error N)" it ends an errno's message with (also when the errno
/// is wrapped in another error).
pub fn strerror(e: &std::io::Error) -> String {
    let text = e.to_string();
    let errno_suffix = text.rfind(" (os error ").filter(|&at| {
        text[at + " (os error ".len()..]
            .strip_suffix(')')
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    });
    match errno_suffix {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn strerror_drops_only_rusts_errno_suffix() {
        let enoent = std::io::Error::from_raw_os_error(libc::ENOENT);
        assert_eq!(super::strerror(&enoent), "No such file or directory");
        let wrapped = std::io::Error::other(enoent);
        assert_eq!(super::strerror(&wrapped), "No such file or directory");
        let own = std::io::Error::other("no (os error here)");
        assert_eq!(super::strerror(&own), "no (os error here)");
    }
}
