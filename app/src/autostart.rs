//! Starting peercoach at login, in the background (no window), so that it syncs and
//! notifies from the moment a person logs in.
//!
//! On Linux and the other freedesktop systems this is an XDG autostart entry:
//! `$XDG_CONFIG_HOME/autostart/org.peercoach.peercoach.desktop` (`~/.config` by default),
//! which every desktop session starts at login. On macOS the equivalent is a launch
//! agent (`~/Library/LaunchAgents/org.peercoach.peercoach.plist` with `RunAtLoad`), on
//! Windows a value under `HKCU\Software\Microsoft\Windows\CurrentVersion\Run`; neither is
//! written by the app yet (README, "Other platforms").

use std::path::{Path, PathBuf};

/// The file name of the entry (the app id, as the menu entry's).
const ENTRY: &str = "org.peercoach.peercoach.desktop";

/// The user's configuration directory (`$XDG_CONFIG_HOME`, else `~/.config`).
pub fn config_home() -> Option<PathBuf> {
    std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| directories::BaseDirs::new().map(|d| d.config_dir().to_owned()))
}

/// Where the entry lives under a configuration directory.
pub fn entry_path(config_home: &Path) -> PathBuf {
    config_home.join("autostart").join(ENTRY)
}

/// Whether peercoach starts at login: its entry is there and not switched off (the
/// desktop's own startup settings do that with `Hidden=true`, or on GNOME
/// `X-GNOME-Autostart-enabled=false`).
pub fn is_enabled(config_home: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(entry_path(config_home)) else {
        return false;
    };
    !text.lines().any(|line| {
        let line = line.trim();
        line == "Hidden=true" || line == "X-GNOME-Autostart-enabled=false"
    })
}

/// How this running app is started again at login: the binary (plain `peercoach` when
/// that is what `PATH` finds, so the entry survives an upgrade that moves nothing), and
/// the data dir as an absolute path unless it is the default one.
pub fn this_app(
    data_dir: &Path,
    default_dir: Option<&Path>,
) -> std::io::Result<(PathBuf, Option<PathBuf>)> {
    let exe = std::env::current_exe()?;
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("peercoach"))
            .find(|candidate| candidate.is_file())
    });
    let same = |a: &Path, b: &Path| matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b);
    let exe = match on_path {
        Some(found) if same(&found, &exe) => PathBuf::from("peercoach"),
        _ => exe,
    };
    let data_dir = std::path::absolute(data_dir)?;
    let data_dir =
        (default_dir.is_none_or(|d| !same(d, &data_dir) && d != data_dir)).then_some(data_dir);
    Ok((exe, data_dir))
}

/// The entry that starts `exe` in the background at login, on `data_dir` when it is not
/// the default one.
pub fn entry(exe: &Path, data_dir: Option<&Path>) -> String {
    let mut exec = quote(&exe.to_string_lossy());
    if let Some(dir) = data_dir {
        exec.push_str(" --data-dir ");
        exec.push_str(&quote(&dir.to_string_lossy()));
    }
    exec.push_str(" --background");
    format!(
        "[Desktop Entry]\n\
         Type=Application\n\
         Name=peercoach\n\
         Comment=Keeps your team's coaching in sync and tells you when someone needs you\n\
         Exec={exec}\n\
         Icon=org.peercoach.peercoach\n\
         Terminal=false\n\
         NoDisplay=true\n\
         X-GNOME-Autostart-enabled=true\n"
    )
}

/// Quotes an argument for a desktop entry's `Exec` key, by the Desktop Entry
/// Specification's two layers: inside double quotes `"`, `` ` ``, `$` and `\` take a
/// backslash, and then the value's own string escapes double every backslash — so a
/// `$` is written `\\$` and a backslash `\\\\`. A `%` is doubled (field codes), and
/// a line break or tab takes its string escape.
fn quote(arg: &str) -> String {
    let mut out = String::from("\"");
    for c in arg.chars() {
        match c {
            '"' | '`' | '$' => {
                out.push_str("\\\\");
                out.push(c);
            }
            '\\' => out.push_str("\\\\\\\\"),
            '%' => out.push_str("%%"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Starts peercoach at login from now on.
pub fn enable(config_home: &Path, exe: &Path, data_dir: Option<&Path>) -> std::io::Result<()> {
    let path = entry_path(config_home);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&path, entry(exe, data_dir))
}

/// No longer starts peercoach at login.
pub fn disable(config_home: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(entry_path(config_home)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_entry_starts_this_binary_in_the_background_and_can_be_removed() {
        let home = tempfile::tempdir().expect("tempdir");
        assert!(!is_enabled(home.path()));
        let exe = Path::new("/opt/peer coach/bin/peercoach");
        enable(home.path(), exe, Some(Path::new("/home/ana/My $data"))).expect("enable");
        assert!(is_enabled(home.path()));
        let text = std::fs::read_to_string(entry_path(home.path())).expect("read");
        assert!(text.starts_with("[Desktop Entry]\n"));
        assert!(
            text.contains(
                "Exec=\"/opt/peer coach/bin/peercoach\" --data-dir \"/home/ana/My \\\\$data\" --background\n"
            ),
            "{text}"
        );
        assert!(text.contains("X-GNOME-Autostart-enabled=true"));
        assert_eq!(
            entry_path(home.path()),
            home.path()
                .join("autostart/org.peercoach.peercoach.desktop")
        );
        // Switched off in the desktop's startup settings: not enabled, though there.
        for off in ["Hidden=true", "X-GNOME-Autostart-enabled=false"] {
            let switched = text.replace("X-GNOME-Autostart-enabled=true", off);
            std::fs::write(entry_path(home.path()), switched).expect("write");
            assert!(!is_enabled(home.path()), "{off}");
        }
        disable(home.path()).expect("disable");
        assert!(!is_enabled(home.path()));
        disable(home.path()).expect("disabling twice is fine");
    }

    #[test]
    fn exec_arguments_survive_both_layers_of_escaping() {
        assert_eq!(quote("100%"), "\"100%%\"");
        // In the file: a backslash is four, a quote, a backquote and a dollar take two.
        assert_eq!(quote(r#"a\b"c`d$e"#), r#""a\\\\b\\"c\\`d\\$e""#);
        assert_eq!(quote("line\nbreak"), "\"line\\nbreak\"");
    }

    #[test]
    fn the_app_is_started_again_from_where_it_runs_on_an_absolute_data_dir() {
        let here = std::env::current_dir().expect("cwd");
        let (exe, dir) = this_app(Path::new("relative/data"), None).expect("this app");
        assert!(
            exe.is_absolute() || exe == Path::new("peercoach"),
            "{exe:?}"
        );
        assert_eq!(dir, Some(here.join("relative/data")));
        let default = here.join("default");
        let (_, dir) = this_app(&default, Some(&default)).expect("this app");
        assert_eq!(dir, None, "the default data dir is not named");
    }
}
