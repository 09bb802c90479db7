//! Evidence output: a private (0700) directory held open by descriptor, in which every
//! file is created relative to that descriptor with O_NOFOLLOW|O_EXCL|O_CREAT (0600).
//! A name planted in the directory (a symlink to /etc/shadow, an existing file) makes
//! the write fail instead of following or overwriting it, and no path is looked up
//! twice, so the directory cannot be swapped under us after it was opened.

use nix::errno::Errno;
use nix::fcntl::{openat, OFlag};
use nix::sys::stat::{fchmod, fstat, mkdirat, Mode, SFlag};
use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

/// An open directory that files are created in.
#[derive(Debug)]
pub struct OutDir {
    fd: OwnedFd,
}

const DIR_FLAGS: OFlag = OFlag::O_RDONLY
    .union(OFlag::O_DIRECTORY)
    .union(OFlag::O_NOFOLLOW)
    .union(OFlag::O_CLOEXEC);

fn private() -> Mode {
    Mode::S_IRWXU
}

fn io_err(e: Errno, what: &dyn std::fmt::Display) -> io::Error {
    io::Error::new(io::Error::from(e).kind(), format!("{what}: {}", e.desc()))
}

impl OutDir {
    /// Creates `path` as a new directory, mode 0700; an existing name (directory,
    /// file or link) is refused, so evidence never mixes with what was there.
    pub fn create_new(path: &Path) -> io::Result<OutDir> {
        let cwd = cwd()?;
        mkdirat(cwd.as_fd(), path, private()).map_err(|e| match e {
            Errno::EEXIST => io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} exists; give a new directory", path.display()),
            ),
            e => io_err(e, &path.display()),
        })?;
        let fd = openat(cwd.as_fd(), path, DIR_FLAGS, Mode::empty())
            .map_err(|e| io_err(e, &path.display()))?;
        OutDir::checked(fd, &path.display())
    }

    /// Opens an existing directory without following a link in its last component.
    pub fn open(path: &Path) -> io::Result<OutDir> {
        let fd = openat(cwd()?.as_fd(), path, DIR_FLAGS, Mode::empty())
            .map_err(|e| io_err(e, &path.display()))?;
        Ok(OutDir { fd })
    }

    /// A new subdirectory (mode 0700), refused when the name exists. Names are bytes
    /// (an interface name need not be UTF-8).
    pub fn create_subdir(&self, name: impl AsRef<OsStr>) -> io::Result<OutDir> {
        let name = name.as_ref();
        let shown = Path::new(name).display();
        mkdirat(self.fd.as_fd(), name, private()).map_err(|e| io_err(e, &shown))?;
        let fd = openat(self.fd.as_fd(), name, DIR_FLAGS, Mode::empty())
            .map_err(|e| io_err(e, &shown))?;
        OutDir::checked(fd, &shown)
    }

    /// A new file (mode 0600) for writing; refused when the name exists in any form.
    pub fn create_file(&self, name: impl AsRef<OsStr>) -> io::Result<File> {
        let name = name.as_ref();
        let flags =
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let fd = openat(self.fd.as_fd(), name, flags, Mode::S_IRUSR | Mode::S_IWUSR)
            .map_err(|e| io_err(e, &Path::new(name).display()))?;
        Ok(File::from(fd))
    }

    /// A new symlink `name` with the link text `target` (recorded, never followed).
    pub fn create_symlink(&self, name: impl AsRef<OsStr>, target: &[u8]) -> io::Result<()> {
        use std::os::unix::ffi::OsStrExt;
        let name = name.as_ref();
        nix::unistd::symlinkat(OsStr::from_bytes(target), self.fd.as_fd(), name)
            .map_err(|e| io_err(e, &Path::new(name).display()))
    }

    /// Renames `from` to `to` inside this directory, replacing `to` (a file finished
    /// under a temporary name appears whole).
    pub fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        nix::fcntl::renameat(self.fd.as_fd(), from, self.fd.as_fd(), to).map_err(|e| io_err(e, &to))
    }

    /// Removes the empty subdirectory `name` (one made for nothing).
    pub fn remove_empty_subdir(&self, name: &str) -> io::Result<()> {
        nix::unistd::unlinkat(self.fd.as_fd(), name, nix::unistd::UnlinkatFlags::RemoveDir)
            .map_err(|e| io_err(e, &name))
    }

    pub fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// A directory we just made: forced to 0700 whatever the umask left, and checked
    /// to be a directory of ours (the name could have been replaced between mkdir and
    /// open by someone with write access to the parent).
    fn checked(fd: OwnedFd, what: &dyn std::fmt::Display) -> io::Result<OutDir> {
        let st = fstat(fd.as_fd()).map_err(|e| io_err(e, what))?;
        let euid = nix::unistd::geteuid().as_raw();
        let is_dir = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR;
        if !is_dir || st.st_uid != euid {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("{what}: replaced while it was being created"),
            ));
        }
        fchmod(fd.as_fd(), private()).map_err(|e| io_err(e, what))?;
        Ok(OutDir { fd })
    }
}

fn cwd() -> io::Result<OwnedFd> {
    openat(nix::fcntl::AT_FDCWD, ".", DIR_FLAGS, Mode::empty()).map_err(|e| io_err(e, &"."))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn private_fresh_and_never_follows() {
        let base = std::env::temp_dir().join(format!("rnt-outdir-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let dir = OutDir::create_new(&base).unwrap();
        assert!(
            OutDir::create_new(&base).is_err(),
            "an existing name is refused"
        );
        let meta = std::fs::metadata(&base).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o700);
        let sub = dir.create_subdir("q").unwrap();
        let mut f = sub.create_file("a").unwrap();
        f.write_all(b"x").unwrap();
        let meta = std::fs::metadata(base.join("q/a")).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert!(sub.create_file("a").is_err(), "no overwrite");
        std::os::unix::fs::symlink("/etc/passwd", base.join("q/link")).unwrap();
        assert!(sub.create_file("link").is_err(), "no following");
        assert!(dir.create_subdir("q").is_err());
        std::fs::remove_dir_all(&base).unwrap();
    }
}
