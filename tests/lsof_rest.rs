//! lsof 4.95's remaining options against the real lsof: `+m` (the mount supplement),
//! `-x f|l` in `+d`/`+D` walks, and the usage text of `-h` and of usage errors.
//! Mounts are made in a private mount namespace (`unshare --mount`) that a python
//! holder of the test's files keeps alive; both tools run inside it (nsenter) and
//! their stdout, stderr and exit status are compared whole.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};

const RLSOF: &str = env!("CARGO_BIN_EXE_rlsof");

/// The header lines that name the program: lsof's four, rlsof's four (documented in
/// docs/rlsof.md); every other line of the usage text is lsof's.
fn usage_header(prog: &str) -> Vec<String> {
    if prog == "lsof" {
        return vec![
            "lsof 4.95.0".into(),
            " latest revision: https://github.com/lsof-org/lsof".into(),
            " latest FAQ: https://github.com/lsof-org/lsof/blob/master/00FAQ".into(),
            " latest (non-formatted) man page: https://github.com/lsof-org/lsof/blob/master/Lsof.8"
                .into(),
        ];
    }
    vec![
        format!(
            "rlsof {} (lsof 4.95.0's options and output)",
            env!("CARGO_PKG_VERSION")
        ),
        " rlsof's own options: --json, --all-netns, --proc-root DIR".into(),
        " manual: rlsof(1); lsof's: https://github.com/lsof-org/lsof/blob/master/Lsof.8".into(),
        " lsof's FAQ: https://github.com/lsof-org/lsof/blob/master/00FAQ".into(),
    ]
}

/// stderr with the program's own header replaced by a marker and its `NAME: `
/// prefix taken off, so lsof's and rlsof's compare line for line.
fn normalized_stderr(prog: &str, err: &[u8]) -> String {
    let text = String::from_utf8_lossy(err).into_owned();
    let header = usage_header(prog).join("\n");
    let text = text.replace(&header, "<HEADER>");
    let prefix = format!("{prog}:");
    text.lines()
        .map(|l| {
            l.strip_prefix(&prefix)
                .map_or(l, |r| r.trim_start_matches(' '))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn assert_same(what: &str, theirs: &Output, ours: &Output) {
    let out = |o: &Output| String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(
        (out(ours), ours.status.code()),
        (out(theirs), theirs.status.code()),
        "{what}: rlsof (left) against lsof (right)"
    );
    assert_eq!(
        normalized_stderr("rlsof", &ours.stderr),
        normalized_stderr("lsof", &theirs.stderr),
        "{what}: stderr"
    );
}

fn skipped(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        common::skip(test, "needs root (mount namespaces)");
        return true;
    }
    for tool in ["lsof", "unshare", "nsenter", "python3", "mount"] {
        if common::find_program(tool).is_none() {
            common::skip(test, &format!("{tool} is not installed"));
            return true;
        }
    }
    false
}

/// A private mount namespace made by `setup` (sh, run with `$B` = a fresh base
/// directory), kept by a python process that holds `held` (paths below `$B`) open.
struct MountScene {
    child: Child,
    stdin: Option<ChildStdin>,
    pid: u32,
    base: PathBuf,
}

impl MountScene {
    fn new(tag: &str, setup: &str, held: &[&str]) -> MountScene {
        let base = std::env::temp_dir().join(format!("rlsof-rest-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).unwrap();
        // The host's `ip netns` mounts come and go with other tests (and vanish from
        // every namespace when their file is removed): leave this namespace's copies.
        let leave =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/leave_netns_mounts.py");
        let leave = leave.display();
        let script = format!(
            "set -e; B=\"$1\"; shift; cd \"$B\"\n\
             python3 {leave}\n\
             {setup}\n\
             exec python3 -c 'import os, sys\n\
fds = [os.open(p, os.O_RDONLY) for p in sys.argv[1:]]\n\
print(\"ready\", os.readlink(\"/proc/self\"), flush=True)\n\
sys.stdin.read()' \"$@\""
        );
        let mut child = Command::new("unshare")
            .args([
                "--mount",
                "--propagation",
                "private",
                "--fork",
                "--kill-child",
                "sh",
                "-c",
                &script,
                "sh",
            ])
            .arg(&base)
            .args(held)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("unshare starts");
        let stdin = child.stdin.take();
        let mut line = String::new();
        let _ = BufReader::new(child.stdout.take().unwrap()).read_line(&mut line);
        let mut scene = MountScene {
            child,
            stdin,
            pid: 0,
            base,
        };
        match line.split_whitespace().collect::<Vec<_>>().as_slice() {
            ["ready", pid] => scene.pid = pid.parse().unwrap(),
            _ => panic!("the mount scene did not start: {line:?}"),
        }
        scene
    }

    /// `program args` in the scene's mount namespace, in its base directory.
    fn run(&self, program: &str, args: &[&str]) -> Output {
        // `cd` inside: nsenter's --wd opens the directory in our namespace, where the
        // scene's mounts are not.
        Command::new("nsenter")
            .arg("--target")
            .arg(self.pid.to_string())
            .arg("--mount")
            .args(["--", "sh", "-c", "cd \"$0\" && exec \"$@\""])
            .arg(&self.base)
            .arg(program)
            .args(args)
            .output()
            .expect("nsenter runs")
    }

    fn compare(&self, args: &[&str]) -> Output {
        let theirs = self.run("lsof", args);
        let ours = self.run(RLSOF, args);
        assert_same(&format!("{args:?}"), &theirs, &ours);
        theirs
    }
}

impl Drop for MountScene {
    fn drop(&mut self) {
        drop(self.stdin.take());
        if common::wait_timeout(&mut self.child, std::time::Duration::from_secs(10)).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        // The mounts went with the namespace; the directories are the host's.
        let _ = std::fs::remove_dir_all(&self.base);
    }
}

/// `+m` prints each mount point lsof keeps with its device (a dir with a space, a
/// dir mounted twice, one hidden under a later mount: warned about unless -w);
/// `+m FILE` is lsof's supplement for mounts it cannot stat, a plain listing here.
#[test]
fn mount_supplement_as_lsof() {
    if skipped("mount_supplement_as_lsof") {
        return;
    }
    let scene = MountScene::new(
        "m",
        "mkdir -p 'sp ace' dup hid/x\n\
         mount -t tmpfs rnt 'sp ace'\n\
         mount -t tmpfs rnt dup; mount -t tmpfs rnt dup\n\
         mount -t tmpfs rnt hid/x; mount -t tmpfs rnt hid\n\
         echo x > dup/f",
        &["dup/f"],
    );
    let base = scene.base.display().to_string();
    let out = scene.compare(&["+m"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let dev = |dir: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{base}/{dir} ")))
            .map(str::to_string)
    };
    assert!(dev("sp ace").is_some_and(|d| d.starts_with("0x")), "{text}");
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with(&format!("{base}/dup ")))
            .count(),
        1,
        "{text}"
    );
    assert!(dev("hid/x").is_none(), "{text}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!("{base}/hid/x")),
        "lsof warns about the hidden mount"
    );
    scene.compare(&["+m", "-w"]);
    scene.compare(&["-w", "+m", "--"]);
    let pid = scene.pid.to_string();
    // With a supplement file (or something that is not one): the usual listing.
    scene.compare(&["+m", "/nonexistent-supplement", "-a", "-p", &pid, "-d", "3"]);
}

/// `+d`/`+D` with `-x`: by default neither symbolic links nor other file systems are
/// entered; `-x l` follows links (to files and directories), `-x f` crosses mounts,
/// `-x` both; `-x` counts only before the `+D` it applies to. The top directory
/// given through a link is resolved as lsof resolves it.
#[test]
fn directory_walks_cross_as_lsof() {
    if skipped("directory_walks_cross_as_lsof") {
        return;
    }
    let scene = MountScene::new(
        "x",
        "mkdir -p d/sub d/mnt/deep other\n\
         mount -t tmpfs rnt d/mnt; mkdir -p d/mnt/deep\n\
         echo f > d/f; echo g > d/sub/g; echo h > d/mnt/h; echo i > d/mnt/deep/i\n\
         echo o > other/o; echo p > other/p; echo q > other/q\n\
         ln -s ../other d/lo; ln -s ../other/p d/lp; ln -s nowhere d/dangling\n\
         ln -s d ld",
        &[
            "d/f",
            "d/sub/g",
            "d/mnt/h",
            "d/mnt/deep/i",
            "other/o",
            "other/p",
        ],
    );
    let pid = scene.pid.to_string();
    let abs_link = format!("{}/ld/", scene.base.display());
    for walk in [
        &["+D", "d"][..],
        &["-x", "+D", "d"],
        &["-x", "f", "+D", "d"],
        &["-x", "l", "+D", "d"],
        &["-xfl", "+D", "d"],
        &["+D", "d", "-x"],
        &["+d", "d"],
        &["-x", "l", "+d", "d"],
        &["-x", "f", "+d", "d"],
        &["+D", "ld"],
        &["-x", "+D", "./ld"],
        &["+D", &abs_link],
        &["-x", "+D", "d/mnt"],
        &["-w", "-x", "+D", "d"],
    ] {
        let mut args = vec!["-a", "-p", &pid];
        args.extend_from_slice(walk);
        let out = scene.compare(&args);
        assert!(
            !out.stdout.is_empty(),
            "{args:?}: lsof lists nothing: {out:?}"
        );
    }
    // Not two empty or equal walks: what each crossing adds.
    let names = |walk: &[&str]| {
        let mut args = vec!["-a", "-p", &pid];
        args.extend_from_slice(walk);
        let out = scene.run("lsof", &args);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_whitespace().last().map(str::to_string))
            .collect::<Vec<_>>()
    };
    let plain = names(&["+D", "d"]);
    assert!(plain.contains(&"d/sub/g".to_string()), "{plain:?}");
    assert!(!plain
        .iter()
        .any(|n| n.starts_with("d/mnt") || n.starts_with("d/l")));
    let fs = names(&["-x", "f", "+D", "d"]);
    assert!(fs.contains(&"d/mnt/deep/i".to_string()), "{fs:?}");
    let links = names(&["-x", "l", "+D", "d"]);
    assert!(links.contains(&"d/lo/o".to_string()), "{links:?}");
    assert!(!links.iter().any(|n| n.starts_with("d/mnt")), "{links:?}");
    // Errors: no directory, not a directory, a bad -x letter, -x with a failed +D.
    for bad in [
        &["+D"][..],
        &["-w", "+D"],
        &["+D", "d/f"],
        &["+D", "nonexistent"],
        &["-x", "q", "+D", "d"],
        &["-x", "+D", "nonexistent"],
        &["-x"],
    ] {
        let mut args = vec!["-a", "-p", &pid];
        args.extend_from_slice(bad);
        let out = scene.compare(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
    }
}

/// `-h`/`-?` print lsof's help on stderr and exit 0; a usage error prints its
/// message, lsof's usage lines and the pointer to -h, and exits 1.
#[test]
fn usage_text_as_lsof() {
    if common::find_program("lsof").is_none() {
        common::skip("usage_text_as_lsof", "lsof is not installed");
        return;
    }
    let tmp = std::env::temp_dir();
    let run = |prog: &str, args: &[&str]| {
        Command::new(prog)
            .args(args)
            .current_dir(&tmp)
            .output()
            .expect("runs")
    };
    for args in [
        &["-h"][..],
        &["-?"],
        &["-Y"],
        &["-m"],
        &["-m", "/tmp"],
        &["+m", "-p"],
        &["-x"],
        &["-x", "z"],
        &["-a"],
        &["-p", "x"],
        &["-F", "-t"],
        &["-F?"],
        &["-F", "?"],
        &["-F?p"],
    ] {
        let theirs = run("lsof", args);
        let ours = run(RLSOF, args);
        assert_same(&format!("{args:?}"), &theirs, &ours);
        // The header is there, in place of lsof's.
        let err = String::from_utf8_lossy(&ours.stderr).into_owned();
        if args[0].starts_with("-F") && theirs.status.success() {
            assert!(err.contains("field description"), "{err}");
            continue;
        }
        assert!(
            err.contains(&usage_header("rlsof").join("\n")),
            "{args:?}: {err}"
        );
    }
}
