//! cgroup v2 ids → paths, for ss's `cgroup:` detail. A cgroup's id is its kernfs
//! node id, which on 64-bit kernels is the inode number of its directory in the
//! cgroup2 mount, so one walk of that mount (as iproute2's cg_map does, not
//! crossing into other mounts) names every id that existed when it ran.

use super::ProcRoot;
use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirEntryExt, MetadataExt};
use std::path::{Path, PathBuf};

/// At most this many directories are walked: a hostile tree cannot make the
/// lookup unbounded.
const MAX_DIRS: usize = 200_000;

/// Lazily built id → path map of the first cgroup2 mount in `/proc/self/mounts`.
#[derive(Debug, Default)]
pub struct CgroupPaths {
    mounts: Option<PathBuf>,
    map: std::cell::OnceCell<HashMap<u64, Vec<u8>>>,
    /// Whether the mount table names a cgroup2 mount (known after the first lookup).
    mounted: std::cell::Cell<bool>,
    /// ss's stderr lines for the lookups so far, for the caller to print.
    messages: std::cell::RefCell<Vec<&'static str>>,
}

impl CgroupPaths {
    /// Resolves against the mount table of `proc` (read on the first lookup).
    pub fn new(proc: &ProcRoot) -> Self {
        CgroupPaths {
            // /proc/mounts is a symlink, which the one reader does not follow.
            mounts: Some(proc.join("self/mounts")),
            ..CgroupPaths::default()
        }
    }

    /// A map built from known pairs (fixtures, tests).
    pub fn from_pairs(pairs: impl IntoIterator<Item = (u64, Vec<u8>)>) -> Self {
        CgroupPaths {
            map: pairs.into_iter().collect::<HashMap<_, _>>().into(),
            mounted: true.into(),
            ..CgroupPaths::default()
        }
    }

    /// The path of `id` relative to the cgroup2 mount ("/" for the root), or `None`
    /// when no directory has that id (ss then prints `unreachable:ID`). Queues the
    /// complaints ss writes to stderr on the way (see [`Self::drain_messages`]).
    pub fn path(&self, id: u64) -> Option<&[u8]> {
        const NO_MOUNT: &str = "Failed to find cgroup2 mount";
        let map = self
            .map
            .get_or_init(|| match self.mounts.as_deref().and_then(cgroup2_mount) {
                Some(mnt) => {
                    self.mounted.set(true);
                    walk(&mnt)
                }
                None => {
                    self.messages.borrow_mut().push(NO_MOUNT);
                    HashMap::new()
                }
            });
        let found = map.get(&id).map(Vec::as_slice);
        if found.is_none() {
            // ss then asks open_by_handle_at, which fails for an id no directory has.
            self.messages
                .borrow_mut()
                .push(match (id, self.mounted.get()) {
                    (0, _) => "Invalid cgroup2 ID",
                    (_, false) => NO_MOUNT,
                    (_, true) => "Failed to open cgroup2 by ID",
                });
        }
        found
    }

    /// Hands each queued stderr line (without its newline) to `f`, oldest first.
    pub fn drain_messages(&self, mut f: impl FnMut(&str)) {
        for m in self.messages.borrow_mut().drain(..) {
            f(m);
        }
    }
}

/// The mount point of the first `cgroup2` line of a mounts file.
fn cgroup2_mount(mounts: &Path) -> Option<PathBuf> {
    let data = super::read_file(mounts).ok()?;
    data.split(|&b| b == b'\n').find_map(|line| {
        let mut f = line.split(|&b| b == b' ');
        let (_, dir, fstype) = (f.next()?, f.next()?, f.next()?);
        (fstype == b"cgroup2").then(|| PathBuf::from(std::ffi::OsStr::from_bytes(&unescape(dir))))
    })
}

/// /proc/mounts writes space, tab, newline and backslash in octal (`\040`).
fn unescape(field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        let oct = field
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match (field[i], oct) {
            (b'\\', Some(d)) => {
                let v = d.iter().fold(0u32, |a, c| a * 8 + u32::from(c - b'0'));
                out.push(v as u8);
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

fn walk(mnt: &Path) -> HashMap<u64, Vec<u8>> {
    let mut map = HashMap::new();
    let Ok(root) = std::fs::symlink_metadata(mnt) else {
        return map;
    };
    map.insert(root.ino(), b"/".to_vec());
    let dev = root.dev();
    let mut stack = vec![(mnt.to_path_buf(), Vec::new())];
    let mut dirs = 0usize;
    while let Some((dir, rel)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            if !e.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            dirs += 1;
            if dirs > MAX_DIRS {
                return map;
            }
            let path = e.path();
            // Another filesystem mounted inside is not part of this hierarchy.
            if std::fs::symlink_metadata(&path).map_or(true, |m| m.dev() != dev) {
                continue;
            }
            let mut sub = rel.clone();
            sub.push(b'/');
            sub.extend_from_slice(e.file_name().as_bytes());
            map.insert(e.ino(), sub.clone());
            stack.push((path, sub));
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_cgroup2_mount_and_unescapes_it() {
        let dir = std::env::temp_dir().join(format!("rnetstat-cg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mounts = dir.join("mounts");
        std::fs::write(
            &mounts,
            "proc /proc proc rw 0 0\ncgroup /sys/fs/cgroup/cpu cgroup rw 0 0\n\
             cgroup2 /sys/fs/cg\\040x cgroup2 rw 0 0\ncgroup2 /other cgroup2 rw 0 0\n",
        )
        .unwrap();
        assert_eq!(cgroup2_mount(&mounts), Some(PathBuf::from("/sys/fs/cg x")));
        std::fs::write(&mounts, "proc /proc proc rw 0 0\n").unwrap();
        assert_eq!(cgroup2_mount(&mounts), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn walks_a_tree_by_inode() {
        let dir = std::env::temp_dir().join(format!("rnetstat-cgw-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("a/b")).unwrap();
        let ino = |p: &Path| std::fs::metadata(p).unwrap().ino();
        let map = walk(&dir);
        assert_eq!(map.get(&ino(&dir)).map(Vec::as_slice), Some(&b"/"[..]));
        assert_eq!(
            map.get(&ino(&dir.join("a/b"))).map(Vec::as_slice),
            Some(&b"/a/b"[..])
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
