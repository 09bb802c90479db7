//! A small reader of BTF, the kernel's type information (/sys/kernel/btf/vmlinux): the
//! id of a function by name, and the byte offset and size of a struct member by name,
//! looking through anonymous nested structs and unions. Just what the task_file
//! iterator (src/ebpf/) needs to address kernel fields without a compiler; the blob is
//! untrusted bytes, so every offset is checked and a malformed blob is an error.

use std::fmt;

/// The file the running kernel describes itself in.
pub const VMLINUX: &str = "/sys/kernel/btf/vmlinux";
/// Larger than any vmlinux BTF seen (5.5 MB on 6.18): the read is bounded.
pub const MAX_BTF_BYTES: u64 = 64 << 20;

const MAGIC: u16 = 0xeb9f;
const HEADER_LEN: usize = 24;

// Kinds (include/uapi/linux/btf.h).
const KIND_INT: u32 = 1;
const KIND_PTR: u32 = 2;
const KIND_ARRAY: u32 = 3;
const KIND_STRUCT: u32 = 4;
const KIND_UNION: u32 = 5;
const KIND_ENUM: u32 = 6;
const KIND_FWD: u32 = 7;
const KIND_TYPEDEF: u32 = 8;
const KIND_VOLATILE: u32 = 9;
const KIND_CONST: u32 = 10;
const KIND_RESTRICT: u32 = 11;
const KIND_FUNC: u32 = 12;
const KIND_FUNC_PROTO: u32 = 13;
const KIND_VAR: u32 = 14;
const KIND_DATASEC: u32 = 15;
const KIND_FLOAT: u32 = 16;
const KIND_DECL_TAG: u32 = 17;
const KIND_TYPE_TAG: u32 = 18;
const KIND_ENUM64: u32 = 19;

/// Deeper than any real chain of typedefs/qualifiers or nesting of anonymous members:
/// a cycle in a hostile blob ends here.
const MAX_DEPTH: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BtfError(pub String);

impl fmt::Display for BtfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BTF: {}", self.0)
    }
}

impl std::error::Error for BtfError {}

fn err<T>(what: impl Into<String>) -> Result<T, BtfError> {
    Err(BtfError(what.into()))
}

/// The kinds [`Btf::find_all`] looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Struct = KIND_STRUCT as isize,
    Func = KIND_FUNC as isize,
}

/// A member found by [`Btf::member`]: where it starts and how many bytes it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    /// Byte offset from the start of the outer struct.
    pub offset: u32,
    /// Size of the member's type in bytes (for a flexible array: 0).
    pub size: u32,
    /// The member's type id (qualifiers and typedefs not resolved).
    pub type_id: u32,
}

/// Where the blob's bytes live.
enum Bytes {
    Owned(Vec<u8>),
    Mapped(crate::ebpf::Mapping),
}

/// A parsed blob: the raw bytes and where each type starts.
pub struct Btf {
    bytes: Bytes,
    types_start: usize,
    types_end: usize,
    strings_start: usize,
    strings_end: usize,
    /// Byte offset of type id `i` at index `i - 1`.
    offsets: Vec<u32>,
}

impl Btf {
    /// Maps (or, where the kernel cannot map it, reads) and parses the running
    /// kernel's BTF. sysfs returns it a page per read(): 1,350 calls for 5.5 MB.
    pub fn vmlinux() -> Result<Btf, BtfError> {
        use std::io::Read;
        let file = std::fs::File::open(VMLINUX).map_err(|e| BtfError(format!("{VMLINUX}: {e}")))?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        if (HEADER_LEN as u64..=MAX_BTF_BYTES).contains(&size) {
            if let Ok(map) = crate::ebpf::Mapping::of(&file, size as usize) {
                return Btf::new(Bytes::Mapped(map));
            }
        }
        let mut data = Vec::with_capacity(size.min(MAX_BTF_BYTES) as usize);
        file.take(MAX_BTF_BYTES + 1)
            .read_to_end(&mut data)
            .map_err(|e| BtfError(format!("{VMLINUX}: {e}")))?;
        if data.len() as u64 > MAX_BTF_BYTES {
            return err(format!("{VMLINUX} is larger than {MAX_BTF_BYTES} bytes"));
        }
        Btf::parse(data)
    }

    /// Parses a blob (native byte order, as the kernel writes it).
    pub fn parse(data: Vec<u8>) -> Result<Btf, BtfError> {
        Btf::new(Bytes::Owned(data))
    }

    fn new(bytes: Bytes) -> Result<Btf, BtfError> {
        let data = match &bytes {
            Bytes::Owned(v) => &v[..],
            Bytes::Mapped(m) => m.bytes(),
        };
        if data.len() < HEADER_LEN {
            return err("shorter than its header");
        }
        if u16::from_ne_bytes([data[0], data[1]]) != MAGIC {
            return err("bad magic (not BTF, or the other byte order)");
        }
        let word =
            |at: usize| u32::from_ne_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]);
        let hdr_len = word(4) as usize;
        let (type_off, type_len, str_off, str_len) = (
            word(8) as usize,
            word(12) as usize,
            word(16) as usize,
            word(20) as usize,
        );
        if hdr_len < HEADER_LEN {
            return err("header length too small");
        }
        let section = |off: usize, len: usize| {
            let start = hdr_len.checked_add(off)?;
            let end = start.checked_add(len)?;
            (end <= data.len()).then_some((start, end))
        };
        let Some((types_start, types_end)) = section(type_off, type_len) else {
            return err("type section out of bounds");
        };
        let Some((strings_start, strings_end)) = section(str_off, str_len) else {
            return err("string section out of bounds");
        };
        let mut btf = Btf {
            bytes,
            types_start,
            types_end,
            strings_start,
            strings_end,
            offsets: Vec::new(),
        };
        btf.index_types()?;
        Ok(btf)
    }

    fn data(&self) -> &[u8] {
        match &self.bytes {
            Bytes::Owned(v) => v,
            Bytes::Mapped(m) => m.bytes(),
        }
    }

    fn u32_at(&self, at: usize) -> Option<u32> {
        let b = self.data().get(at..at.checked_add(4)?)?;
        Some(u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn index_types(&mut self) -> Result<(), BtfError> {
        let types = self
            .data()
            .get(self.types_start..self.types_end)
            .unwrap_or(&[]);
        // Every type takes 12 bytes or more: one allocation, never grown.
        let mut offsets = Vec::with_capacity(types.len() / 12);
        let mut at = 0;
        while at < types.len() {
            let Some(header) = types.get(at..at + 12) else {
                return err("truncated type");
            };
            let info = u32::from_ne_bytes([header[4], header[5], header[6], header[7]]);
            let vlen = (info & 0xffff) as usize;
            let extra = match kind(info) {
                KIND_INT | KIND_VAR | KIND_DECL_TAG => 4,
                KIND_ARRAY => 12,
                KIND_STRUCT | KIND_UNION | KIND_DATASEC | KIND_ENUM64 => vlen * 12,
                KIND_ENUM | KIND_FUNC_PROTO => vlen * 8,
                KIND_PTR | KIND_FWD | KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT
                | KIND_FUNC | KIND_FLOAT | KIND_TYPE_TAG => 0,
                k => return err(format!("unknown type kind {k}")),
            };
            offsets.push((self.types_start + at) as u32);
            at += 12 + extra;
        }
        if at != types.len() {
            return err("last type runs past the type section");
        }
        self.offsets = offsets;
        Ok(())
    }

    /// The NUL-terminated name at `off` of the string section.
    fn name(&self, off: u32) -> &[u8] {
        let start = self.strings_start.saturating_add(off as usize);
        let Some(rest) = self.data().get(start..self.strings_end) else {
            return b"";
        };
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        &rest[..end]
    }

    /// (name_off, info, size_or_type, offset of the kind-specific data) of type `id`.
    fn header(&self, id: u32) -> Option<(u32, u32, u32, usize)> {
        let at = *self.offsets.get((id as usize).checked_sub(1)?)? as usize;
        Some((
            self.u32_at(at)?,
            self.u32_at(at + 4)?,
            self.u32_at(at + 8)?,
            at + 12,
        ))
    }

    /// How many types the blob holds.
    pub fn len(&self) -> usize {
        self.offsets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.offsets.is_empty()
    }

    /// The ids of the first type of each wanted kind and name (a struct with members,
    /// not a forward declaration), in one pass over the types: vmlinux has 150,000, so
    /// a name is compared only when its first byte is one a wanted name starts with.
    pub fn find_all(&self, wanted: &[(Kind, &str)]) -> Vec<Option<u32>> {
        let mut found = vec![None; wanted.len()];
        let mut first_bytes = [false; 256];
        for (_, name) in wanted {
            if let Some(&b) = name.as_bytes().first() {
                first_bytes[b as usize] = true;
            }
        }
        let data = self.data();
        let strings = data
            .get(self.strings_start..self.strings_end)
            .unwrap_or(&[]);
        let word = |b: &[u8]| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]);
        let mut left = wanted.iter().filter(|(_, n)| !n.is_empty()).count();
        for (index, &at) in self.offsets.iter().enumerate() {
            if left == 0 {
                break;
            }
            let Some(header) = data.get(at as usize..at as usize + 8) else {
                continue;
            };
            let k = kind(word(&header[4..]));
            if k != KIND_STRUCT && k != KIND_FUNC {
                continue;
            }
            // Bytes from the name on; a name ends at its NUL.
            let Some(name) = strings.get(word(header) as usize..) else {
                continue;
            };
            if !name.first().is_some_and(|&b| first_bytes[b as usize]) {
                continue;
            }
            for (slot, (want, want_name)) in found.iter_mut().zip(wanted) {
                let want_name = want_name.as_bytes();
                if slot.is_none()
                    && *want as u32 == k
                    && name.get(want_name.len()) == Some(&0)
                    && name.starts_with(want_name)
                {
                    *slot = Some(index as u32 + 1);
                    left -= 1;
                }
            }
        }
        found
    }

    /// The id of the function `name` (a FUNC type: what BPF attaches to).
    pub fn func(&self, name: &str) -> Result<u32, BtfError> {
        self.find_all(&[(Kind::Func, name)])[0]
            .ok_or_else(|| BtfError(format!("no function {name}")))
    }

    /// The id of `struct name`.
    pub fn struct_id(&self, name: &str) -> Result<u32, BtfError> {
        self.find_all(&[(Kind::Struct, name)])[0]
            .ok_or_else(|| BtfError(format!("no struct {name}")))
    }

    /// Size in bytes of type `id`, through typedefs and qualifiers.
    pub fn size_of(&self, id: u32) -> Result<u32, BtfError> {
        let mut id = id;
        for _ in 0..MAX_DEPTH {
            let Some((_, info, size_or_type, extra)) = self.header(id) else {
                return err(format!("no type {id}"));
            };
            match kind(info) {
                KIND_INT | KIND_STRUCT | KIND_UNION | KIND_ENUM | KIND_ENUM64 | KIND_FLOAT => {
                    return Ok(size_or_type)
                }
                KIND_PTR => return Ok(8),
                KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT | KIND_TYPE_TAG => {
                    id = size_or_type
                }
                KIND_ARRAY => {
                    let elem = self.u32_at(extra).unwrap_or(0);
                    let nelems = self.u32_at(extra + 8).unwrap_or(0);
                    let elem_size = self.size_of(elem)?;
                    return elem_size
                        .checked_mul(nelems)
                        .ok_or_else(|| BtfError(format!("array type {id} too large")));
                }
                k => return err(format!("type {id} of kind {k} has no size")),
            }
        }
        err("typedef chain too long")
    }

    /// The element type of array type `id` (through typedefs and qualifiers).
    pub fn array_elem(&self, id: u32) -> Result<u32, BtfError> {
        let mut id = id;
        for _ in 0..MAX_DEPTH {
            let Some((_, info, size_or_type, extra)) = self.header(id) else {
                return err(format!("no type {id}"));
            };
            match kind(info) {
                KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT | KIND_TYPE_TAG => {
                    id = size_or_type
                }
                KIND_ARRAY => {
                    return self
                        .u32_at(extra)
                        .ok_or_else(|| BtfError("short array".into()))
                }
                _ => return err(format!("type {id} is not an array")),
            }
        }
        err("typedef chain too long")
    }

    /// Member `name` of `struct struct_name`, found also inside anonymous struct and
    /// union members (their offsets added). Bitfields are refused: a byte load cannot
    /// read one.
    pub fn member(&self, struct_name: &str, name: &str) -> Result<Member, BtfError> {
        self.member_of(self.struct_id(struct_name)?, name)
    }

    /// Member `name` of the struct with id `id` (as [`Btf::member`]).
    pub fn member_of(&self, id: u32, name: &str) -> Result<Member, BtfError> {
        self.member_in(id, name, 0)?
            .ok_or_else(|| BtfError(format!("type {id} has no member {name}")))
    }

    fn member_in(&self, id: u32, name: &str, depth: usize) -> Result<Option<Member>, BtfError> {
        if depth > MAX_DEPTH {
            return err("anonymous members nested too deep");
        }
        let id = self.strip_typedefs(id)?;
        let Some((_, info, _, members)) = self.header(id) else {
            return err(format!("no type {id}"));
        };
        if !matches!(kind(info), KIND_STRUCT | KIND_UNION) {
            return Ok(None);
        }
        let kind_flag = info >> 31 == 1;
        for i in 0..(info & 0xffff) as usize {
            let at = members + i * 12;
            let (Some(name_off), Some(type_id), Some(offset)) =
                (self.u32_at(at), self.u32_at(at + 4), self.u32_at(at + 8))
            else {
                return err("truncated member");
            };
            let (bit_offset, bitfield_size) = if kind_flag {
                (offset & 0xff_ffff, offset >> 24)
            } else {
                (offset, 0)
            };
            let member_name = self.name(name_off);
            if member_name.is_empty() {
                if let Some(inner) = self.member_in(type_id, name, depth + 1)? {
                    if bit_offset % 8 != 0 {
                        return err(format!(
                            "anonymous member holding {name} is not byte aligned"
                        ));
                    }
                    return Ok(Some(Member {
                        offset: inner.offset + bit_offset / 8,
                        ..inner
                    }));
                }
                continue;
            }
            if member_name != name.as_bytes() {
                continue;
            }
            if bitfield_size != 0 || bit_offset % 8 != 0 {
                return err(format!("member {name} is a bitfield"));
            }
            return Ok(Some(Member {
                offset: bit_offset / 8,
                size: self.size_of(type_id)?,
                type_id,
            }));
        }
        Ok(None)
    }

    fn strip_typedefs(&self, id: u32) -> Result<u32, BtfError> {
        let mut id = id;
        for _ in 0..MAX_DEPTH {
            match self.header(id) {
                Some((_, info, next, _))
                    if matches!(
                        kind(info),
                        KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT | KIND_TYPE_TAG
                    ) =>
                {
                    id = next
                }
                Some(_) => return Ok(id),
                None => return err(format!("no type {id}")),
            }
        }
        err("typedef chain too long")
    }
}

fn kind(info: u32) -> u32 {
    (info >> 24) & 0x1f
}

/// Writes BTF blobs by hand, for the reader's tests (tests/fixtures holds one).
#[cfg(test)]
pub(crate) mod writer {
    /// A blob under construction: types are numbered from 1 in the order added.
    #[derive(Default)]
    pub struct Writer {
        types: Vec<u8>,
        strings: Vec<u8>,
        next_id: u32,
    }

    impl Writer {
        pub fn new() -> Writer {
            Writer {
                types: Vec::new(),
                strings: vec![0],
                next_id: 1,
            }
        }

        pub fn string(&mut self, s: &str) -> u32 {
            if s.is_empty() {
                return 0;
            }
            let off = self.strings.len() as u32;
            self.strings.extend_from_slice(s.as_bytes());
            self.strings.push(0);
            off
        }

        fn push(&mut self, words: &[u32]) -> u32 {
            for w in words {
                self.types.extend_from_slice(&w.to_ne_bytes());
            }
            self.next_id += 1;
            self.next_id - 1
        }

        pub fn int(&mut self, name: &str, size: u32) -> u32 {
            let n = self.string(name);
            self.push(&[n, 1 << 24, size, size * 8])
        }

        pub fn ptr(&mut self, to: u32) -> u32 {
            self.push(&[0, 2 << 24, to])
        }

        pub fn array(&mut self, elem: u32, index: u32, nelems: u32) -> u32 {
            self.push(&[0, 3 << 24, 0, elem, index, nelems])
        }

        pub fn typedef(&mut self, name: &str, to: u32) -> u32 {
            let n = self.string(name);
            self.push(&[n, 8 << 24, to])
        }

        /// `members`: (name, type, bit offset, bitfield size).
        pub fn composite(
            &mut self,
            union: bool,
            name: &str,
            size: u32,
            members: &[(&str, u32, u32, u32)],
        ) -> u32 {
            let n = self.string(name);
            let kind_flag = members.iter().any(|m| m.3 != 0) as u32;
            let kind = if union { 5 } else { 4 };
            let mut words = vec![n, kind_flag << 31 | kind << 24 | members.len() as u32, size];
            for &(name, ty, bit_off, bits) in members {
                let n = self.string(name);
                let off = if kind_flag == 1 {
                    bits << 24 | bit_off
                } else {
                    bit_off
                };
                words.extend_from_slice(&[n, ty, off]);
            }
            self.push(&words)
        }

        pub fn func(&mut self, name: &str, proto: u32) -> u32 {
            let n = self.string(name);
            self.push(&[n, 12 << 24, proto])
        }

        pub fn func_proto(&mut self, ret: u32, params: &[u32]) -> u32 {
            let mut words = vec![0, 13 << 24 | params.len() as u32, ret];
            for &p in params {
                words.extend_from_slice(&[0, p]);
            }
            self.push(&words)
        }

        pub fn finish(self) -> Vec<u8> {
            let mut out = Vec::new();
            out.extend_from_slice(&0xeb9fu16.to_ne_bytes());
            out.extend_from_slice(&[1, 0]);
            for w in [
                24u32,
                0,
                self.types.len() as u32,
                self.types.len() as u32,
                self.strings.len() as u32,
            ] {
                out.extend_from_slice(&w.to_ne_bytes());
            }
            out.extend_from_slice(&self.types);
            out.extend_from_slice(&self.strings);
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::writer::Writer;
    use super::*;

    /// A cut of the kernel's types: the members the iterator reads, nested the way 6.x
    /// nests some of them (an anonymous union in struct inode, a bitfield beside).
    pub(crate) fn sample() -> Vec<u8> {
        let mut w = Writer::new();
        let int = w.int("int", 4);
        let uint = w.int("unsigned int", 4);
        let ushort = w.int("unsigned short", 2);
        let ulong = w.int("long unsigned int", 8);
        let chr = w.int("char", 1);
        let umode = w.typedef("umode_t", ushort);
        let pid_t = w.typedef("pid_t", int);
        let comm = w.array(chr, int, 16);
        let super_block = w.composite(false, "super_block", 128, &[("s_magic", ulong, 768, 0)]);
        let sb_ptr = w.ptr(super_block);
        let inode = w.composite(
            false,
            "inode",
            64,
            &[
                ("i_mode", umode, 0, 0),
                ("i_flags", uint, 32, 0),
                ("i_ino", ulong, 64, 0),
                ("i_sb", sb_ptr, 320, 0),
            ],
        );
        let inode_ptr = w.ptr(inode);
        let anon = w.composite(
            true,
            "",
            8,
            &[("f_inode", inode_ptr, 0, 0), ("f_x", ulong, 0, 0)],
        );
        let file = w.composite(
            false,
            "file",
            32,
            &[
                ("f_mode", uint, 0, 0),
                ("f_bits", uint, 32, 3),
                ("", anon, 128, 0),
            ],
        );
        let upid = w.composite(
            false,
            "upid",
            16,
            &[("nr", int, 0, 0), ("ns", ulong, 64, 0)],
        );
        let numbers = w.array(upid, int, 0);
        let pid = w.composite(
            false,
            "pid",
            24,
            &[("level", uint, 32, 0), ("numbers", numbers, 64, 0)],
        );
        let pid_ptr = w.ptr(pid);
        w.composite(
            false,
            "task_struct",
            128,
            &[
                ("pid", pid_t, 256, 0),
                ("tgid", pid_t, 288, 0),
                ("thread_pid", pid_ptr, 320, 0),
                ("comm", comm, 512, 0),
            ],
        );
        let file_ptr = w.ptr(file);
        let proto = w.func_proto(int, &[file_ptr]);
        w.func("bpf_iter_task_file", proto);
        w.finish()
    }

    #[test]
    fn members_through_typedefs_and_anonymous_unions() {
        let btf = Btf::parse(sample()).unwrap();
        let m = |s: &str, n: &str| btf.member(s, n).map(|m| (m.offset, m.size));
        assert_eq!(m("inode", "i_mode"), Ok((0, 2)));
        assert_eq!(m("inode", "i_ino"), Ok((8, 8)));
        assert_eq!(m("inode", "i_sb"), Ok((40, 8)));
        assert_eq!(m("super_block", "s_magic"), Ok((96, 8)));
        assert_eq!(m("file", "f_inode"), Ok((16, 8)));
        assert_eq!(m("task_struct", "pid"), Ok((32, 4)));
        assert_eq!(m("task_struct", "tgid"), Ok((36, 4)));
        assert_eq!(m("task_struct", "thread_pid"), Ok((40, 8)));
        assert_eq!(m("task_struct", "comm"), Ok((64, 16)));
        assert_eq!(m("pid", "level"), Ok((4, 4)));
        assert_eq!(m("pid", "numbers"), Ok((8, 0)));
        assert_eq!(m("upid", "nr"), Ok((0, 4)));
        let numbers = btf.member("pid", "numbers").unwrap();
        let upid = btf.array_elem(numbers.type_id).unwrap();
        assert_eq!(btf.size_of(upid), Ok(16));
        assert!(btf.func("bpf_iter_task_file").is_ok());
        assert!(btf.member("file", "f_bits").is_err(), "a bitfield");
        assert!(btf.member("file", "nothing").is_err());
        assert!(btf.member("nothing", "f_mode").is_err());
        assert!(btf.func("bpf_iter_task").is_err());
    }

    #[test]
    fn the_recorded_fixture_parses() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/btf/task_file.btf"
        );
        let data = std::fs::read(path).unwrap();
        // Written from sample() (std::fs::write(path, sample())) when it changes.
        assert_eq!(data, sample(), "the fixture and sample() disagree");
        let btf = Btf::parse(data).unwrap();
        assert_eq!(btf.member("file", "f_inode").unwrap().offset, 16);
        assert_eq!(btf.member("task_struct", "comm").unwrap().size, 16);
        let ids = btf.find_all(&[(Kind::Func, "bpf_iter_task_file"), (Kind::Struct, "upid")]);
        assert!(ids.iter().all(Option::is_some));
    }

    #[test]
    fn every_truncation_and_corruption_is_an_error_not_a_panic() {
        let blob = sample();
        for cut in 0..blob.len() {
            if let Ok(btf) = Btf::parse(blob[..cut].to_vec()) {
                let _ = btf.member("task_struct", "comm");
            }
        }
        for at in 0..blob.len() {
            for byte in [0x00, 0xff, 0x80, 0x13] {
                let mut bad = blob.clone();
                bad[at] = byte;
                if let Ok(btf) = Btf::parse(bad) {
                    for (s, n) in [
                        ("task_struct", "comm"),
                        ("file", "f_inode"),
                        ("pid", "numbers"),
                    ] {
                        if let Ok(m) = btf.member(s, n) {
                            let _ = btf.array_elem(m.type_id).and_then(|e| btf.size_of(e));
                        }
                    }
                    let _ = btf.func("bpf_iter_task_file");
                }
            }
        }
    }

    #[test]
    fn a_typedef_cycle_ends() {
        let mut w = Writer::new();
        // Type 1 is a typedef to type 2, which is a typedef to type 1.
        w.typedef("a", 2);
        w.typedef("b", 1);
        w.composite(false, "s", 8, &[("m", 1, 0, 0)]);
        let btf = Btf::parse(w.finish()).unwrap();
        assert!(btf.member("s", "m").is_err());
        assert!(btf.size_of(1).is_err());
    }
}
