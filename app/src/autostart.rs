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

/// Whether peercoach starts at login.
pub fn is_enabled(config_home: &Path) -> bool {
    entry_path(config_home).is_file()
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

/// Quotes an argument for a desktop entry's `Exec` key (the Desktop Entry
/// Specification: double quotes, with `"`, `` ` ``, `$` and `\` escaped; `%` doubled).
fn quote(arg: &str) -> String {
    let mut out = String::from("\"");
    for c in arg.chars() {
        match c {
            '"' | '`' | '$' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '%' => out.push_str("%%"),
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
                "Exec=\"/opt/peer coach/bin/peercoach\" --data-dir \"/home/ana/My \\$data\" --background\n"
            ),
            "{text}"
        );
        assert!(text.contains("X-GNOME-Autostart-enabled=true"));
        assert_eq!(
            entry_path(home.path()),
            home.path()
                .join("autostart/org.peercoach.peercoach.desktop")
        );
        disable(home.path()).expect("disable");
        assert!(!is_enabled(home.path()));
        disable(home.path()).expect("disabling twice is fine");
        assert_eq!(quote("100%"), "\"100%%\"");
    }
}
