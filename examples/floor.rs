//! The floor for `rnetstat -anp`: the least work /proc allows for it. Reads the five
//! socket tables (tcp, tcp6, udp, udp6, unix) and readlinks every /proc/PID/fd entry,
//! on one thread, and nothing else: no parsing, no join, no output but a count.
//! bench/run.py times it beside rnetstat (`cargo build --release --example floor`).

use std::ffi::CStr;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;

fn main() {
    let mut buf = vec![0u8; 64 * 1024];
    let mut table_bytes = 0usize;
    for table in ["tcp", "tcp6", "udp", "udp6", "unix"] {
        let Ok(mut file) = std::fs::File::open(format!("/proc/net/{table}")) else {
            continue;
        };
        while let Ok(n) = file.read(&mut buf) {
            if n == 0 {
                break;
            }
            table_bytes += n;
        }
    }

    let mut links = 0usize;
    let mut link = [0u8; libc::PATH_MAX as usize];
    let Ok(proc_dir) = std::fs::read_dir("/proc") else {
        return;
    };
    for entry in proc_dir.flatten() {
        let name = entry.file_name();
        if !name.as_bytes().iter().all(u8::is_ascii_digit) {
            continue;
        }
        let mut path = b"/proc/".to_vec();
        path.extend_from_slice(name.as_bytes());
        path.extend_from_slice(b"/fd\0");
        let Ok(path) = CStr::from_bytes_with_nul(&path) else {
            continue;
        };
        // SAFETY: path is NUL-terminated; the descriptor is handed to fdopendir.
        let dir_fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY) };
        if dir_fd < 0 {
            continue;
        }
        // SAFETY: dir_fd is an open directory; fdopendir owns it from here on.
        let dir = unsafe { libc::fdopendir(dir_fd) };
        if dir.is_null() {
            // SAFETY: fdopendir failed, so the descriptor is still ours to close.
            unsafe { libc::close(dir_fd) };
            continue;
        }
        loop {
            // SAFETY: dir stays valid until closedir below.
            let ent = unsafe { libc::readdir64(dir) };
            if ent.is_null() {
                break;
            }
            // SAFETY: d_name is NUL-terminated inside the returned dirent.
            let fd_name = unsafe { CStr::from_ptr((*ent).d_name.as_ptr()) };
            if fd_name.to_bytes().first() == Some(&b'.') {
                continue;
            }
            // SAFETY: fd_name is NUL-terminated and link is writable for its length.
            let n = unsafe {
                libc::readlinkat(
                    dir_fd,
                    fd_name.as_ptr(),
                    link.as_mut_ptr().cast(),
                    link.len(),
                )
            };
            if n >= 0 {
                links += 1;
            }
        }
        // SAFETY: dir came from fdopendir and is closed once.
        unsafe { libc::closedir(dir) };
    }
    println!("{table_bytes} table bytes, {links} fd links");
}
