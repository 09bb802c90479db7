//! What a command line selects: the tables after ss's defaults and the state words,
//! and the filter expression (argv words, then -F's lines), which may narrow the
//! families; ss's order of reading them, and its refusals.

use crate::cli::ss::{self as cli, Options, Tables};
use crate::resolve::{DuplicatePolicy, Services};
use crate::select::ss_filter::{self, Env, Filter, Scope, SsError};
use std::ffi::OsString;
use std::io;

/// The tables, the filter, and the options with the family its addresses chose last
/// (ss's later dumps follow it).
pub struct Selection {
    pub tables: Tables,
    pub filter: Filter,
    pub options: Options,
}

/// Why a command line selects nothing: the run ends with ss's message.
pub enum Refused {
    /// A bad filter: its message (and usage text) on stderr, its status.
    Filter(SsError),
    /// finish_tables()'s message (a family with no table): stderr, status 0.
    Tables(String),
}

/// The filter words in ss's order: leading state/exclude words, ss's defaults, then
/// the expression.
pub fn select(o: &Options, words: &[OsString]) -> Result<Selection, Refused> {
    let word_refs: Vec<&[u8]> = words.iter().map(|w| w.as_encoded_bytes()).collect();
    let (word_states, used) = ss_filter::state_words(&word_refs).map_err(Refused::Filter)?;
    let mut tables = cli::finish_tables(o, word_states).map_err(Refused::Tables)?;
    let mut scope = Scope {
        dbs: tables.dbs,
        families: tables.families,
        preferred_family: o.preferred_family as i32,
    };
    let filter = parse_filter(o, &word_refs[used..], &mut scope).map_err(Refused::Filter)?;
    tables.families = scope.families;
    let options = Options {
        preferred_family: scope.preferred_family as u32,
        ..o.clone()
    };
    Ok(Selection {
        tables,
        filter,
        options,
    })
}

/// The expression after the state words, then -F's lines (stdin for `-F -`).
fn parse_filter(o: &Options, words: &[&[u8]], scope: &mut Scope) -> Result<Filter, SsError> {
    if words.is_empty() && o.filter_file.is_none() {
        return Ok(Filter::empty());
    }
    let services = Services::load(DuplicatePolicy::FirstWins);
    let env = Env {
        services: &services,
        if_index: &ss_filter::system_if_index,
        host: &ss_filter::system_host,
        cgroup: &ss_filter::system_cgroup,
    };
    match &o.filter_file {
        None => ss_filter::parse(words, None, scope, &env),
        Some(cli::FilterFile::Stdin) => {
            let mut stdin = io::stdin().lock();
            ss_filter::parse(words, Some(&mut stdin), scope, &env)
        }
        Some(cli::FilterFile::Path(path)) => {
            // Opened again (the option loop checked it as ss's fopen does); lines are
            // read 1023 bytes at most at a time, as ss's fgets does. The path is the
            // user's own and a symlink is followed as fopen follows it (`-F <(...)`
            // names /dev/fd/N, itself a link).
            let file = std::fs::File::open(path).map_err(|e| SsError {
                message: format!("fopen filter file: {}\n", cli::strerror(&e)).into_bytes(),
                status: 255,
                usage: false,
            })?;
            let mut reader = io::BufReader::new(file);
            ss_filter::parse(words, Some(&mut reader), scope, &env)
        }
    }
}
