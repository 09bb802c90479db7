//! Colour for terminals, the last step before bytes leave: renderers lay a cell out
//! first (text plus its padding, measured on the plain text) and ask the palette to
//! colour only the text, so colour never moves a column and stripping the escapes
//! gives back the uncoloured bytes exactly. Disabled, every function returns its
//! input unchanged.

use owo_colors::{OwoColorize, Style};
use std::io::IsTerminal;

/// `--color auto|always|never`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal and NO_COLOR is not set.
    #[default]
    Auto,
    Always,
    Never,
}

/// What a piece of text is, which decides its colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role<'a> {
    /// A socket state by its printed name (`LISTEN`, `CONNECTED`, ...).
    State(&'a str),
    /// The local address of a listening (server) socket.
    Listening,
    /// An owner column that could not be filled (`-`).
    UnknownOwner,
    /// The namespace tag of --all-netns.
    Namespace,
    /// Section titles and column headings.
    Header,
    /// Text that keeps the terminal's colour.
    Plain,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Palette {
    enabled: bool,
}

impl Palette {
    pub const PLAIN: Palette = Palette { enabled: false };

    /// The decision: `always` and `never` are final; `auto` colours a terminal unless
    /// NO_COLOR is set to anything non-empty (no-color.org).
    pub fn choose(choice: ColorChoice, is_terminal: bool, no_color: bool) -> Palette {
        let enabled = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => is_terminal && !no_color,
        };
        Palette { enabled }
    }

    /// [`Palette::choose`] for this process's stdout and environment.
    pub fn for_stdout(choice: ColorChoice) -> Palette {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Palette::choose(choice, std::io::stdout().is_terminal(), no_color)
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    fn style(role: Role<'_>) -> Option<Style> {
        let s = Style::new();
        Some(match role {
            Role::State("LISTEN" | "LISTENING") => s.green().bold(),
            Role::State("ESTABLISHED" | "CONNECTED") => s.cyan(),
            Role::State("SYN_SENT" | "SYN_RECV" | "CONNECTING") => s.blue(),
            Role::State(
                "TIME_WAIT" | "CLOSE_WAIT" | "FIN_WAIT1" | "FIN_WAIT2" | "LAST_ACK" | "CLOSING"
                | "CLOSE" | "DISCONNECTING",
            ) => s.yellow(),
            Role::State("UNKNOWN") => s.red(),
            Role::State(_) | Role::Plain => return None,
            Role::Listening => s.green().bold(),
            Role::UnknownOwner => s.red().bold(),
            Role::Namespace => s.magenta(),
            Role::Header => s.bold(),
        })
    }

    /// `text` in its role's colour (no padding).
    pub fn paint(&self, role: Role<'_>, text: &str) -> String {
        match Self::style(role).filter(|_| self.enabled && !text.is_empty()) {
            Some(style) => text.style(style).to_string(),
            None => text.to_string(),
        }
    }

    /// `text` left-justified in `width` columns, padded exactly as `{:<width$}` pads
    /// it, with only the text coloured.
    pub fn left(&self, role: Role<'_>, text: &str, width: usize) -> String {
        if !self.enabled {
            return format!("{text:<width$}");
        }
        let pad = format!("{text:<width$}").len() - text.len();
        let mut cell = self.paint(role, text);
        cell.extend(std::iter::repeat(' ').take(pad));
        cell
    }
}

/// Removes the SGR escapes the palette writes (`ESC [ ... m`), for tests and for
/// checking that colour leaves the layout alone.
pub fn strip(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_never_moves_columns() {
        let on = Palette::choose(ColorChoice::Always, false, true);
        let off = Palette::choose(ColorChoice::Never, true, false);
        for text in ["LISTEN", "ESTABLISHED", "", "7", "TIME_WAIT"] {
            let plain = off.left(Role::State(text), text, 11);
            assert_eq!(plain, format!("{text:<11}"));
            assert_eq!(strip(&on.left(Role::State(text), text, 11)), plain);
        }
        assert!(on
            .left(Role::State("LISTEN"), "LISTEN", 11)
            .contains('\x1b'));
        assert!(!on.left(Role::State("7"), "7", 11).contains('\x1b'));
        assert!(on
            .left(Role::State("LISTEN"), "LISTEN", 11)
            .ends_with("m     "));
    }

    #[test]
    fn auto_follows_terminal_and_no_color() {
        assert!(Palette::choose(ColorChoice::Auto, true, false).enabled());
        assert!(!Palette::choose(ColorChoice::Auto, true, true).enabled());
        assert!(!Palette::choose(ColorChoice::Auto, false, false).enabled());
        assert!(Palette::choose(ColorChoice::Always, false, true).enabled());
        assert!(!Palette::choose(ColorChoice::Never, true, false).enabled());
    }
}
