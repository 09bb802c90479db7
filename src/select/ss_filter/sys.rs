//! The few system calls the filter needs: an interface index, a cgroup v2 id, and
//! glibc's fnmatch (ss matches unix names with it; its bracket expressions and
//! case folding are the C library's, so the C library answers).

use std::ffi::CStr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

/// if_nametoindex in the current network namespace; 0 when there is none.
pub fn if_index(name: &[u8]) -> u32 {
    if name.is_empty() || name.len() >= libc::IF_NAMESIZE || name.contains(&0) {
        return 0;
    }
    nix::net::if_::if_nametoindex(name).unwrap_or(0)
}

/// fnmatch(pattern, name, FNM_CASEFOLD) == 0. `buf` holds the NUL-terminated name so
/// a row costs no allocation.
pub fn fnmatch_casefold(pattern: &CStr, name: &[u8], buf: &mut [u8; 257]) -> bool {
    let n = name.len().min(buf.len() - 1);
    buf[..n].copy_from_slice(&name[..n]);
    buf[n] = 0;
    // The name was cut at its first NUL by the caller; this keeps it a C string.
    let end = buf[..n].iter().position(|&b| b == 0).unwrap_or(n);
    buf[end] = 0;
    // SAFETY: both pointers are NUL-terminated strings that outlive the call;
    // fnmatch only reads them.
    unsafe { libc::fnmatch(pattern.as_ptr(), buf.as_ptr().cast(), libc::FNM_CASEFOLD) == 0 }
}

#[repr(C)]
struct FileHandle8 {
    handle_bytes: libc::c_uint,
    handle_type: libc::c_int,
    f_handle: [u8; 8],
}

/// name_to_handle_at with room for an 8-byte handle (a cgroup v2 id).
fn handle_at(dir: libc::c_int, path: &CStr) -> Result<FileHandle8, i32> {
    let mut fh = FileHandle8 {
        handle_bytes: 8,
        handle_type: 0,
        f_handle: [0; 8],
    };
    let mut mnt_id: libc::c_int = 0;
    // SAFETY: fh is a struct file_handle with 8 bytes of f_handle, as handle_bytes
    // says; path is NUL-terminated; mnt_id is writable. nix does not wrap this call.
    let rc = unsafe {
        libc::name_to_handle_at(
            dir,
            path.as_ptr(),
            (&mut fh as *mut FileHandle8).cast(),
            &mut mnt_id,
            0,
        )
    };
    if rc < 0 {
        return Err(nix::errno::Errno::last_raw());
    }
    Ok(fh)
}

/// iproute2's get_cgroup2_id: the path as given, else under the cgroup2 mount.
/// `Err` holds what ss prints before its "Cannot parse cgroup" line.
pub fn cgroup_id(path: &[u8]) -> Result<u64, Vec<u8>> {
    let Ok(c) = std::ffi::CString::new(path) else {
        return Err(b"Invalid cgroup2 path\n".to_vec());
    };
    let fh = match handle_at(libc::AT_FDCWD, &c) {
        Ok(fh) => fh,
        Err(_) => {
            let rel: &[u8] = {
                let mut p = path;
                while let Some(rest) = p.strip_prefix(b"/") {
                    p = rest;
                }
                p
            };
            if rel.is_empty() {
                return Err(b"Invalid cgroup2 path\n".to_vec());
            }
            let Some(mnt) = cgroup2_mount() else {
                return Err(b"Failed to find cgroup2 mount\n".to_vec());
            };
            let dir = std::fs::File::open(std::ffi::OsStr::from_bytes(&mnt))
                .map(OwnedFd::from)
                .map_err(|_| b"Failed to open cgroup2 mount\n".to_vec())?;
            let rel = std::ffi::CString::new(rel).map_err(|_| Vec::new())?;
            match handle_at(dir.as_raw_fd(), &rel) {
                Ok(fh) => fh,
                Err(e) => {
                    let mut m = b"Failed to get cgroup2 ID: ".to_vec();
                    m.extend_from_slice(nix::errno::Errno::from_raw(e).desc().as_bytes());
                    m.push(b'\n');
                    return Err(m);
                }
            }
        }
    };
    if fh.handle_bytes != 8 {
        return Err(b"Invalid size of cgroup2 ID\n".to_vec());
    }
    Ok(u64::from_ne_bytes(fh.f_handle))
}

/// The first cgroup2 mount point in /proc/mounts (bounded read).
fn cgroup2_mount() -> Option<Vec<u8>> {
    // self/mounts: /proc/mounts is a symlink, which the one reader does not follow.
    let data = crate::proc::ProcRoot::new("/proc")
        .read("self/mounts")
        .ok()?;
    data.split(|&b| b == b'\n').find_map(|line| {
        let mut f = line.split(|&b| b == b' ').filter(|w| !w.is_empty());
        let _dev = f.next()?;
        let dir = f.next()?;
        let fstype = f.next()?;
        (fstype == b"cgroup2").then(|| dir.to_vec())
    })
}
